package proxy

import (
	"encoding/json"
	"html"
	"math"
	"net/url"
	"strconv"
	"strings"

	"swiftbox/server/pyfmt"

	"github.com/valyala/fasthttp"

	"swiftbox/keystone"
)

// Static web sites from containers (Swift's staticweb): anonymous GETs
// (or token ones with X-Web-Mode: true) of a container with
// X-Container-Meta-Web-Index or -Web-Listings serve the index object,
// HTML listings, directory redirects and custom error pages.

type staticWebSite struct {
	index, errorPage, listings, listingsCSS, dirType, label string
}

func (p *Proxy) staticWebMeta(account, container string) (staticWebSite, bool) {
	info, err := p.ContainerInfo(nil, account, container)
	if err != nil {
		return staticWebSite{}, false
	}
	get := func(name string) string {
		for k, v := range info.Metadata {
			if strings.EqualFold(k, "X-Container-Meta-"+name) {
				return strings.TrimSpace(v.Value)
			}
		}
		return ""
	}
	return staticWebSite{index: get("Web-Index"), errorPage: get("Web-Error"), listings: get("Web-Listings"),
		listingsCSS: get("Web-Listings-Css"), dirType: get("Web-Directory-Type"), label: get("Web-Listings-Label")}, true
}

// webMode is X-Web-Mode as Swift's config_true_value reads it.
func webMode(ctx *fasthttp.RequestCtx) bool {
	return pyfmt.True(string(ctx.Request.Header.Peek("X-Web-Mode")))
}

// staticWeb is the middleware.
func (p *Proxy) staticWeb(next fasthttp.RequestHandler) fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) {
		method := string(ctx.Method())
		if IsInternal(ctx) || (method != fasthttp.MethodGet && method != fasthttp.MethodHead) {
			next(ctx)
			return
		}
		// Authenticated users (and signed temp URLs) see the API unless
		// they ask for the web view.
		if (RequestIdentity(ctx) != nil || AuthorizedLevel(ctx) != 0) && !webMode(ctx) {
			next(ctx)
			return
		}
		version, account, container, object, err := SplitPath(ctx)
		if err != nil || account == "" || container == "" {
			next(ctx)
			return
		}
		sw := &staticWebReq{p: p, next: next, ctx: ctx, version: version, account: account, container: container, object: object}
		if object != "" {
			sw.handleObject()
		} else {
			sw.handleContainer()
		}
	}
}

type staticWebReq struct {
	p                                   *Proxy
	next                                fasthttp.RequestHandler
	ctx                                 *fasthttp.RequestCtx
	version, account, container, object string
	site                                staticWebSite
}

// decodedPath is the request's PATH_INFO, decoded.
func (s *staticWebReq) decodedPath() string {
	raw := string(s.ctx.Request.Header.RequestURI())
	if i := strings.IndexByte(raw, '?'); i >= 0 {
		raw = raw[:i]
	}
	if u, err := url.PathUnescape(raw); err == nil {
		return u
	}
	return raw
}

func (s *staticWebReq) loadSite() { s.site, _ = s.p.staticWebMeta(s.account, s.container) }

func (s *staticWebReq) handleContainer() {
	ctx := s.ctx
	s.loadSite()
	// The container's read ACL decides, as for any container GET.
	r := &Request{Ctx: ctx, Method: string(ctx.Method()), Version: s.version, Account: s.account, Container: s.container, ID: RequestIdentity(ctx)}
	if d := s.p.Authorize(r); d != keystone.Allow {
		if d == keystone.Unauthorized {
			Unauthorized(ctx, s.account)
		} else {
			WriteStatus(ctx, fasthttp.StatusForbidden, "")
		}
		s.errorResponse()
		return
	}
	if s.site.listings == "" && s.site.index == "" {
		if webMode(ctx) {
			WriteStatus(ctx, fasthttp.StatusNotFound, "")
			return
		}
		s.next(ctx)
		return
	}
	if !strings.HasSuffix(s.decodedPath(), "/") {
		s.redirectWithSlash()
		return
	}
	if s.site.index == "" {
		s.listing("")
		return
	}
	s.rerun(s.decodedPath() + s.site.index)
	code := ctx.Response.StatusCode()
	switch {
	case code == fasthttp.StatusNotFound:
		s.listing("")
	case code/100 != 2 && code/100 != 3:
		s.errorResponse()
	}
}

func (s *staticWebReq) handleObject() {
	ctx := s.ctx
	path := s.decodedPath()
	s.next(ctx)
	code := ctx.Response.StatusCode()
	if (code/100 == 2 || code/100 == 3) && ctx.Response.Header.ContentLength() > 1 || code/100 > 3 && code != fasthttp.StatusNotFound {
		// Not a directory marker nor missing: nothing for the site to do
		// (spares the container read).
		return
	}
	s.loadSite()
	if code/100 == 2 || code/100 == 3 {
		dirType := s.site.dirType
		if dirType == "" {
			dirType = "application/directory"
		}
		if string(ctx.Response.Header.ContentType()) != dirType || ctx.Response.Header.ContentLength() > 1 {
			return
		}
		code = fasthttp.StatusNotFound
	}
	if code != fasthttp.StatusNotFound {
		return
	}
	if s.site.listings == "" && s.site.index == "" {
		return
	}
	if s.site.index != "" {
		idx := path
		if !strings.HasSuffix(idx, "/") {
			idx += "/"
		}
		s.rerun(idx + s.site.index)
		code = ctx.Response.StatusCode()
		if code/100 == 2 || code/100 == 3 {
			if !strings.HasSuffix(path, "/") {
				s.redirectWithSlash()
			}
			return
		}
		if code != fasthttp.StatusNotFound {
			return
		}
	}
	if !strings.HasSuffix(path, "/") {
		resp := Subrequest(ctx, Lift(s.next), fasthttp.MethodGet, s.containerURI()+"?format=json&limit=1&delimiter=/&prefix="+pyfmt.Quote(s.object+"/"), s.copyAuthHeaders)
		var items []map[string]any
		ok := resp.StatusCode()/100 == 2 && json.Unmarshal(resp.Body(), &items) == nil && len(items) > 0
		resp.CloseBodyStream()
		if !ok {
			s.reset()
			WriteStatus(ctx, fasthttp.StatusNotFound, "")
			s.errorResponse()
			return
		}
		s.redirectWithSlash()
		return
	}
	s.listing(s.object)
}

func (s *staticWebReq) containerURI() string {
	return "/" + s.version + "/" + pyfmt.Quote(s.account) + "/" + pyfmt.Quote(s.container)
}

// copyAuthHeaders gives a subrequest what Swift's make_env keeps of the
// client's request: the referrer ACLs look at and the user agent.
func (s *staticWebReq) copyAuthHeaders(req *fasthttp.Request) {
	for _, h := range []string{"Referer", "User-Agent", "X-Web-Mode"} {
		if v := s.ctx.Request.Header.Peek(h); v != nil {
			req.Header.SetBytesV(h, v)
		}
	}
}

// reset discards the response so far (closing any body stream).
func (s *staticWebReq) reset() {
	ctx := s.ctx
	ctx.Response.CloseBodyStream()
	ctx.Response.Reset()
	if tid, ok := ctx.UserValue(KeyTransID).(string); ok {
		ctx.Response.Header.Set("X-Trans-Id", tid)
		ctx.Response.Header.Set("X-Openstack-Request-Id", tid)
	}
}

// rerun sends the client's request again for another decoded path, as
// Swift's staticweb calls the app with a copy of the environment.
func (s *staticWebReq) rerun(path string) {
	ctx := s.ctx
	s.reset()
	orig := append([]byte(nil), ctx.Request.Header.RequestURI()...)
	uri := pyfmt.Quote(path)
	if q := ctx.URI().QueryString(); len(q) > 0 {
		uri += "?" + string(q)
	}
	ctx.Request.SetRequestURI(uri)
	s.next(ctx)
	ctx.Request.SetRequestURI(string(orig))
}

// hostURL is scheme://host of the request (Swift's host_url).
func hostURL(ctx *fasthttp.RequestCtx) string {
	scheme := "http"
	if ctx.IsTLS() {
		scheme = "https"
	}
	return scheme + "://" + string(ctx.Request.Header.Host())
}

func (s *staticWebReq) redirectWithSlash() {
	ctx := s.ctx
	s.reset()
	base := hostURL(ctx)
	if ub := s.p.cfg.StaticWeb.URLBase; ub != "" {
		if u, err := url.Parse(ub); err == nil {
			scheme, host := u.Scheme, u.Host
			if scheme == "" {
				scheme = "http"
				if ctx.IsTLS() {
					scheme = "https"
				}
			}
			if host == "" {
				host = string(ctx.Request.Header.Host())
			}
			base = scheme + "://" + host
		}
	}
	ctx.Response.Header.Set("Location", base+pyfmt.Quote(s.decodedPath()+"/"))
	WriteStatus(ctx, fasthttp.StatusMovedPermanently, "<html><h1>Moved Permanently</h1><p>The resource has moved permanently.</p></html>")
}

// errorResponse replaces an error's body with the site's
// <status><Web-Error> page when there is one, keeping the status.
func (s *staticWebReq) errorResponse() {
	ctx := s.ctx
	if s.site.errorPage == "" {
		return
	}
	code := ctx.Response.StatusCode()
	resp := Subrequest(ctx, Lift(s.next), fasthttp.MethodGet, s.containerURI()+"/"+pyfmt.Quote(strconv.Itoa(code)+s.site.errorPage), s.copyAuthHeaders)
	if resp.StatusCode()/100 != 2 {
		resp.CloseBodyStream()
		return
	}
	s.reset()
	resp.Header.CopyTo(&ctx.Response.Header)
	if tid, ok := ctx.UserValue(KeyTransID).(string); ok {
		ctx.Response.Header.Set("X-Trans-Id", tid)
		ctx.Response.Header.Set("X-Openstack-Request-Id", tid)
	}
	ctx.SetStatusCode(code)
	if st := resp.BodyStream(); st != nil {
		SetBodyStream(ctx, st, resp.Header.ContentLength())
	} else {
		ctx.Response.SetBody(resp.Body())
	}
}

func (s *staticWebReq) cssPath(prefix string) string {
	css := s.site.listingsCSS
	if strings.HasPrefix(css, "/") || strings.HasPrefix(css, "http://") || strings.HasPrefix(css, "https://") {
		return pyfmt.QuoteSafe(css, ":/")
	}
	return strings.Repeat("../", strings.Count(prefix, "/")) + pyfmt.Quote(css)
}

// humanReadable is Swift's human_readable: 1048576 → "1Mi".
func humanReadable(n int64) string {
	v := float64(n)
	suffixes := "KMGTPEZY"
	i := -1
	for v >= 1024 && i+1 < len(suffixes) {
		i++
		v = math.RoundToEven(v / 1024)
	}
	if i == -1 {
		return strconv.FormatInt(int64(v), 10)
	}
	return strconv.FormatInt(int64(math.RoundToEven(v)), 10) + string(suffixes[i]) + "i"
}

// listing answers with the HTML listing of prefix, as Swift renders it.
func (s *staticWebReq) listing(prefix string) {
	ctx := s.ctx
	path := s.decodedPath()
	label := path
	if s.site.label != "" {
		groups := strings.Split(path, "/")
		rest := ""
		if len(groups) > 4 {
			rest = strings.Join(groups[4:], "/")
		}
		label = s.site.label + "/" + rest
	}
	esc := html.EscapeString(label)
	const doctype = "<!DOCTYPE HTML PUBLIC \"-//W3C//DTD HTML 4.01 Transitional//EN\" \"http://www.w3.org/TR/html4/loose.dtd\">\n"
	if !pyfmt.True(s.site.listings) {
		s.reset()
		var b strings.Builder
		b.WriteString(doctype + "<html>\n<head>\n<title>Listing of " + esc + "</title>\n")
		if s.site.listingsCSS != "" {
			b.WriteString(`  <link rel="stylesheet" type="text/css" href="` + s.cssPath(prefix) + "\" />\n")
		} else {
			b.WriteString("  <style type=\"text/css\">\n   h1 {font-size: 1em; font-weight: bold;}\n   p {font-size: 2}\n  </style>\n")
		}
		b.WriteString("</head>\n<body>  <h1>Web Listing Disabled</h1>   <p>The owner of this web site has disabled web listing.   <p>If you are the owner of this web site, you can enable   web listing by setting X-Container-Meta-Web-Listings.</p>")
		if s.site.index != "" {
			b.WriteString("<h1>Index File Not Found</h1> <p>The owner of this web site has set  <b>X-Container-Meta-Web-Index: " + s.site.index + "</b>.  However, this file is not found.</p>")
		}
		b.WriteString(" </body>\n</html>\n")
		WriteStatus(ctx, fasthttp.StatusNotFound, b.String())
		s.errorResponse()
		return
	}
	q := "?format=json&delimiter=/"
	if prefix != "" {
		q += "&prefix=" + pyfmt.Quote(prefix)
	}
	resp := Subrequest(ctx, Lift(s.next), fasthttp.MethodGet, s.containerURI()+q, s.copyAuthHeaders)
	code := resp.StatusCode()
	body := append([]byte(nil), resp.Body()...)
	resp.CloseBodyStream()
	s.reset()
	if code/100 != 2 {
		WriteStatus(ctx, code, "")
		if code == fasthttp.StatusUnauthorized {
			Unauthorized(ctx, s.account)
		}
		s.errorResponse()
		return
	}
	var items []struct {
		Name         *string `json:"name"`
		Subdir       *string `json:"subdir"`
		Bytes        int64   `json:"bytes"`
		ContentType  string  `json:"content_type"`
		LastModified string  `json:"last_modified"`
	}
	if len(body) > 0 {
		json.Unmarshal(body, &items)
	}
	if prefix != "" && len(items) == 0 {
		WriteStatus(ctx, fasthttp.StatusNotFound, "")
		s.errorResponse()
		return
	}
	var b strings.Builder
	b.WriteString(doctype + "<html>\n <head>\n  <title>Listing of " + esc + "</title>\n")
	if s.site.listingsCSS != "" {
		b.WriteString(`  <link rel="stylesheet" type="text/css" href="` + s.cssPath(prefix) + "\" />\n")
	} else {
		b.WriteString("  <style type=\"text/css\">\n   h1 {font-size: 1em; font-weight: bold;}\n   th {text-align: left; padding: 0px 1em 0px 1em;}\n   td {padding: 0px 1em 0px 1em;}\n   a {text-decoration: none;}\n  </style>\n")
	}
	b.WriteString(" </head>\n <body>\n  <h1 id=\"title\">Listing of " + esc + "</h1>\n  <table id=\"listing\">\n   <tr id=\"heading\">\n    <th class=\"colname\">Name</th>\n    <th class=\"colsize\">Size</th>\n    <th class=\"coldate\">Date</th>\n   </tr>\n")
	if prefix != "" {
		b.WriteString("   <tr id=\"parent\" class=\"item\">\n    <td class=\"colname\"><a href=\"../\">../</a></td>\n    <td class=\"colsize\">&nbsp;</td>\n    <td class=\"coldate\">&nbsp;</td>\n   </tr>\n")
	}
	for _, it := range items {
		if it.Subdir == nil {
			continue
		}
		sub := strings.TrimPrefix(*it.Subdir, prefix)
		b.WriteString("   <tr class=\"item subdir\">\n    <td class=\"colname\"><a href=\"" + pyfmt.Quote(sub) + "\">" + html.EscapeString(sub) + "</a></td>\n    <td class=\"colsize\">&nbsp;</td>\n    <td class=\"coldate\">&nbsp;</td>\n   </tr>\n")
	}
	for _, it := range items {
		if it.Name == nil {
			continue
		}
		name := strings.TrimPrefix(*it.Name, prefix)
		var types []string
		for _, t := range strings.Split(it.ContentType, "/") {
			types = append(types, "type-"+html.EscapeString(strings.ToLower(t)))
		}
		lm := html.EscapeString(it.LastModified)
		lm, _, _ = strings.Cut(lm, ".")
		lm = strings.ReplaceAll(lm, "T", " ")
		b.WriteString("   <tr class=\"item " + strings.Join(types, " ") + "\">\n    <td class=\"colname\"><a href=\"" + pyfmt.Quote(name) + "\">" + html.EscapeString(name) + "</a></td>\n    <td class=\"colsize\">" + humanReadable(it.Bytes) + "</td>\n    <td class=\"coldate\">" + lm + "</td>\n   </tr>\n")
	}
	b.WriteString("  </table>\n </body>\n</html>\n")
	ctx.SetStatusCode(fasthttp.StatusOK)
	ctx.Response.Header.SetContentType("text/html; charset=UTF-8")
	ctx.SetBodyString(b.String())
}
