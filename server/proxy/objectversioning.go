package proxy

import (
	"bytes"
	"io"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"swiftbox/server/pyfmt"

	"github.com/valyala/fasthttp"

	"swiftbox/storage/db"
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

// objectVersioning is the middleware.
func (p *Proxy) objectVersioning(next fasthttp.RequestHandler) fasthttp.RequestHandler {
	if !p.cfg.Versioning.AllowObjectVersioning {
		return next
	}
	return func(ctx *fasthttp.RequestCtx) {
		version, account, container, object, err := SplitPath(ctx)
		if err != nil || account == "" || (version != "v1" && version != "v1.0") {
			next(ctx)
			return
		}
		ov := &ovRequest{p: p, ctx: ctx, next: next, version: version, account: account, container: container, object: object}
		switch {
		case container == "":
			if string(ctx.Method()) == fasthttp.MethodGet {
				err = ov.accountListing()
			} else {
				next(ctx)
			}
		case object == "":
			err = ov.containerRequest()
		default:
			err = ov.objectRequest()
		}
		if err != nil {
			WriteError(ctx, err)
		}
	}
}

type ovRequest struct {
	p                                   *Proxy
	ctx                                 *fasthttp.RequestCtx
	next                                fasthttp.RequestHandler
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
	return preAuthed(o.ctx, Lift(o.next), method, uri, func(req *fasthttp.Request) {
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
			closeResp(resp)
			return Errorf(fasthttp.StatusPreconditionFailed, "")
		}
		body, _ := io.ReadAll(ResponseBody(resp))
		closeResp(resp)
		return &HTTPError{status: code, body: string(body), ctype: string(resp.Header.ContentType())}
	}
	closeResp(resp)
	return Errorf(fasthttp.StatusServiceUnavailable, "")
}

func isSuccess(code int) bool { return code >= 200 && code < 300 }

// resetResponse clears a response for a new answer, keeping the
// transaction id.
func resetResponse(ctx *fasthttp.RequestCtx) {
	tid := string(ctx.Response.Header.Peek("X-Trans-Id"))
	ctx.Response.CloseBodyStream()
	ctx.Response.Reset()
	if tid != "" {
		ctx.Response.Header.Set("X-Trans-Id", tid)
		ctx.Response.Header.Set("X-Openstack-Request-Id", tid)
	}
}

// ---- containers ----

func (o *ovRequest) containerRequest() error {
	if m := string(o.ctx.Method()); m != fasthttp.MethodGet && m != fasthttp.MethodHead {
		defer o.p.vinfo.forget(o.account, o.container)
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
	o.next(o.ctx)
	return nil
}

func (o *ovRequest) enableVersioning() error {
	p, h := o.p, &o.ctx.Request.Header
	info, infoErr := p.ContainerInfo(o.ctx, o.account, o.container)
	if infoErr == nil {
		if info.Metadata[versionsLocation].Value != "" || info.Metadata[historyLocation].Value != "" {
			return Errorf(fasthttp.StatusBadRequest, "Cannot enable object versioning on a container that is already using the legacy versioned writes feature.")
		}
		if info.Metadata["X-Container-Sync-To"].Value != "" {
			return Errorf(fasthttp.StatusBadRequest, "Cannot enable object versioning on a container configured as source of container syncing.")
		}
	}
	if !o.ownerMay() {
		o.next(o.ctx) // the proxy core refuses it
		return nil
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
			pol, _ := p.Policies().ByIndex(info.StoragePolicy)
			if pol.Deprecated {
				return Errorf(fasthttp.StatusBadRequest, "Cannot enable object versioning on a container that uses a deprecated storage policy.")
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
		closeResp(resp)
		if code := resp.StatusCode(); !isSuccess(code) && code != fasthttp.StatusConflict {
			return Errorf(fasthttp.StatusInternalServerError, "Error enabling object versioning")
		}
		h.Set(ovContSys, pyfmt.Quote(vc))
		created = true
	}
	o.next(o.ctx)
	if created && !isSuccess(o.ctx.Response.StatusCode()) {
		closeResp(o.reservedSub(fasthttp.MethodDelete, o.path(vc, ""), nil))
	}
	return nil
}

// ownerMay reports whether the request may change the container (or,
// for objects, write the object).
func (o *ovRequest) ownerMay() bool {
	return o.p.mayWrite(o.ctx, o.account, o.container, o.object)
}

func (o *ovRequest) versionsContainer() (vc string, enabled string) {
	info, err := o.p.versioningInfo(o.ctx, o.account, o.container)
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
		info, err := o.p.ReadContainerInfo(o.account, vc, true)
		switch {
		case err == nil && info.ObjectCount > 0:
			return Errorf(fasthttp.StatusConflict, "Delete all versions before deleting container.")
		case err != nil && !notFound(err):
			return Errorf(fasthttp.StatusInternalServerError, "Error deleting versioned container")
		}
		resp := o.reservedSub(fasthttp.MethodDelete, o.path(vc, ""), nil)
		closeResp(resp)
		if code := resp.StatusCode(); !isSuccess(code) && code != fasthttp.StatusNotFound {
			return Errorf(fasthttp.StatusInternalServerError, "Error deleting versioned container")
		}
	}
	o.next(o.ctx)
	return nil
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
		r := &Request{Ctx: ctx}
		f, err := ListingFormat(r)
		if err != nil {
			if !wantVersions {
				o.next(ctx)
				return nil
			}
			return Errorf(fasthttp.StatusNotAcceptable, "")
		}
		clientFormat = f
		if wantVersions {
			q := strings.ToLower(string(ctx.QueryArgs().Peek("format")))
			accept := string(ctx.Request.Header.Peek("Accept"))
			ok := q == "json" || q == "" && (strings.TrimSpace(accept) == "" || acceptQuality(accept, "application/json") > 0)
			if !ok {
				return Errorf(fasthttp.StatusNotAcceptable, "")
			}
			if err := checkVersionsParams(ctx.QueryArgs()); err != nil {
				return err
			}
		}
		ctx.QueryArgs().Set("format", "json")
	}
	o.next(ctx)
	h := &ctx.Response.Header
	if enabled != "" {
		h.Set("X-Versions-Enabled", enabled)
	}
	if vc != "" && h.Peek("X-Container-Bytes-Used") != nil {
		if vinfo, err := o.p.ReadContainerInfo(o.account, vc, true); err == nil {
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
	listing, err := decodeListing(ctx.Response.Body())
	if err != nil {
		return nil
	}
	for _, item := range listing {
		sp, ok1 := item.str("symlink_path")
		se, ok2 := item.str("symlink_etag")
		sb, ok3 := item.get("symlink_bytes")
		if !ok1 || !ok2 || !ok3 {
			continue
		}
		path, _ := url.PathUnescape(sp)
		_, _, tc, tobj, err := splitPathOf(pyfmt.Quote(path))
		if err != nil || tc != location {
			continue
		}
		hash, _ := item.str("hash")
		params := ""
		if _, rest, ok := strings.Cut(hash, ";"); ok {
			for _, kv := range strings.Split(rest, ";") {
				if kv = strings.TrimSpace(kv); kv != "" {
					params += "; " + kv
				}
			}
		}
		item.del("symlink_bytes")
		item.set("bytes", sb)
		item.set("version_symlink", true)
		item.del("symlink_etag")
		item.set("hash", se+params)
		if name, ver, ok := splitVersionName(tobj); ok && !wantVersions {
			tacct := strings.SplitN(strings.TrimPrefix(path, "/"), "/", 3)[1]
			item.set("symlink_path", pyfmt.Quote("/v1/"+tacct+"/"+o.container+"/"+name)+"?version-id="+ver.Internal())
		}
	}
	if wantVersions {
		return o.listVersions(location, listing)
	}
	renderListing(ctx, clientFormat, o.container, listing)
	return nil
}

// checkVersionsParams validates ?versions paging parameters.
func checkVersionsParams(q *fasthttp.Args) error {
	if q.Has("version_marker") {
		if !q.Has("marker") {
			return Errorf(fasthttp.StatusBadRequest, "version_marker param requires marker")
		}
		if vm := string(q.Peek("version_marker")); vm != "null" {
			if _, err := timestamp.Parse(vm); err != nil {
				return Errorf(fasthttp.StatusBadRequest, "invalid version_marker param")
			}
		}
	}
	if strings.ContainsAny(string(q.Peek("delimiter")), "0123456789."+reservedByte) {
		return Errorf(fasthttp.StatusBadRequest, "invalid delimiter param")
	}
	return nil
}

// listVersions serves ?versions: the primary listing's unversioned
// objects, every version from the versions container, flagged is_latest
// where current, merged in name order.
func (o *ovRequest) listVersions(location string, primary []*jsonItem) error {
	ctx := o.ctx
	q := ctx.QueryArgs()
	marker := ""
	if q.Has("version_marker") {
		marker = string(q.Peek("marker"))
		if vm := string(q.Peek("version_marker")); vm != "null" {
			ts, _ := timestamp.Parse(vm)
			marker = versionObjectName(marker, ts)
		}
	} else if q.Has("marker") {
		marker = reservedName(string(q.Peek("marker")), "") + ":"
	}
	var nullListing, subdirs, versions, broken []*jsonItem
	subdirSet := map[string]bool{}
	current := map[string]*jsonItem{}
	latest := map[string]bool{}
	for _, item := range primary {
		if sd, ok := item.str("subdir"); ok {
			subdirSet[sd] = true
			continue
		}
		if v, _ := item.get("version_symlink"); v == true {
			sp, _ := item.str("symlink_path")
			path, _ := url.PathUnescape(sp)
			current[path] = item
			continue
		}
		name, _ := item.str("name")
		item.set("version_id", "null")
		item.set("is_latest", true)
		nullListing = append(nullListing, item)
		latest[name] = true
	}
	args := q
	vq := &fasthttp.Args{}
	vq.Set("format", "json")
	if args.Has("prefix") {
		vq.Set("prefix", reservedName(string(args.Peek("prefix"))))
	}
	if marker != "" {
		vq.Set("marker", marker)
	}
	for _, k := range []string{"limit", "delimiter", "reverse"} {
		if v := args.Peek(k); len(v) > 0 {
			vq.SetBytesV(k, v)
		}
	}
	resp := o.reservedSub(fasthttp.MethodGet, o.path(location, "")+"?"+vq.String(), nil)
	defer closeResp(resp)
	code := resp.StatusCode()
	switch {
	case code == fasthttp.StatusNotFound:
		for path, item := range current {
			parts := strings.SplitN(path, "/", 5)
			name, ts, ok := splitVersionName(parts[len(parts)-1])
			if !ok {
				continue
			}
			isLatest := !latest[name]
			latest[name] = true
			broken = append(broken, brokenItem(item, name, ts, isLatest))
		}
	case isSuccess(code):
		body, _ := io.ReadAll(ResponseBody(resp))
		vlist, err := decodeListing(body)
		if err != nil {
			return Errorf(fasthttp.StatusInternalServerError, "")
		}
		for _, item := range vlist {
			if sd, ok := item.str("subdir"); ok {
				if parts, ok := splitReservedName(sd); ok {
					subdirSet[parts[0]] = true
				}
				continue
			}
			vname, _ := item.str("name")
			name, ts, ok := splitVersionName(vname)
			if !ok {
				continue
			}
			path := "/v1/" + o.account + "/" + location + "/" + vname
			ctype, _ := item.str("content_type")
			switch {
			case current[path] != nil:
				item.set("is_latest", true)
				latest[name] = true
				delete(current, path)
			case ctype == deleteMarkerType && !latest[name]:
				item.set("is_latest", true)
				latest[name] = true
			default:
				item.set("is_latest", false)
			}
			item.set("name", name)
			item.set("version_id", ts.Internal())
			versions = append(versions, item)
		}
		for path, item := range current {
			_, rest, _ := strings.Cut(path, "/")
			name, ts, ok := splitVersionName(rest)
			if !ok {
				// a full path: the last part is the version's name
				parts := strings.SplitN(path, "/", 5)
				if name, ts, ok = splitVersionName(parts[len(parts)-1]); !ok {
					continue
				}
			}
			broken = append(broken, brokenItem(item, name, ts, true))
		}
	default:
		adoptResponse(ctx, resp)
		return nil
	}
	for sd := range subdirSet {
		subdirs = append(subdirs, newJSONItem("subdir", sd))
	}
	sort.Slice(subdirs, func(i, j int) bool { return subdirs[i].key() < subdirs[j].key() })
	all := append(append(append(nullListing, versions...), subdirs...), broken...)
	reverse := pyfmt.True(string(args.Peek("reverse")))
	sort.SliceStable(all, func(i, j int) bool {
		if reverse {
			return all[i].key() > all[j].key()
		}
		return all[i].key() < all[j].key()
	})
	limit := o.p.limits.ContainerListingLimit
	if n, err := strconv.Atoi(string(args.Peek("limit"))); err == nil && n >= 0 && n < limit {
		limit = n
	}
	if len(all) > limit {
		all = all[:limit]
	}
	var b bytes.Buffer
	writeJSONItems(&b, all)
	ctx.Response.Header.SetContentType("application/json; charset=utf-8")
	ctx.SetStatusCode(fasthttp.StatusOK)
	ctx.SetBody(b.Bytes())
	return nil
}

func brokenItem(item *jsonItem, name string, ts timestamp.Timestamp, isLatest bool) *jsonItem {
	out := newJSONItem("name", name)
	out.set("is_latest", isLatest)
	out.set("version_id", ts.Internal())
	for _, k := range []string{"content_type", "bytes", "hash", "last_modified"} {
		v, _ := item.get(k)
		out.set(k, v)
	}
	return out
}

// versionsBytesUsed is what a container's hidden versions take, counted
// in its bytes used as Swift's container info shows them (quotas see it).
func (p *Proxy) versionsBytesUsed(account string, info db.ContainerInfo) int64 {
	if !p.cfg.Versioning.AllowObjectVersioning {
		return 0
	}
	vc, _ := url.PathUnescape(info.Metadata[ovContSys].Value)
	if vc, _, _ = strings.Cut(vc, "/"); vc == "" {
		return 0
	}
	vinfo, err := p.ReadContainerInfo(account, vc, true)
	if err != nil {
		return 0
	}
	return vinfo.BytesUsed
}

// ---- accounts ----

// accountListing counts the versions' bytes in their containers' rows
// and lists containers that only have versions left (a versions container
// that holds some, listed under its primary's name).
func (o *ovRequest) accountListing() error {
	ctx := o.ctx
	r := &Request{Ctx: ctx}
	format, err := ListingFormat(r)
	if err != nil {
		o.next(ctx)
		return nil
	}
	q := ctx.QueryArgs()
	vq := &fasthttp.Args{}
	vq.Set("format", "json")
	if q.Has("prefix") {
		vq.Set("prefix", reservedName("versions", string(q.Peek("prefix"))))
	} else {
		vq.Set("prefix", reservedName("versions"))
	}
	for _, k := range []string{"marker", "end_marker"} {
		if q.Has(k) {
			vq.Set(k, reservedName("versions", string(q.Peek(k))))
		}
	}
	for _, k := range []string{"limit", "reverse"} {
		if v := q.Peek(k); len(v) > 0 {
			vq.SetBytesV(k, v)
		}
	}
	resp := o.reservedSub(fasthttp.MethodGet, "/"+o.version+"/"+pyfmt.Quote(o.account)+"?"+vq.String(), nil)
	body, _ := io.ReadAll(ResponseBody(resp))
	closeResp(resp)
	vlist, _ := decodeListing(body)
	vmap := map[string]*jsonItem{}
	var vorder []string
	for _, item := range vlist {
		name, ok := item.str("name")
		if !ok {
			continue
		}
		if parts, ok := splitReservedName(name); ok && len(parts) == 2 && parts[0] == "versions" {
			name = parts[1]
		}
		vmap[name] = item
		vorder = append(vorder, name)
	}
	if len(vmap) == 0 {
		o.next(ctx)
		return nil
	}
	ctx.QueryArgs().Set("format", "json")
	o.next(ctx)
	if ctx.Response.StatusCode() != fasthttp.StatusOK {
		return nil
	}
	listing, err := decodeListing(ctx.Response.Body())
	if err != nil {
		return nil
	}
	for _, item := range listing {
		name, ok := item.str("name")
		if !ok {
			continue
		}
		if v := vmap[name]; v != nil {
			a, _ := item.int("bytes")
			b, _ := v.int("bytes")
			item.set("bytes", a+b)
			delete(vmap, name)
		}
	}
	for _, name := range vorder {
		// An empty versions container without its primary holds no
		// versions to list: it is what a crash between creating it and the
		// primary (enableVersioning's order) leaves, not a container.
		if item := vmap[name]; item != nil {
			if n, _ := item.int("count"); n == 0 {
				continue
			}
			item.set("name", name)
			item.set("count", 0)
			listing = append(listing, item)
		}
	}
	reverse := pyfmt.True(string(q.Peek("reverse")))
	sort.SliceStable(listing, func(i, j int) bool {
		if reverse {
			return listing[i].key() > listing[j].key()
		}
		return listing[i].key() < listing[j].key()
	})
	limit := o.p.limits.AccountListingLimit
	if n, err := strconv.Atoi(string(q.Peek("limit"))); err == nil && n >= 0 && n < limit {
		limit = n
	}
	if len(listing) > limit {
		listing = listing[:limit]
	}
	renderContainerListing(ctx, format, o.account, listing)
	return nil
}

// ---- objects ----

func (o *ovRequest) objectRequest() error {
	vc, enabled := o.versionsContainer()
	if v := string(o.ctx.QueryArgs().Peek("version-id")); v != "" {
		return o.versionedRequest(vc, v)
	}
	if vc == "" {
		o.next(o.ctx)
		return nil
	}
	on := pyfmt.True(enabled)
	switch string(o.ctx.Method()) {
	case fasthttp.MethodPut:
		if !on || !o.ownerMay() {
			o.next(o.ctx)
			return nil
		}
		return o.put(vc)
	case fasthttp.MethodPost:
		return o.post(vc)
	case fasthttp.MethodDelete:
		if !on || !o.ownerMay() {
			o.next(o.ctx)
			return nil
		}
		return o.delete(vc)
	}
	o.next(o.ctx)
	o.versionHeaders(vc)
	return nil
}

// versionHeaders names the version a GET/HEAD of a version link served.
func (o *ovRequest) versionHeaders(vc string) {
	h := &o.ctx.Response.Header
	h.Set(ovVersionID, "null")
	if loc, _ := url.PathUnescape(string(h.Peek("Content-Location"))); loc != "" {
		_, acct, cont, vobj, err := splitPathOf(pyfmt.Quote(loc))
		if err == nil && acct == o.account && cont == vc {
			if _, ver, ok := splitVersionName(vobj); ok {
				h.Set(ovVersionID, ver.Internal())
				h.Set("Content-Location", o.path(o.container, o.object)+"?version-id="+ver.Internal())
			}
		}
	}
	if tgt, _ := url.PathUnescape(string(h.Peek(symTarget))); tgt != "" {
		cont, vobj, ok := strings.Cut(tgt, "/")
		if ok && cont == vc {
			if _, ver, ok := splitVersionName(vobj); ok {
				h.Set(ovVersionID, ver.Internal())
				h.Set(symTarget, pyfmt.Quote(o.container+"/"+o.object)+"?version-id="+ver.Internal())
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
	return &versioner{p: o.p, ctx: o.ctx, next: o.next, version: o.version, account: o.account}
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
		return nil, Errorf(fasthttp.StatusPreconditionFailed, "") // the link's PUT would be refused
	}
	if string(src.Header.Peek(ovSymlinkSys)) == "true" {
		return nil, nil
	}
	if n := src.Header.ContentLength(); n < 0 || int64(n) > o.p.limits.MaxFileSize {
		return nil, Errorf(fasthttp.StatusRequestEntityTooLarge, "")
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
	defer closeResp(resp)
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
	r := &Request{Ctx: ctx, Method: fasthttp.MethodPut, Version: o.version, Account: o.account, Container: o.container, Object: o.object}
	if _, _, err = o.p.checkObjectPut(r, time.Now()); err != nil {
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
	defer closeResp(resp)
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
		ctype = GuessContentType(o.object)
	}
	ctype, _, _ = strings.Cut(ctype, ";")
	ctype = strings.TrimSpace(ctype)
	h.SetContentLength(0)
	o.putLink(vc, vname, ts, string(resp.Header.Peek("Etag")), putBytes, ctype)
	if !isSuccess(ctx.Response.StatusCode()) {
		o.dropVersion(vc, vname)
	}
	return nil
}

// dropVersion removes the version a PUT stored when its link could not
// be written, unless a replica has the link after all.
func (o *ovRequest) dropVersion(vc, vname string) {
	head := o.reservedSub(fasthttp.MethodHead, o.path(o.container, o.object)+"?symlink=get", func(req *fasthttp.Request) {
		req.Header.Set("X-Newest", "True")
	})
	closeResp(head)
	if target, _ := url.PathUnescape(string(head.Header.Peek(symTarget))); isSuccess(head.StatusCode()) &&
		string(head.Header.Peek(ovSymlinkSys)) == "true" && target == vc+"/"+vname {
		return
	}
	closeResp(o.reservedSub(fasthttp.MethodDelete, o.path(vc, vname), nil))
}

// putLink makes the object a link to version vname (the original
// request becomes the link's PUT) and answers with the version's etag.
func (o *ovRequest) putLink(vc, vname string, ts timestamp.Timestamp, etag, size, ctype string) {
	ctx := o.ctx
	h := &ctx.Request.Header
	ctx.Request.Header.SetMethod(fasthttp.MethodPut)
	h.Set("X-Timestamp", ts.WithOffset(1).Internal())
	h.Set(symSysTargetEtag, etag)
	h.Set(symSysTargetBytes, size)
	h.Set("Content-Type", ctype)
	h.Set(symTarget, pyfmt.Quote(vc+"/"+vname))
	h.Set(ovSymlinkSys, "true")
	h.Set(symSysLoopExtend, "true")
	h.Set(symSysAllowReserved, "true")
	h.Set(allowReserved, "true")
	for _, k := range []string{"Etag", "X-If-Delete-At", symTargetAccount, "X-Object-Manifest", "X-Static-Large-Object",
		"X-Object-Sysmeta-Slo-Etag", "X-Object-Sysmeta-Slo-Size"} {
		h.Del(k)
	}
	h.SetContentLength(0)
	o.next(ctx)
	ctx.Response.Header.Set("Etag", etag)
	_, ver, _ := splitVersionName(vname)
	ctx.Response.Header.Set(ovVersionID, ver.Internal())
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
	o.next(ctx)
	if ctx.Response.StatusCode() != fasthttp.StatusTemporaryRedirect || !pyfmt.True(string(ctx.Response.Header.Peek(ovSymlinkSys))) {
		return nil
	}
	loc, _ := url.PathUnescape(string(ctx.Response.Header.Peek("Location")))
	_, acct, cont, _, err := splitPathOf(pyfmt.Quote(loc))
	if err != nil || acct != o.account || cont != vc {
		return nil
	}
	resp := o.reservedSub(fasthttp.MethodPost, pyfmt.Quote(loc), func(req *fasthttp.Request) {
		for k, v := range saved {
			req.Header.Set(k, v)
		}
		req.Header.Set(allowReserved, "true")
	})
	adoptResponse(ctx, resp)
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
	closeResp(resp)
	o.next(o.ctx)
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
		return Errorf(fasthttp.StatusBadRequest, "POST to a specific version is not allowed")
	}
	if vc == "" && version != "null" {
		return Errorf(fasthttp.StatusBadRequest, "version-aware operations require that the container is versioned")
	}
	var ts timestamp.Timestamp
	if version != "null" {
		var err error
		if ts, err = timestamp.Parse(version); err != nil {
			return Errorf(fasthttp.StatusBadRequest, "Invalid version parameter")
		}
	}
	switch method {
	case fasthttp.MethodDelete:
		if version == "null" {
			o.next(ctx)
			return nil
		}
		return o.deleteVersion(vc, version, ts)
	case fasthttp.MethodPut:
		return o.putVersion(vc, ts)
	}
	if version == "null" {
		o.next(ctx)
		if isSuccess(ctx.Response.StatusCode()) {
			if loc, _ := url.PathUnescape(string(ctx.Response.Header.Peek("Content-Location"))); strings.Contains(loc, reservedName("versions", "")) {
				resetResponse(ctx)
				return Errorf(fasthttp.StatusNotFound, "")
			}
			ctx.Response.Header.Set(ovVersionID, "null")
		}
		return nil
	}
	query := stripVersionID(ctx.QueryArgs())
	resp := Subrequest(ctx, Lift(o.next), method, o.path(vc, versionObjectName(o.object, ts))+query, func(req *fasthttp.Request) {
		copyRequestHeaders(req, &ctx.Request)
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
		closeResp(resp)
		WriteStatus(ctx, fasthttp.StatusNotFound, "")
		ctx.Response.Header.Set(ovVersionID, version)
		ctx.Response.Header.SetContentType(deleteMarkerType)
		return nil
	}
	adoptResponse(ctx, resp)
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
			target, _ = url.PathUnescape(string(head.Header.Peek(symTarget)))
		}
	}
	closeResp(head)
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
		link := Subrequest(ctx, Lift(o.next), fasthttp.MethodDelete, o.path(o.container, o.object), func(req *fasthttp.Request) {
			copyRequestHeaders(req, &ctx.Request)
		})
		if err := ovCheck(link); err != nil {
			return err
		}
		closeResp(link)
	}
	resp := Subrequest(ctx, Lift(o.next), fasthttp.MethodDelete, o.path(vc, vobj), func(req *fasthttp.Request) {
		copyRequestHeaders(req, &ctx.Request)
		req.Header.Set(allowReserved, "true")
	})
	adoptResponse(ctx, resp)
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
	defer closeResp(head)
	if head.StatusCode() == fasthttp.StatusNotFound {
		if _, err := o.p.ContainerInfo(ctx, o.account, vc); err == nil {
			return plainError(fasthttp.StatusNotFound, "The specified version does not exist")
		}
		return plainError(fasthttp.StatusInternalServerError, ovNoVersionsContainer)
	}
	if err := ovCheck(head); err != nil {
		return err
	}
	ctx.QueryArgs().Del("version-id")
	o.putLink(vc, vname, o.requestTS(), string(head.Header.Peek("Etag")),
		strconv.Itoa(head.Header.ContentLength()), string(head.Header.ContentType()))
	return nil
}
