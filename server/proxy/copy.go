package proxy

import (
	"bytes"
	"net/url"
	"strings"

	"swiftbox/server/pyfmt"

	"github.com/valyala/fasthttp"
)

// Server-side copy (Swift's copy middleware): COPY with Destination
// (+ Destination-Account) becomes a PUT with X-Copy-From (+
// X-Copy-From-Account); the PUT GETs the source through the rest of the
// pipeline and streams its body into the destination PUT.

// ObjectURI is the escaped request URI of an object (or container when
// obj is "") for subrequests.
func ObjectURI(version, account, container, obj string) string {
	u := "/" + version + "/" + pyfmt.Quote(account) + "/" + pyfmt.Quote(container)
	if obj != "" {
		u += "/" + pyfmt.Quote(obj)
	}
	return u
}

// Relay sends resp, a subrequest's response, as ctx's response (the
// transaction id headers of ctx stay). ctx owns resp's body stream after.
func Relay(ctx *fasthttp.RequestCtx, resp *fasthttp.Response) {
	ctx.Response.SetStatusCode(resp.StatusCode())
	for k, v := range resp.Header.All() {
		if bytes.EqualFold(k, []byte("Content-Length")) || bytes.EqualFold(k, []byte("X-Trans-Id")) {
			continue
		}
		ctx.Response.Header.SetBytesKV(k, v)
	}
	if s := resp.BodyStream(); s != nil {
		SetBodyStream(ctx, s, resp.Header.ContentLength())
		return
	}
	ctx.Response.SetBody(resp.Body())
	if resp.SkipBody {
		ctx.Response.Header.SetContentLength(resp.Header.ContentLength())
		ctx.Response.SkipBody = true
	}
}

// checkPathHeader is Swift's check_path_header for container/object
// values: "/c/o" or "c/o", the object may hold slashes.
func checkPathHeader(v, msg string) (string, string, error) {
	dec, err := url.PathUnescape(v)
	if err != nil {
		dec = v
	}
	dec = strings.TrimPrefix(dec, "/")
	c, o, ok := strings.Cut(dec, "/")
	if !ok || c == "" || o == "" {
		return "", "", Errorf(fasthttp.StatusPreconditionFailed, "%s", msg)
	}
	return c, o, nil
}

// checkAccountFormat is Swift's check_account_format.
func checkAccountFormat(v string) (string, error) {
	dec, err := url.PathUnescape(v)
	if err != nil {
		dec = v
	}
	if dec == "" {
		return "", Errorf(fasthttp.StatusPreconditionFailed, "Account name cannot be empty")
	}
	if strings.Contains(dec, "/") {
		return "", Errorf(fasthttp.StatusPreconditionFailed, "Account name cannot contain slashes")
	}
	return dec, nil
}

func (p *Proxy) copyMiddleware(next fasthttp.RequestHandler) fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) {
		version, account, container, obj, err := SplitPath(ctx)
		if err != nil || obj == "" {
			next(ctx)
			return
		}
		h := &ctx.Request.Header
		switch string(ctx.Method()) {
		case fasthttp.MethodPut:
			if len(h.Peek("X-Copy-From")) > 0 {
				err = p.copyPut(ctx, next, version, account, container, obj)
			} else {
				next(ctx)
			}
		case "COPY":
			err = p.copyCOPY(ctx, next, version, account, container, obj)
		case fasthttp.MethodOptions:
			next(ctx)
			if code := ctx.Response.StatusCode(); code >= 200 && code < 300 {
				for _, name := range []string{"Allow", "Access-Control-Allow-Methods"} {
					if v := string(ctx.Response.Header.Peek(name)); v != "" && !strings.Contains(v, "COPY") {
						ctx.Response.Header.Set(name, v+", COPY")
					}
				}
			}
		default:
			next(ctx)
		}
		if err != nil {
			WriteError(ctx, err)
		}
	}
}

// copyCOPY rewrites COPY into the equivalent PUT with X-Copy-From.
func (p *Proxy) copyCOPY(ctx *fasthttp.RequestCtx, next fasthttp.RequestHandler, version, account, container, obj string) error {
	h := &ctx.Request.Header
	if len(h.Peek("Destination")) == 0 {
		return Errorf(fasthttp.StatusPreconditionFailed, "Destination header required")
	}
	destAccount := account
	if v := h.Peek("Destination-Account"); v != nil {
		var err error
		if destAccount, err = checkAccountFormat(string(v)); err != nil {
			return err
		}
		h.Set("X-Copy-From-Account", pyfmt.Quote(account))
		h.Del("Destination-Account")
	}
	dc, do, err := checkPathHeader(string(h.Peek("Destination")),
		"Destination header must be of the form <container name>/<object name>")
	if err != nil {
		return err
	}
	h.Del("Destination")
	h.Set("X-Copy-From", pyfmt.Quote("/"+container+"/"+obj))
	h.SetMethod(fasthttp.MethodPut)
	h.SetContentLength(0)
	return p.copyPut(ctx, next, version, destAccount, dc, do)
}

// copyExcluded are source headers a copy never takes over as they are.
var copyExcluded = map[string]bool{
	"x-static-large-object": true, "x-object-manifest": true, "etag": true, "content-type": true,
	"x-timestamp": true, "x-backend-timestamp": true,
	// response-only headers, meaningless on the PUT
	"content-length": true, "last-modified": true, "accept-ranges": true, "date": true,
	"x-trans-id": true, "x-openstack-request-id": true, "content-range": true, "connection": true,
	"transfer-encoding": true, "x-manifest-etag": true, "server": true,
}

func isObjectSysmeta(k string) bool {
	return len(k) > 18 && strings.EqualFold(k[:18], "x-object-sysmeta-")
}

// copyPut serves PUT with X-Copy-From to account/container/obj.
func (p *Proxy) copyPut(ctx *fasthttp.RequestCtx, next fasthttp.RequestHandler, version, account, container, obj string) error {
	h := &ctx.Request.Header
	if n := h.ContentLength(); n > 0 {
		return ConstraintErrorf(fasthttp.StatusBadRequest, "Copy requests require a zero byte body")
	}
	srcAccount := account
	if v := h.Peek("X-Copy-From-Account"); len(v) > 0 {
		var err error
		if srcAccount, err = checkAccountFormat(string(v)); err != nil {
			return err
		}
	}
	sc, so, err := checkPathHeader(string(h.Peek("X-Copy-From")),
		"X-Copy-From header must be of the form <container name>/<object name>")
	if err != nil {
		return err
	}
	args := ctx.QueryArgs()
	manifestGet := string(args.Peek("multipart-manifest")) == "get"

	// GET the source with the request's headers, newest replica.
	srcQuery := fasthttp.AcquireArgs()
	defer fasthttp.ReleaseArgs(srcQuery)
	args.CopyTo(srcQuery)
	if manifestGet {
		srcQuery.Set("format", "raw")
	}
	srcURI := ObjectURI(version, srcAccount, sc, so)
	if q := srcQuery.String(); q != "" {
		srcURI += "?" + q
	}
	src := Subrequest(ctx, Lift(next), fasthttp.MethodGet, srcURI, func(req *fasthttp.Request) {
		for k, v := range h.All() {
			if bytes.EqualFold(k, []byte("Content-Length")) || bytes.EqualFold(k, []byte("Transfer-Encoding")) {
				continue
			}
			req.Header.SetBytesKV(k, v)
		}
		req.Header.SetMethod(fasthttp.MethodGet)
		req.Header.SetContentLength(0)
		req.Header.Set("X-Newest", "true")
	})
	if src.StatusCode() >= 300 {
		Relay(ctx, src) // relay owns src's body now
		return nil
	}
	defer src.CloseBodyStream()
	size := src.Header.ContentLength()
	if size < 0 || int64(size) > p.limits.MaxFileSize {
		return Errorf(fasthttp.StatusRequestEntityTooLarge, "")
	}
	srcHas := func(name string) bool { return src.Header.Peek(name) != nil }

	// The destination PUT's headers: the source's metadata (unless fresh),
	// then the request's own.
	sink := map[string]string{}
	var order []string
	set := func(k, v string) {
		ck := canonical(k)
		if _, ok := sink[ck]; !ok {
			order = append(order, ck)
		}
		sink[ck] = v
	}
	fresh := pyfmt.True(string(h.Peek("X-Fresh-Metadata")))
	for k, v := range src.Header.All() {
		ks := string(k)
		if fresh {
			if isObjectSysmeta(ks) {
				set(ks, string(v))
			}
		} else if !copyExcluded[strings.ToLower(ks)] {
			set(ks, string(v))
		}
	}
	for k, v := range h.All() {
		ks := string(k)
		set(ks, string(v))
	}
	delete(sink, "X-Copy-From")
	delete(sink, "X-Copy-From-Account")
	delete(sink, "X-Fresh-Metadata")
	delete(sink, "Content-Length")
	delete(sink, "Transfer-Encoding")
	delete(sink, "Range")
	for _, k := range []string{"If-Match", "If-None-Match", "If-Modified-Since", "If-Unmodified-Since"} {
		delete(sink, k) // they were for the source
	}

	sinkQuery := fasthttp.AcquireArgs()
	defer fasthttp.ReleaseArgs(sinkQuery)
	args.CopyTo(sinkQuery)
	if manifestGet {
		if srcHas("X-Static-Large-Object") {
			sinkQuery.Set("multipart-manifest", "put")
		}
		if v := src.Header.Peek("X-Object-Manifest"); v != nil {
			sinkQuery.Del("multipart-manifest")
			set("X-Object-Manifest", string(v))
		}
	}
	sinkQuery.Del("version-id")
	if src.StatusCode() == fasthttp.StatusOK && !srcHas("X-Static-Large-Object") &&
		(!srcHas("X-Object-Manifest") || manifestGet) {
		set("Etag", strings.Trim(string(src.Header.Peek("Etag")), `"`))
	} else {
		for k := range sink {
			if strings.HasPrefix(strings.ToLower(k), "x-object-sysmeta-container-update-override-") {
				delete(sink, k)
			}
		}
	}
	if len(h.Peek("Content-Type")) == 0 {
		set("Content-Type", string(src.Header.ContentType()))
	}

	// The response names the source and shows the new metadata.
	extra := [][2]string{
		{"X-Copied-From-Account", pyfmt.Quote(srcAccount)},
		{"X-Copied-From", pyfmt.Quote(sc + "/" + so)},
	}
	if v := src.Header.Peek("Last-Modified"); v != nil {
		extra = append(extra, [2]string{"X-Copied-From-Last-Modified", string(v)})
	}
	if v := src.Header.Peek("X-Object-Version-Id"); v != nil {
		extra = append(extra, [2]string{"X-Copied-From-Version-Id", string(v)})
	}
	for _, k := range order {
		v, ok := sink[k]
		if !ok {
			continue
		}
		lk := strings.ToLower(k)
		if strings.HasPrefix(lk, "x-object-meta-") || strings.HasPrefix(lk, "x-object-sysmeta-") ||
			strings.HasPrefix(lk, "x-object-transient-sysmeta-") || lk == "x-delete-at" {
			extra = append(extra, [2]string{k, v})
		}
	}

	sinkURI := ObjectURI(version, account, container, obj)
	if q := sinkQuery.String(); q != "" {
		sinkURI += "?" + q
	}
	body := ResponseBody(src)
	put := Subrequest(ctx, Lift(next), fasthttp.MethodPut, sinkURI, func(req *fasthttp.Request) {
		for _, k := range order {
			if v, ok := sink[k]; ok {
				req.Header.Set(k, v)
			}
		}
		req.Header.SetMethod(fasthttp.MethodPut)
		req.SetBodyStream(body, size)
	})
	Relay(ctx, put)
	if code := put.StatusCode(); code >= 200 && code < 300 {
		for _, kv := range extra {
			ctx.Response.Header.Set(kv[0], kv[1])
		}
	}
	return nil
}
