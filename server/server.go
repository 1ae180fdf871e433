// Package server assembles swiftbox's HTTP front: the Swift proxy core
// (server/proxy) with the middlewares of Swift's pipeline, each in its own
// package under server/middleware, placed by name in the proxy's
// pipeline order (server/proxy/pipeline.go).
package server

import (
	"swiftbox/server/middleware/bulk"
	"swiftbox/server/middleware/containersync"
	"swiftbox/server/middleware/copy"
	"swiftbox/server/middleware/cors"
	"swiftbox/server/middleware/crossdomain"
	"swiftbox/server/middleware/domainremap"
	"swiftbox/server/middleware/etagquoter"
	"swiftbox/server/middleware/largeobject"
	"swiftbox/server/middleware/quotas"
	"swiftbox/server/middleware/ratelimit"
	"swiftbox/server/middleware/signed"
	"swiftbox/server/middleware/staticweb"
	"swiftbox/server/middleware/symlink"
	"swiftbox/server/middleware/versioning"
	"swiftbox/server/proxy"
)

// Filters are the middlewares built outside the proxy core.
func Filters() []proxy.Filter {
	fs := []proxy.Filter{
		domainremap.CNAMEFilter(),
		domainremap.RemapFilter(),
		ratelimit.Filter(),
		copy.Filter(),
		{Name: "staticweb", New: staticweb.New},
		{Name: "crossdomain", New: crossdomain.New},
		{Name: "cors", New: cors.New},
		etagquoter.Filter(),
		symlink.Filter(),
		containersync.Filter(),
		bulk.Filter(),
		largeobject.SLOFilter(),
		largeobject.DLOFilter(),
	}
	fs = append(fs, signed.Filters()...)
	fs = append(fs, quotas.Filters()...)
	fs = append(fs, versioning.Filters()...)
	return fs
}

// NewProxy builds the proxy core with every middleware of Filters.
func NewProxy(o proxy.Options) (*proxy.Proxy, error) {
	o.Filters = append(Filters(), o.Filters...)
	return proxy.NewProxy(o)
}
