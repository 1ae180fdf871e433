// Package proxy is the Swift proxy core: the pipeline and its handler
// contract, the router, the account, container and object controllers,
// placement, fan-out and subrequests. Swift's middlewares live in
// server/middleware and plug in through Env; package server assembles them.
package proxy

import (
	"bytes"

	"github.com/valyala/fasthttp"
)

// Handler returns the proxy's full pipeline in Swift's order (pipeline.go)
// with the front middlewares of Options.
func (p *Proxy) Handler() fasthttp.RequestHandler { return p.HandlerWithFront(p.front) }

// HandlerWithFront is Handler with other front middlewares (a listener
// that serves only S3, say).
func (p *Proxy) HandlerWithFront(front []Middleware) fasthttp.RequestHandler {
	var ms []Middleware
	for _, name := range pipelineOrder {
		if name == frontSlot {
			ms = append(ms, front...)
			continue
		}
		if m := p.filters[name]; m != nil {
			ms = append(ms, m)
		}
	}
	return Serve(Chain(p.serveSwift, ms...))
}

// maxRequestBodyInMemory is the largest body fasthttp may buffer; anything
// bigger is streamed to the handler, so uploads never sit in memory.
const maxRequestBodyInMemory = 1 << 20

// ExpectHandler answers "Expect: 100-continue" before the body is sent:
// an oversized upload (413) or a bad token (401) is refused without
// making the client send gigabytes first.
func (p *Proxy) ExpectHandler(ctx *fasthttp.RequestCtx) int {
	if uploadLength(&ctx.Request.Header) > p.limits.MaxFileSize {
		return fasthttp.StatusRequestEntityTooLarge
	}
	if token := headerOr(ctx, "X-Auth-Token", "X-Storage-Token"); token != "" && !bytes.HasPrefix(ctx.Path(), []byte("/auth")) {
		if id, err := p.validateToken(ctx, token); err != nil {
			return fasthttp.StatusServiceUnavailable
		} else if id == nil {
			return fasthttp.StatusUnauthorized
		}
	}
	return fasthttp.StatusContinue
}

// NewHTTPServer makes the fasthttp server for h with streaming bodies.
// expect, when set, decides on "Expect: 100-continue" requests. Its
// timeouts and connection cap are the listener's (listener.Serve sets them).
func NewHTTPServer(h fasthttp.RequestHandler, expect func(*fasthttp.RequestCtx) int, name string) *fasthttp.Server {
	return &fasthttp.Server{
		Handler:                       h,
		ExpectHandler:                 expect,
		HeaderReceived:                headerReceived,
		ErrorHandler:                  requestError,
		Name:                          name,
		StreamRequestBody:             true,
		MaxRequestBodySize:            maxRequestBodyInMemory,
		DisablePreParseMultipartForm:  true,
		NoDefaultContentType:          true,
		NoDefaultServerHeader:         true,
		NoDefaultDate:                 false,
		ReadBufferSize:                16 << 10,
		WriteBufferSize:               64 << 10,
		CloseOnShutdown:               true,
		DisableHeaderNamesNormalizing: false,
		ReduceMemoryUsage:             false,
		Concurrency:                   64 * 1024,
	}
}
