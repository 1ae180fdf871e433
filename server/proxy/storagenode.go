package proxy

import (
	"net"

	"github.com/valyala/fasthttp"
)

// StorageNodeHandler is the storage-node (backend) listener's pipeline:
// the given middlewares (proxy_logging, recon) in front of api, the
// object/container/account server API (nil: everything but OPTIONS is
// 404). serverType maps a local port to "object", "container" or
// "account" (from the rings), so OPTIONS names the server as Swift's do
// (swift-recon --validate-servers).
func StorageNodeHandler(serverType func(port int) string, api fasthttp.RequestHandler, mws ...Middleware) fasthttp.RequestHandler {
	h := func(ctx *fasthttp.RequestCtx) error {
		if string(ctx.Method()) == fasthttp.MethodOptions {
			typ := "object"
			if a, ok := ctx.LocalAddr().(*net.TCPAddr); ok && serverType != nil {
				if t := serverType(a.Port); t != "" {
					typ = t
				}
			}
			ctx.Response.Header.Set("Server", typ+"-server/"+swiftVersion)
			ctx.Response.Header.Set("Allow", "DELETE, GET, HEAD, OPTIONS, POST, PUT, REPLICATE, SSYNC, UPDATE")
			ctx.Response.Header.SetContentLength(0)
			return nil
		}
		if api != nil {
			api(ctx)
			return nil
		}
		WriteStatus(ctx, fasthttp.StatusNotFound, "")
		return nil
	}
	return Serve(Chain(h, mws...))
}
