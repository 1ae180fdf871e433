package proxy

import (
	"net/netip"
	"regexp"
	"strconv"
	"strings"

	"github.com/valyala/fasthttp"
)

// CNAME virtual hosting (Swift's cname_lookup): a request whose Host is a
// CNAME of a host in the storage domain is served as if sent to that host
// (then domain_remap maps it to an account or container). There is no
// DNS here: the CNAME records come from the cnames map of the config.

func (p *Proxy) cnameLookupInfo() map[string]any {
	return map[string]any{"lookup_depth": p.cfg.CNAMELookup.LookupDepth}
}

func inStorageDomain(domains []string, host string) bool {
	h := "." + host
	for _, d := range domains {
		if strings.HasSuffix(h, d) {
			return true
		}
	}
	return false
}

func (p *Proxy) cnameLookup(next fasthttp.RequestHandler) fasthttp.RequestHandler {
	c := p.cfg.CNAMELookup
	domains := storageDomains(c.StorageDomain)
	if len(domains) == 0 {
		return next
	}
	return func(ctx *fasthttp.RequestCtx) {
		requested := string(ctx.Request.Header.Host())
		host, port := requested, ""
		if i := strings.LastIndexByte(host, ':'); i >= 0 {
			host, port = host[:i], host[i+1:]
		}
		if _, err := netip.ParseAddr(strings.Trim(host, "[]")); err == nil || inStorageDomain(domains, host) {
			next(ctx)
			return
		}
		domain, found := host, ""
		mapped := false
		for i := 0; i < c.LookupDepth; i++ {
			found = c.CNAMEs[domain]
			if found == "" || found == domain {
				found = ""
				break
			}
			if inStorageDomain(domains, found) {
				mapped = true
				break
			}
			domain = found
		}
		if !mapped {
			msg := "CNAME lookup failed to resolve to a valid domain"
			if found != "" {
				msg = "CNAME lookup failed after " + strconv.Itoa(c.LookupDepth) + " tries"
			}
			ctx.SetStatusCode(fasthttp.StatusBadRequest)
			ctx.Response.Header.SetContentType("text/plain")
			ctx.SetBodyString(msg)
			return
		}
		newHost := found
		if port != "" {
			newHost += ":" + port
		}
		ctx.Request.Header.SetHost(newHost)
		next(ctx)
		re := regexp.MustCompile(`^(https?://)` + regexp.QuoteMeta(newHost) + `(/.*)?$`)
		for _, h := range []string{"Location", "Content-Location"} {
			if v := ctx.Response.Header.Peek(h); v != nil {
				ctx.Response.Header.Set(h, re.ReplaceAllString(string(v), "${1}"+strings.ReplaceAll(requested, "$", "$$")+"${2}"))
			}
		}
	}
}
