package proxy

import (
	"context"
	"testing"

	"github.com/valyala/fasthttp"

	"swiftbox/config"
)

// TestDetachedWorkEndsWithProxy: a subrequest's or detached request's
// work (whose RequestCtx no shutdown cancels) runs under a context that
// keeps the request's values and ends when the proxy closes.
func TestDetachedWorkEndsWithProxy(t *testing.T) {
	t.Parallel()
	p, err := NewProxy(Options{Config: config.Default()})
	if err != nil {
		t.Fatal(err)
	}
	top := new(fasthttp.RequestCtx)
	top.Init(&fasthttp.Request{}, nil, nil)
	top.SetUserValue(KeyTransID, "txtop")
	if got := p.reqContext(top); got != context.Context(top) {
		t.Fatalf("a client's request runs under %T, not its own context", got)
	}
	sub := new(fasthttp.RequestCtx)
	sub.Init(&fasthttp.Request{}, nil, nil)
	sub.SetUserValue(KeyTransID, "txsub")
	sub.SetUserValue(keyInternal, true)
	var ctxs []context.Context
	for _, rc := range []*fasthttp.RequestCtx{sub, Detach(top), nil} {
		ctx := p.reqContext(rc)
		if ctx.Err() != nil {
			t.Fatal("ended before the proxy closed")
		}
		ctxs = append(ctxs, ctx)
	}
	if ctxs[0].Value(KeyTransID) != "txsub" || ctxs[1].Value(KeyTransID) != "txtop" {
		t.Errorf("values lost: %v %v", ctxs[0].Value(KeyTransID), ctxs[1].Value(KeyTransID))
	}
	p.Close()
	for i, ctx := range ctxs {
		if ctx.Err() == nil {
			t.Errorf("context %d still running after Close", i)
		}
	}
}
