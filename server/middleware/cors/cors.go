// Package cors is CORS as Swift's proxy controllers do it
// (cors_validation): preflight OPTIONS answered from the container's
// X-Container-Meta-Access-Control-* settings (and the cors_allow_origin
// option), and actual requests given Access-Control-Allow-Origin and
// -Expose-Headers. The core calls it through its CORS hooks
// (server/proxy/hooks_cors.go), after its own checks.
package cors

import (
	"bytes"
	"slices"
	"sort"
	"strings"

	"swiftbox/config"
	"swiftbox/server/proxy"
)

// New registers CORS with the core; it is no filter of its own.
func New(env *proxy.Env) (proxy.Middleware, error) {
	env.SetCORS(&cors{cfg: &env.Config.CORS, core: env.Core})
	return nil, nil
}

type cors struct {
	cfg  *config.CORSConfig
	core proxy.Core
}

type containerCORS struct {
	allowOrigin, exposeHeaders, maxAge string
	hasMaxAge                          bool
}

func (c *cors) containerCORS(r *proxy.Request) containerCORS {
	var ci containerCORS
	info, err := c.core.ContainerInfo(r.Ctx, r.Account, r.Container)
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
func (c *cors) originAllowed(ci containerCORS, origin string) bool {
	allowed := strings.Fields(ci.allowOrigin)
	allowed = append(allowed, c.cfg.CORSAllowOrigin...)
	return slices.Contains(allowed, origin) || slices.Contains(allowed, "*")
}

// Preflight answers OPTIONS: the allowed methods, and for a CORS
// preflight (Origin) on a container or object, the CORS grant or 401.
func (c *cors) Preflight(r *proxy.Request, allow string) {
	ctx := r.Ctx
	origin := r.Header("Origin")
	if origin == "" || r.Container == "" {
		proxy.AllowOptions(ctx, allow)
		return
	}
	ci := c.containerCORS(r)
	reqMethod := r.Header("Access-Control-Request-Method")
	if !c.originAllowed(ci, origin) || !slices.Contains(strings.Split(allow, ", "), reqMethod) {
		ctx.Response.Header.Set("Allow", allow)
		proxy.Unauthorized(ctx, r.Account)
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
	proxy.AllowOptions(ctx, allow)
}

// simpleExpose are always exposed: CORS's simple response headers and
// Swift's own.
var simpleExpose = []string{"cache-control", "content-language", "content-type", "expires",
	"last-modified", "pragma", "etag", "x-timestamp", "x-trans-id", "x-openstack-request-id"}

// Respond adds CORS headers to the answer of an actual request with an
// Origin (Swift's cors_validation).
func (c *cors) Respond(r *proxy.Request, origin string) {
	ci := c.containerCORS(r)
	if c.cfg.StrictCORSMode && !c.originAllowed(ci, origin) {
		return
	}
	h := &r.Ctx.Response.Header
	if h.Peek("Access-Control-Expose-Headers") == nil {
		h.Set("Access-Control-Expose-Headers", c.exposeHeaders(r, ci))
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

// exposeHeaders is Access-Control-Expose-Headers for the response to r:
// the simple headers, the configured ones, the response's metadata and
// the container's.
func (c *cors) exposeHeaders(r *proxy.Request, ci containerCORS) string {
	set := map[string]bool{}
	for _, x := range simpleExpose {
		set[x] = true
	}
	for _, x := range c.cfg.CORSExposeHeaders {
		set[strings.ToLower(strings.TrimSpace(x))] = true
	}
	for k := range r.Ctx.Response.Header.All() {
		if hasPrefixFold(k, "X-Container-Meta") || hasPrefixFold(k, "X-Object-Meta") {
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
	return strings.Join(list, ", ")
}

func hasPrefixFold(s []byte, prefix string) bool {
	return len(s) >= len(prefix) && bytes.EqualFold(s[:len(prefix)], []byte(prefix))
}
