package proxy

import (
	"testing"

	"github.com/valyala/fasthttp"
)

// A confined request and its subrequests reach only the container it was
// confined to (401 elsewhere); pre-authorized bookkeeping is not held to
// it, and the confinement holds again after it.
func TestConfine(t *testing.T) {
	t.Parallel()
	confine := func(next Handler) Handler {
		return func(ctx *fasthttp.RequestCtx) error {
			if ctx.Request.Header.Peek("X-Test-Confine") == nil {
				return next(ctx)
			}
			Confine(ctx, "AUTH_test", "a")
			SetAuthorized(ctx, AuthorizedRequest)
			var codes []byte
			for _, sub := range []func() *fasthttp.Response{
				func() *fasthttp.Response { return Subrequest(ctx, next, "GET", "/v1/AUTH_test/a/o", nil) },
				func() *fasthttp.Response { return Subrequest(ctx, next, "GET", "/v1/AUTH_test/b/o", nil) },
				func() *fasthttp.Response { return PreAuthed(ctx, next, "GET", "/v1/AUTH_test/b/o", nil) },
				func() *fasthttp.Response { return Subrequest(ctx, next, "GET", "/v1/AUTH_test/b/o", nil) },
			} {
				resp := sub()
				codes = append(codes, byte('0'+resp.StatusCode()/100))
				resp.CloseBodyStream()
			}
			ctx.SetBodyString(string(codes))
			return nil
		}
	}
	c := startTestCluster(t, confine)
	for _, name := range []string{"a", "b"} {
		c.must(201, "PUT", "/v1/AUTH_test/"+name, "")
		c.must(201, "PUT", "/v1/AUTH_test/"+name+"/o", "x")
	}
	if _, got := c.must(200, "GET", "/v1/AUTH_test/a/o", "", "X-Auth-Token:", "X-Test-Confine: 1"); got != "2424" {
		t.Errorf("statuses (by hundreds) %s, want 2424", got)
	}
}
