package proxy

import "github.com/valyala/fasthttp"

// Handler serves one request. An error it returns is its response: the
// pipeline writes it with WriteError, the one place errors become
// responses, as soon as the handler returns, so the middlewares around it
// see a finished response (CORS, the access log, the gatekeeper).
type Handler func(ctx *fasthttp.RequestCtx) error

// Middleware wraps the rest of the pipeline, as one of Swift's proxy
// pipeline filters does.
type Middleware func(next Handler) Handler

// Serve adapts h to fasthttp, writing the error it returns.
func Serve(h Handler) fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) {
		if err := h(ctx); err != nil {
			WriteError(ctx, err)
		}
	}
}

// settled runs h and writes the error it returns, so the caller sees a
// finished response.
func settled(h Handler) Handler {
	return func(ctx *fasthttp.RequestCtx) error {
		if err := h(ctx); err != nil {
			WriteError(ctx, err)
		}
		return nil
	}
}

// Chain builds a pipeline: ms[0] runs first, core last.
func Chain(core Handler, ms ...Middleware) Handler {
	h := core
	for i := len(ms) - 1; i >= 0; i-- {
		h = ms[i](settled(h))
	}
	return settled(h)
}
