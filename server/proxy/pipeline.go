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
// (Options.Front). The proxy core (router.go) runs after the last. "cors"
// is no filter in Swift but its controllers' cors_validation: its factory
// registers the core's CORS hooks (hooks_cors.go) and returns no filter.
var pipelineOrder = []string{
	"catch_errors", "gatekeeper", "healthcheck", "cname_lookup", "domain_remap",
	"proxy_logging", "etag_quoter", "info", "container_sync", "bulk", "tempurl",
	"ratelimit", "crossdomain",
	frontSlot,
	"tempauth", "authenticate", "formpost", "staticweb", "copy",
	"container_quotas", "account_quotas", "slo", "dlo", "versioned_writes",
	"object_versioning", "symlink", "cors",
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
	name    string // the filter being built
}

// Core is what a middleware may ask of the proxy core.
type Core interface {
	// ContainerInfo is a container's info (cached briefly). The info
	// methods read under ctx's context (nil: the proxy's own).
	ContainerInfo(ctx *fasthttp.RequestCtx, account, container string) (db.ContainerInfo, error)
	// ReadContainerInfo reads it now; fresh counts every acknowledged write.
	ReadContainerInfo(ctx *fasthttp.RequestCtx, account, container string, fresh bool) (db.ContainerInfo, error)
	AccountInfo(ctx *fasthttp.RequestCtx, account string) (db.AccountInfo, error)
	// Authorize judges r as tempauth/keystone would.
	Authorize(r *Request) keystone.Decision
	Policies() config.Policies
	// Decide is the decision the core will make about ctx's access to a
	// path; MayWrite says whether it would let ctx write there.
	Decide(ctx *fasthttp.RequestCtx, account, container, object string) keystone.Decision
	MayWrite(ctx *fasthttp.RequestCtx, account, container, object string) bool
	// CheckObjectPut is the core's check of an object PUT before its body.
	CheckObjectPut(r *Request) error
	// ListObjects reads a page of a container's listing.
	ListObjects(ctx *fasthttp.RequestCtx, account, container string, o db.ListOptions) ([]db.ObjectEntry, error)
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
		fenv := *env
		fenv.name = f.Name
		m, err := f.New(&fenv)
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
		"catch_errors": p.catchErrors,
		"gatekeeper":   gatekeeper,
		"healthcheck":  healthcheck,
		"info":         p.info,
		"tempauth":     p.tempauthEndpoint,
		"authenticate": p.authenticate,
	}
}
