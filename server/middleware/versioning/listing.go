package versioning

import (
	"bytes"
	"io"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/valyala/fasthttp"

	"swiftbox/server/proxy"
	"swiftbox/server/pyfmt"
	"swiftbox/storage/timestamp"
)

// checkVersionsParams validates ?versions paging parameters.
func checkVersionsParams(q *fasthttp.Args) error {
	if q.Has("version_marker") {
		if !q.Has("marker") {
			return proxy.Errorf(fasthttp.StatusBadRequest, "version_marker param requires marker")
		}
		if vm := string(q.Peek("version_marker")); vm != "null" {
			if _, err := timestamp.Parse(vm); err != nil {
				return proxy.Errorf(fasthttp.StatusBadRequest, "invalid version_marker param")
			}
		}
	}
	if strings.ContainsAny(string(q.Peek("delimiter")), "0123456789."+reservedByte) {
		return proxy.Errorf(fasthttp.StatusBadRequest, "invalid delimiter param")
	}
	return nil
}

// listVersions serves ?versions: the primary listing's unversioned
// objects, every version from the versions container, flagged is_latest
// where current, merged in name order.
func (o *ovRequest) listVersions(location string, primary []*proxy.JSONItem) error {
	ctx := o.ctx
	q := ctx.QueryArgs()
	m := newVersionsMerge(o.account, location, primary)
	resp := o.reservedSub(fasthttp.MethodGet, o.path(location, "")+"?"+versionsQuery(q).String(), nil)
	defer proxy.CloseResponse(resp)
	switch code := resp.StatusCode(); {
	case code == fasthttp.StatusNotFound:
		m.linksOnly()
	case isSuccess(code):
		body, _ := io.ReadAll(proxy.ResponseBody(resp))
		vlist, err := proxy.DecodeListing(body)
		if err != nil {
			return proxy.Errorf(fasthttp.StatusInternalServerError, "")
		}
		m.addVersions(vlist)
	default:
		proxy.AdoptResponse(ctx, resp)
		return nil
	}
	all := sortLimit(m.items(), q, o.s.limits.ContainerListingLimit)
	var b bytes.Buffer
	proxy.WriteJSONItems(&b, all)
	ctx.Response.Header.SetContentType("application/json; charset=utf-8")
	ctx.SetStatusCode(fasthttp.StatusOK)
	ctx.SetBody(b.Bytes())
	return nil
}

// versionsQuery is the versions container's listing query for a
// ?versions request's paging parameters.
func versionsQuery(q *fasthttp.Args) *fasthttp.Args {
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
	vq := &fasthttp.Args{}
	vq.Set("format", "json")
	if q.Has("prefix") {
		vq.Set("prefix", reservedName(string(q.Peek("prefix"))))
	}
	if marker != "" {
		vq.Set("marker", marker)
	}
	for _, k := range []string{"limit", "delimiter", "reverse"} {
		if v := q.Peek(k); len(v) > 0 {
			vq.SetBytesV(k, v)
		}
	}
	return vq
}

// versionsMerge gathers the rows of a ?versions listing.
type versionsMerge struct {
	account, location string
	null, versions    []*proxy.JSONItem // unversioned objects; versions
	broken            []*proxy.JSONItem // links whose version is not listed
	subdirs           map[string]bool
	current           map[string]*proxy.JSONItem // version links by their target's path
	latest            map[string]bool            // names whose latest row is taken
}

// newVersionsMerge sorts the primary listing's rows: subdirs, version
// links and unversioned objects (the latest of their names).
func newVersionsMerge(account, location string, primary []*proxy.JSONItem) *versionsMerge {
	m := &versionsMerge{account: account, location: location, subdirs: map[string]bool{},
		current: map[string]*proxy.JSONItem{}, latest: map[string]bool{}}
	for _, item := range primary {
		if sd, ok := item.Str("subdir"); ok {
			m.subdirs[sd] = true
			continue
		}
		if v, _ := item.Get("version_symlink"); v == true {
			sp, _ := item.Str("symlink_path")
			path, _ := url.PathUnescape(sp)
			m.current[path] = item
			continue
		}
		name, _ := item.Str("name")
		item.Set("version_id", "null")
		item.Set("is_latest", true)
		m.null = append(m.null, item)
		m.latest[name] = true
	}
	return m
}

// linksOnly lists the version links as their versions when the versions
// container is gone.
func (m *versionsMerge) linksOnly() {
	for path, item := range m.current {
		parts := strings.SplitN(path, "/", 5)
		name, ts, ok := splitVersionName(parts[len(parts)-1])
		if !ok {
			continue
		}
		isLatest := !m.latest[name]
		m.latest[name] = true
		m.broken = append(m.broken, brokenItem(item, name, ts, isLatest))
	}
}

// addVersions adds the versions container's rows: a version a link
// points to, or a delete marker newer than any, is the latest.
func (m *versionsMerge) addVersions(vlist []*proxy.JSONItem) {
	for _, item := range vlist {
		if sd, ok := item.Str("subdir"); ok {
			if parts, ok := splitReservedName(sd); ok {
				m.subdirs[parts[0]] = true
			}
			continue
		}
		vname, _ := item.Str("name")
		name, ts, ok := splitVersionName(vname)
		if !ok {
			continue
		}
		path := "/v1/" + m.account + "/" + m.location + "/" + vname
		ctype, _ := item.Str("content_type")
		switch {
		case m.current[path] != nil:
			item.Set("is_latest", true)
			m.latest[name] = true
			delete(m.current, path)
		case ctype == deleteMarkerType && !m.latest[name]:
			item.Set("is_latest", true)
			m.latest[name] = true
		default:
			item.Set("is_latest", false)
		}
		item.Set("name", name)
		item.Set("version_id", ts.Internal())
		m.versions = append(m.versions, item)
	}
	for path, item := range m.current {
		_, rest, _ := strings.Cut(path, "/")
		name, ts, ok := splitVersionName(rest)
		if !ok {
			// a full path: the last part is the version's name
			parts := strings.SplitN(path, "/", 5)
			if name, ts, ok = splitVersionName(parts[len(parts)-1]); !ok {
				continue
			}
		}
		m.broken = append(m.broken, brokenItem(item, name, ts, true))
	}
}

// items are the merged rows, subdirs in name order.
func (m *versionsMerge) items() []*proxy.JSONItem {
	var subdirs []*proxy.JSONItem
	for sd := range m.subdirs {
		subdirs = append(subdirs, proxy.NewJSONItem("subdir", sd))
	}
	sort.Slice(subdirs, func(i, j int) bool { return subdirs[i].Key() < subdirs[j].Key() })
	return append(append(append(m.null, m.versions...), subdirs...), m.broken...)
}

// sortLimit orders a merged listing as the request asks (?reverse) and
// cuts it at its ?limit, at most max.
func sortLimit(items []*proxy.JSONItem, q *fasthttp.Args, max int) []*proxy.JSONItem {
	reverse := pyfmt.True(string(q.Peek("reverse")))
	sort.SliceStable(items, func(i, j int) bool {
		if reverse {
			return items[i].Key() > items[j].Key()
		}
		return items[i].Key() < items[j].Key()
	})
	limit := max
	if n, err := strconv.Atoi(string(q.Peek("limit"))); err == nil && n >= 0 && n < limit {
		limit = n
	}
	if len(items) > limit {
		items = items[:limit]
	}
	return items
}

func brokenItem(item *proxy.JSONItem, name string, ts timestamp.Timestamp, isLatest bool) *proxy.JSONItem {
	out := proxy.NewJSONItem("name", name)
	out.Set("is_latest", isLatest)
	out.Set("version_id", ts.Internal())
	for _, k := range []string{"content_type", "bytes", "hash", "last_modified"} {
		v, _ := item.Get(k)
		out.Set(k, v)
	}
	return out
}

// accountListing counts the versions' bytes in their containers' rows
// and lists containers that only have versions left (a versions container
// that holds some, listed under its primary's name).
func (o *ovRequest) accountListing() error {
	ctx := o.ctx
	r := &proxy.Request{Ctx: ctx}
	format, err := proxy.ListingFormat(r)
	if err != nil {
		return o.next(ctx)
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
	body, _ := io.ReadAll(proxy.ResponseBody(resp))
	proxy.CloseResponse(resp)
	vlist, _ := proxy.DecodeListing(body)
	vmap := map[string]*proxy.JSONItem{}
	var vorder []string
	for _, item := range vlist {
		name, ok := item.Str("name")
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
		return o.next(ctx)
	}
	ctx.QueryArgs().Set("format", "json")
	if err := o.next(ctx); err != nil {
		return err
	}
	if ctx.Response.StatusCode() != fasthttp.StatusOK {
		return nil
	}
	listing, err := proxy.DecodeListing(ctx.Response.Body())
	if err != nil {
		return nil
	}
	for _, item := range listing {
		name, ok := item.Str("name")
		if !ok {
			continue
		}
		if v := vmap[name]; v != nil {
			a, _ := item.Int("bytes")
			b, _ := v.Int("bytes")
			item.Set("bytes", a+b)
			delete(vmap, name)
		}
	}
	for _, name := range vorder {
		// An empty versions container without its primary holds no
		// versions to list: it is what a crash between creating it and the
		// primary (enableVersioning's order) leaves, not a container.
		if item := vmap[name]; item != nil {
			if n, _ := item.Int("count"); n == 0 {
				continue
			}
			item.Set("name", name)
			item.Set("count", 0)
			listing = append(listing, item)
		}
	}
	listing = sortLimit(listing, q, o.s.limits.AccountListingLimit)
	proxy.RenderContainerListing(ctx, format, o.account, listing)
	return nil
}
