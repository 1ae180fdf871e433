package proxy_test

import (
	"context"
	"sync"
	"testing"

	"swiftbox/server/backend"
	"swiftbox/server/proxy"
	"swiftbox/server/servertest"
)

// ctxRecorder notes the context of every backend call (backend.Observed
// shows it each).
type ctxRecorder struct {
	mu    sync.Mutex
	calls []recordedCall
}

// recordedCall is what a call's context was when it was made (fasthttp
// reuses a RequestCtx once its request is answered, so only a context of
// no request is kept).
type recordedCall struct {
	method  string
	transID string
	// bare is the context of a call of no request (no transaction id):
	// it must be the proxy's own.
	bare context.Context
}

func (r *ctxRecorder) see(ctx context.Context, c backend.Call) {
	tid, _ := ctx.Value(proxy.KeyTransID).(string)
	call := recordedCall{method: c.Method, transID: tid}
	if tid == "" {
		call.bare = ctx
	}
	r.mu.Lock()
	r.calls = append(r.calls, call)
	r.mu.Unlock()
}

func (r *ctxRecorder) take() []recordedCall {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.calls
	r.calls = nil
	return out
}

// TestBackendCallsCarryRequestContext: every backend call a request makes
// runs under that request's context (fasthttp's RequestCtx, cancelled when
// the server shuts down), and work outliving it (account updates, expiry
// queueing) under the proxy's — one context, running until Close cancels
// it — never under a context nothing cancels.
func TestBackendCallsCarryRequestContext(t *testing.T) {
	t.Parallel()
	rec := &ctxRecorder{}
	c := servertest.Start(t, servertest.Options{WrapBackend: func(b backend.Backend) backend.Backend {
		return backend.Observed(b, rec.see)
	}})
	var life context.Context // the proxy's, as its first call of no request shows it
	proxyCalls := func(calls []recordedCall) {
		for _, call := range calls {
			if call.bare == nil {
				continue
			}
			if life == nil {
				life = call.bare
			}
			if call.bare != life {
				t.Errorf("%s: under a context of neither a request nor the proxy", call.method)
			}
		}
	}
	proxyCalls(rec.take())
	steps := []struct {
		want                    int
		method, path, body, hdr string
	}{
		{201, "PUT", "/v1/AUTH_test/c", "", ""},
		{204, "POST", "/v1/AUTH_test/c", "", "X-Container-Meta-Color: blue"},
		{201, "PUT", "/v1/AUTH_test/c/o", "hello", "X-Delete-After: 3600"},
		{200, "GET", "/v1/AUTH_test/c/o", "", ""},
		{200, "HEAD", "/v1/AUTH_test/c/o", "", ""},
		{202, "POST", "/v1/AUTH_test/c/o", "", "X-Object-Meta-A: b"},
		{200, "GET", "/v1/AUTH_test/c", "", ""},
		{204, "POST", "/v1/AUTH_test", "", "X-Account-Meta-A: b"},
		{200, "GET", "/v1/AUTH_test", "", ""},
		{204, "DELETE", "/v1/AUTH_test/c/o", "", ""},
		{204, "DELETE", "/v1/AUTH_test/c", "", ""},
	}
	for _, s := range steps {
		var hdrs []string
		if s.hdr != "" {
			hdrs = append(hdrs, s.hdr)
		}
		resp, _ := c.Must(s.want, s.method, s.path, s.body, hdrs...)
		tid := resp.Header.Get("X-Trans-Id")
		mine := 0
		calls := rec.take()
		for _, call := range calls {
			switch call.transID {
			case tid:
				mine++
			case "":
			default:
				t.Errorf("%s %s: %s under a context of neither the request nor the proxy (%q)", s.method, s.path, call.method, call.transID)
			}
		}
		proxyCalls(calls)
		if mine == 0 {
			t.Errorf("%s %s: no backend call under the request's context", s.method, s.path)
		}
	}
	if life == nil {
		t.Fatal("no backend call under the proxy's context (expiry queueing)")
	}
	if life.Err() != nil {
		t.Error("the proxy's context ended before Close")
	}
	c.Proxy.Close()
	proxyCalls(rec.take()) // the account updates Close flushes
	if life.Err() == nil {
		t.Error("Close left the proxy's context running")
	}
}
