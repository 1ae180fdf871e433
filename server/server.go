// Package server assembles swiftbox's HTTP front: the Swift proxy core
// (server/proxy) with the middlewares of Swift's pipeline, each in its own
// package under server/middleware, placed by name in the proxy's
// pipeline order (server/proxy/pipeline.go).
package server

import (
	"swiftbox/server/middleware/bulk"
	"swiftbox/server/middleware/largeobject"
	"swiftbox/server/proxy"
)

// Filters are the middlewares built outside the proxy core.
func Filters() []proxy.Filter {
	return []proxy.Filter{
		bulk.Filter(),
		largeobject.SLOFilter(),
		largeobject.DLOFilter(),
	}
}

// NewProxy builds the proxy core with every middleware of Filters.
func NewProxy(o proxy.Options) (*proxy.Proxy, error) {
	o.Filters = append(Filters(), o.Filters...)
	return proxy.NewProxy(o)
}
