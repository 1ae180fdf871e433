package copy

import (
	"bytes"
	"net/http"
	"strings"

	"github.com/valyala/fasthttp"

	"swiftbox/server/proxy"
	"swiftbox/server/pyfmt"
)

// source is the object a copy reads.
type source struct {
	account, container, object string
}

// put serves PUT with X-Copy-From to account/container/obj.
func (c *copier) put(ctx *fasthttp.RequestCtx, next proxy.Handler, version, account, container, obj string) error {
	h := &ctx.Request.Header
	if n := h.ContentLength(); n > 0 {
		return proxy.ConstraintErrorf(fasthttp.StatusBadRequest, "Copy requests require a zero byte body")
	}
	from, err := copySource(h, account)
	if err != nil {
		return err
	}
	manifestGet := string(ctx.QueryArgs().Peek("multipart-manifest")) == "get"
	src := getSource(ctx, next, version, from, manifestGet)
	if src.StatusCode() >= 300 {
		proxy.Relay(ctx, src) // relay owns src's body now
		return nil
	}
	defer src.CloseBodyStream()
	size := src.Header.ContentLength()
	if size < 0 || int64(size) > c.maxFileSize {
		return proxy.Errorf(fasthttp.StatusRequestEntityTooLarge, "")
	}
	sink := sinkHeaders(h, src)
	sinkQuery := fasthttp.AcquireArgs()
	defer fasthttp.ReleaseArgs(sinkQuery)
	ctx.QueryArgs().CopyTo(sinkQuery)
	sinkManifest(sink, sinkQuery, src, manifestGet)
	if len(h.Peek("Content-Type")) == 0 {
		sink.set("Content-Type", string(src.Header.ContentType()))
	}
	extra := copiedHeaders(from, src, sink)

	sinkURI := proxy.ObjectURI(version, account, container, obj)
	if q := sinkQuery.String(); q != "" {
		sinkURI += "?" + q
	}
	body := proxy.ResponseBody(src)
	put := proxy.Subrequest(ctx, next, fasthttp.MethodPut, sinkURI, func(req *fasthttp.Request) {
		sink.each(func(k, v string) { req.Header.Set(k, v) })
		req.Header.SetMethod(fasthttp.MethodPut)
		req.SetBodyStream(body, size)
	})
	proxy.Relay(ctx, put)
	if code := put.StatusCode(); code >= 200 && code < 300 {
		for _, kv := range extra {
			ctx.Response.Header.Set(kv[0], kv[1])
		}
	}
	return nil
}

// copySource is the object X-Copy-From (+ X-Copy-From-Account) names.
func copySource(h *fasthttp.RequestHeader, account string) (source, error) {
	src := source{account: account}
	if v := h.Peek("X-Copy-From-Account"); len(v) > 0 {
		var err error
		if src.account, err = checkAccountFormat(string(v)); err != nil {
			return src, err
		}
	}
	var err error
	src.container, src.object, err = checkPathHeader(string(h.Peek("X-Copy-From")),
		"X-Copy-From header must be of the form <container name>/<object name>")
	return src, err
}

// getSource GETs the source with the request's headers, newest replica
// (a manifest itself for multipart-manifest=get). The caller owns the
// response.
func getSource(ctx *fasthttp.RequestCtx, next proxy.Handler, version string, from source, manifestGet bool) *fasthttp.Response {
	h := &ctx.Request.Header
	srcQuery := fasthttp.AcquireArgs()
	defer fasthttp.ReleaseArgs(srcQuery)
	ctx.QueryArgs().CopyTo(srcQuery)
	if manifestGet {
		srcQuery.Set("format", "raw")
	}
	srcURI := proxy.ObjectURI(version, from.account, from.container, from.object)
	if q := srcQuery.String(); q != "" {
		srcURI += "?" + q
	}
	return proxy.Subrequest(ctx, next, fasthttp.MethodGet, srcURI, func(req *fasthttp.Request) {
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

// sinkHeaders are the destination PUT's headers: the source's metadata
// (unless fresh), then the request's own, less what was for the source.
func sinkHeaders(h *fasthttp.RequestHeader, src *fasthttp.Response) *headers {
	sink := &headers{m: map[string]string{}}
	fresh := pyfmt.True(string(h.Peek("X-Fresh-Metadata")))
	for k, v := range src.Header.All() {
		ks := string(k)
		if fresh {
			if isObjectSysmeta(ks) {
				sink.set(ks, string(v))
			}
		} else if !copyExcluded[strings.ToLower(ks)] {
			sink.set(ks, string(v))
		}
	}
	for k, v := range h.All() {
		sink.set(string(k), string(v))
	}
	for _, k := range []string{"X-Copy-From", "X-Copy-From-Account", "X-Fresh-Metadata", "Content-Length",
		"Transfer-Encoding", "Range", "If-Match", "If-None-Match", "If-Modified-Since", "If-Unmodified-Since"} {
		delete(sink.m, k)
	}
	return sink
}

// sinkManifest carries a manifest over when multipart-manifest=get copies
// one, and the source's Etag when the copy holds its content.
func sinkManifest(sink *headers, sinkQuery *fasthttp.Args, src *fasthttp.Response, manifestGet bool) {
	srcHas := func(name string) bool { return src.Header.Peek(name) != nil }
	if manifestGet {
		if srcHas("X-Static-Large-Object") {
			sinkQuery.Set("multipart-manifest", "put")
		}
		if v := src.Header.Peek("X-Object-Manifest"); v != nil {
			sinkQuery.Del("multipart-manifest")
			sink.set("X-Object-Manifest", string(v))
		}
	}
	sinkQuery.Del("version-id")
	if src.StatusCode() == fasthttp.StatusOK && !srcHas("X-Static-Large-Object") &&
		(!srcHas("X-Object-Manifest") || manifestGet) {
		sink.set("Etag", strings.Trim(string(src.Header.Peek("Etag")), `"`))
		return
	}
	for k := range sink.m {
		if strings.HasPrefix(strings.ToLower(k), "x-object-sysmeta-container-update-override-") {
			delete(sink.m, k)
		}
	}
}

// copiedHeaders are the response's extra headers after a copy: the
// source's names and the new object's metadata.
func copiedHeaders(from source, src *fasthttp.Response, sink *headers) [][2]string {
	extra := [][2]string{
		{"X-Copied-From-Account", pyfmt.Quote(from.account)},
		{"X-Copied-From", pyfmt.Quote(from.container + "/" + from.object)},
	}
	if v := src.Header.Peek("Last-Modified"); v != nil {
		extra = append(extra, [2]string{"X-Copied-From-Last-Modified", string(v)})
	}
	if v := src.Header.Peek("X-Object-Version-Id"); v != nil {
		extra = append(extra, [2]string{"X-Copied-From-Version-Id", string(v)})
	}
	sink.each(func(k, v string) {
		lk := strings.ToLower(k)
		if strings.HasPrefix(lk, "x-object-meta-") || strings.HasPrefix(lk, "x-object-sysmeta-") ||
			strings.HasPrefix(lk, "x-object-transient-sysmeta-") || lk == "x-delete-at" {
			extra = append(extra, [2]string{k, v})
		}
	})
	return extra
}

// headers is a header set in the order names were first set, each name
// canonical (title case), as Swift stores it.
type headers struct {
	m     map[string]string
	order []string
}

func (s *headers) set(k, v string) {
	ck := http.CanonicalHeaderKey(k)
	if _, ok := s.m[ck]; !ok {
		s.order = append(s.order, ck)
	}
	s.m[ck] = v
}

// each calls f for every header still set, in order.
func (s *headers) each(f func(k, v string)) {
	for _, k := range s.order {
		if v, ok := s.m[k]; ok {
			f(k, v)
		}
	}
}
