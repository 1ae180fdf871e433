package proxy

import (
	"strings"
	"testing"
)

func TestCORS(t *testing.T) {
	c := startTestCluster(t)
	c.must(201, "PUT", "/v1/AUTH_test/pub", "", "X-Container-Meta-Access-Control-Allow-Origin: *",
		"X-Container-Meta-Access-Control-Max-Age: 600", "X-Container-Meta-Access-Control-Expose-Headers: X-Foo")
	c.must(201, "PUT", "/v1/AUTH_test/pub/cat", "meow", "X-Object-Meta-Color: grey")
	anon := "X-Auth-Token:"

	// Preflight: needs a method the resource allows.
	c.must(401, "OPTIONS", "/v1/AUTH_test/pub/cat", "", anon, "Origin: http://m.com")
	resp, _ := c.must(200, "OPTIONS", "/v1/AUTH_test/pub/cat", "", anon, "Origin: http://m.com",
		"Access-Control-Request-Method: GET", "Access-Control-Request-Headers: x-auth-token")
	for k, want := range map[string]string{"Access-Control-Allow-Origin": "*", "Access-Control-Max-Age": "600",
		"Access-Control-Allow-Methods": objectMethods, "Access-Control-Allow-Headers": "x-auth-token",
		"Vary": "Access-Control-Request-Headers", "Allow": objectMethods} {
		// (copy, when in the pipeline, adds ", COPY" to the object's methods)
		if got := resp.Header.Get(k); got != want && !strings.HasPrefix(got, want+", ") {
			t.Errorf("preflight %s = %q, want %q", k, got, want)
		}
	}
	// Plain OPTIONS, no Origin.
	resp, _ = c.must(200, "OPTIONS", "/v1/AUTH_test", "", anon)
	if resp.Header.Get("Allow") != accountMethods || resp.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("options: %v", resp.Header)
	}
	// Actual request.
	resp, _ = c.must(200, "GET", "/v1/AUTH_test/pub/cat", "", "Origin: http://m.com")
	if resp.Header.Get("Access-Control-Allow-Origin") != "*" ||
		resp.Header.Get("Access-Control-Expose-Headers") != "cache-control, content-language, content-type, etag, expires, last-modified, pragma, x-foo, x-object-meta-color, x-openstack-request-id, x-timestamp, x-trans-id" {
		t.Errorf("actual: %v", resp.Header)
	}

	// A specific origin: others get no CORS headers (strict mode).
	c.must(202, "PUT", "/v1/AUTH_test/pub", "", "X-Container-Meta-Access-Control-Allow-Origin: http://secret.com")
	c.must(401, "OPTIONS", "/v1/AUTH_test/pub/cat", "", anon, "Origin: http://m.com", "Access-Control-Request-Method: GET")
	resp, _ = c.must(200, "GET", "/v1/AUTH_test/pub/cat", "", "Origin: http://m.com")
	if resp.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("strict mode leaked: %v", resp.Header)
	}
	resp, _ = c.must(200, "GET", "/v1/AUTH_test/pub/cat", "", "Origin: http://secret.com")
	if resp.Header.Get("Access-Control-Allow-Origin") != "http://secret.com" || resp.Header.Get("Vary") != "Origin" {
		t.Errorf("allowed origin: %v", resp.Header)
	}
	// Errors carry CORS headers too (the browser must see the 404).
	resp, _ = c.must(404, "GET", "/v1/AUTH_test/pub/nothing", "", "Origin: http://secret.com")
	if resp.Header.Get("Access-Control-Allow-Origin") != "http://secret.com" {
		t.Errorf("404: %v", resp.Header)
	}
	// cors_allow_origin from the config applies to every container.
	c.Proxy.cfg.CORS.CORSAllowOrigin = []string{"http://ops.example"}
	c.must(200, "OPTIONS", "/v1/AUTH_test/pub/cat", "", anon, "Origin: http://ops.example", "Access-Control-Request-Method: PUT")
}
