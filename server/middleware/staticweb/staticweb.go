// Package staticweb serves static web sites from containers (Swift's
// staticweb): anonymous GETs (or token ones with X-Web-Mode: true) of a
// container with X-Container-Meta-Web-Index or -Web-Listings serve the
// index object, HTML listings, directory redirects and custom error pages.
package staticweb

import (
	"encoding/json"
	"math"
	"net/url"
	"strconv"
	"strings"

	"github.com/valyala/fasthttp"

	"swiftbox/config"
	"swiftbox/keystone"
	"swiftbox/server/proxy"
	"swiftbox/server/pyfmt"
)

type site struct {
	index, errorPage, listings, listingsCSS, dirType, label string
}

type staticWeb struct {
	cfg  *config.StaticWebConfig
	core proxy.Core
}

// New builds the filter from the staticweb config section.
func New(env *proxy.Env) (proxy.Middleware, error) {
	sw := &staticWeb{cfg: &env.Config.StaticWeb, core: env.Core}
	env.RegisterInfo("staticweb", func() map[string]any { return map[string]any{} })
	return sw.middleware, nil
}

func (sw *staticWeb) site(ctx *fasthttp.RequestCtx, account, container string) site {
	info, err := sw.core.ContainerInfo(ctx, account, container)
	if err != nil {
		return site{}
	}
	get := func(name string) string {
		for k, v := range info.Metadata {
			if strings.EqualFold(k, "X-Container-Meta-"+name) {
				return strings.TrimSpace(v.Value)
			}
		}
		return ""
	}
	return site{index: get("Web-Index"), errorPage: get("Web-Error"), listings: get("Web-Listings"),
		listingsCSS: get("Web-Listings-Css"), dirType: get("Web-Directory-Type"), label: get("Web-Listings-Label")}
}

// webMode is X-Web-Mode as Swift's config_true_value reads it.
func webMode(ctx *fasthttp.RequestCtx) bool {
	return pyfmt.True(string(ctx.Request.Header.Peek("X-Web-Mode")))
}

func (sw *staticWeb) middleware(next proxy.Handler) proxy.Handler {
	return func(ctx *fasthttp.RequestCtx) error {
		method := string(ctx.Method())
		if proxy.IsInternal(ctx) || (method != fasthttp.MethodGet && method != fasthttp.MethodHead) {
			return next(ctx)
		}
		// Authenticated users (and signed temp URLs) see the API unless
		// they ask for the web view.
		if (proxy.RequestIdentity(ctx) != nil || proxy.AuthorizedLevel(ctx) != 0) && !webMode(ctx) {
			return next(ctx)
		}
		version, account, container, object, err := proxy.SplitPath(ctx)
		if err != nil || account == "" || container == "" {
			return next(ctx)
		}
		s := &request{sw: sw, next: next, ctx: ctx, version: version, account: account, container: container, object: object}
		if object != "" {
			return s.handleObject()
		}
		return s.handleContainer()
	}
}

// request is one request staticweb answers.
type request struct {
	sw                                  *staticWeb
	next                                proxy.Handler
	ctx                                 *fasthttp.RequestCtx
	version, account, container, object string
	site                                site
}

// decodedPath is the request's PATH_INFO, decoded.
func (s *request) decodedPath() string {
	raw := string(s.ctx.Request.Header.RequestURI())
	if i := strings.IndexByte(raw, '?'); i >= 0 {
		raw = raw[:i]
	}
	if u, err := url.PathUnescape(raw); err == nil {
		return u
	}
	return raw
}

func (s *request) loadSite() { s.site = s.sw.site(s.ctx, s.account, s.container) }

// serve runs the rest of the pipeline on the client's request, leaving
// its finished response to look at.
func (s *request) serve() { proxy.Serve(s.next)(s.ctx) }

func (s *request) handleContainer() error {
	ctx := s.ctx
	s.loadSite()
	// The container's read ACL decides, as for any container GET.
	r := &proxy.Request{Ctx: ctx, Method: string(ctx.Method()), Version: s.version, Account: s.account, Container: s.container, ID: proxy.RequestIdentity(ctx)}
	if d := s.sw.core.Authorize(r); d != keystone.Allow {
		if d == keystone.Unauthorized {
			proxy.Unauthorized(ctx, s.account)
		} else {
			proxy.WriteStatus(ctx, fasthttp.StatusForbidden, "")
		}
		s.errorResponse()
		return nil
	}
	if s.site.listings == "" && s.site.index == "" {
		if webMode(ctx) {
			return proxy.Errorf(fasthttp.StatusNotFound, "")
		}
		return s.next(ctx)
	}
	if !strings.HasSuffix(s.decodedPath(), "/") {
		s.redirectWithSlash()
		return nil
	}
	if s.site.index == "" {
		s.listing("")
		return nil
	}
	s.rerun(s.decodedPath() + s.site.index)
	code := ctx.Response.StatusCode()
	switch {
	case code == fasthttp.StatusNotFound:
		s.listing("")
	case code/100 != 2 && code/100 != 3:
		s.errorResponse()
	}
	return nil
}

func (s *request) handleObject() error {
	ctx := s.ctx
	path := s.decodedPath()
	s.serve()
	code := ctx.Response.StatusCode()
	if (code/100 == 2 || code/100 == 3) && ctx.Response.Header.ContentLength() > 1 || code/100 > 3 && code != fasthttp.StatusNotFound {
		// Not a directory marker nor missing: nothing for the site to do
		// (spares the container read).
		return nil
	}
	s.loadSite()
	if code/100 == 2 || code/100 == 3 {
		dirType := s.site.dirType
		if dirType == "" {
			dirType = "application/directory"
		}
		if string(ctx.Response.Header.ContentType()) != dirType || ctx.Response.Header.ContentLength() > 1 {
			return nil
		}
		code = fasthttp.StatusNotFound
	}
	if code != fasthttp.StatusNotFound || s.site.listings == "" && s.site.index == "" {
		return nil
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
			return nil
		}
		if code != fasthttp.StatusNotFound {
			return nil
		}
	}
	if strings.HasSuffix(path, "/") {
		s.listing(s.object)
		return nil
	}
	if !s.isDirectory() {
		s.reset()
		proxy.WriteStatus(ctx, fasthttp.StatusNotFound, "")
		s.errorResponse()
		return nil
	}
	s.redirectWithSlash()
	return nil
}

// isDirectory reports whether the object's name is a pseudo-directory:
// some names in the container start with it and a slash.
func (s *request) isDirectory() bool {
	resp := proxy.Subrequest(s.ctx, s.next, fasthttp.MethodGet, s.containerURI()+"?format=json&limit=1&delimiter=/&prefix="+pyfmt.Quote(s.object+"/"), s.copyAuthHeaders)
	defer resp.CloseBodyStream()
	var items []map[string]any
	return resp.StatusCode()/100 == 2 && json.Unmarshal(resp.Body(), &items) == nil && len(items) > 0
}

func (s *request) containerURI() string {
	return "/" + s.version + "/" + pyfmt.Quote(s.account) + "/" + pyfmt.Quote(s.container)
}

// copyAuthHeaders gives a subrequest what Swift's make_env keeps of the
// client's request: the referrer ACLs look at and the user agent.
func (s *request) copyAuthHeaders(req *fasthttp.Request) {
	for _, h := range []string{"Referer", "User-Agent", "X-Web-Mode"} {
		if v := s.ctx.Request.Header.Peek(h); v != nil {
			req.Header.SetBytesV(h, v)
		}
	}
}

// reset discards the response so far (closing any body stream).
func (s *request) reset() {
	ctx := s.ctx
	ctx.Response.CloseBodyStream()
	ctx.Response.Reset()
	s.setTransID()
}

func (s *request) setTransID() {
	if tid, ok := s.ctx.UserValue(proxy.KeyTransID).(string); ok {
		s.ctx.Response.Header.Set("X-Trans-Id", tid)
		s.ctx.Response.Header.Set("X-Openstack-Request-Id", tid)
	}
}

// rerun sends the client's request again for another decoded path, as
// Swift's staticweb calls the app with a copy of the environment.
func (s *request) rerun(path string) {
	ctx := s.ctx
	s.reset()
	orig := append([]byte(nil), ctx.Request.Header.RequestURI()...)
	uri := pyfmt.Quote(path)
	if q := ctx.URI().QueryString(); len(q) > 0 {
		uri += "?" + string(q)
	}
	ctx.Request.SetRequestURI(uri)
	s.serve()
	ctx.Request.SetRequestURI(string(orig))
}

// hostURL is scheme://host of the request (Swift's host_url), or of the
// configured url_base.
func (s *request) hostURL() string {
	ctx := s.ctx
	scheme, host := "http", string(ctx.Request.Header.Host())
	if ctx.IsTLS() {
		scheme = "https"
	}
	if ub := s.sw.cfg.URLBase; ub != "" {
		if u, err := url.Parse(ub); err == nil {
			if u.Scheme != "" {
				scheme = u.Scheme
			}
			if u.Host != "" {
				host = u.Host
			}
		}
	}
	return scheme + "://" + host
}

func (s *request) redirectWithSlash() {
	s.reset()
	s.ctx.Response.Header.Set("Location", s.hostURL()+pyfmt.Quote(s.decodedPath()+"/"))
	proxy.WriteStatus(s.ctx, fasthttp.StatusMovedPermanently, "<html><h1>Moved Permanently</h1><p>The resource has moved permanently.</p></html>")
}

// errorResponse replaces an error's body with the site's
// <status><Web-Error> page when there is one, keeping the status.
func (s *request) errorResponse() {
	ctx := s.ctx
	if s.site.errorPage == "" {
		return
	}
	code := ctx.Response.StatusCode()
	resp := proxy.Subrequest(ctx, s.next, fasthttp.MethodGet, s.containerURI()+"/"+pyfmt.Quote(strconv.Itoa(code)+s.site.errorPage), s.copyAuthHeaders)
	if resp.StatusCode()/100 != 2 {
		resp.CloseBodyStream()
		return
	}
	s.reset()
	resp.Header.CopyTo(&ctx.Response.Header)
	s.setTransID()
	ctx.SetStatusCode(code)
	if st := resp.BodyStream(); st != nil {
		proxy.SetBodyStream(ctx, st, resp.Header.ContentLength())
	} else {
		ctx.Response.SetBody(resp.Body())
	}
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
