// Package crossdomain answers GET /crossdomain.xml with the configured
// policy, for Flash and Silverlight clients (Swift's crossdomain).
package crossdomain

import (
	"github.com/valyala/fasthttp"

	"swiftbox/server/proxy"
)

// New builds the filter from the crossdomain config section.
func New(env *proxy.Env) (proxy.Middleware, error) {
	body := "<?xml version=\"1.0\"?>\n<!DOCTYPE cross-domain-policy SYSTEM " +
		"\"http://www.adobe.com/xml/dtds/cross-domain-policy.dtd\" >\n<cross-domain-policy>\n" +
		env.Config.CrossDomain.CrossDomainPolicy + "\n</cross-domain-policy>"
	env.RegisterInfo("crossdomain", func() map[string]any { return map[string]any{} })
	return func(next proxy.Handler) proxy.Handler {
		return func(ctx *fasthttp.RequestCtx) error {
			if string(ctx.Path()) != "/crossdomain.xml" || string(ctx.Method()) != fasthttp.MethodGet {
				return next(ctx)
			}
			ctx.Response.Header.SetContentType("application/xml")
			ctx.SetBodyString(body)
			return nil
		}
	}, nil
}
