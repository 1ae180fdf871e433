package proxy

import "github.com/valyala/fasthttp"

// crossDomain answers GET /crossdomain.xml with the configured policy, for
// Flash and Silverlight clients (Swift's crossdomain).
func (p *Proxy) crossDomain(next fasthttp.RequestHandler) fasthttp.RequestHandler {
	body := "<?xml version=\"1.0\"?>\n<!DOCTYPE cross-domain-policy SYSTEM " +
		"\"http://www.adobe.com/xml/dtds/cross-domain-policy.dtd\" >\n<cross-domain-policy>\n" +
		p.cfg.CrossDomain.CrossDomainPolicy + "\n</cross-domain-policy>"
	return func(ctx *fasthttp.RequestCtx) {
		if string(ctx.Path()) != "/crossdomain.xml" || string(ctx.Method()) != fasthttp.MethodGet {
			next(ctx)
			return
		}
		ctx.Response.Header.SetContentType("application/xml")
		ctx.SetBodyString(body)
	}
}
