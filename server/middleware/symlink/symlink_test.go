package symlink_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"

	"swiftbox/server/proxy"
	"swiftbox/server/servertest"
)

const md5OfEmpty = "d41d8cd98f00b204e9800998ecf8427e"

func TestSymlink(t *testing.T) {
	t.Parallel()
	c := servertest.Start(t, servertest.Options{})
	c.Must(201, "PUT", "/v1/AUTH_test/c", "")
	c.Must(201, "PUT", "/v1/AUTH_test/c/target", "hello", "Content-Type: text/x-hello", "X-Object-Meta-Color: red")

	resp, _ := c.Must(201, "PUT", "/v1/AUTH_test/c/link", "", "X-Symlink-Target: c/target")
	if et := resp.Header.Get("Etag"); et != md5OfEmpty {
		t.Errorf("link etag %q", et)
	}
	resp, body := c.Must(200, "GET", "/v1/AUTH_test/c/link", "")
	if body != "hello" || resp.Header.Get("Content-Location") != "/v1/AUTH_test/c/target" ||
		resp.Header.Get("X-Object-Meta-Color") != "red" || resp.Header.Get("Content-Type") != "text/x-hello" {
		t.Errorf("GET link: %q %v", body, resp.Header)
	}
	resp, body = c.Must(206, "GET", "/v1/AUTH_test/c/link", "", "Range: bytes=1-2")
	if body != "el" {
		t.Errorf("range via link: %q", body)
	}
	resp, body = c.Must(200, "GET", "/v1/AUTH_test/c/link?symlink=get", "")
	if body != "" || resp.Header.Get("X-Symlink-Target") != "c/target" || resp.Header.Get("Content-Type") != "application/symlink" {
		t.Errorf("symlink=get: %q %v", body, resp.Header)
	}
	for k := range resp.Header {
		if strings.Contains(strings.ToLower(k), "sysmeta") {
			t.Errorf("sysmeta leaked: %s", k)
		}
	}

	// Errors on PUT.
	_, body = c.Must(400, "PUT", "/v1/AUTH_test/c/link2", "x", "X-Symlink-Target: c/target")
	if body != "Symlink requests require a zero byte body" {
		t.Errorf("body: %q", body)
	}
	c.Must(412, "PUT", "/v1/AUTH_test/c/link2", "", "X-Symlink-Target: notarget")
	c.Must(412, "PUT", "/v1/AUTH_test/c/link2", "", "X-Symlink-Target: /c/o")
	c.Must(412, "PUT", "/v1/AUTH_test/c/link2", "", "X-Symlink-Target: c/o", "X-Symlink-Target-Account: a/b")
	_, body = c.Must(400, "PUT", "/v1/AUTH_test/c/self", "", "X-Symlink-Target: c/self")
	if body != "Symlink cannot target itself" {
		t.Errorf("self: %q", body)
	}

	// Dangling link: 404 with the target named.
	c.Must(201, "PUT", "/v1/AUTH_test/c/dangling", "", "X-Symlink-Target: c/nothing")
	resp, _ = c.Must(404, "GET", "/v1/AUTH_test/c/dangling", "")
	if resp.Header.Get("Content-Location") != "/v1/AUTH_test/c/nothing" {
		t.Errorf("dangling: %v", resp.Header)
	}

	// symloop_max 2: l1 -> link -> target is fine, l2 -> l1 is too deep.
	c.Must(201, "PUT", "/v1/AUTH_test/c/l1", "", "X-Symlink-Target: c/link")
	c.Must(200, "GET", "/v1/AUTH_test/c/l1", "")
	c.Must(201, "PUT", "/v1/AUTH_test/c/l2", "", "X-Symlink-Target: c/l1")
	c.Must(409, "HEAD", "/v1/AUTH_test/c/l2", "")
	_, body = c.Must(409, "GET", "/v1/AUTH_test/c/l2", "")
	if body != "Too many levels of symbolic links, maximum allowed is 2" {
		t.Errorf("loop: %q", body)
	}

	// POST to a link: 307 to the target.
	req, _ := http.NewRequest("POST", c.URL+"/v1/AUTH_test/c/link", nil)
	req.Header.Set("X-Auth-Token", c.Token)
	req.Header.Set("X-Object-Meta-A", "b")
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noFollow.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 307 || resp.Header.Get("Location") != "/v1/AUTH_test/c/target" {
		t.Errorf("POST to link: %d %v", resp.StatusCode, resp.Header)
	}
	c.Must(400, "POST", "/v1/AUTH_test/c/target", "", "X-Symlink-Target: c/o")
}

// Static links pin their target's etag and size; listings show links'
// targets.
func TestSymlinkStaticAndListing(t *testing.T) {
	t.Parallel()
	c := servertest.Start(t, servertest.Options{})
	c.Must(201, "PUT", "/v1/AUTH_test/c", "")
	c.Must(201, "PUT", "/v1/AUTH_test/c/target", "hello", "Content-Type: text/x-hello")
	c.Must(201, "PUT", "/v1/AUTH_test/c/link", "", "X-Symlink-Target: c/target")

	// Static links.
	c.Must(409, "PUT", "/v1/AUTH_test/c/static", "", "X-Symlink-Target: c/target", "X-Symlink-Target-Etag: 0123")
	_, body := c.Must(409, "PUT", "/v1/AUTH_test/c/static", "", "X-Symlink-Target: c/nothing", "X-Symlink-Target-Etag: 0123")
	if body != "X-Symlink-Target does not exist" {
		t.Errorf("static missing: %q", body)
	}
	c.Must(400, "PUT", "/v1/AUTH_test/c/static", "", "X-Symlink-Target: c/target", "X-Symlink-Target-Etag: a;b")
	c.Must(201, "PUT", "/v1/AUTH_test/c/static", "", "X-Symlink-Target: c/target", "X-Symlink-Target-Etag: 5d41402abc4b2a76b9719d911017c592")
	resp, _ := c.Must(200, "HEAD", "/v1/AUTH_test/c/static?symlink=get", "")
	if resp.Header.Get("X-Symlink-Target-Bytes") != "5" || resp.Header.Get("Content-Type") != "text/x-hello" {
		t.Errorf("static link: %v", resp.Header)
	}
	// The target changes: the static link refuses to serve it.
	c.Must(201, "PUT", "/v1/AUTH_test/c/target", "other")
	c.Must(409, "GET", "/v1/AUTH_test/c/static", "")

	// Listings show the link's target.
	_, body = c.Must(200, "GET", "/v1/AUTH_test/c?format=json", "")
	var list []map[string]any
	if err := json.Unmarshal([]byte(body), &list); err != nil {
		t.Fatal(err)
	}
	found := 0
	for _, o := range list {
		switch o["name"] {
		case "link":
			found++
			if o["symlink_path"] != "/v1/AUTH_test/c/target" || o["hash"] != md5OfEmpty {
				t.Errorf("link row: %v", o)
			}
		case "static":
			found++
			if o["symlink_etag"] != "5d41402abc4b2a76b9719d911017c592" || o["symlink_bytes"] != 5.0 {
				t.Errorf("static row: %v", o)
			}
		}
	}
	if found != 2 {
		t.Errorf("listing: %s", body)
	}

	// Cross-account links follow with the caller's rights.
	c.Must(201, "PUT", "/v1/AUTH_test/c/xacct", "", "X-Symlink-Target: c/o", "X-Symlink-Target-Account: AUTH_test2")
	c.Must(403, "GET", "/v1/AUTH_test/c/xacct", "")
	c.Must(200, "GET", "/v1/AUTH_test/c/xacct?symlink=get", "")
}

// An access key's scope (proxy.SetKeyScope, as the S3 layer sets it)
// holds for a link's target: one outside the key's buckets is refused.
func TestSymlinkKeyScope(t *testing.T) {
	t.Parallel()
	front := func(next proxy.Handler) proxy.Handler {
		return func(ctx *fasthttp.RequestCtx) error {
			if b := string(ctx.Request.Header.Peek("X-Test-Buckets")); b != "" {
				var containers []string // a bucket's: its own, segments and versions
				for _, b := range strings.Split(b, ",") {
					containers = append(containers, b, b+"+segments", "\x00versions\x00"+b)
				}
				proxy.SetKeyScope(ctx, containers)
			}
			return next(ctx)
		}
	}
	c := servertest.Start(t, servertest.Options{Front: []proxy.Middleware{front}})
	c.Must(201, "PUT", "/v1/AUTH_test/a", "")
	c.Must(201, "PUT", "/v1/AUTH_test/b", "")
	c.Must(201, "PUT", "/v1/AUTH_test/b/secret", "secret")
	c.Must(201, "PUT", "/v1/AUTH_test/a/link", "", "Content-Type: application/symlink", "X-Symlink-Target: b/secret")
	c.Must(200, "GET", "/v1/AUTH_test/a/link", "") // without a key scope the owner follows it
	for _, m := range []string{"GET", "HEAD"} {
		c.Must(403, m, "/v1/AUTH_test/a/link", "", "X-Test-Buckets: a")
	}
}
