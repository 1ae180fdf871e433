package proxy_test

import (
	"testing"

	"github.com/valyala/fasthttp"

	"swiftbox/server/proxy"
	"swiftbox/server/servertest"
)

// A confined request and its subrequests reach only the container it was
// confined to (401 elsewhere); pre-authorized bookkeeping is not held to
// it, and the confinement holds again after it.
func TestConfine(t *testing.T) {
	t.Parallel()
	confine := func(next proxy.Handler) proxy.Handler {
		return func(ctx *fasthttp.RequestCtx) error {
			if ctx.Request.Header.Peek("X-Test-Confine") == nil {
				return next(ctx)
			}
			proxy.Confine(ctx, "AUTH_test", "a")
			proxy.SetAuthorized(ctx, proxy.AuthorizedRequest)
			var codes []byte
			for _, sub := range []func() *fasthttp.Response{
				func() *fasthttp.Response { return proxy.Subrequest(ctx, next, "GET", "/v1/AUTH_test/a/o", nil) },
				func() *fasthttp.Response { return proxy.Subrequest(ctx, next, "GET", "/v1/AUTH_test/b/o", nil) },
				func() *fasthttp.Response { return proxy.PreAuthed(ctx, next, "GET", "/v1/AUTH_test/b/o", nil) },
				func() *fasthttp.Response { return proxy.Subrequest(ctx, next, "GET", "/v1/AUTH_test/b/o", nil) },
			} {
				resp := sub()
				codes = append(codes, byte('0'+resp.StatusCode()/100))
				resp.CloseBodyStream()
			}
			ctx.SetBodyString(string(codes))
			return nil
		}
	}
	c := servertest.Start(t, servertest.Options{Front: []proxy.Middleware{confine}})
	for _, name := range []string{"a", "b"} {
		c.Must(201, "PUT", "/v1/AUTH_test/"+name, "")
		c.Must(201, "PUT", "/v1/AUTH_test/"+name+"/o", "x")
	}
	if _, got := c.Must(200, "GET", "/v1/AUTH_test/a/o", "", "X-Auth-Token:", "X-Test-Confine: 1"); got != "2424" {
		t.Errorf("statuses (by hundreds) %s, want 2424", got)
	}
}
