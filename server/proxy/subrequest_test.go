package proxy_test

import (
	"crypto/md5"
	"fmt"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"

	"swiftbox/server/proxy"
	"swiftbox/server/servertest"
)

// A front middleware that answers /echo by copying an object through two
// subrequests proves subrequests stream bodies both ways and carry the
// caller's identity.
func TestSubrequest(t *testing.T) {
	t.Parallel()
	echo := func(next proxy.Handler) proxy.Handler {
		return func(ctx *fasthttp.RequestCtx) error {
			if string(ctx.Path()) != "/echo" {
				return next(ctx)
			}
			get := proxy.Subrequest(ctx, next, "GET", "/v1/AUTH_test/c/src", func(req *fasthttp.Request) {
				req.Header.Set("X-Auth-Token", string(ctx.Request.Header.Peek("X-Auth-Token")))
			})
			defer get.CloseBodyStream()
			if get.StatusCode() != 200 {
				ctx.SetStatusCode(get.StatusCode())
				return nil
			}
			put := proxy.Subrequest(ctx, next, "PUT", "/v1/AUTH_test/c/dst", func(req *fasthttp.Request) {
				req.Header.Set("X-Auth-Token", string(ctx.Request.Header.Peek("X-Auth-Token")))
				req.SetBodyStream(proxy.ResponseBody(get), get.Header.ContentLength())
			})
			ctx.SetStatusCode(put.StatusCode())
			ctx.SetBodyString(string(put.Header.Peek("Etag")))
			return nil
		}
	}
	c := servertest.Start(t, servertest.Options{Front: []proxy.Middleware{echo}})
	c.Must(201, "PUT", "/v1/AUTH_test/c", "")
	payload := strings.Repeat("swiftbox ", 300000) // streamed, not buffered
	c.Must(201, "PUT", "/v1/AUTH_test/c/src", payload)
	_, etag := c.Must(201, "GET", "/echo", "")
	if want := fmt.Sprintf("%x", md5.Sum([]byte(payload))); etag != want {
		t.Fatalf("etag %q", etag)
	}
	_, got := c.Must(200, "GET", "/v1/AUTH_test/c/dst", "")
	if got != payload {
		t.Fatalf("copied %d bytes, want %d", len(got), len(payload))
	}
	// Without a token the subrequests are anonymous: 401 from the GET.
	c.Must(401, "GET", "/echo", "", "X-Auth-Token:")
}

// An identity set by a front middleware authenticates the request and its
// subrequests without a token.
func TestSetIdentity(t *testing.T) {
	t.Parallel()
	var cl *servertest.Cluster
	front := func(next proxy.Handler) proxy.Handler {
		return func(ctx *fasthttp.RequestCtx) error {
			if u := string(ctx.Request.Header.Peek("X-Test-User")); u != "" {
				id, ok := cl.Auth.Validate(cl.Login(u, string(ctx.Request.Header.Peek("X-Test-Key"))))
				if !ok {
					t.Error("token did not validate")
				}
				proxy.SetIdentity(ctx, id)
			}
			return next(ctx)
		}
	}
	cl = servertest.Start(t, servertest.Options{Front: []proxy.Middleware{front}})
	cl.Must(201, "PUT", "/v1/AUTH_test/c", "")
	cl.Must(201, "PUT", "/v1/AUTH_test/c/o", "hello", "X-Auth-Token:", "X-Test-User: test:tester", "X-Test-Key: testing")
	_, body := cl.Must(200, "GET", "/v1/AUTH_test/c/o", "", "X-Auth-Token:", "X-Test-User: test:tester", "X-Test-Key: testing")
	if body != "hello" {
		t.Fatalf("body %q", body)
	}
	// tester2 has no rights on the container: 403, not 401.
	cl.Must(403, "GET", "/v1/AUTH_test/c/o", "", "X-Auth-Token:", "X-Test-User: test:tester2", "X-Test-Key: testing2")
}

// An access key's scope (SetKeyScope, set by the S3 layer for a key
// limited to some buckets, naming their containers) holds for every
// container the request and its subrequests reach: symlink, DLO and SLO
// targets elsewhere are refused, the containers named are not.
func TestKeyScope(t *testing.T) {
	t.Parallel()
	front := func(next proxy.Handler) proxy.Handler {
		return func(ctx *fasthttp.RequestCtx) error {
			if b := string(ctx.Request.Header.Peek("X-Test-Buckets")); b != "" {
				var containers []string
				for _, b := range strings.Split(b, ",") {
					containers = append(containers, b, b+"+segments", "\x00versions\x00"+b)
				}
				proxy.SetKeyScope(ctx, containers)
			}
			return next(ctx)
		}
	}
	c := servertest.Start(t, servertest.Options{Front: []proxy.Middleware{front}})
	for _, ct := range []string{"a", "a+segments", "b"} {
		c.Must(201, "PUT", "/v1/AUTH_test/"+ct, "")
	}
	c.Must(201, "PUT", "/v1/AUTH_test/b/secret", "secret")
	c.Must(201, "PUT", "/v1/AUTH_test/b/segs/1", "segment")
	c.Must(201, "PUT", "/v1/AUTH_test/a+segments/1", "own segment")
	c.Must(201, "PUT", "/v1/AUTH_test/a/own", "own")
	c.Must(201, "PUT", "/v1/AUTH_test/a/link", "", "Content-Type: application/symlink", "X-Symlink-Target: b/secret")
	c.Must(201, "PUT", "/v1/AUTH_test/a/dlo", "", "X-Object-Manifest: b/segs/")
	c.Must(201, "PUT", "/v1/AUTH_test/a/slo?multipart-manifest=put", `[{"path":"/b/secret"}]`)
	c.Must(201, "PUT", "/v1/AUTH_test/a/ownslo?multipart-manifest=put", `[{"path":"/a+segments/1"}]`)
	for _, p := range []string{"a/link", "a/dlo", "a/slo"} {
		c.Must(200, "GET", "/v1/AUTH_test/"+p, "") // without a key scope the owner follows them
	}
	scoped := "X-Test-Buckets: a"
	for _, tc := range []struct {
		method, path string
		want         int
	}{
		{"GET", "/v1/AUTH_test/a/own", 200},
		{"GET", "/v1/AUTH_test/a/ownslo", 200},
		{"GET", "/v1/AUTH_test", 200}, // account listings stay (the S3 layer filters them)
		{"GET", "/v1/AUTH_test/b/secret", 403},
		{"GET", "/v1/AUTH_test/b", 403},
		{"GET", "/v1/AUTH_test/a/link", 403},
		{"HEAD", "/v1/AUTH_test/a/link", 403},
		{"GET", "/v1/AUTH_test/a/dlo", 403},
		{"GET", "/v1/AUTH_test/a/slo", 409},
		{"PUT", "/v1/AUTH_test/a/copy", 403}, // X-Copy-From out of the bucket, below
	} {
		h := []string{scoped}
		if tc.method == "PUT" {
			h = append(h, "X-Copy-From: b/secret")
		}
		if resp, _ := c.Do(tc.method, tc.path, "", h...); resp.StatusCode != tc.want {
			t.Errorf("%s %s with a key scope: %d, want %d", tc.method, tc.path, resp.StatusCode, tc.want)
		}
	}
	// Object versioning's bookkeeping runs pre-authed: it keeps to the
	// key's bucket (its versions container is the bucket's own).
	c.Must(204, "POST", "/v1/AUTH_test/a", "", "X-Versions-Enabled: true")
	c.Must(201, "PUT", "/v1/AUTH_test/a/own", "v2", scoped)
	c.Must(201, "PUT", "/v1/AUTH_test/a/own", "v3", scoped)
	// Legacy versioning into another container is outside the key's buckets.
	c.Must(201, "PUT", "/v1/AUTH_test/arch", "")
	c.Must(201, "PUT", "/v1/AUTH_test/b2", "", "X-Versions-Location: arch")
	c.Must(201, "PUT", "/v1/AUTH_test/b2/o", "v1")
	c.Must(201, "PUT", "/v1/AUTH_test/b2/o", "v2", "X-Test-Buckets: b2,arch")
	if resp, _ := c.Do("PUT", "/v1/AUTH_test/b2/o", "v3", "X-Test-Buckets: b2"); resp.StatusCode/100 == 2 {
		t.Errorf("legacy versioning wrote outside the key's buckets: %d", resp.StatusCode)
	}
}
