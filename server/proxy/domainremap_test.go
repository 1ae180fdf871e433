package proxy

import (
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"
)

func TestDomainRemap(t *testing.T) {
	c := startTestCluster(t)
	c.Proxy.cfg.DomainRemap.StorageDomain = []string{"example.net"}
	c.must(201, "PUT", "/v1/AUTH_test/c", "")
	c.must(201, "PUT", "/v1/AUTH_test/c/o", "remapped")

	srv := startHandler(t, c.Proxy.Handler()) // built after the config change
	get := func(host, path string) (*http.Response, string) {
		req, _ := http.NewRequest("GET", srv+path, nil)
		req.Host = host
		req.Header.Set("X-Auth-Token", c.Token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b := new(strings.Builder)
		_, _ = io.Copy(b, resp.Body)
		return resp, b.String()
	}
	for _, tc := range []struct{ host, path, want string }{
		{"c.AUTH_test.example.net", "/o", "remapped"},
		{"c.auth-test.example.net", "/o", "remapped"},
		{"AUTH_test.example.net", "/c/o", "remapped"},
	} {
		resp, body := get(tc.host, tc.path)
		if resp.StatusCode != 200 || body != tc.want {
			t.Errorf("%s%s: %d %q", tc.host, tc.path, resp.StatusCode, body)
		}
	}
	resp, body := get("a.b.c.example.net", "/o")
	if resp.StatusCode != 400 || body != "Bad domain in host header" {
		t.Errorf("bad domain: %d %q", resp.StatusCode, body)
	}
	// Hosts outside the storage domain are served as usual.
	resp, _ = get("other.org", "/v1/AUTH_test/c/o")
	if resp.StatusCode != 200 {
		t.Errorf("other host: %d", resp.StatusCode)
	}
}

// startHandler serves h on a loopback port until the test ends.
func startHandler(t *testing.T, h fasthttp.RequestHandler) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := NewHTTPServer(h, nil, "swiftbox-test")
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Shutdown() })
	return "http://" + ln.Addr().String()
}

func TestCNAMELookup(t *testing.T) {
	c := startTestCluster(t)
	c.Proxy.cfg.DomainRemap.StorageDomain = []string{"example.net"}
	c.Proxy.cfg.CNAMELookup.StorageDomain = []string{"example.net"}
	c.Proxy.cfg.CNAMELookup.LookupDepth = 2
	c.Proxy.cfg.CNAMELookup.CNAMEs = map[string]string{
		"www.mysite.org":  "c.auth-test.example.net",
		"deep.mysite.org": "www.mysite.org",
		"loop.mysite.org": "loop2.mysite.org", "loop2.mysite.org": "loop3.mysite.org",
	}
	c.must(201, "PUT", "/v1/AUTH_test/c", "")
	c.must(201, "PUT", "/v1/AUTH_test/c/o", "via cname")
	srv := startHandler(t, c.Proxy.Handler())
	get := func(host string) (int, string) {
		req, _ := http.NewRequest("GET", srv+"/o", nil)
		req.Host = host
		req.Header.Set("X-Auth-Token", c.Token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for host, want := range map[string]string{
		"www.mysite.org":          "via cname",
		"www.mysite.org:8080":     "via cname",
		"deep.mysite.org":         "via cname",
		"loop.mysite.org":         "CNAME lookup failed after 2 tries",
		"nothing.mysite.org":      "CNAME lookup failed to resolve to a valid domain",
		"c.AUTH_test.example.net": "via cname",
	} {
		if _, body := get(host); body != want {
			t.Errorf("%s: %q, want %q", host, body, want)
		}
	}
}
