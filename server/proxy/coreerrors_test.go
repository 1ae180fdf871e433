package proxy_test

import (
	"strings"
	"testing"

	"github.com/valyala/fasthttp"

	"swiftbox/server/proxy"
	"swiftbox/server/servertest"
)

// TestCoreErrorResponses pins the bytes of the core's error answers:
// status, body, content type and the headers an error carries (the core's
// handlers return errors and the pipeline writes them).
func TestCoreErrorResponses(t *testing.T) {
	t.Parallel()
	c := servertest.Start(t, servertest.Options{})
	c.Must(201, "PUT", "/v1/AUTH_test/c", "")
	const (
		html  = "text/html; charset=UTF-8"
		b401  = "<html><h1>Unauthorized</h1><p>This server could not verify that you are authorized to access the document you requested.</p></html>"
		b403  = "<html><h1>Forbidden</h1><p>Access was denied to this resource.</p></html>"
		b404  = "<html><h1>Not Found</h1><p>The resource could not be found.</p></html>"
		b405  = "<html><h1>Method Not Allowed</h1><p>The method is not allowed for this resource.</p></html>"
		b412  = "<html><h1>Precondition Failed</h1><p>A precondition for this request was not met.</p></html>"
		b422  = "<html><h1>Unprocessable Entity</h1><p>Unable to process the contained instructions</p></html>"
		bad   = "not-an-acl"
		other = "X-Auth-Token: "
	)
	cases := []struct {
		name, method, path, body string
		headers                  []string
		status                   int
		ctype, want              string
		header                   [2]string // a header the error carries
	}{
		{"bad token", "GET", "/v1/AUTH_test", "", []string{"X-Auth-Token: AUTH_tkbogus"}, 401, html, b401, [2]string{"Www-Authenticate", `Swift realm="AUTH_test"`}},
		{"anonymous", "GET", "/v1/AUTH_test/c", "", []string{other}, 401, html, b401, [2]string{"Www-Authenticate", `Swift realm="AUTH_test"`}},
		{"foreign account", "GET", "/v1/OTHER_x", "", nil, 403, html, b403, [2]string{}},
		{"object PATCH", "PATCH", "/v1/AUTH_test/c/o", "", nil, 405, html, b405, [2]string{"Allow", "HEAD, GET, PUT, POST, DELETE, OPTIONS"}},
		{"container PATCH", "PATCH", "/v1/AUTH_test/c", "", nil, 405, html, b405, [2]string{"Allow", "HEAD, GET, PUT, POST, DELETE, OPTIONS"}},
		{"bad version", "GET", "/v2/AUTH_test", "", nil, 404, html, b404, [2]string{}},
		{"no account", "GET", "/v1/", "", nil, 412, html, "Bad URL", [2]string{}},
		{"missing object", "GET", "/v1/AUTH_test/c/nope", "", nil, 404, html, b404, [2]string{}},
		{"bad acl", "POST", "/v1/AUTH_test", "", []string{"X-Account-Access-Control: " + bad}, 400, "text/plain; charset=UTF-8",
			"X-Account-Access-Control invalid: Syntax error in input (invalid character 'o' in literal null (expecting 'u'))\n\nInput: " + bad + "\n", [2]string{}},
		{"etag mismatch", "PUT", "/v1/AUTH_test/c/o", "data", []string{"Etag: 0123"}, 422, html, b422, [2]string{}},
		{"delete-at mismatch", "DELETE", "/v1/AUTH_test/c/o2", "", []string{"X-If-Delete-At: x"}, 400, html, "Bad X-If-Delete-At header value", [2]string{}},
		{"if-none-match", "PUT", "/v1/AUTH_test/c/exists", "x", []string{"If-None-Match: *"}, 412, html, b412, [2]string{}},
		{"info POST", "POST", "/info", "", nil, 405, html, b405, [2]string{"Allow", "HEAD, GET, OPTIONS"}},
		{"auth POST", "POST", "/auth/v1.0", "", nil, 400, html, "<html><h1>Bad Request</h1><p>The server could not comply with the request since it is either malformed or otherwise incorrect.</p></html>", [2]string{}},
		{"auth no user", "GET", "/auth/v1.0", "", nil, 401, html, b401, [2]string{"Www-Authenticate", `Swift realm="unknown"`}},
		{"long name", "PUT", "/v1/AUTH_test/c/" + strings.Repeat("n", 1025), "", nil, 400, "text/plain", "Object name length of 1025 longer than 1024", [2]string{}},
	}
	c.Must(201, "PUT", "/v1/AUTH_test/c/exists", "x")
	for _, tc := range cases {
		resp, body := c.Do(tc.method, tc.path, tc.body, tc.headers...)
		if resp.StatusCode != tc.status || body != tc.want || resp.Header.Get("Content-Type") != tc.ctype {
			t.Errorf("%s: %d %q (%s), want %d %q (%s)", tc.name, resp.StatusCode, body, resp.Header.Get("Content-Type"), tc.status, tc.want, tc.ctype)
		}
		if resp.Header.Get("Content-Length") != "" && resp.ContentLength != int64(len(body)) {
			t.Errorf("%s: content length %d for %d bytes", tc.name, resp.ContentLength, len(body))
		}
		if tc.header[0] != "" && resp.Header.Get(tc.header[0]) != tc.header[1] {
			t.Errorf("%s: %s %q, want %q", tc.name, tc.header[0], resp.Header.Get(tc.header[0]), tc.header[1])
		}
		if tc.header[0] != "Www-Authenticate" && resp.Header.Get("Www-Authenticate") != "" {
			t.Errorf("%s: unexpected Www-Authenticate", tc.name)
		}
		if resp.Header.Get("X-Trans-Id") == "" {
			t.Errorf("%s: no X-Trans-Id", tc.name)
		}
	}
	// A failed condition or range is answered from the replica.
	c.Must(201, "PUT", "/v1/AUTH_test/c/img", "x", "Content-Type: image/png", "X-Object-Meta-Color: red")
	resp, body := c.Do("GET", "/v1/AUTH_test/c/img", "", "If-Match: \"nope\"")
	if resp.StatusCode != 412 || body != b412 || resp.Header.Get("Content-Type") != html || resp.Header.Get("X-Object-Meta-Color") != "red" {
		t.Errorf("If-Match: %d %q (%s) meta %q", resp.StatusCode, body, resp.Header.Get("Content-Type"), resp.Header.Get("X-Object-Meta-Color"))
	}
	resp, body = c.Do("GET", "/v1/AUTH_test/c/img", "", "Range: bytes=5-9")
	if resp.StatusCode != 416 || body != "<html><h1>Requested Range Not Satisfiable</h1><p>The Range requested is not available.</p></html>" ||
		resp.Header.Get("Content-Type") != "image/png" || resp.Header.Get("Content-Range") != "bytes */1" {
		t.Errorf("Range: %d %q (%s) %q", resp.StatusCode, body, resp.Header.Get("Content-Type"), resp.Header.Get("Content-Range"))
	}
	// HEAD errors: no body, the default body's length.
	resp, body = c.Do("HEAD", "/v1/AUTH_test/c/nope", "")
	if resp.StatusCode != 404 || body != "" || resp.ContentLength != int64(len(b404)) {
		t.Errorf("HEAD 404: %d %q length %d", resp.StatusCode, body, resp.ContentLength)
	}
	resp, _ = c.Do("HEAD", "/v1/AUTH_test/c", "", other)
	if resp.StatusCode != 401 || resp.Header.Get("Www-Authenticate") != `Swift realm="AUTH_test"` || resp.ContentLength != int64(len(b401)) {
		t.Errorf("HEAD 401: %d %q length %d", resp.StatusCode, resp.Header.Get("Www-Authenticate"), resp.ContentLength)
	}
}

// TestCatchErrorsPanic: a panic inside the pipeline is Swift's 500 with
// the transaction id, and the connection stays usable.
func TestCatchErrorsPanic(t *testing.T) {
	t.Parallel()
	boom := func(next proxy.Handler) proxy.Handler {
		return func(ctx *fasthttp.RequestCtx) error {
			if string(ctx.Path()) == "/v1/AUTH_test/boom" {
				ctx.Response.Header.Set("X-Half", "written")
				panic("boom")
			}
			return next(ctx)
		}
	}
	c := servertest.Start(t, servertest.Options{Front: []proxy.Middleware{boom}})
	resp, body := c.Do("GET", "/v1/AUTH_test/boom", "")
	want := "<html><h1>Internal Error</h1><p>The server has either erred or is incapable of performing the requested operation.</p></html>"
	if resp.StatusCode != 500 || body != want || resp.Header.Get("Content-Type") != "text/html; charset=UTF-8" ||
		resp.Header.Get("X-Trans-Id") == "" || resp.Header.Get("X-Half") != "" {
		t.Errorf("%d %q %v", resp.StatusCode, body, resp.Header)
	}
	c.Must(204, "HEAD", "/v1/AUTH_test", "")
}
