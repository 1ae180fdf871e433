package proxy

import (
	"strings"
	"sync"
	"time"

	"swiftbox/server/pyfmt"

	"github.com/valyala/fasthttp"

	"swiftbox/storage/db"
)

// Swift's etag_quoter: objects in an account or container that opted in
// (X-Account-Rfc-Compliant-Etags / X-Container-Rfc-Compliant-Etags: true,
// kept as sysmeta; a container's setting overrides its account's) get
// their ETag double-quoted, as RFC 7232 wants and some CDNs need.
// etag_quoter.enable_by_default turns it on where neither says.

const (
	rfcEtagsSysmeta = "Rfc-Compliant-Etags"
	rfcEtagsTTL     = 5 * time.Second
)

func (p *Proxy) etagQuoter(next fasthttp.RequestHandler) fasthttp.RequestHandler {
	var accounts rfcEtagsCache
	return func(ctx *fasthttp.RequestCtx) {
		version, a, c, o, err := SplitPath(ctx)
		if err != nil || a == "" || (version != "v1" && version != "v1.0") {
			next(ctx)
			return
		}
		if o == "" {
			p.rfcEtagsSetting(ctx, next, a, c)
			if c == "" && string(ctx.Method()) == fasthttp.MethodPost {
				accounts.forget(a)
			}
			return
		}
		if !p.quoteEtags(ctx, &accounts, a, c) {
			next(ctx)
			return
		}
		next(ctx)
		if etag := ctx.Response.Header.Peek("Etag"); len(etag) > 0 && !isQuotedEtag(string(etag)) {
			ctx.Response.Header.Set("Etag", `"`+string(etag)+`"`)
		}
	}
}

func isQuotedEtag(v string) bool {
	return (strings.HasPrefix(v, `"`) || strings.HasPrefix(v, `W/"`)) && strings.HasSuffix(v, `"`) && len(v) > 1
}

// rfcEtagsSetting stores an account or container PUT/POST's
// X-*-Rfc-Compliant-Etags as sysmeta, and shows it on GET/HEAD.
func (p *Proxy) rfcEtagsSetting(ctx *fasthttp.RequestCtx, next fasthttp.RequestHandler, a, c string) {
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
	next(ctx)
	m := string(ctx.Method())
	if (m != fasthttp.MethodGet && m != fasthttp.MethodHead) || ctx.Response.StatusCode()/100 != 2 {
		return
	}
	var meta db.Metadata
	if c == "" {
		if info, err := p.AccountInfo(a); err == nil {
			meta = info.Metadata
		}
	} else if info, err := p.versioningInfo(ctx, a, c); err == nil {
		meta = info.Metadata
	}
	if v, ok := MetaValue(meta, sysmeta); ok {
		ctx.Response.Header.Set(client, v)
	}
}

// quoteEtags says whether the object's ETags are quoted: the container's
// setting, else the account's, else the default.
func (p *Proxy) quoteEtags(ctx *fasthttp.RequestCtx, accounts *rfcEtagsCache, a, c string) bool {
	info, err := p.versioningInfo(ctx, a, c)
	if err != nil {
		return false
	}
	if v, ok := MetaValue(info.Metadata, "X-Container-Sysmeta-"+rfcEtagsSysmeta); ok {
		return pyfmt.True(v)
	}
	v, ok, cached := accounts.get(a)
	if !cached {
		ai, err := p.AccountInfo(a)
		if err != nil {
			return false
		}
		v, ok = MetaValue(ai.Metadata, "X-Account-Sysmeta-"+rfcEtagsSysmeta)
		accounts.put(a, v, ok)
	}
	if ok {
		return pyfmt.True(v)
	}
	return p.cfg.EtagQuoter.EnableByDefault
}

// rfcEtagsCache keeps accounts' settings a few seconds, as Swift keeps
// account info in memcache; an account POST through this proxy forgets.
type rfcEtagsCache struct {
	mu sync.Mutex
	m  map[string]rfcEtagsEntry
}

type rfcEtagsEntry struct {
	value   string
	set     bool
	expires time.Time
}

func (rc *rfcEtagsCache) get(a string) (value string, set, cached bool) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	e, ok := rc.m[a]
	if !ok || time.Now().After(e.expires) {
		return "", false, false
	}
	return e.value, e.set, true
}

func (rc *rfcEtagsCache) put(a, value string, set bool) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if rc.m == nil || len(rc.m) > 10000 {
		rc.m = map[string]rfcEtagsEntry{}
	}
	rc.m[a] = rfcEtagsEntry{value, set, time.Now().Add(rfcEtagsTTL)}
}

func (rc *rfcEtagsCache) forget(a string) {
	rc.mu.Lock()
	delete(rc.m, a)
	rc.mu.Unlock()
}
