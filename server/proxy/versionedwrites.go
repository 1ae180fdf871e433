package proxy

import (
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	"swiftbox/server/pyfmt"

	"github.com/valyala/fasthttp"

	"swiftbox/keystone"
	"swiftbox/ring"
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

// versionedWrites is the middleware.
func (p *Proxy) versionedWrites(next fasthttp.RequestHandler) fasthttp.RequestHandler {
	if !p.cfg.Versioning.AllowVersionedWrites {
		return next
	}
	return func(ctx *fasthttp.RequestCtx) {
		version, account, container, object, err := SplitPath(ctx)
		if err != nil || container == "" {
			next(ctx)
			return
		}
		method := string(ctx.Method())
		if object == "" {
			if method == fasthttp.MethodPut || method == fasthttp.MethodPost {
				if err := versionsContainerHeaders(&ctx.Request.Header); err != nil {
					WriteError(ctx, err)
					return
				}
			}
			next(ctx)
			if method != fasthttp.MethodGet && method != fasthttp.MethodHead {
				p.vinfo.forget(account, container)
			}
			return
		}
		if method != fasthttp.MethodPut && method != fasthttp.MethodDelete {
			next(ctx)
			return
		}
		info, err := p.versioningInfo(ctx, account, container)
		if err != nil {
			next(ctx)
			return
		}
		mode, loc := "stack", info.Metadata[versionsLocation].Value
		if loc == "" {
			mode, loc = "history", info.Metadata[historyLocation].Value
		}
		if loc == "" || !p.mayWrite(ctx, account, container, object) {
			next(ctx)
			return
		}
		vc, _ := url.PathUnescape(loc)
		vc, _, _ = strings.Cut(vc, "/")
		vw := &versioner{p: p, ctx: ctx, next: next, version: version, account: account,
			container: container, object: object, vc: vc}
		var arch *archived
		switch {
		case method == fasthttp.MethodPut:
			// A PUT the proxy would refuse archives nothing.
			r := &Request{Ctx: ctx, Method: method, Version: version, Account: account, Container: container, Object: object}
			if _, _, err = p.checkObjectPut(r, time.Now()); err == nil {
				arch, err = vw.copyCurrent()
			}
		case mode == "history":
			arch, err = vw.deletePush()
		default:
			err = vw.deletePop()
			if err == nil {
				return // deletePop answered
			}
		}
		if err != nil {
			WriteError(ctx, err)
			return
		}
		next(ctx)
		// A PUT that failed (a short body, an ETag mismatch…) takes its
		// archive back: the object is still the version archived.
		vw.release(arch, method == fasthttp.MethodPut && !isSuccess(ctx.Response.StatusCode()))
	}
}

// archiveClaims counts, per archived copy, the writes that copied an
// object's current version into a versions container and have not yet
// finished replacing the object. A failed write removes the copy it made
// only when no other write counts on it (one swiftbox serves the whole
// cluster, so this process sees every such write).
type archiveClaims struct {
	mu   sync.Mutex
	refs map[string]int
}

func (a *archiveClaims) hold(key string) {
	a.mu.Lock()
	if a.refs == nil {
		a.refs = map[string]int{}
	}
	a.refs[key]++
	a.mu.Unlock()
}

// drop ends a claim. When it was the last one it also returns the time to
// stamp a removal of the copy with: a write that archives the same version
// afterwards stamps its copy later, so the removal cannot hide that copy.
func (a *archiveClaims) drop(key string) (timestamp.Timestamp, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.refs[key]--; a.refs[key] > 0 {
		return timestamp.Timestamp{}, false
	}
	delete(a.refs, key)
	return timestamp.Now(), true
}

// archived is an object's current version copied into a versions
// container by a write in progress.
type archived struct {
	key    string              // the claim
	object string              // the object's URI
	copy   string              // the copy's URI
	ts     timestamp.Timestamp // the version's (the object's X-Timestamp)
}

// archive claims the copy of the object's version ts at uri; the caller
// releases it when its write is done.
func (v *versioner) archive(objectURI, copyURI string, ts timestamp.Timestamp) *archived {
	a := &archived{key: v.account + "/" + copyURI, object: objectURI, copy: copyURI, ts: ts}
	v.p.archives.hold(a.key)
	return a
}

// release ends the write's claim on its archive (nil: none). When the
// write failed and no other write counts on the copy, the copy goes if
// the object is still the version copied: the data stays in the object,
// and the next write that replaces it archives it again.
func (v *versioner) release(a *archived, failed bool) {
	if a == nil {
		return
	}
	at, last := v.p.archives.drop(a.key)
	if !failed || !last {
		return
	}
	head := preAuthed(v.ctx, Lift(v.next), fasthttp.MethodHead, a.object+"?symlink=get", func(req *fasthttp.Request) {
		req.Header.Set("X-Newest", "True")
	})
	closeResp(head)
	cur, err := timestamp.Parse(string(head.Header.Peek("X-Timestamp")))
	if !isSuccess(head.StatusCode()) || err != nil || cur != a.ts {
		return
	}
	closeResp(preAuthed(v.ctx, Lift(v.next), fasthttp.MethodDelete, a.copy, func(req *fasthttp.Request) {
		req.Header.Set("X-Timestamp", at.Internal())
		req.Header.Set(allowReserved, "true")
	}))
}

// versioningInfo is the container's info for the versioning middlewares,
// read once per request (legacy versioning and object versioning both look
// at it) and kept a few seconds, as Swift keeps container info in memcache;
// container writes through this proxy forget it at once.
func (p *Proxy) versioningInfo(ctx *fasthttp.RequestCtx, account, container string) (db.ContainerInfo, error) {
	type memo struct {
		a, c string
		info db.ContainerInfo
		err  error
	}
	if v, ok := ctx.UserValue(keyVersioningInfo).(*memo); ok && v.a == account && v.c == container {
		return v.info, v.err
	}
	info, err, ok := p.vinfo.get(account, container)
	if !ok {
		info, err = p.ContainerInfo(ctx, account, container)
		if err == nil || notFound(err) {
			p.vinfo.put(account, container, info, err)
		}
	}
	ctx.SetUserValue(keyVersioningInfo, &memo{account, container, info, err})
	return info, err
}

// versioningCacheTTL bounds how stale the cached info may be when another
// node changed the container.
const versioningCacheTTL = 5 * time.Second

// versioningCache holds recent container infos for the versioning
// middlewares.
type versioningCache struct {
	mu sync.Mutex
	m  map[string]versioningCacheEntry
}

type versioningCacheEntry struct {
	info    db.ContainerInfo
	err     error
	expires time.Time
}

func (vc *versioningCache) get(a, c string) (db.ContainerInfo, error, bool) {
	vc.mu.Lock()
	defer vc.mu.Unlock()
	e, ok := vc.m[a+"/"+c]
	if !ok || time.Now().After(e.expires) {
		return db.ContainerInfo{}, nil, false
	}
	return e.info, e.err, true
}

func (vc *versioningCache) put(a, c string, info db.ContainerInfo, err error) {
	vc.mu.Lock()
	defer vc.mu.Unlock()
	if vc.m == nil || len(vc.m) > 10000 {
		vc.m = map[string]versioningCacheEntry{}
	}
	vc.m[a+"/"+c] = versioningCacheEntry{info, err, time.Now().Add(versioningCacheTTL)}
}

// forget drops a container's info (after a container PUT, POST or DELETE).
func (vc *versioningCache) forget(a, c string) {
	vc.mu.Lock()
	delete(vc.m, a+"/"+c)
	vc.mu.Unlock()
}

const keyVersioningInfo = "swiftbox.versioning_info"

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
			return Errorf(fasthttp.StatusPreconditionFailed, "Container name cannot contain slashes")
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

// mayWrite reports whether the request would be allowed to write the
// object (versioning writes on the user's behalf only then; otherwise the
// proxy core refuses the request itself).
func (p *Proxy) mayWrite(ctx *fasthttp.RequestCtx, account, container, object string) bool {
	if AuthorizedLevel(ctx) != 0 {
		return true
	}
	if ctx.UserValue(keyBadToken) != nil {
		return false
	}
	r := &Request{Ctx: ctx, Method: string(ctx.Method()), Account: account, Container: container, Object: object,
		ID: RequestIdentity(ctx)}
	if r.ID == nil {
		// Anonymous writes go only where an ACL lets anyone write.
		if !strings.HasPrefix(account, p.auth.Prefix()) {
			return false
		}
	}
	return p.Authorize(r) == keystone.Allow
}

// preAuthed runs a subrequest as the account owner (Swift's
// make_pre_authed_request): the caller was authorized already.
// Nor is it held to a temp URL's or an S3 grant's scope (Swift's
// pre-authed requests replace swift.authorize); an access key's buckets
// still hold.
func preAuthed(parent *fasthttp.RequestCtx, next Handler, method, uri string, prep func(req *fasthttp.Request)) *fasthttp.Response {
	old, scope, grant := parent.UserValue(keyAuthorized), parent.UserValue(keyTempURLScope), parent.UserValue(keyGrantScope)
	parent.SetUserValue(keyAuthorized, AuthorizedOwner)
	parent.SetUserValue(keyTempURLScope, nil)
	parent.SetUserValue(keyGrantScope, withoutGrant(grant))
	defer func() {
		parent.SetUserValue(keyAuthorized, old)
		parent.SetUserValue(keyTempURLScope, scope)
		parent.SetUserValue(keyGrantScope, grant)
	}()
	return Subrequest(parent, next, method, uri, prep)
}

type versioner struct {
	p                                   *Proxy
	ctx                                 *fasthttp.RequestCtx
	next                                fasthttp.RequestHandler
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
	closeResp(resp)
	if code >= 400 && code < 500 {
		return Errorf(fasthttp.StatusPreconditionFailed, "")
	}
	return Errorf(fasthttp.StatusServiceUnavailable, "")
}

// getSource reads an object as it is stored (a link as a link).
func (v *versioner) getSource(uri string) *fasthttp.Response {
	return preAuthed(v.ctx, Lift(v.next), fasthttp.MethodGet, uri+"?symlink=get", func(req *fasthttp.Request) {
		req.Header.Set("X-Newest", "True")
	})
}

// putFrom writes source's body and metadata to uri.
func (v *versioner) putFrom(uri string, src *fasthttp.Response, extra func(req *fasthttp.Request)) *fasthttp.Response {
	return preAuthed(v.ctx, Lift(v.next), fasthttp.MethodPut, uri, func(req *fasthttp.Request) {
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
		req.SetBodyStream(ResponseBody(src), src.Header.ContentLength())
		if extra != nil {
			extra(req)
		}
	})
}

// sourceTimestamp is the X-Timestamp of an object read.
func sourceTimestamp(src *fasthttp.Response) (timestamp.Timestamp, error) {
	ts, err := timestamp.Parse(string(src.Header.Peek("X-Timestamp")))
	if err != nil {
		t, ok := ParseHTTPDate(string(src.Header.Peek("Last-Modified")))
		if !ok {
			return ts, Errorf(fasthttp.StatusServiceUnavailable, "")
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
		return nil, Errorf(fasthttp.StatusPreconditionFailed, "") // the PUT would be refused
	}
	if src.Header.ContentLength() < 0 || int64(src.Header.ContentLength()) > v.p.limits.MaxFileSize {
		return nil, Errorf(fasthttp.StatusRequestEntityTooLarge, "")
	}
	ts, err := sourceTimestamp(src)
	if err != nil {
		return nil, err
	}
	a := v.archive(objectURI, v.objectURI(v.vc, versionPrefix(v.object)+ts.Internal()), ts)
	resp := v.putFrom(a.copy, src, nil)
	defer closeResp(resp)
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
	resp := preAuthed(v.ctx, Lift(v.next), fasthttp.MethodPut, uri, func(req *fasthttp.Request) {
		req.Header.SetContentType(deleteMarkerType)
		req.Header.SetContentLength(0)
	})
	defer closeResp(resp)
	if err := checkVersionResp(resp); err != nil {
		v.release(a, false)
		return nil, err
	}
	return a, nil
}

// versionsNewestFirst lists the archived versions of the object.
func (v *versioner) versionsNewestFirst() ([]db.ObjectEntry, error) {
	p := v.p
	pl := p.containerPlace(v.account, v.vc)
	prefix := versionPrefix(v.object)
	var out []db.ObjectEntry
	marker := ""
	for {
		page, err := readFirst(pl, func(n *ring.Device) ([]db.ObjectEntry, error) {
			return p.be.ContainerList(v.ctx, pl.container(n, v.account, v.vc),
				db.ListOptions{Prefix: prefix, Marker: marker, Reverse: true, Limit: 10000})
		})
		if err != nil {
			if notFound(err) {
				return out, nil
			}
			return nil, Errorf(fasthttp.StatusInternalServerError, "")
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
	defer closeResp(resp)
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
			head := preAuthed(v.ctx, Lift(v.next), fasthttp.MethodHead, v.objectURI(v.container, v.object), func(req *fasthttp.Request) {
				req.Header.Set("X-Newest", "True")
			})
			closeResp(head)
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
				del := preAuthed(v.ctx, Lift(v.next), fasthttp.MethodDelete, v.objectURI(v.vc, items[i].Name), nil)
				closeResp(del)
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
		v.next(v.ctx)
		return nil
	}
	resp := preAuthed(v.ctx, Lift(v.next), fasthttp.MethodDelete, target, nil)
	adoptResponse(v.ctx, resp)
	return nil
}
