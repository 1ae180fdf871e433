package cli

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"swiftbox/server/listener"
)

// When one listener stops serving, run ends every listener and returns an
// error naming it, so serve exits instead of living on half deaf.
func TestListenerSetEndsWhenOneStops(t *testing.T) {
	t.Parallel()
	ls := &listenerSet{lim: listener.Limits{HeaderTimeout: time.Second, ClientTimeout: time.Second, KeepaliveTimeout: time.Second, MaxClients: 10}}
	ok := func(ctx *fasthttp.RequestCtx) { ctx.SetBodyString("ok") }
	a, err := ls.listen("API", "127.0.0.1:0", false)
	if err != nil {
		t.Fatal(err)
	}
	b, err := ls.listen("metrics", "127.0.0.1:0", false)
	if err != nil {
		t.Fatal(err)
	}
	ls.serve(a, &fasthttp.Server{Handler: ok})
	ls.serve(b, &fasthttp.Server{Handler: ok})
	done := make(chan error, 1)
	go func() { done <- ls.run(context.Background()) }()
	for _, l := range []*listener.Listener{a, b} {
		if code, _, err := fasthttp.Get(nil, "http://"+l.Addr().String()+"/"); err != nil || code != 200 {
			t.Fatalf("%s: %d %v", l.Name, code, err)
		}
	}
	b.Close() // as if accept failed for good
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "metrics listener on "+b.Addr().String()+" stopped serving") {
			t.Fatalf("run: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("run went on after a listener stopped")
	}
	if c, err := net.DialTimeout("tcp", a.Addr().String(), time.Second); err == nil {
		c.Close()
		t.Fatal("the API listener still accepts after the metrics one stopped")
	}
}
