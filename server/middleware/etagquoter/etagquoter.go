// Package etagquoter is Swift's etag_quoter: objects in an account or
// container that opted in (X-Account-Rfc-Compliant-Etags /
// X-Container-Rfc-Compliant-Etags: true, kept as sysmeta; a container's
// setting overrides its account's) get their ETag double-quoted, as RFC
// 7232 wants and some CDNs need. etag_quoter.enable_by_default turns it
// on where neither says.
package etagquoter

import (
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"swiftbox/server/proxy"
	"swiftbox/server/pyfmt"
	"swiftbox/storage/db"
)

const (
	rfcEtagsSysmeta = "Rfc-Compliant-Etags"
	// cacheTTL is how long a setting read is kept, as Swift keeps account
	// and container info in memcache; writes through this proxy forget it.
	cacheTTL = 5 * time.Second
)

// Filter is the etag_quoter filter of the pipeline.
func Filter() proxy.Filter { return proxy.Filter{Name: "etag_quoter", New: New} }

// quoter holds the settings read recently.
type quoter struct {
	core       proxy.Core
	byDefault  bool
	accounts   *proxy.TTLCache[setting]
	containers *proxy.TTLCache[setting]
}

// setting is an account's or container's sysmeta value, if set.
type setting struct {
	value   string
	set     bool
	missing bool // no such container
}

// New builds the middleware.
func New(env *proxy.Env) (proxy.Middleware, error) {
	q := &quoter{core: env.Core, byDefault: env.Config.EtagQuoter.EnableByDefault,
		accounts: proxy.NewTTLCache[setting](cacheTTL), containers: proxy.NewTTLCache[setting](cacheTTL)}
	env.RegisterInfo("etag_quoter", func() map[string]any { return map[string]any{"enable_by_default": q.byDefault} })
	return q.middleware, nil
}

func (q *quoter) middleware(next proxy.Handler) proxy.Handler {
	return func(ctx *fasthttp.RequestCtx) error {
		version, a, c, o, err := proxy.SplitPath(ctx)
		if err != nil || a == "" || (version != "v1" && version != "v1.0") {
			return next(ctx)
		}
		if o == "" {
			m := string(ctx.Method())
			if m != fasthttp.MethodGet && m != fasthttp.MethodHead {
				defer q.forget(a, c)
			}
			return q.setting(ctx, next, a, c)
		}
		if !q.quoted(ctx, a, c) {
			return next(ctx)
		}
		if err := next(ctx); err != nil {
			return err
		}
		if etag := ctx.Response.Header.Peek("Etag"); len(etag) > 0 && !isQuotedEtag(string(etag)) {
			ctx.Response.Header.Set("Etag", `"`+string(etag)+`"`)
		}
		return nil
	}
}

func (q *quoter) forget(a, c string) {
	if c == "" {
		q.accounts.Forget(a)
	} else {
		q.containers.Forget(a + "/" + c)
	}
}

func isQuotedEtag(v string) bool {
	return (strings.HasPrefix(v, `"`) || strings.HasPrefix(v, `W/"`)) && strings.HasSuffix(v, `"`) && len(v) > 1
}

// setting stores an account or container PUT/POST's
// X-*-Rfc-Compliant-Etags as sysmeta, and shows it on GET/HEAD.
func (q *quoter) setting(ctx *fasthttp.RequestCtx, next proxy.Handler, a, c string) error {
	kind := "Account"
	if c != "" {
		kind = "Container"
	}
	client := "X-" + kind + "-" + rfcEtagsSysmeta
	sysmeta := "X-" + kind + "-Sysmeta-" + rfcEtagsSysmeta
	h := &ctx.Request.Header
	if v := h.Peek(client); v != nil {
		if len(v) > 0 {
			h.Set(sysmeta, pyfmt.Bool(pyfmt.True(string(v))))
		} else {
			h.Set(sysmeta, "")
		}
	}
	if len(h.Peek("X-Remove-"+kind+"-"+rfcEtagsSysmeta)) > 0 {
		h.Set(sysmeta, "")
	}
	if err := next(ctx); err != nil {
		return err
	}
	m := string(ctx.Method())
	if (m != fasthttp.MethodGet && m != fasthttp.MethodHead) || ctx.Response.StatusCode()/100 != 2 {
		return nil
	}
	var s setting
	var ok bool
	if c == "" {
		if info, err := q.core.AccountInfo(ctx, a); err == nil {
			s, ok = read(info.Metadata, sysmeta), true
		}
	} else {
		s, ok = q.container(ctx, a, c)
	}
	if ok && s.set {
		ctx.Response.Header.Set(client, s.value)
	}
	return nil
}

func read(meta db.Metadata, name string) setting {
	v, ok := proxy.MetaValue(meta, name)
	return setting{value: v, set: ok}
}

// container is container c's setting; false when its info cannot be read.
func (q *quoter) container(ctx *fasthttp.RequestCtx, a, c string) (setting, bool) {
	key := a + "/" + c
	if s, ok := q.containers.Get(key); ok {
		return s, !s.missing
	}
	info, err := q.core.ContainerInfo(ctx, a, c)
	if err != nil {
		if proxy.NotFound(err) {
			q.containers.Put(key, setting{missing: true})
		}
		return setting{}, false
	}
	s := read(info.Metadata, "X-Container-Sysmeta-"+rfcEtagsSysmeta)
	q.containers.Put(key, s)
	return s, true
}

// quoted says whether the object's ETags are quoted: the container's
// setting, else the account's, else the default.
func (q *quoter) quoted(ctx *fasthttp.RequestCtx, a, c string) bool {
	s, ok := q.container(ctx, a, c)
	if !ok {
		return false
	}
	if s.set {
		return pyfmt.True(s.value)
	}
	s, cached := q.accounts.Get(a)
	if !cached {
		ai, err := q.core.AccountInfo(ctx, a)
		if err != nil {
			return false
		}
		s = read(ai.Metadata, "X-Account-Sysmeta-"+rfcEtagsSysmeta)
		q.accounts.Put(a, s)
	}
	if s.set {
		return pyfmt.True(s.value)
	}
	return q.byDefault
}
