package proxy

import (
	"context"
	"sync"
	"testing"

	"swiftbox/server/backend"
	"swiftbox/storage/db"
	"swiftbox/storage/timestamp"

	"github.com/valyala/fasthttp"
)

// ctxRecorder notes the context of every backend call it passes on.
type ctxRecorder struct {
	backend.Backend
	life  context.Context // the proxy's
	mu    sync.Mutex
	calls []recordedCall
}

// recordedCall is what a call's context was when it was made (fasthttp
// reuses a RequestCtx once its request is answered).
type recordedCall struct {
	method  string
	transID string
	proxy   bool // the proxy's own context
}

func (r *ctxRecorder) see(ctx context.Context, method string) {
	tid, _ := ctx.Value(KeyTransID).(string)
	r.mu.Lock()
	r.calls = append(r.calls, recordedCall{method, tid, ctx == r.life})
	r.mu.Unlock()
}

func (r *ctxRecorder) take() []recordedCall {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.calls
	r.calls = nil
	return out
}

func (r *ctxRecorder) ObjectCreate(ctx context.Context, ref backend.ObjectRef, ts timestamp.Timestamp, size int64, ct *backend.ContainerTarget) (backend.ObjectWriter, error) {
	r.see(ctx, "ObjectCreate")
	return r.Backend.ObjectCreate(ctx, ref, ts, size, ct)
}

func (r *ctxRecorder) ObjectOpen(ctx context.Context, ref backend.ObjectRef) (backend.ObjectReader, error) {
	r.see(ctx, "ObjectOpen")
	return r.Backend.ObjectOpen(ctx, ref)
}

func (r *ctxRecorder) ObjectPost(ctx context.Context, ref backend.ObjectRef, ts timestamp.Timestamp, meta map[string]string, ct *backend.ContainerTarget) error {
	r.see(ctx, "ObjectPost")
	return r.Backend.ObjectPost(ctx, ref, ts, meta, ct)
}

func (r *ctxRecorder) ObjectDelete(ctx context.Context, ref backend.ObjectRef, ts timestamp.Timestamp, meta map[string]string, ct *backend.ContainerTarget) error {
	r.see(ctx, "ObjectDelete")
	return r.Backend.ObjectDelete(ctx, ref, ts, meta, ct)
}

func (r *ctxRecorder) ContainerCreate(ctx context.Context, ref backend.ContainerRef, ts timestamp.Timestamp, policy int, meta db.Metadata) (bool, error) {
	r.see(ctx, "ContainerCreate")
	return r.Backend.ContainerCreate(ctx, ref, ts, policy, meta)
}

func (r *ctxRecorder) ContainerInfo(ctx context.Context, ref backend.ContainerRef, fresh bool) (db.ContainerInfo, error) {
	r.see(ctx, "ContainerInfo")
	return r.Backend.ContainerInfo(ctx, ref, fresh)
}

func (r *ctxRecorder) ContainerList(ctx context.Context, ref backend.ContainerRef, opts db.ListOptions) ([]db.ObjectEntry, error) {
	r.see(ctx, "ContainerList")
	return r.Backend.ContainerList(ctx, ref, opts)
}

func (r *ctxRecorder) ContainerPost(ctx context.Context, ref backend.ContainerRef, meta db.Metadata) error {
	r.see(ctx, "ContainerPost")
	return r.Backend.ContainerPost(ctx, ref, meta)
}

func (r *ctxRecorder) ContainerDelete(ctx context.Context, ref backend.ContainerRef, ts timestamp.Timestamp) error {
	r.see(ctx, "ContainerDelete")
	return r.Backend.ContainerDelete(ctx, ref, ts)
}

func (r *ctxRecorder) AccountInfo(ctx context.Context, ref backend.AccountRef) (db.AccountInfo, error) {
	r.see(ctx, "AccountInfo")
	return r.Backend.AccountInfo(ctx, ref)
}

func (r *ctxRecorder) AccountList(ctx context.Context, ref backend.AccountRef, opts db.ListOptions) ([]db.ContainerEntry, error) {
	r.see(ctx, "AccountList")
	return r.Backend.AccountList(ctx, ref, opts)
}

func (r *ctxRecorder) AccountPost(ctx context.Context, ref backend.AccountRef, meta db.Metadata) error {
	r.see(ctx, "AccountPost")
	return r.Backend.AccountPost(ctx, ref, meta)
}

func (r *ctxRecorder) AccountUpdate(ctx context.Context, ref backend.AccountRef, row db.ContainerRow) error {
	r.see(ctx, "AccountUpdate")
	return r.Backend.AccountUpdate(ctx, ref, row)
}

// TestBackendCallsCarryRequestContext: every backend call a request makes
// runs under that request's context (fasthttp's RequestCtx, cancelled when
// the server shuts down), and work outliving it (account updates, expiry
// queueing) under the proxy's, which Close cancels — never under a
// context nothing cancels.
func TestBackendCallsCarryRequestContext(t *testing.T) {
	t.Parallel()
	c := startTestCluster(t)
	rec := &ctxRecorder{Backend: c.Proxy.be, life: c.Proxy.life}
	c.Proxy.be = rec
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
		resp, _ := c.must(s.want, s.method, s.path, s.body, hdrs...)
		tid := resp.Header.Get("X-Trans-Id")
		mine := 0
		for _, call := range rec.take() {
			switch {
			case call.transID == tid:
				mine++
			case call.proxy:
			default:
				t.Errorf("%s %s: %s under a context of neither the request nor the proxy (%q)", s.method, s.path, call.method, call.transID)
			}
		}
		if mine == 0 {
			t.Errorf("%s %s: no backend call under the request's context", s.method, s.path)
		}
	}
	c.Proxy.Close()
	if c.Proxy.life.Err() == nil {
		t.Error("Close left the proxy's context running")
	}
}

// TestDetachedWorkEndsWithProxy: a subrequest's or detached request's
// work (whose RequestCtx no shutdown cancels) runs under a context that
// keeps the request's values and ends when the proxy closes.
func TestDetachedWorkEndsWithProxy(t *testing.T) {
	t.Parallel()
	c := startTestCluster(t)
	top := new(fasthttp.RequestCtx)
	top.Init(&fasthttp.Request{}, nil, nil)
	top.SetUserValue(KeyTransID, "txtop")
	if got := c.Proxy.reqContext(top); got != context.Context(top) {
		t.Fatalf("a client's request runs under %T, not its own context", got)
	}
	sub := new(fasthttp.RequestCtx)
	sub.Init(&fasthttp.Request{}, nil, nil)
	sub.SetUserValue(KeyTransID, "txsub")
	sub.SetUserValue(keyInternal, true)
	var ctxs []context.Context
	for _, rc := range []*fasthttp.RequestCtx{sub, Detach(top), nil} {
		ctx := c.Proxy.reqContext(rc)
		if ctx.Err() != nil {
			t.Fatal("ended before the proxy closed")
		}
		ctxs = append(ctxs, ctx)
	}
	if ctxs[0].Value(KeyTransID) != "txsub" || ctxs[1].Value(KeyTransID) != "txtop" {
		t.Errorf("values lost: %v %v", ctxs[0].Value(KeyTransID), ctxs[1].Value(KeyTransID))
	}
	c.Proxy.Close()
	for i, ctx := range ctxs {
		if ctx.Err() == nil {
			t.Errorf("context %d still running after Close", i)
		}
	}
}
