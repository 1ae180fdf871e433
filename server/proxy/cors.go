package proxy

import (
	"slices"
	"sort"
	"strings"
)

// CORS as Swift's proxy core does it: preflight OPTIONS answered from the
// container's X-Container-Meta-Access-Control-* settings (and the
// cors_allow_origin option), and actual requests given
// Access-Control-Allow-Origin and -Expose-Headers.

type corsInfo struct {
	allowOrigin, exposeHeaders, maxAge string
	hasMaxAge                          bool
}

func (p *Proxy) containerCORS(account, container string) corsInfo {
	var ci corsInfo
	info, err := p.ContainerInfo(nil, account, container)
	if err != nil {
		return ci
	}
	for k, v := range info.Metadata {
		if v.Value == "" {
			continue
		}
		switch strings.ToLower(k) {
		case "x-container-meta-access-control-allow-origin":
			ci.allowOrigin = v.Value
		case "x-container-meta-access-control-expose-headers":
			ci.exposeHeaders = v.Value
		case "x-container-meta-access-control-max-age":
			ci.maxAge, ci.hasMaxAge = v.Value, true
		}
	}
	return ci
}

// originAllowed is Swift's is_origin_allowed.
func (p *Proxy) originAllowed(ci corsInfo, origin string) bool {
	allowed := strings.Fields(ci.allowOrigin)
	allowed = append(allowed, p.cfg.CORS.CORSAllowOrigin...)
	return slices.Contains(allowed, origin) || slices.Contains(allowed, "*")
}

func allowedMethods(r *Request) string {
	switch {
	case r.Object != "":
		return objectMethods
	case r.Container != "":
		return containerMethods
	}
	return accountMethods
}

// corsPreflight answers OPTIONS: the allowed methods, and for a CORS
// preflight (Origin) on a container or object, the CORS grant or 401.
func (p *Proxy) corsPreflight(r *Request) {
	ctx := r.Ctx
	allow := allowedMethods(r)
	origin := r.Header("Origin")
	if origin == "" || r.Container == "" {
		AllowOptions(ctx, allow)
		return
	}
	ci := p.containerCORS(r.Account, r.Container)
	reqMethod := r.Header("Access-Control-Request-Method")
	if !p.originAllowed(ci, origin) || !slices.Contains(strings.Split(allow, ", "), reqMethod) {
		ctx.Response.Header.Set("Allow", allow)
		Unauthorized(ctx, r.Account)
		return
	}
	h := &ctx.Response.Header
	var vary []string
	if strings.TrimSpace(ci.allowOrigin) == "*" {
		h.Set("Access-Control-Allow-Origin", "*")
	} else {
		h.Set("Access-Control-Allow-Origin", origin)
		vary = append(vary, "Origin")
	}
	if ci.hasMaxAge {
		h.Set("Access-Control-Max-Age", ci.maxAge)
	}
	h.Set("Access-Control-Allow-Methods", allow)
	var reqHeaders []string
	for _, v := range strings.Split(r.Header("Access-Control-Request-Headers"), ",") {
		if v = strings.TrimSpace(v); v != "" && !slices.Contains(reqHeaders, v) {
			reqHeaders = append(reqHeaders, v)
		}
	}
	if len(reqHeaders) > 0 {
		h.Set("Access-Control-Allow-Headers", strings.Join(reqHeaders, ", "))
		vary = append(vary, "Access-Control-Request-Headers")
	}
	if len(vary) > 0 {
		h.Set("Vary", strings.Join(vary, ", "))
	}
	AllowOptions(ctx, allow)
}

// corsSimpleExpose are always exposed: CORS's simple response headers and
// Swift's own.
var corsSimpleExpose = []string{"cache-control", "content-language", "content-type", "expires",
	"last-modified", "pragma", "etag", "x-timestamp", "x-trans-id", "x-openstack-request-id"}

// corsResponse adds CORS headers to the answer of an actual request with
// an Origin (Swift's cors_validation).
func (p *Proxy) corsResponse(r *Request, origin string) {
	if r.corsSkip {
		return
	}
	ctx := r.Ctx
	ci := p.containerCORS(r.Account, r.Container)
	if p.cfg.CORS.StrictCORSMode && !p.originAllowed(ci, origin) {
		return
	}
	h := &ctx.Response.Header
	if h.Peek("Access-Control-Expose-Headers") == nil {
		set := map[string]bool{}
		for _, x := range corsSimpleExpose {
			set[x] = true
		}
		for _, x := range p.cfg.CORS.CORSExposeHeaders {
			set[strings.ToLower(strings.TrimSpace(x))] = true
		}
		for k := range h.All() {
			if hasPrefixFold(k, []byte("X-Container-Meta")) || hasPrefixFold(k, []byte("X-Object-Meta")) {
				set[strings.ToLower(string(k))] = true
			}
		}
		for _, x := range strings.Split(ci.exposeHeaders, " ") {
			if x = strings.TrimSpace(x); x != "" {
				set[strings.ToLower(x)] = true
			}
		}
		list := make([]string, 0, len(set))
		for x := range set {
			list = append(list, x)
		}
		sort.Strings(list)
		h.Set("Access-Control-Expose-Headers", strings.Join(list, ", "))
	}
	if h.Peek("Access-Control-Allow-Origin") == nil {
		if strings.TrimSpace(ci.allowOrigin) == "*" {
			h.Set("Access-Control-Allow-Origin", "*")
		} else {
			h.Set("Access-Control-Allow-Origin", origin)
			if v := h.Peek("Vary"); len(v) > 0 {
				h.Set("Vary", string(v)+", Origin")
			} else {
				h.Set("Vary", "Origin")
			}
		}
	}
}
