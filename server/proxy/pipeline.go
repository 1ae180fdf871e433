package proxy

import (
	"fmt"
	"log/slog"

	"github.com/valyala/fasthttp"

	"swiftbox/config"
	"swiftbox/keystone"
	"swiftbox/server/metrics"
	"swiftbox/storage/db"
)

// pipelineOrder is Swift's proxy pipeline, as proxy-server.conf lists it:
// each name is a filter, the front slot is where s3api and keystone sit
// (Options.Front). The proxy core (router.go) runs after the last.
var pipelineOrder = []string{
	"catch_errors", "gatekeeper", "healthcheck", "cname_lookup", "domain_remap",
	"proxy_logging", "etag_quoter", "info", "container_sync", "bulk", "tempurl",
	"ratelimit", "crossdomain",
	frontSlot,
	"tempauth", "authenticate", "formpost", "staticweb", "copy",
	"container_quotas", "account_quotas", "slo", "dlo", "versioned_writes",
	"object_versioning", "symlink",
}

const frontSlot = "front"

// Filter is one middleware of the pipeline: its name in pipelineOrder and
// how it is built.
type Filter struct {
	Name string
	New  Factory
}

// Factory builds a middleware once, when the proxy is built, from the
// environment the proxy hands it.
type Factory func(env *Env) (Middleware, error)

// Env is what a middleware gets from the proxy: its configuration, a
// logger and metrics, the core's services (Core), and the registrations
// it makes while it is built (its /info entry).
type Env struct {
	Config  *config.Config
	Log     *slog.Logger
	Metrics *metrics.Metrics
	Core    Core
	p       *Proxy
}

// Core is what a middleware may ask of the proxy core.
type Core interface {
	// ContainerInfo is a container's info (cached briefly).
	ContainerInfo(ctx *fasthttp.RequestCtx, account, container string) (db.ContainerInfo, error)
	// ReadContainerInfo reads it now; fresh counts every acknowledged write.
	ReadContainerInfo(account, container string, fresh bool) (db.ContainerInfo, error)
	AccountInfo(account string) (db.AccountInfo, error)
	// Authorize judges r as tempauth/keystone would.
	Authorize(r *Request) keystone.Decision
	Policies() config.Policies
}

// RegisterInfo adds name's entry to /info (Swift's register_swift_info);
// doc is called for every /info request.
func (e *Env) RegisterInfo(name string, doc func() map[string]any) {
	e.p.infos[name] = doc
}

// buildFilters builds the filters of o and the core's own, checking that
// each has a place in the pipeline.
func (p *Proxy) buildFilters(o Options) error {
	p.filters = p.ownFilters()
	known := map[string]bool{}
	for _, n := range pipelineOrder {
		known[n] = true
	}
	env := &Env{Config: p.cfg, Log: p.log, Metrics: p.metrics, Core: p, p: p}
	for _, f := range o.Filters {
		if !known[f.Name] || f.Name == frontSlot {
			return fmt.Errorf("filter %q has no place in the pipeline", f.Name)
		}
		if _, dup := p.filters[f.Name]; dup {
			return fmt.Errorf("filter %q is built twice", f.Name)
		}
		m, err := f.New(env)
		if err != nil {
			return fmt.Errorf("%s: %w", f.Name, err)
		}
		p.filters[f.Name] = m
	}
	return nil
}

// ownFilters are the middlewares still built into the core; each moves to
// its own package under server/middleware and is passed in Options.Filters.
func (p *Proxy) ownFilters() map[string]Middleware {
	return map[string]Middleware{
		"catch_errors":      Legacy(p.catchErrors),
		"gatekeeper":        Legacy(gatekeeper),
		"healthcheck":       Legacy(healthcheck),
		"cname_lookup":      Legacy(p.cnameLookup),
		"domain_remap":      Legacy(p.domainRemap),
		"etag_quoter":       Legacy(p.etagQuoter),
		"info":              Legacy(p.info),
		"container_sync":    Legacy(p.containerSync),
		"bulk":              Legacy(p.bulk),
		"tempurl":           Legacy(p.tempURL),
		"ratelimit":         Legacy(p.rateLimit),
		"crossdomain":       Legacy(p.crossDomain),
		"tempauth":          Legacy(p.tempauthEndpoint),
		"authenticate":      Legacy(p.authenticate),
		"formpost":          Legacy(p.formPost),
		"staticweb":         Legacy(p.staticWeb),
		"copy":              Legacy(p.copyMiddleware),
		"container_quotas":  Legacy(p.containerQuotas),
		"account_quotas":    Legacy(p.accountQuotas),
		"slo":               Legacy(p.slo),
		"dlo":               Legacy(p.dlo),
		"versioned_writes":  Legacy(p.versionedWrites),
		"object_versioning": Legacy(p.objectVersioning),
		"symlink":           Legacy(p.symlink),
	}
}
