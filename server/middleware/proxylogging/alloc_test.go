package proxylogging

import (
	"io"
	"testing"

	"github.com/valyala/fasthttp"

	"swiftbox/server/metrics"
	"swiftbox/server/proxy"
)

// loggedHandler is a handler answering a small GET, logged by l.
func loggedHandler(l *Logging) (fasthttp.RequestHandler, *fasthttp.RequestCtx) {
	h := proxy.Serve(l.Middleware(APISwift)(func(ctx *fasthttp.RequestCtx) error {
		ctx.Response.Header.Set("X-Trans-Id", "tx0123456789abcdef0123456789abcdef")
		ctx.SetBodyString("hello")
		return nil
	}))
	ctx := &fasthttp.RequestCtx{}
	ctx.Request.SetRequestURI("/v1/AUTH_test/c/o")
	ctx.Request.Header.Set("X-Auth-Token", "AUTH_tk0123456789abcdef0123456789abcdef")
	ctx.Request.Header.Set("User-Agent", "objbench/1.0")
	return h, ctx
}

// The access log line costs a request no allocation of its own (the
// line is built in a pooled buffer and queued by copying): the access
// log is on by default, on every request.
func TestAccessLogLineAllocatesNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector's sync.Pool drops buffers and allocates on its own")
	}
	m := metrics.New(metrics.Options{})
	bare, bctx := loggedHandler(&Logging{Metrics: m.HTTP})
	al := NewAccessLog(io.Discard, nil)
	defer al.Close()
	logged, lctx := loggedHandler(&Logging{Metrics: m.HTTP, Access: al})
	base := testing.AllocsPerRun(2000, func() { bare(bctx) })
	with := testing.AllocsPerRun(2000, func() { logged(lctx) })
	if with > base {
		t.Errorf("%.2f allocations a request with the access log, %.2f without", with, base)
	}
}

// BenchmarkLoggedRequest: go test -bench LoggedRequest ./server/middleware/proxylogging
func BenchmarkLoggedRequest(b *testing.B) {
	for _, access := range []bool{false, true} {
		name, l := "metrics", &Logging{Metrics: metrics.New(metrics.Options{}).HTTP}
		if access {
			name, l.Access = "metrics+access", NewAccessLog(io.Discard, nil)
			defer l.Access.Close()
		}
		h, ctx := loggedHandler(l)
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				h(ctx)
			}
		})
	}
}
