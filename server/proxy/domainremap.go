package proxy

import (
	"net/url"
	"regexp"
	"strings"

	"swiftbox/server/pyfmt"

	"github.com/valyala/fasthttp"
)

// Virtual hosting (Swift's domain_remap): a request to
// <container>.<account>.<storage_domain>/<object> is served as
// /<path_root>/<account>/<container>/<object>, and Location headers of the
// answer are turned back into the host's form.

func (p *Proxy) domainRemapInfo() map[string]any {
	var def any
	if d := p.cfg.DomainRemap.DefaultResellerPrefix; d != "" {
		def = d
	}
	return map[string]any{"default_reseller_prefix": def}
}

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

func (p *Proxy) domainRemap(next fasthttp.RequestHandler) fasthttp.RequestHandler {
	c := p.cfg.DomainRemap
	domains := storageDomains(c.StorageDomain)
	if len(domains) == 0 {
		return next
	}
	pathRoot := strings.Trim(c.PathRoot, "/") + "/"
	return func(ctx *fasthttp.RequestCtx) {
		host := string(ctx.Request.Header.Host())
		if i := strings.LastIndexByte(host, ':'); i >= 0 {
			host = host[:i]
		}
		var domain string
		for _, d := range domains {
			if strings.HasSuffix(host, d) {
				domain = d
				break
			}
		}
		if domain == "" {
			next(ctx)
			return
		}
		parts := strings.Split(strings.Trim(host[:len(host)-len(domain)], "."), ".")
		var container, account string
		switch len(parts) {
		case 2:
			container, account = parts[0], parts[1]
		case 1:
			account = parts[0]
		default:
			ctx.SetStatusCode(fasthttp.StatusBadRequest)
			ctx.Response.Header.SetContentType("text/plain")
			ctx.SetBodyString("Bad domain in host header")
			return
		}
		if len(c.ResellerPrefixes) > 0 {
			if !strings.Contains(account, "_") && strings.Contains(account, "-") {
				account = strings.Replace(account, "-", "_", 1)
			}
			pfx, _, _ := strings.Cut(account, "_")
			matched := false
			for _, real := range c.ResellerPrefixes {
				if strings.EqualFold(pfx, real) {
					if !strings.HasPrefix(account, real) {
						account = real + account[len(real):]
					}
					matched = true
					break
				}
			}
			if !matched {
				if c.DefaultResellerPrefix == "" {
					next(ctx)
					return
				}
				account = c.DefaultResellerPrefix + "_" + account
			}
		}
		raw := string(ctx.Request.Header.RequestURI())
		query := ""
		if i := strings.IndexByte(raw, '?'); i >= 0 {
			raw, query = raw[:i], raw[i:]
		}
		requested, err := url.PathUnescape(raw)
		if err != nil {
			requested = raw
		}
		rest := strings.TrimPrefix(requested, "/")
		newParts := []string{"", pathRoot[:len(pathRoot)-1], account}
		if container != "" {
			newParts = append(newParts, container)
		}
		if c.MangleClientPaths && strings.HasPrefix(rest+"/", pathRoot) {
			rest = rest[min(len(pathRoot), len(rest)):]
		}
		newParts = append(newParts, rest)
		newPath := strings.Join(newParts, "/")
		ctx.Request.SetRequestURI(pyfmt.Quote(newPath) + query)
		next(ctx)
		rewritten := regexp.MustCompile(`^(https?://[^/]+)` + regexp.QuoteMeta(pyfmt.Quote(newPath)) + `(.*)$`)
		for _, h := range []string{"Location", "Content-Location"} {
			if v := ctx.Response.Header.Peek(h); v != nil {
				ctx.Response.Header.Set(h, rewritten.ReplaceAllString(string(v), "${1}"+strings.ReplaceAll(pyfmt.Quote(requested), "$", "$$")+"${2}"))
			}
		}
	}
}
