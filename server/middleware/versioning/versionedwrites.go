package versioning

import (
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"swiftbox/server/proxy"
	"swiftbox/server/pyfmt"
	"swiftbox/storage/db"
	"swiftbox/storage/timestamp"
)

// Legacy versioned writes (Swift's versioned_writes middleware): a
// container with X-Versions-Location (stack mode) or X-History-Location
// (history mode) keeps every overwritten version as
// "<len(name) as 3 hex digits><name>/<timestamp>" in the named container.
// In stack mode a DELETE restores the newest older version; in history
// mode it archives the current one and leaves a delete marker.

const (
	versionsLocation = "X-Versions-Location"
	historyLocation  = "X-History-Location"
	// deleteMarkerType marks a history-mode delete in the versions container.
	deleteMarkerType = "application/x-deleted;swift_versions_deleted=1"
)

// versionedWrites is the versioned_writes middleware.
func (s *state) versionedWrites(next proxy.Handler) proxy.Handler {
	return func(ctx *fasthttp.RequestCtx) error {
		version, account, container, object, err := proxy.SplitPath(ctx)
		if err != nil || container == "" {
			return next(ctx)
		}
		method := string(ctx.Method())
		if object == "" {
			if method == fasthttp.MethodPut || method == fasthttp.MethodPost {
				if err := versionsContainerHeaders(&ctx.Request.Header); err != nil {
					return err
				}
			}
			err := next(ctx)
			if method != fasthttp.MethodGet && method != fasthttp.MethodHead {
				s.infos.Forget(account + "/" + container)
			}
			return err
		}
		if method != fasthttp.MethodPut && method != fasthttp.MethodDelete {
			return next(ctx)
		}
		info, err := s.containerInfo(ctx, account, container)
		if err != nil {
			return next(ctx)
		}
		mode, loc := "stack", info.Metadata[versionsLocation].Value
		if loc == "" {
			mode, loc = "history", info.Metadata[historyLocation].Value
		}
		if loc == "" || !s.core.MayWrite(ctx, account, container, object) {
			return next(ctx)
		}
		vc, _ := url.PathUnescape(loc)
		vc, _, _ = strings.Cut(vc, "/")
		vw := &versioner{s: s, ctx: ctx, next: next, version: version, account: account,
			container: container, object: object, vc: vc}
		var arch *archived
		switch {
		case method == fasthttp.MethodPut:
			// A PUT the proxy would refuse archives nothing.
			r := &proxy.Request{Ctx: ctx, Method: method, Version: version, Account: account, Container: container, Object: object}
			if err = s.core.CheckObjectPut(r); err == nil {
				arch, err = vw.copyCurrent()
			}
		case mode == "history":
			arch, err = vw.deletePush()
		default:
			return vw.deletePop()
		}
		if err != nil {
			return err
		}
		err = next(ctx)
		// A PUT that failed (a short body, an ETag mismatch…) takes its
		// archive back: the object is still the version archived.
		vw.release(arch, method == fasthttp.MethodPut && (err != nil || !isSuccess(ctx.Response.StatusCode())))
		return err
	}
}

// versionsContainerHeaders turns a container PUT/POST's versioning headers
// into the one location and mode Swift keeps.
func versionsContainerHeaders(h *fasthttp.RequestHeader) error {
	vl, hl := h.Peek(versionsLocation), h.Peek(historyLocation)
	if vl != nil && hl != nil {
		switch {
		case len(hl) == 0:
			h.Del(historyLocation)
			hl = nil
		case len(vl) > 0:
			return plainError(fasthttp.StatusBadRequest, "Only one of x-versions-location or x-history-location may be specified")
		default:
			h.Del(versionsLocation)
			vl = nil
		}
	}
	set, val, clear := "", "", false
	if vl != nil || hl != nil {
		set, val = versionsLocation, string(vl)
		if vl == nil {
			set, val = historyLocation, string(hl)
		}
		if val == "" {
			set, clear = "", true
		} else if strings.Contains(val, "/") {
			return proxy.Errorf(fasthttp.StatusPreconditionFailed, "Container name cannot contain slashes")
		}
	}
	for _, k := range []string{"X-Remove-Versions-Location", "X-Remove-History-Location"} {
		if set == "" && len(h.Peek(k)) > 0 {
			clear = true
		}
		h.Del(k)
	}
	// The core stores both settings; only one may be set at a time, and
	// an empty value is a removal.
	h.Del(versionsLocation)
	h.Del(historyLocation)
	for _, k := range []string{versionsLocation, historyLocation} {
		switch {
		case k == set:
			h.Set(k, val)
		case clear || set != "":
			h.Set("X-Remove-"+strings.TrimPrefix(k, "X-"), "1")
		}
	}
	return nil
}

type versioner struct {
	s                                   *state
	ctx                                 *fasthttp.RequestCtx
	next                                proxy.Handler
	version, account, container, object string
	vc                                  string // the versions container
}

func (v *versioner) objectURI(container, object string) string {
	return "/" + v.version + "/" + pyfmt.Quote(v.account) + "/" + pyfmt.Quote(container) + "/" + pyfmt.Quote(object)
}

// versionPrefix is "%03x<name>/".
func versionPrefix(object string) string { return fmt.Sprintf("%03x%s/", len(object), object) }

// checkVersionResp is Swift's _check_response_error: 412 for a client
// error, 503 for anything else unsuccessful.
func checkVersionResp(resp *fasthttp.Response) error {
	code := resp.StatusCode()
	if code >= 200 && code < 300 {
		return nil
	}
	proxy.CloseResponse(resp)
	if code >= 400 && code < 500 {
		return proxy.Errorf(fasthttp.StatusPreconditionFailed, "")
	}
	return proxy.Errorf(fasthttp.StatusServiceUnavailable, "")
}

// getSource reads an object as it is stored (a link as a link).
func (v *versioner) getSource(uri string) *fasthttp.Response {
	return proxy.PreAuthed(v.ctx, v.next, fasthttp.MethodGet, uri+"?symlink=get", func(req *fasthttp.Request) {
		req.Header.Set("X-Newest", "True")
	})
}

// putFrom writes source's body and metadata to uri.
func (v *versioner) putFrom(uri string, src *fasthttp.Response, extra func(req *fasthttp.Request)) *fasthttp.Response {
	return proxy.PreAuthed(v.ctx, v.next, fasthttp.MethodPut, uri, func(req *fasthttp.Request) {
		for k, val := range src.Header.All() {
			switch strings.ToLower(string(k)) {
			case "x-timestamp", "content-length", "transfer-encoding", "connection", "date", "server",
				"accept-ranges", "last-modified", "content-location":
				continue
			}
			req.Header.SetBytesKV(k, val)
		}
		if size := string(src.Header.Peek("X-Object-Sysmeta-Slo-Size")); size != "" {
			req.Header.Set("Content-Type", string(src.Header.ContentType())+";swift_bytes="+size)
		}
		req.SetBodyStream(proxy.ResponseBody(src), src.Header.ContentLength())
		if extra != nil {
			extra(req)
		}
	})
}

// sourceTimestamp is the X-Timestamp of an object read.
func sourceTimestamp(src *fasthttp.Response) (timestamp.Timestamp, error) {
	ts, err := timestamp.Parse(string(src.Header.Peek("X-Timestamp")))
	if err != nil {
		t, ok := proxy.ParseHTTPDate(string(src.Header.Peek("Last-Modified")))
		if !ok {
			return ts, proxy.Errorf(fasthttp.StatusServiceUnavailable, "")
		}
		ts = timestamp.FromUnix(t.Unix())
	}
	return ts, nil
}

// copyCurrent archives the current object (if any) under its timestamp;
// the caller releases the archive returned.
func (v *versioner) copyCurrent() (*archived, error) {
	objectURI := v.objectURI(v.container, v.object)
	src := v.getSource(objectURI)
	defer src.CloseBodyStream()
	if src.StatusCode() == fasthttp.StatusNotFound {
		return nil, nil
	}
	if err := checkVersionResp(src); err != nil {
		return nil, err
	}
	if string(v.ctx.Method()) == fasthttp.MethodPut && string(v.ctx.Request.Header.Peek("If-None-Match")) == "*" {
		return nil, proxy.Errorf(fasthttp.StatusPreconditionFailed, "") // the PUT would be refused
	}
	if src.Header.ContentLength() < 0 || int64(src.Header.ContentLength()) > v.s.limits.MaxFileSize {
		return nil, proxy.Errorf(fasthttp.StatusRequestEntityTooLarge, "")
	}
	ts, err := sourceTimestamp(src)
	if err != nil {
		return nil, err
	}
	a := v.archive(objectURI, v.objectURI(v.vc, versionPrefix(v.object)+ts.Internal()), ts)
	resp := v.putFrom(a.copy, src, nil)
	defer proxy.CloseResponse(resp)
	if err := checkVersionResp(resp); err != nil {
		v.release(a, true)
		return nil, err
	}
	return a, nil
}

// deletePush archives the current object and writes a delete marker.
func (v *versioner) deletePush() (*archived, error) {
	a, err := v.copyCurrent()
	if err != nil {
		return nil, err
	}
	uri := v.objectURI(v.vc, versionPrefix(v.object)+timestamp.FromTime(time.Now()).Internal())
	resp := proxy.PreAuthed(v.ctx, v.next, fasthttp.MethodPut, uri, func(req *fasthttp.Request) {
		req.Header.SetContentType(deleteMarkerType)
		req.Header.SetContentLength(0)
	})
	defer proxy.CloseResponse(resp)
	if err := checkVersionResp(resp); err != nil {
		v.release(a, false)
		return nil, err
	}
	return a, nil
}

// versionsNewestFirst lists the archived versions of the object.
func (v *versioner) versionsNewestFirst() ([]db.ObjectEntry, error) {
	prefix := versionPrefix(v.object)
	var out []db.ObjectEntry
	marker := ""
	for {
		page, err := v.s.core.ListObjects(v.ctx, v.account, v.vc,
			db.ListOptions{Prefix: prefix, Marker: marker, Reverse: true, Limit: 10000})
		if err != nil {
			if proxy.NotFound(err) {
				return out, nil
			}
			return nil, proxy.Errorf(fasthttp.StatusInternalServerError, "")
		}
		out = append(out, page...)
		if len(page) < 10000 {
			return out, nil
		}
		marker = page[len(page)-1].Name
	}
}

// restore copies an archived version over the object; it reports false
// when that version is gone.
func (v *versioner) restore(name string) (bool, error) {
	src := v.getSource(v.objectURI(v.vc, name))
	defer src.CloseBodyStream()
	if src.StatusCode() == fasthttp.StatusNotFound {
		return false, nil
	}
	if err := checkVersionResp(src); err != nil {
		return false, err
	}
	resp := v.putFrom(v.objectURI(v.container, v.object), src, nil)
	defer proxy.CloseResponse(resp)
	return true, checkVersionResp(resp)
}

// deletePop is a stack-mode DELETE: the newest archived version (if any)
// takes the object's place and leaves the versions container; the answer
// is that of the DELETE finally made.
func (v *versioner) deletePop() error {
	items, err := v.versionsNewestFirst()
	if err != nil {
		return err
	}
	target := "" // what to DELETE instead of the object ("" = the object)
	for i := 0; i < len(items); i++ {
		item := items[i]
		if item.ContentType == deleteMarkerType {
			head := proxy.PreAuthed(v.ctx, v.next, fasthttp.MethodHead, v.objectURI(v.container, v.object), func(req *fasthttp.Request) {
				req.Header.Set("X-Newest", "True")
			})
			proxy.CloseResponse(head)
			if head.StatusCode() != fasthttp.StatusNotFound {
				if err := checkVersionResp(head); err != nil {
					return err
				}
				break
			}
			for i++; i < len(items); i++ {
				if items[i].ContentType == deleteMarkerType {
					break
				}
				ok, err := v.restore(items[i].Name)
				if err != nil {
					return err
				}
				if !ok {
					continue
				}
				del := proxy.PreAuthed(v.ctx, v.next, fasthttp.MethodDelete, v.objectURI(v.vc, items[i].Name), nil)
				proxy.CloseResponse(del)
				if del.StatusCode() != fasthttp.StatusNotFound {
					if err := checkVersionResp(del); err != nil {
						return err
					}
				}
				break
			}
			target = v.objectURI(v.vc, item.Name)
			break
		}
		ok, err := v.restore(item.Name)
		if err != nil {
			return err
		}
		if !ok {
			continue
		}
		target = v.objectURI(v.vc, item.Name)
		break
	}
	if target == "" {
		return v.next(v.ctx)
	}
	resp := proxy.PreAuthed(v.ctx, v.next, fasthttp.MethodDelete, target, nil)
	proxy.AdoptResponse(v.ctx, resp)
	return nil
}
