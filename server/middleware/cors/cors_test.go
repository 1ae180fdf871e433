package cors_test

import (
	"strings"
	"testing"

	"swiftbox/config"
	"swiftbox/server/servertest"
)

const (
	accountMethods = "HEAD, GET, POST, OPTIONS"
	objectMethods  = "HEAD, GET, PUT, POST, DELETE, OPTIONS"
)

func TestCORS(t *testing.T) {
	t.Parallel()
	var cfg *config.Config
	c := servertest.Start(t, servertest.Options{Configure: func(c *config.Config) { cfg = c }})
	c.Must(201, "PUT", "/v1/AUTH_test/pub", "", "X-Container-Meta-Access-Control-Allow-Origin: *",
		"X-Container-Meta-Access-Control-Max-Age: 600", "X-Container-Meta-Access-Control-Expose-Headers: X-Foo")
	c.Must(201, "PUT", "/v1/AUTH_test/pub/cat", "meow", "X-Object-Meta-Color: grey")
	anon := "X-Auth-Token:"

	// Preflight: needs a method the resource allows.
	c.Must(401, "OPTIONS", "/v1/AUTH_test/pub/cat", "", anon, "Origin: http://m.com")
	resp, _ := c.Must(200, "OPTIONS", "/v1/AUTH_test/pub/cat", "", anon, "Origin: http://m.com",
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
	resp, _ = c.Must(200, "OPTIONS", "/v1/AUTH_test", "", anon)
	if resp.Header.Get("Allow") != accountMethods || resp.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("options: %v", resp.Header)
	}
	// Actual request.
	resp, _ = c.Must(200, "GET", "/v1/AUTH_test/pub/cat", "", "Origin: http://m.com")
	if resp.Header.Get("Access-Control-Allow-Origin") != "*" ||
		resp.Header.Get("Access-Control-Expose-Headers") != "cache-control, content-language, content-type, etag, expires, last-modified, pragma, x-foo, x-object-meta-color, x-openstack-request-id, x-timestamp, x-trans-id" {
		t.Errorf("actual: %v", resp.Header)
	}

	// A specific origin: others get no CORS headers (strict mode).
	c.Must(202, "PUT", "/v1/AUTH_test/pub", "", "X-Container-Meta-Access-Control-Allow-Origin: http://secret.com")
	c.Must(401, "OPTIONS", "/v1/AUTH_test/pub/cat", "", anon, "Origin: http://m.com", "Access-Control-Request-Method: GET")
	resp, _ = c.Must(200, "GET", "/v1/AUTH_test/pub/cat", "", "Origin: http://m.com")
	if resp.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("strict mode leaked: %v", resp.Header)
	}
	resp, _ = c.Must(200, "GET", "/v1/AUTH_test/pub/cat", "", "Origin: http://secret.com")
	if resp.Header.Get("Access-Control-Allow-Origin") != "http://secret.com" || resp.Header.Get("Vary") != "Origin" {
		t.Errorf("allowed origin: %v", resp.Header)
	}
	// Errors carry CORS headers too (the browser must see the 404).
	resp, _ = c.Must(404, "GET", "/v1/AUTH_test/pub/nothing", "", "Origin: http://secret.com")
	if resp.Header.Get("Access-Control-Allow-Origin") != "http://secret.com" {
		t.Errorf("404: %v", resp.Header)
	}
	// cors_allow_origin from the config applies to every container.
	cfg.CORS.CORSAllowOrigin = []string{"http://ops.example"}
	c.Must(200, "OPTIONS", "/v1/AUTH_test/pub/cat", "", anon, "Origin: http://ops.example", "Access-Control-Request-Method: PUT")
}

// Requests the core denies before Swift's CORS handling get no CORS
// headers; those denied after it (object and read requests) do.
func TestCORSOnDenied(t *testing.T) {
	t.Parallel()
	c := servertest.Start(t, servertest.Options{})
	c.Must(201, "PUT", "/v1/AUTH_test/pub", "", "X-Container-Meta-Access-Control-Allow-Origin: *")
	anon := "X-Auth-Token:"
	origin := "Origin: http://m.com"
	resp, _ := c.Must(401, "POST", "/v1/AUTH_test/pub", "", anon, origin)
	if v := resp.Header.Get("Access-Control-Allow-Origin"); v != "" {
		t.Errorf("denied container write got CORS: %q", v)
	}
	resp, _ = c.Must(401, "GET", "/v1/AUTH_test/pub/o", "", anon, origin)
	if v := resp.Header.Get("Access-Control-Allow-Origin"); v != "*" {
		t.Errorf("denied object read: Allow-Origin %q", v)
	}
	resp, _ = c.Must(401, "GET", "/v1/AUTH_test/pub", "", "X-Auth-Token: bogus", origin)
	if v := resp.Header.Get("Access-Control-Allow-Origin"); v != "" {
		t.Errorf("bad token got CORS: %q", v)
	}
}
