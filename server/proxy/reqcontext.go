package proxy

import (
	"context"

	"github.com/valyala/fasthttp"
)

// keyDetached marks a request Detach took over from its handler.
const keyDetached = "swiftbox.detached"

// reqContext is the context the work of ctx's request runs under, so a
// shutdown cancels it: a client's request is its own context (fasthttp
// cancels it when the server shuts down); a subrequest or detached work,
// whose RequestCtx nothing cancels, gets one that carries its values and
// ends when the proxy closes; no request (nil) gets the proxy's own.
func (p *Proxy) reqContext(ctx *fasthttp.RequestCtx) context.Context {
	switch {
	case ctx == nil:
		return p.life
	case IsInternal(ctx) || ctx.UserValue(keyDetached) != nil:
		return requestValues{Context: p.life, req: ctx}
	}
	return ctx
}

// requestValues is a context that ends with its Context and carries the
// user values of req (transaction id, identity).
type requestValues struct {
	context.Context
	req *fasthttp.RequestCtx
}

func (c requestValues) Value(key any) any { return c.req.UserValue(key) }

// Context is the context of r's work (see reqContext).
func (r *Request) Context() context.Context {
	if r.bctx == nil {
		return r.Ctx
	}
	return r.bctx
}
