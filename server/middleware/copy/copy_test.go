package copy_test

import (
	"net/http"
	"testing"

	"swiftbox/server/servertest"
)

func TestCopy(t *testing.T) {
	t.Parallel()
	c := servertest.Start(t, servertest.Options{})
	c.Must(201, "PUT", "/v1/AUTH_test/c", "")
	c.Must(201, "PUT", "/v1/AUTH_test/c2", "")
	c.Must(201, "PUT", "/v1/AUTH_test/c/src", "hello world", "X-Object-Meta-Color: red",
		"Content-Type: text/x-src", "Content-Disposition: inline")

	// PUT with X-Copy-From keeps metadata and adds the request's.
	resp, _ := c.Must(201, "PUT", "/v1/AUTH_test/c2/dst", "", "X-Copy-From: c/src", "X-Object-Meta-Size: big")
	if resp.Header.Get("X-Copied-From") != "c/src" || resp.Header.Get("X-Copied-From-Account") != "AUTH_test" ||
		resp.Header.Get("X-Copied-From-Last-Modified") == "" || resp.Header.Get("X-Object-Meta-Color") != "red" {
		t.Fatalf("copy response headers: %v", resp.Header)
	}
	resp, body := c.Must(200, "GET", "/v1/AUTH_test/c2/dst", "")
	if body != "hello world" || resp.Header.Get("X-Object-Meta-Color") != "red" || resp.Header.Get("X-Object-Meta-Size") != "big" ||
		resp.Header.Get("Content-Type") != "text/x-src" || resp.Header.Get("Content-Disposition") != "inline" {
		t.Fatalf("copied object: %q %v", body, resp.Header)
	}

	// COPY with Destination; fresh metadata drops the user metadata.
	c.Must(201, "COPY", "/v1/AUTH_test/c/src", "", "Destination: /c2/fresh", "X-Fresh-Metadata: true", "X-Object-Meta-New: 1")
	resp, _ = c.Must(200, "HEAD", "/v1/AUTH_test/c2/fresh", "")
	if resp.Header.Get("X-Object-Meta-Color") != "" || resp.Header.Get("X-Object-Meta-New") != "1" {
		t.Fatalf("fresh metadata: %v", resp.Header)
	}

	// Errors as Swift reports them.
	resp, body = c.Must(412, "COPY", "/v1/AUTH_test/c/src", "")
	if body != "Destination header required" || resp.Header.Get("Content-Type") != "text/html; charset=UTF-8" {
		t.Fatalf("%q %q", resp.Header.Get("Content-Type"), body)
	}
	_, body = c.Must(412, "COPY", "/v1/AUTH_test/c/src", "", "Destination: nocontainer")
	if body != "Destination header must be of the form <container name>/<object name>" {
		t.Fatalf("body %q", body)
	}
	c.Must(412, "PUT", "/v1/AUTH_test/c/x", "", "X-Copy-From: c/")
	c.Must(404, "PUT", "/v1/AUTH_test/c/x", "", "X-Copy-From: c/missing")
	c.Must(404, "COPY", "/v1/AUTH_test/c/missing", "", "Destination: c/x")
	resp, body = c.Must(400, "PUT", "/v1/AUTH_test/c/x", "abc", "X-Copy-From: c/src")
	if body != "Copy requests require a zero byte body" || resp.Header.Get("Content-Type") != "text/plain" {
		t.Fatalf("%q %q", resp.Header.Get("Content-Type"), body)
	}
	c.Must(412, "COPY", "/v1/AUTH_test/c/src", "", "Destination: c/x", "Destination-Account: a/b")
	c.Must(412, "PUT", "/v1/AUTH_test/c/x", "", "X-Copy-From: c/src", "If-Match: nope")

	// Cross-account copy needs rights on both sides.
	c.Must(201, "PUT", "/v1/AUTH_test2/dest", "", "X-Auth-Token: "+c.Login("test2:tester3", "testing3"))
	c.Must(403, "COPY", "/v1/AUTH_test/c/src", "", "Destination: dest/o", "Destination-Account: AUTH_test2")
	tok3 := c.Login("test2:tester3", "testing3")
	c.Must(204, "POST", "/v1/AUTH_test/c", "", "X-Container-Read: test2:tester3")
	resp, _ = c.Must(201, "COPY", "/v1/AUTH_test/c/src", "", "X-Auth-Token: "+tok3, "Destination: dest/o", "Destination-Account: AUTH_test2")
	if resp.Header.Get("X-Copied-From-Account") != "AUTH_test" {
		t.Fatalf("headers %v", resp.Header)
	}
	_, body = c.Must(200, "GET", "/v1/AUTH_test2/dest/o", "", "X-Auth-Token: "+tok3)
	if body != "hello world" {
		t.Fatalf("body %q", body)
	}

	// OPTIONS lists COPY.
	resp, _ = c.Do("OPTIONS", "/v1/AUTH_test/c/src", "")
	if resp.StatusCode == http.StatusOK && resp.Header.Get("Allow") != "HEAD, GET, PUT, POST, DELETE, OPTIONS, COPY" {
		t.Fatalf("allow %q", resp.Header.Get("Allow"))
	}
	// Sysmeta never shows to clients.
	resp, _ = c.Must(200, "HEAD", "/v1/AUTH_test/c2/dst", "")
	for k := range resp.Header {
		if len(k) > 9 && k[:9] == "X-Backend" {
			t.Fatalf("leaked %s", k)
		}
	}
}
