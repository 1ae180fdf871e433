package domainremap

import (
	"net/netip"
	"regexp"
	"strconv"
	"strings"

	"github.com/valyala/fasthttp"

	"swiftbox/config"
	"swiftbox/server/proxy"
)

// CNAME virtual hosting (Swift's cname_lookup): a request whose Host is a
// CNAME of a host in the storage domain is served as if sent to that host
// (then domain_remap maps it to an account or container). There is no
// DNS here: the CNAME records come from the cnames map of the config.

// CNAMEFilter is the cname_lookup filter of the pipeline.
func CNAMEFilter() proxy.Filter { return proxy.Filter{Name: "cname_lookup", New: NewCNAME} }

// NewCNAME builds cname_lookup; without a storage domain it is off (no
// /info entry, requests pass).
func NewCNAME(env *proxy.Env) (proxy.Middleware, error) {
	c := &env.Config.CNAMELookup
	domains := storageDomains(c.StorageDomain)
	if len(domains) == 0 {
		return func(next proxy.Handler) proxy.Handler { return next }, nil
	}
	env.RegisterInfo("cname_lookup", func() map[string]any {
		return map[string]any{"lookup_depth": c.LookupDepth}
	})
	l := &cnameLookup{cfg: c, domains: domains}
	return l.middleware, nil
}

type cnameLookup struct {
	cfg     *config.CNAMELookupConfig
	domains []string
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

func (l *cnameLookup) middleware(next proxy.Handler) proxy.Handler {
	return func(ctx *fasthttp.RequestCtx) error {
		requested := string(ctx.Request.Header.Host())
		host, port := requested, ""
		if i := strings.LastIndexByte(host, ':'); i >= 0 {
			host, port = host[:i], host[i+1:]
		}
		if _, err := netip.ParseAddr(strings.Trim(host, "[]")); err == nil || inStorageDomain(l.domains, host) {
			return next(ctx)
		}
		newHost, err := l.resolve(host)
		if err != nil {
			return err
		}
		if port != "" {
			newHost += ":" + port
		}
		ctx.Request.Header.SetHost(newHost)
		if err := next(ctx); err != nil {
			return err
		}
		rewriteLocations(ctx, `^(https?://)`+regexp.QuoteMeta(newHost)+`(/.*)?$`,
			"${1}"+strings.ReplaceAll(requested, "$", "$$")+"${2}")
		return nil
	}
}

// resolve follows host's CNAMEs, up to the lookup depth, to a host in
// the storage domain.
func (l *cnameLookup) resolve(host string) (string, error) {
	domain, found := host, ""
	for i := 0; i < l.cfg.LookupDepth; i++ {
		found = l.cfg.CNAMEs[domain]
		if found == "" || found == domain {
			found = ""
			break
		}
		if inStorageDomain(l.domains, found) {
			return found, nil
		}
		domain = found
	}
	msg := "CNAME lookup failed to resolve to a valid domain"
	if found != "" {
		msg = "CNAME lookup failed after " + strconv.Itoa(l.cfg.LookupDepth) + " tries"
	}
	return "", proxy.ConstraintErrorf(fasthttp.StatusBadRequest, "%s", msg)
}
