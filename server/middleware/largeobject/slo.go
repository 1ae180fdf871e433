// Package largeobject is Swift's large objects: the slo middleware
// (static large objects, whose manifest lists its segments) and the dlo
// middleware (dynamic large objects, the objects under a prefix), which
// share how a large object's segments are served (segments.go).
package largeobject

import (
	"log/slog"

	"github.com/valyala/fasthttp"

	"swiftbox/config"
	"swiftbox/server/proxy"
)

// Static large objects (Swift's slo middleware): a manifest PUT with
// ?multipart-manifest=put lists segments; GET/HEAD serve the
// concatenation; ?multipart-manifest=get returns the manifest and
// ?multipart-manifest=delete removes it with its segments.

const (
	sloEtagKey = "X-Object-Sysmeta-Slo-Etag"
	sloSizeKey = "X-Object-Sysmeta-Slo-Size"

	sloMaxRecursion    = 10
	sloHeadConcurrency = 2
)

// SLOFilter is the "slo" filter of the pipeline.
func SLOFilter() proxy.Filter { return proxy.Filter{Name: "slo", New: NewSLO} }

// DLOFilter is the "dlo" filter of the pipeline.
func DLOFilter() proxy.Filter { return proxy.Filter{Name: "dlo", New: NewDLO} }

type slo struct {
	cfg *config.Config
	log *slog.Logger
}

// NewSLO builds the slo middleware; it registers its /info entry and the
// rewrite of manifests' rows in container listings.
func NewSLO(env *proxy.Env) (proxy.Middleware, error) {
	s := &slo{cfg: env.Config, log: env.Log.With("component", "slo")}
	env.RegisterInfo("slo", func() map[string]any {
		return map[string]any{
			"max_manifest_segments": s.cfg.SLO.MaxManifestSegments,
			"max_manifest_size":     s.cfg.SLO.MaxManifestSize,
			"yield_frequency":       s.cfg.SLO.YieldFrequency,
			"min_segment_size":      1,
			"allow_async_delete":    false,
		}
	})
	env.RegisterListingRow(sloListingRow)
	return s.middleware, nil
}

func (s *slo) middleware(next proxy.Handler) proxy.Handler {
	var self proxy.Handler
	self = func(ctx *fasthttp.RequestCtx) error {
		version, account, container, obj, err := proxy.SplitPath(ctx)
		if err != nil || account == "" || container == "" || obj == "" || proxy.SyncOverride(ctx) {
			return next(ctx)
		}
		method := string(ctx.Method())
		mm := string(ctx.QueryArgs().Peek("multipart-manifest"))
		switch {
		case method == fasthttp.MethodPut && mm == "put":
			return s.put(ctx, next, self, version, account, container, obj)
		case method == fasthttp.MethodDelete && mm == "delete":
			s.delete(ctx, next, version, account, container, obj)
			return nil
		case method == fasthttp.MethodGet || method == fasthttp.MethodHead:
			return s.getHead(ctx, next, version, account, container, obj)
		case ctx.Request.Header.Peek("X-Static-Large-Object") != nil:
			return proxy.Errorf(fasthttp.StatusBadRequest, "X-Static-Large-Object is a reserved header. "+
				"To create a static large object add query param multipart-manifest=put.")
		}
		return next(ctx)
	}
	return self
}
