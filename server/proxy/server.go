// Package server is swiftbox's HTTP front: the Swift API proxy, its
// feature middlewares in Swift's pipeline order, and the listener.
package proxy

import (
	"bytes"

	"github.com/valyala/fasthttp"
)

// Middleware wraps a handler, as one of Swift's proxy pipeline filters does.
type Middleware func(next fasthttp.RequestHandler) fasthttp.RequestHandler

// Handler returns the proxy's full pipeline in Swift's order:
// catch_errors gatekeeper healthcheck info, the front middlewares
// (S3, Keystone), tempauth, the feature middlewares → proxy.
func (p *Proxy) Handler() fasthttp.RequestHandler { return p.HandlerWithFront(p.front) }

// HandlerWithFront is Handler with other front middlewares (a listener
// that serves only S3, say).
func (p *Proxy) HandlerWithFront(front []Middleware) fasthttp.RequestHandler {
	pipeline := []Middleware{
		p.catchErrors,
		gatekeeper,
		healthcheck,
		p.cnameLookup,
		p.domainRemap,
		p.logging.Middleware("swift"), // proxy_logging
		p.etagQuoter,
		p.info,
		p.containerSync,
		p.bulk,
		p.tempURL,
		p.rateLimit,
		p.crossDomain,
	}
	pipeline = append(pipeline, front...) // s3api, keystone
	pipeline = append(pipeline,
		p.tempauthEndpoint,
		p.authenticate,
		p.formPost,
		p.staticWeb,
		p.copyMiddleware,
		p.containerQuotas,
		p.accountQuotas,
		p.slo,
		p.dlo,
		p.versionedWrites,
		p.objectVersioning,
		p.symlink,
	)
	h := fasthttp.RequestHandler(p.serveSwift)
	for i := len(pipeline) - 1; i >= 0; i-- {
		h = pipeline[i](h)
	}
	return h
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
