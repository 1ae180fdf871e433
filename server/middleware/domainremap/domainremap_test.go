package domainremap_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"swiftbox/config"
	"swiftbox/server/servertest"
)

// get sends GET path to c with Host host, as the admin.
func get(t *testing.T, c *servertest.Cluster, host, path string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", c.URL+path, nil)
	req.Host = host
	req.Header.Set("X-Auth-Token", c.Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func TestDomainRemap(t *testing.T) {
	t.Parallel()
	c := servertest.Start(t, servertest.Options{Configure: func(cfg *config.Config) {
		cfg.DomainRemap.StorageDomain = []string{"example.net"}
	}})
	c.Must(201, "PUT", "/v1/AUTH_test/c", "")
	c.Must(201, "PUT", "/v1/AUTH_test/c/o", "remapped")
	for _, tc := range []struct{ host, path, want string }{
		{"c.AUTH_test.example.net", "/o", "remapped"},
		{"c.auth-test.example.net", "/o", "remapped"},
		{"AUTH_test.example.net", "/c/o", "remapped"},
	} {
		resp, body := get(t, c, tc.host, tc.path)
		if resp.StatusCode != 200 || body != tc.want {
			t.Errorf("%s%s: %d %q", tc.host, tc.path, resp.StatusCode, body)
		}
	}
	resp, body := get(t, c, "a.b.c.example.net", "/o")
	if resp.StatusCode != 400 || body != "Bad domain in host header" || resp.Header.Get("Content-Type") != "text/plain" {
		t.Errorf("bad domain: %d %q %q", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	// Hosts outside the storage domain are served as usual.
	resp, _ = get(t, c, "other.org", "/v1/AUTH_test/c/o")
	if resp.StatusCode != 200 {
		t.Errorf("other host: %d", resp.StatusCode)
	}
	_, info := c.Must(200, "GET", "/info", "")
	if !strings.Contains(info, `"domain_remap":{"default_reseller_prefix":null}`) || strings.Contains(info, "cname_lookup") {
		t.Errorf("info %s", info)
	}
}

func TestCNAMELookup(t *testing.T) {
	t.Parallel()
	c := servertest.Start(t, servertest.Options{Configure: func(cfg *config.Config) {
		cfg.DomainRemap.StorageDomain = []string{"example.net"}
		cfg.CNAMELookup.StorageDomain = []string{"example.net"}
		cfg.CNAMELookup.LookupDepth = 2
		cfg.CNAMELookup.CNAMEs = map[string]string{
			"www.mysite.org":  "c.auth-test.example.net",
			"deep.mysite.org": "www.mysite.org",
			"loop.mysite.org": "loop2.mysite.org", "loop2.mysite.org": "loop3.mysite.org",
		}
	}})
	c.Must(201, "PUT", "/v1/AUTH_test/c", "")
	c.Must(201, "PUT", "/v1/AUTH_test/c/o", "via cname")
	for host, want := range map[string]string{
		"www.mysite.org":          "via cname",
		"www.mysite.org:8080":     "via cname",
		"deep.mysite.org":         "via cname",
		"loop.mysite.org":         "CNAME lookup failed after 2 tries",
		"nothing.mysite.org":      "CNAME lookup failed to resolve to a valid domain",
		"c.AUTH_test.example.net": "via cname",
	} {
		if _, body := get(t, c, host, "/o"); body != want {
			t.Errorf("%s: %q, want %q", host, body, want)
		}
	}
	_, info := c.Must(200, "GET", "/info", "")
	if !strings.Contains(info, `"cname_lookup":{"lookup_depth":2}`) {
		t.Errorf("info %s", info)
	}
}

// A redirect's Location names the host's form of the path, not the
// remapped one.
func TestDomainRemapLocation(t *testing.T) {
	t.Parallel()
	c := servertest.Start(t, servertest.Options{Configure: func(cfg *config.Config) {
		cfg.DomainRemap.StorageDomain = []string{"example.net"}
	}})
	c.Must(201, "PUT", "/v1/AUTH_test/web", "", "X-Container-Read: .r:*", "X-Container-Meta-Web-Index: index.html")
	c.Must(201, "PUT", "/v1/AUTH_test/web/sub/index.html", "hi")
	req, _ := http.NewRequest("GET", c.URL+"/sub", nil)
	req.Host = "web.AUTH_test.example.net"
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if loc := resp.Header.Get("Location"); resp.StatusCode != 301 || !strings.HasSuffix(loc, "web.AUTH_test.example.net/sub/") {
		t.Errorf("redirect: %d %q", resp.StatusCode, loc)
	}
}
