package proxy

import (
	"crypto/md5"
	"fmt"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"
)

// A front middleware that answers /echo by copying an object through two
// subrequests proves subrequests stream bodies both ways and carry the
// caller's identity.
func TestSubrequest(t *testing.T) {
	echo := func(next fasthttp.RequestHandler) fasthttp.RequestHandler {
		return func(ctx *fasthttp.RequestCtx) {
			if string(ctx.Path()) != "/echo" {
				next(ctx)
				return
			}
			get := Subrequest(ctx, Lift(next), "GET", "/v1/AUTH_test/c/src", func(req *fasthttp.Request) {
				req.Header.Set("X-Auth-Token", string(ctx.Request.Header.Peek("X-Auth-Token")))
			})
			defer get.CloseBodyStream()
			if get.StatusCode() != 200 {
				ctx.SetStatusCode(get.StatusCode())
				return
			}
			put := Subrequest(ctx, Lift(next), "PUT", "/v1/AUTH_test/c/dst", func(req *fasthttp.Request) {
				req.Header.Set("X-Auth-Token", string(ctx.Request.Header.Peek("X-Auth-Token")))
				req.SetBodyStream(ResponseBody(get), get.Header.ContentLength())
			})
			ctx.SetStatusCode(put.StatusCode())
			ctx.SetBodyString(string(put.Header.Peek("Etag")))
		}
	}
	c := startTestCluster(t, Legacy(echo))
	c.must(201, "PUT", "/v1/AUTH_test/c", "")
	payload := strings.Repeat("swiftbox ", 300000) // streamed, not buffered
	c.must(201, "PUT", "/v1/AUTH_test/c/src", payload)
	_, etag := c.must(201, "GET", "/echo", "")
	if want := fmt.Sprintf("%x", md5.Sum([]byte(payload))); etag != want {
		t.Fatalf("etag %q", etag)
	}
	_, got := c.must(200, "GET", "/v1/AUTH_test/c/dst", "")
	if got != payload {
		t.Fatalf("copied %d bytes, want %d", len(got), len(payload))
	}
	// Without a token the subrequests are anonymous: 401 from the GET.
	c.must(401, "GET", "/echo", "", "X-Auth-Token:")
}

// An identity set by a front middleware authenticates the request and its
// subrequests without a token.
func TestSetIdentity(t *testing.T) {
	var cl *testCluster
	front := func(next fasthttp.RequestHandler) fasthttp.RequestHandler {
		return func(ctx *fasthttp.RequestCtx) {
			if u := string(ctx.Request.Header.Peek("X-Test-User")); u != "" {
				id, ok := cl.Proxy.auth.Validate(cl.login(u, string(ctx.Request.Header.Peek("X-Test-Key"))))
				if !ok {
					t.Error("token did not validate")
				}
				SetIdentity(ctx, id)
			}
			next(ctx)
		}
	}
	cl = startTestCluster(t, Legacy(front))
	cl.must(201, "PUT", "/v1/AUTH_test/c", "")
	cl.must(201, "PUT", "/v1/AUTH_test/c/o", "hello", "X-Auth-Token:", "X-Test-User: test:tester", "X-Test-Key: testing")
	_, body := cl.must(200, "GET", "/v1/AUTH_test/c/o", "", "X-Auth-Token:", "X-Test-User: test:tester", "X-Test-Key: testing")
	if body != "hello" {
		t.Fatalf("body %q", body)
	}
	// tester2 has no rights on the container: 403, not 401.
	cl.must(403, "GET", "/v1/AUTH_test/c/o", "", "X-Auth-Token:", "X-Test-User: test:tester2", "X-Test-Key: testing2")
}
