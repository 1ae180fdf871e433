// Package domainremap is Swift's virtual hosting: domain_remap serves a
// request to <container>.<account>.<storage_domain>/<object> as
// /<path_root>/<account>/<container>/<object>, and cname_lookup first
// maps a host that is a CNAME of a host in the storage domain to that
// host. Location headers of the answer are turned back into the host's
// form.
package domainremap

import (
	"net/url"
	"regexp"
	"strings"

	"github.com/valyala/fasthttp"

	"swiftbox/config"
	"swiftbox/server/proxy"
	"swiftbox/server/pyfmt"
)

// RemapFilter is the domain_remap filter of the pipeline.
func RemapFilter() proxy.Filter { return proxy.Filter{Name: "domain_remap", New: NewRemap} }

// storageDomains are the configured domains, each with a leading dot.
func storageDomains(list []string) []string {
	var out []string
	for _, d := range list {
		if d = strings.TrimSpace(d); d == "" {
			continue
		}
		if !strings.HasPrefix(d, ".") {
			d = "." + d
		}
		out = append(out, d)
	}
	return out
}

// NewRemap builds domain_remap; without a storage domain it is off (no
// /info entry, requests pass).
func NewRemap(env *proxy.Env) (proxy.Middleware, error) {
	c := &env.Config.DomainRemap
	domains := storageDomains(c.StorageDomain)
	if len(domains) == 0 {
		return func(next proxy.Handler) proxy.Handler { return next }, nil
	}
	env.RegisterInfo("domain_remap", func() map[string]any {
		var def any
		if d := c.DefaultResellerPrefix; d != "" {
			def = d
		}
		return map[string]any{"default_reseller_prefix": def}
	})
	r := &remapper{cfg: c, domains: domains, pathRoot: strings.Trim(c.PathRoot, "/") + "/"}
	return r.middleware, nil
}

type remapper struct {
	cfg      *config.DomainRemapConfig
	domains  []string
	pathRoot string // with a trailing slash
}

func (m *remapper) middleware(next proxy.Handler) proxy.Handler {
	return func(ctx *fasthttp.RequestCtx) error {
		host := string(ctx.Request.Header.Host())
		if i := strings.LastIndexByte(host, ':'); i >= 0 {
			host = host[:i]
		}
		var domain string
		for _, d := range m.domains {
			if strings.HasSuffix(host, d) {
				domain = d
				break
			}
		}
		if domain == "" {
			return next(ctx)
		}
		parts := strings.Split(strings.Trim(host[:len(host)-len(domain)], "."), ".")
		var container, account string
		switch len(parts) {
		case 2:
			container, account = parts[0], parts[1]
		case 1:
			account = parts[0]
		default:
			return proxy.ConstraintErrorf(fasthttp.StatusBadRequest, "Bad domain in host header")
		}
		account, ok := m.account(account)
		if !ok {
			return next(ctx)
		}
		requested, newPath, query := m.path(ctx, account, container)
		ctx.Request.SetRequestURI(pyfmt.Quote(newPath) + query)
		if err := next(ctx); err != nil {
			return err
		}
		rewriteLocations(ctx, `^(https?://[^/]+)`+regexp.QuoteMeta(pyfmt.Quote(newPath))+`(.*)$`,
			"${1}"+strings.ReplaceAll(pyfmt.Quote(requested), "$", "$$")+"${2}")
		return nil
	}
}

// account is the account a host names, with its reseller prefix; false
// when it has none and there is no default (the request is not remapped).
func (m *remapper) account(account string) (string, bool) {
	c := m.cfg
	if len(c.ResellerPrefixes) == 0 {
		return account, true
	}
	if !strings.Contains(account, "_") && strings.Contains(account, "-") {
		account = strings.Replace(account, "-", "_", 1)
	}
	pfx, _, _ := strings.Cut(account, "_")
	for _, real := range c.ResellerPrefixes {
		if strings.EqualFold(pfx, real) {
			if !strings.HasPrefix(account, real) {
				account = real + account[len(real):]
			}
			return account, true
		}
	}
	if c.DefaultResellerPrefix == "" {
		return "", false
	}
	return c.DefaultResellerPrefix + "_" + account, true
}

// path is the request's path as sent (decoded), the remapped one and the
// query (with its "?").
func (m *remapper) path(ctx *fasthttp.RequestCtx, account, container string) (requested, newPath, query string) {
	raw := string(ctx.Request.Header.RequestURI())
	if i := strings.IndexByte(raw, '?'); i >= 0 {
		raw, query = raw[:i], raw[i:]
	}
	requested, err := url.PathUnescape(raw)
	if err != nil {
		requested = raw
	}
	rest := strings.TrimPrefix(requested, "/")
	newParts := []string{"", m.pathRoot[:len(m.pathRoot)-1], account}
	if container != "" {
		newParts = append(newParts, container)
	}
	if m.cfg.MangleClientPaths && strings.HasPrefix(rest+"/", m.pathRoot) {
		rest = rest[min(len(m.pathRoot), len(rest)):]
	}
	newParts = append(newParts, rest)
	return requested, strings.Join(newParts, "/"), query
}

// rewriteLocations replaces pattern with repl in the response's Location
// and Content-Location headers.
func rewriteLocations(ctx *fasthttp.RequestCtx, pattern, repl string) {
	var re *regexp.Regexp
	for _, h := range []string{"Location", "Content-Location"} {
		if v := ctx.Response.Header.Peek(h); v != nil {
			if re == nil {
				re = regexp.MustCompile(pattern)
			}
			ctx.Response.Header.Set(h, re.ReplaceAllString(string(v), repl))
		}
	}
}
