package versioning

import (
	"io"
	"net/url"
	"strconv"
	"strings"

	"github.com/valyala/fasthttp"

	"swiftbox/server/proxy"
	"swiftbox/server/pyfmt"
	"swiftbox/storage/timestamp"
)

// Object versioning (Swift's object_versioning middleware): a container
// with X-Versions-Enabled keeps every version of its objects in a hidden
// container "\x00versions\x00<container>", named "\x00<object>\x00<inverted
// timestamp>" so the newest sorts first; the object itself becomes a static
// symlink to its current version. ?versions lists every version,
// ?version-id= reads, deletes or restores one, and a DELETE leaves a delete
// marker.

const (
	ovEnabledSys  = "X-Container-Sysmeta-Versions-Enabled"
	ovContSys     = "X-Container-Sysmeta-Versions-Container"
	ovSymlinkSys  = "X-Object-Sysmeta-Versions-Symlink"
	ovVersionID   = "X-Object-Version-Id"
	allowReserved = "X-Backend-Allow-Reserved-Names"
	reservedByte  = "\x00"

	ovNoVersionsContainer = "The versions container does not exist. You may want to re-enable object versioning."
)

// reservedName is Swift's get_reserved_name.
func reservedName(parts ...string) string { return reservedByte + strings.Join(parts, reservedByte) }

// splitReservedName is Swift's split_reserved_name.
func splitReservedName(name string) ([]string, bool) {
	if !strings.HasPrefix(name, reservedByte) {
		return nil, false
	}
	return strings.Split(name[1:], reservedByte), true
}

// invertTimestamp is Swift's ~Timestamp: newer versions sort first.
func invertTimestamp(ts timestamp.Timestamp) timestamp.Timestamp {
	return timestamp.Timestamp{Raw: 999999999999999 - ts.Raw}
}

func versionObjectName(object string, ts timestamp.Timestamp) string {
	return reservedName(object, invertTimestamp(ts).Internal())
}

// splitVersionName returns the object name and version of a versions
// container entry.
func splitVersionName(name string) (string, timestamp.Timestamp, bool) {
	parts, ok := splitReservedName(name)
	if !ok || len(parts) != 2 {
		return name, timestamp.Timestamp{}, false
	}
	inv, err := timestamp.Parse(parts[1])
	if err != nil || inv.Offset != 0 {
		return name, timestamp.Timestamp{}, false
	}
	return parts[0], invertTimestamp(inv), true
}

// objectVersioning is the object_versioning middleware.
func (s *state) objectVersioning(next proxy.Handler) proxy.Handler {
	return func(ctx *fasthttp.RequestCtx) error {
		version, account, container, object, err := proxy.SplitPath(ctx)
		if err != nil || account == "" || (version != "v1" && version != "v1.0") {
			return next(ctx)
		}
		o := &ovRequest{s: s, ctx: ctx, next: next, version: version, account: account, container: container, object: object}
		switch {
		case container == "":
			if string(ctx.Method()) == fasthttp.MethodGet {
				return o.accountListing()
			}
			return next(ctx)
		case object == "":
			return o.containerRequest()
		}
		return o.objectRequest()
	}
}

// ovRequest is one request object versioning acts on.
type ovRequest struct {
	s                                   *state
	ctx                                 *fasthttp.RequestCtx
	next                                proxy.Handler
	version, account, container, object string
}

func (o *ovRequest) path(container, object string) string {
	s := "/" + o.version + "/" + pyfmt.Quote(o.account) + "/" + pyfmt.Quote(container)
	if object != "" {
		s += "/" + pyfmt.Quote(object)
	}
	return s
}

// reservedSub is a pre-authed subrequest that may name reserved paths.
func (o *ovRequest) reservedSub(method, uri string, prep func(req *fasthttp.Request)) *fasthttp.Response {
	return proxy.PreAuthed(o.ctx, o.next, method, uri, func(req *fasthttp.Request) {
		req.Header.Set(allowReserved, "true")
		if prep != nil {
			prep(req)
		}
	})
}

// ovCheck is object_versioning's _check_response_error.
func ovCheck(resp *fasthttp.Response) error {
	code := resp.StatusCode()
	if code >= 200 && code < 300 {
		return nil
	}
	if code >= 400 && code < 500 {
		if code == fasthttp.StatusNotFound {
			proxy.CloseResponse(resp)
			return proxy.Errorf(fasthttp.StatusPreconditionFailed, "")
		}
		body, _ := io.ReadAll(proxy.ResponseBody(resp))
		proxy.CloseResponse(resp)
		return proxy.ErrorWithType(code, string(resp.Header.ContentType()), string(body))
	}
	proxy.CloseResponse(resp)
	return proxy.Errorf(fasthttp.StatusServiceUnavailable, "")
}

// ---- containers ----

func (o *ovRequest) containerRequest() error {
	if m := string(o.ctx.Method()); m != fasthttp.MethodGet && m != fasthttp.MethodHead {
		defer o.s.infos.Forget(o.account + "/" + o.container)
	}
	h := &o.ctx.Request.Header
	switch m := string(o.ctx.Method()); {
	case (m == fasthttp.MethodPut || m == fasthttp.MethodPost) && h.Peek("X-Versions-Enabled") != nil:
		return o.enableVersioning()
	case m == fasthttp.MethodDelete:
		return o.containerDelete()
	case m == fasthttp.MethodGet || m == fasthttp.MethodHead:
		return o.containerRead()
	}
	return o.next(o.ctx)
}

func (o *ovRequest) enableVersioning() error {
	s, h := o.s, &o.ctx.Request.Header
	info, infoErr := s.core.ContainerInfo(o.ctx, o.account, o.container)
	if infoErr == nil {
		if info.Metadata[versionsLocation].Value != "" || info.Metadata[historyLocation].Value != "" {
			return proxy.Errorf(fasthttp.StatusBadRequest, "Cannot enable object versioning on a container that is already using the legacy versioned writes feature.")
		}
		if info.Metadata["X-Container-Sync-To"].Value != "" {
			return proxy.Errorf(fasthttp.StatusBadRequest, "Cannot enable object versioning on a container configured as source of container syncing.")
		}
	}
	if !o.ownerMay() {
		return o.next(o.ctx) // the proxy core refuses it
	}
	enabled := pyfmt.True(string(h.Peek("X-Versions-Enabled")))
	h.Del("X-Versions-Enabled")
	h.Set(ovEnabledSys, pyfmt.Bool(enabled))
	vc := reservedName("versions", o.container)
	created := false
	if enabled {
		// The versions container takes the primary's storage policy (a
		// new primary's requested one, else the default).
		policy := ""
		if infoErr == nil {
			pol, _ := s.core.Policies().ByIndex(info.StoragePolicy)
			if pol.Deprecated {
				return proxy.Errorf(fasthttp.StatusBadRequest, "Cannot enable object versioning on a container that uses a deprecated storage policy.")
			}
			policy = pol.Name
		} else if string(o.ctx.Method()) == fasthttp.MethodPut {
			policy = string(h.Peek("X-Storage-Policy"))
		}
		resp := o.reservedSub(fasthttp.MethodPut, o.path(vc, ""), func(req *fasthttp.Request) {
			if policy != "" {
				req.Header.Set("X-Storage-Policy", policy)
			}
		})
		proxy.CloseResponse(resp)
		if code := resp.StatusCode(); !isSuccess(code) && code != fasthttp.StatusConflict {
			return proxy.Errorf(fasthttp.StatusInternalServerError, "Error enabling object versioning")
		}
		h.Set(ovContSys, pyfmt.Quote(vc))
		created = true
	}
	if err := o.next(o.ctx); err != nil {
		return err
	}
	if created && !isSuccess(o.ctx.Response.StatusCode()) {
		proxy.CloseResponse(o.reservedSub(fasthttp.MethodDelete, o.path(vc, ""), nil))
	}
	return nil
}

// ownerMay reports whether the request may change the container (or,
// for objects, write the object).
func (o *ovRequest) ownerMay() bool {
	return o.s.core.MayWrite(o.ctx, o.account, o.container, o.object)
}

func (o *ovRequest) versionsContainer() (vc string, enabled string) {
	info, err := o.s.containerInfo(o.ctx, o.account, o.container)
	if err != nil {
		return "", ""
	}
	vc, _ = url.PathUnescape(info.Metadata[ovContSys].Value)
	vc, _, _ = strings.Cut(vc, "/")
	return vc, info.Metadata[ovEnabledSys].Value
}

func (o *ovRequest) containerDelete() error {
	vc, _ := o.versionsContainer()
	if vc != "" && o.ownerMay() {
		info, err := o.s.core.ReadContainerInfo(o.ctx, o.account, vc, true)
		switch {
		case err == nil && info.ObjectCount > 0:
			return proxy.Errorf(fasthttp.StatusConflict, "Delete all versions before deleting container.")
		case err != nil && !proxy.NotFound(err):
			return proxy.Errorf(fasthttp.StatusInternalServerError, "Error deleting versioned container")
		}
		resp := o.reservedSub(fasthttp.MethodDelete, o.path(vc, ""), nil)
		proxy.CloseResponse(resp)
		if code := resp.StatusCode(); !isSuccess(code) && code != fasthttp.StatusNotFound {
			return proxy.Errorf(fasthttp.StatusInternalServerError, "Error deleting versioned container")
		}
	}
	return o.next(o.ctx)
}

// containerRead adds the versioning state and the versions' bytes to a
// container HEAD/GET, shows version links as their versions in listings,
// and serves ?versions.
func (o *ovRequest) containerRead() error {
	ctx := o.ctx
	vc, enabled := o.versionsContainer()
	wantVersions := ctx.QueryArgs().Has("versions")
	isGet := string(ctx.Method()) == fasthttp.MethodGet
	rewrite := isGet && (vc != "" || wantVersions)
	var clientFormat string
	if rewrite {
		r := &proxy.Request{Ctx: ctx}
		f, err := proxy.ListingFormat(r)
		if err != nil {
			if !wantVersions {
				return o.next(ctx)
			}
			return proxy.Errorf(fasthttp.StatusNotAcceptable, "")
		}
		clientFormat = f
		if wantVersions {
			q := strings.ToLower(string(ctx.QueryArgs().Peek("format")))
			accept := string(ctx.Request.Header.Peek("Accept"))
			ok := q == "json" || q == "" && (strings.TrimSpace(accept) == "" || proxy.AcceptQuality(accept, "application/json") > 0)
			if !ok {
				return proxy.Errorf(fasthttp.StatusNotAcceptable, "")
			}
			if err := checkVersionsParams(ctx.QueryArgs()); err != nil {
				return err
			}
		}
		ctx.QueryArgs().Set("format", "json")
	}
	if err := o.next(ctx); err != nil {
		return err
	}
	h := &ctx.Response.Header
	if enabled != "" {
		h.Set("X-Versions-Enabled", enabled)
	}
	if vc != "" && h.Peek("X-Container-Bytes-Used") != nil {
		if vinfo, err := o.s.core.ReadContainerInfo(o.ctx, o.account, vc, true); err == nil {
			n, _ := strconv.ParseInt(string(h.Peek("X-Container-Bytes-Used")), 10, 64)
			h.Set("X-Container-Bytes-Used", strconv.FormatInt(n+vinfo.BytesUsed, 10))
		}
	}
	if !rewrite || !isSuccess(ctx.Response.StatusCode()) {
		return nil
	}
	location := vc
	if location == "" {
		location = reservedName("versions", o.container)
	}
	listing, err := proxy.DecodeListing(ctx.Response.Body())
	if err != nil {
		return nil
	}
	for _, item := range listing {
		sp, ok1 := item.Str("symlink_path")
		se, ok2 := item.Str("symlink_etag")
		sb, ok3 := item.Get("symlink_bytes")
		if !ok1 || !ok2 || !ok3 {
			continue
		}
		path, _ := url.PathUnescape(sp)
		_, _, tc, tobj, err := proxy.SplitURI(pyfmt.Quote(path))
		if err != nil || tc != location {
			continue
		}
		hash, _ := item.Str("hash")
		params := ""
		if _, rest, ok := strings.Cut(hash, ";"); ok {
			for _, kv := range strings.Split(rest, ";") {
				if kv = strings.TrimSpace(kv); kv != "" {
					params += "; " + kv
				}
			}
		}
		item.Del("symlink_bytes")
		item.Set("bytes", sb)
		item.Set("version_symlink", true)
		item.Del("symlink_etag")
		item.Set("hash", se+params)
		if name, ver, ok := splitVersionName(tobj); ok && !wantVersions {
			tacct := strings.SplitN(strings.TrimPrefix(path, "/"), "/", 3)[1]
			item.Set("symlink_path", pyfmt.Quote("/v1/"+tacct+"/"+o.container+"/"+name)+"?version-id="+ver.Internal())
		}
	}
	if wantVersions {
		return o.listVersions(location, listing)
	}
	proxy.RenderObjectListing(ctx, clientFormat, o.container, listing)
	return nil
}
