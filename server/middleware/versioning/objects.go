package versioning

import (
	"bytes"
	"io"
	"net/url"
	"strconv"
	"strings"

	"github.com/valyala/fasthttp"

	"swiftbox/server/middleware/symlink"
	"swiftbox/server/proxy"
	"swiftbox/server/pyfmt"
	"swiftbox/storage/timestamp"
)

func (o *ovRequest) objectRequest() error {
	vc, enabled := o.versionsContainer()
	if v := string(o.ctx.QueryArgs().Peek("version-id")); v != "" {
		return o.versionedRequest(vc, v)
	}
	if vc == "" {
		return o.next(o.ctx)
	}
	on := pyfmt.True(enabled)
	switch string(o.ctx.Method()) {
	case fasthttp.MethodPut:
		if !on || !o.ownerMay() {
			return o.next(o.ctx)
		}
		return o.put(vc)
	case fasthttp.MethodPost:
		return o.post(vc)
	case fasthttp.MethodDelete:
		if !on || !o.ownerMay() {
			return o.next(o.ctx)
		}
		return o.delete(vc)
	}
	if err := o.next(o.ctx); err != nil {
		return err
	}
	o.versionHeaders(vc)
	return nil
}

// versionHeaders names the version a GET/HEAD of a version link served.
func (o *ovRequest) versionHeaders(vc string) {
	h := &o.ctx.Response.Header
	h.Set(ovVersionID, "null")
	if loc, _ := url.PathUnescape(string(h.Peek("Content-Location"))); loc != "" {
		_, acct, cont, vobj, err := proxy.SplitURI(pyfmt.Quote(loc))
		if err == nil && acct == o.account && cont == vc {
			if _, ver, ok := splitVersionName(vobj); ok {
				h.Set(ovVersionID, ver.Internal())
				h.Set("Content-Location", o.path(o.container, o.object)+"?version-id="+ver.Internal())
			}
		}
	}
	if tgt, _ := url.PathUnescape(string(h.Peek(symlink.TargetHeader))); tgt != "" {
		cont, vobj, ok := strings.Cut(tgt, "/")
		if ok && cont == vc {
			if _, ver, ok := splitVersionName(vobj); ok {
				h.Set(ovVersionID, ver.Internal())
				h.Set(symlink.TargetHeader, pyfmt.Quote(o.container+"/"+o.object)+"?version-id="+ver.Internal())
			}
		}
	}
}

// requestTS is the request's X-Timestamp, set to now when it has none
// (Swift's ensure_x_timestamp).
func (o *ovRequest) requestTS() timestamp.Timestamp {
	h := &o.ctx.Request.Header
	if ts, err := timestamp.Parse(string(h.Peek("X-Timestamp"))); err == nil {
		return ts
	}
	ts := timestamp.Now()
	h.Set("X-Timestamp", ts.Internal())
	return ts
}

func (o *ovRequest) versioner() *versioner {
	return &versioner{s: o.s, ctx: o.ctx, next: o.next, version: o.version, account: o.account}
}

// copyCurrent archives an object written before versioning was enabled;
// the caller releases the archive returned.
func (o *ovRequest) copyCurrent(vc string) (*archived, error) {
	objectURI := o.path(o.container, o.object)
	src := o.reservedSub(fasthttp.MethodGet, objectURI+"?symlink=get", func(req *fasthttp.Request) {
		req.Header.Set("X-Newest", "True")
	})
	defer src.CloseBodyStream()
	if src.StatusCode() == fasthttp.StatusNotFound {
		return nil, nil
	}
	if err := ovCheck(src); err != nil {
		return nil, err
	}
	if string(o.ctx.Method()) == fasthttp.MethodPut && string(o.ctx.Request.Header.Peek("If-None-Match")) == "*" {
		return nil, proxy.Errorf(fasthttp.StatusPreconditionFailed, "") // the link's PUT would be refused
	}
	if string(src.Header.Peek(ovSymlinkSys)) == "true" {
		return nil, nil
	}
	if n := src.Header.ContentLength(); n < 0 || int64(n) > o.s.limits.MaxFileSize {
		return nil, proxy.Errorf(fasthttp.StatusRequestEntityTooLarge, "")
	}
	ts, err := sourceTimestamp(src)
	if err != nil {
		return nil, err
	}
	v := o.versioner()
	a := v.archive(objectURI, o.path(vc, versionObjectName(o.object, ts)), ts)
	resp := v.putFrom(a.copy, src, func(req *fasthttp.Request) {
		req.Header.Set(allowReserved, "true")
	})
	defer proxy.CloseResponse(resp)
	if resp.StatusCode() == fasthttp.StatusNotFound {
		v.release(a, true)
		return nil, plainError(fasthttp.StatusInternalServerError, ovNoVersionsContainer)
	}
	if err := ovCheck(resp); err != nil {
		v.release(a, true)
		return nil, err
	}
	return a, nil
}

// versionCounter counts the body bytes a version PUT read.
type versionCounter struct {
	r io.Reader
	n int64
}

func (c *versionCounter) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.n += int64(n)
	return n, err
}

// put stores the client's body as a new version and links the object to
// it. A PUT that fails leaves nothing: the proxy's checks run before
// anything is written, and what a failure after them wrote goes again.
func (o *ovRequest) put(vc string) (err error) {
	ctx := o.ctx
	h := &ctx.Request.Header
	r := &proxy.Request{Ctx: ctx, Method: fasthttp.MethodPut, Version: o.version, Account: o.account, Container: o.container, Object: o.object}
	if err = o.s.core.CheckObjectPut(r); err != nil {
		return err
	}
	arch, err := o.copyCurrent(vc)
	if err != nil {
		return err
	}
	defer func() {
		o.versioner().release(arch, err != nil || !isSuccess(ctx.Response.StatusCode()))
	}()
	ts := o.requestTS()
	vname := versionObjectName(o.object, ts)
	var body io.Reader
	if s := ctx.RequestBodyStream(); s != nil {
		body = s
	} else {
		body = bytes.NewReader(ctx.PostBody())
	}
	size := h.ContentLength()
	if size >= 0 {
		body = io.LimitReader(body, int64(size))
	}
	cr := &versionCounter{r: body}
	resp := o.reservedSub(fasthttp.MethodPut, o.path(vc, vname), func(req *fasthttp.Request) {
		for k, v := range h.All() {
			switch strings.ToLower(string(k)) {
			case "x-delete-at", "x-delete-after", "content-length", "transfer-encoding", "host":
				continue
			}
			req.Header.SetBytesKV(k, v)
		}
		req.SetBodyStream(cr, size)
	})
	defer proxy.CloseResponse(resp)
	if resp.StatusCode() == fasthttp.StatusNotFound {
		return plainError(fasthttp.StatusInternalServerError, ovNoVersionsContainer)
	}
	if err := ovCheck(resp); err != nil {
		return err
	}
	putBytes := strconv.FormatInt(cr.n, 10)
	if v := h.Peek("X-Object-Sysmeta-Slo-Size"); len(v) > 0 {
		putBytes = string(v)
	}
	ctype := string(h.Peek("Content-Type"))
	if ctype == "" {
		ctype = proxy.GuessContentType(o.object)
	}
	ctype, _, _ = strings.Cut(ctype, ";")
	ctype = strings.TrimSpace(ctype)
	h.SetContentLength(0)
	err = o.putLink(vc, vname, ts, string(resp.Header.Peek("Etag")), putBytes, ctype)
	if err != nil || !isSuccess(ctx.Response.StatusCode()) {
		o.dropVersion(vc, vname)
	}
	return err
}

// dropVersion removes the version a PUT stored when its link could not
// be written, unless a replica has the link after all.
func (o *ovRequest) dropVersion(vc, vname string) {
	head := o.reservedSub(fasthttp.MethodHead, o.path(o.container, o.object)+"?symlink=get", func(req *fasthttp.Request) {
		req.Header.Set("X-Newest", "True")
	})
	proxy.CloseResponse(head)
	if target, _ := url.PathUnescape(string(head.Header.Peek(symlink.TargetHeader))); isSuccess(head.StatusCode()) &&
		string(head.Header.Peek(ovSymlinkSys)) == "true" && target == vc+"/"+vname {
		return
	}
	proxy.CloseResponse(o.reservedSub(fasthttp.MethodDelete, o.path(vc, vname), nil))
}

// putLink makes the object a link to version vname (the original
// request becomes the link's PUT) and answers with the version's etag.
func (o *ovRequest) putLink(vc, vname string, ts timestamp.Timestamp, etag, size, ctype string) error {
	ctx := o.ctx
	h := &ctx.Request.Header
	ctx.Request.Header.SetMethod(fasthttp.MethodPut)
	h.Set("X-Timestamp", ts.WithOffset(1).Internal())
	h.Set("Content-Type", ctype)
	symlink.MarkVersionLink(h, pyfmt.Quote(vc+"/"+vname), etag, size)
	h.Set(ovSymlinkSys, "true")
	h.Set(allowReserved, "true")
	for _, k := range []string{"Etag", "X-If-Delete-At", "X-Object-Manifest", "X-Static-Large-Object",
		"X-Object-Sysmeta-Slo-Etag", "X-Object-Sysmeta-Slo-Size"} {
		h.Del(k)
	}
	h.SetContentLength(0)
	if err := o.next(ctx); err != nil {
		return err
	}
	ctx.Response.Header.Set("Etag", etag)
	_, ver, _ := splitVersionName(vname)
	ctx.Response.Header.Set(ovVersionID, ver.Internal())
	return nil
}

func (o *ovRequest) post(vc string) error {
	ctx := o.ctx
	saved := map[string]string{}
	for k, v := range ctx.Request.Header.All() {
		switch strings.ToLower(string(k)) {
		case "x-delete-at", "x-delete-after", "content-length", "transfer-encoding", "host":
			continue
		}
		saved[string(k)] = string(v)
	}
	if err := o.next(ctx); err != nil {
		return err
	}
	if ctx.Response.StatusCode() != fasthttp.StatusTemporaryRedirect || !pyfmt.True(string(ctx.Response.Header.Peek(ovSymlinkSys))) {
		return nil
	}
	loc, _ := url.PathUnescape(string(ctx.Response.Header.Peek("Location")))
	_, acct, cont, _, err := proxy.SplitURI(pyfmt.Quote(loc))
	if err != nil || acct != o.account || cont != vc {
		return nil
	}
	resp := o.reservedSub(fasthttp.MethodPost, pyfmt.Quote(loc), func(req *fasthttp.Request) {
		for k, v := range saved {
			req.Header.Set(k, v)
		}
		req.Header.Set(allowReserved, "true")
	})
	proxy.AdoptResponse(ctx, resp)
	return nil
}

func (o *ovRequest) delete(vc string) error {
	arch, err := o.copyCurrent(vc)
	if err != nil {
		return err
	}
	defer o.versioner().release(arch, false)
	ts := o.requestTS()
	marker := versionObjectName(o.object, ts)
	resp := o.reservedSub(fasthttp.MethodPut, o.path(vc, marker), func(req *fasthttp.Request) {
		req.Header.SetContentType(deleteMarkerType)
		req.Header.SetContentLength(0)
	})
	if err := ovCheck(resp); err != nil {
		return err
	}
	proxy.CloseResponse(resp)
	if err := o.next(o.ctx); err != nil {
		return err
	}
	if code := o.ctx.Response.StatusCode(); isSuccess(code) || code == fasthttp.StatusNotFound {
		o.ctx.Response.Header.Set(ovVersionID, ts.Internal())
		o.ctx.Response.Header.Set("X-Backend-Content-Type", deleteMarkerType)
	}
	return nil
}

// versionedRequest acts on one version (?version-id=).
func (o *ovRequest) versionedRequest(vc, version string) error {
	ctx := o.ctx
	method := string(ctx.Method())
	if method == fasthttp.MethodPost {
		return proxy.Errorf(fasthttp.StatusBadRequest, "POST to a specific version is not allowed")
	}
	if vc == "" && version != "null" {
		return proxy.Errorf(fasthttp.StatusBadRequest, "version-aware operations require that the container is versioned")
	}
	var ts timestamp.Timestamp
	if version != "null" {
		var err error
		if ts, err = timestamp.Parse(version); err != nil {
			return proxy.Errorf(fasthttp.StatusBadRequest, "Invalid version parameter")
		}
	}
	switch method {
	case fasthttp.MethodDelete:
		if version == "null" {
			return o.next(ctx)
		}
		return o.deleteVersion(vc, version, ts)
	case fasthttp.MethodPut:
		return o.putVersion(vc, ts)
	}
	if version == "null" {
		if err := o.next(ctx); err != nil {
			return err
		}
		if isSuccess(ctx.Response.StatusCode()) {
			if loc, _ := url.PathUnescape(string(ctx.Response.Header.Peek("Content-Location"))); strings.Contains(loc, reservedName("versions", "")) {
				resetResponse(ctx)
				return proxy.Errorf(fasthttp.StatusNotFound, "")
			}
			ctx.Response.Header.Set(ovVersionID, "null")
		}
		return nil
	}
	query := stripVersionID(ctx.QueryArgs())
	resp := proxy.Subrequest(ctx, o.next, method, o.path(vc, versionObjectName(o.object, ts))+query, func(req *fasthttp.Request) {
		proxy.CopyRequestHeaders(req, &ctx.Request)
		req.Header.Set(allowReserved, "true")
	})
	if isSuccess(resp.StatusCode()) {
		resp.Header.Set(ovVersionID, version)
	}
	ctype := string(resp.Header.Peek("X-Backend-Content-Type"))
	if ctype == "" {
		ctype = string(resp.Header.ContentType())
	}
	if ctype == deleteMarkerType {
		proxy.CloseResponse(resp)
		proxy.WriteStatus(ctx, fasthttp.StatusNotFound, "")
		ctx.Response.Header.Set(ovVersionID, version)
		ctx.Response.Header.SetContentType(deleteMarkerType)
		return nil
	}
	proxy.AdoptResponse(ctx, resp)
	return nil
}

// stripVersionID is the query without version-id, as "?…" or "".
func stripVersionID(q *fasthttp.Args) string {
	a := &fasthttp.Args{}
	q.CopyTo(a)
	a.Del("version-id")
	if a.Len() == 0 {
		return ""
	}
	return "?" + a.String()
}

func (o *ovRequest) deleteVersion(vc, version string, ts timestamp.Timestamp) error {
	ctx := o.ctx
	head := o.reservedSub(fasthttp.MethodHead, o.path(o.container, o.object)+"?symlink=get", func(req *fasthttp.Request) {
		req.Header.Set("X-Newest", "True")
	})
	tombstone, target := false, ""
	if head.StatusCode() == fasthttp.StatusNotFound {
		tombstone = true
	} else {
		if err := ovCheck(head); err != nil {
			return err
		}
		if string(head.Header.Peek(ovSymlinkSys)) == "true" {
			target, _ = url.PathUnescape(string(head.Header.Peek(symlink.TargetHeader)))
		}
	}
	proxy.CloseResponse(head)
	vobj := versionObjectName(o.object, ts)
	current := "null"
	if tombstone || target == "" || target != vc+"/"+vobj {
		if !tombstone && target != "" {
			_, vname, _ := strings.Cut(target, "/")
			if _, ver, ok := splitVersionName(vname); ok {
				current = ver.Internal()
			}
		}
	} else {
		link := proxy.Subrequest(ctx, o.next, fasthttp.MethodDelete, o.path(o.container, o.object), func(req *fasthttp.Request) {
			proxy.CopyRequestHeaders(req, &ctx.Request)
		})
		if err := ovCheck(link); err != nil {
			return err
		}
		proxy.CloseResponse(link)
	}
	resp := proxy.Subrequest(ctx, o.next, fasthttp.MethodDelete, o.path(vc, vobj), func(req *fasthttp.Request) {
		proxy.CopyRequestHeaders(req, &ctx.Request)
		req.Header.Set(allowReserved, "true")
	})
	proxy.AdoptResponse(ctx, resp)
	ctx.Response.Header.Set(ovVersionID, version)
	ctx.Response.Header.Set("X-Object-Current-Version-Id", current)
	return nil
}

func (o *ovRequest) putVersion(vc string, ts timestamp.Timestamp) error {
	ctx := o.ctx
	hasBody := false
	if n := ctx.Request.Header.ContentLength(); n > 0 {
		hasBody = true
	} else if n < 0 {
		var b [1]byte
		if s := ctx.RequestBodyStream(); s != nil {
			k, _ := io.ReadFull(s, b[:])
			hasBody = k > 0
		}
	}
	if hasBody {
		return plainError(fasthttp.StatusBadRequest, "PUT version-id requests require a zero byte body")
	}
	vname := versionObjectName(o.object, ts)
	head := o.reservedSub(fasthttp.MethodHead, o.path(vc, vname)+"?symlink=get", nil)
	defer proxy.CloseResponse(head)
	if head.StatusCode() == fasthttp.StatusNotFound {
		if _, err := o.s.core.ContainerInfo(ctx, o.account, vc); err == nil {
			return plainError(fasthttp.StatusNotFound, "The specified version does not exist")
		}
		return plainError(fasthttp.StatusInternalServerError, ovNoVersionsContainer)
	}
	if err := ovCheck(head); err != nil {
		return err
	}
	ctx.QueryArgs().Del("version-id")
	return o.putLink(vc, vname, o.requestTS(), string(head.Header.Peek("Etag")),
		strconv.Itoa(head.Header.ContentLength()), string(head.Header.ContentType()))
}
