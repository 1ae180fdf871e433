// Package server assembles swiftbox's HTTP front: the Swift proxy core
// (server/proxy) with the middlewares of Swift's pipeline, each in its own
// package under server/middleware, placed by name in the proxy's
// pipeline order (server/proxy/pipeline.go).
package server

import (
	"swiftbox/server/middleware/cors"
	"swiftbox/server/middleware/crossdomain"
	"swiftbox/server/middleware/etagquoter"
	"swiftbox/server/middleware/quotas"
	"swiftbox/server/middleware/signed"
	"swiftbox/server/middleware/staticweb"
	"swiftbox/server/middleware/symlink"
	"swiftbox/server/middleware/versioning"
	"swiftbox/server/proxy"
)

// Filters are the middlewares built outside the proxy core.
func Filters() []proxy.Filter {
	var fs []proxy.Filter
	fs = append(fs, signed.Filters()...)
	fs = append(fs, proxy.Filter{Name: "staticweb", New: staticweb.New})
	fs = append(fs, proxy.Filter{Name: "crossdomain", New: crossdomain.New})
	fs = append(fs, proxy.Filter{Name: "cors", New: cors.New})
	fs = append(fs, etagquoter.Filter())
	fs = append(fs, quotas.Filters()...)
	fs = append(fs, versioning.Filters()...)
	fs = append(fs, symlink.Filter())
	return fs
}

// NewProxy builds the proxy core with every middleware of Filters.
func NewProxy(o proxy.Options) (*proxy.Proxy, error) {
	o.Filters = append(Filters(), o.Filters...)
	return proxy.NewProxy(o)
}
