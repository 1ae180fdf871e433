package staticweb_test

import (
	"net/http"
	"strings"
	"testing"

	"swiftbox/server/servertest"
)

func TestStaticWeb(t *testing.T) {
	c := servertest.Start(t, servertest.Options{})
	http.DefaultClient.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	t.Cleanup(func() { http.DefaultClient.CheckRedirect = nil })
	anon := "X-Auth-Token:"
	c.Must(201, "PUT", "/v1/AUTH_test/site", "", "X-Container-Read: .r:*,.rlistings")
	c.Must(201, "PUT", "/v1/AUTH_test/site/index.html", "<h1>home</h1>", "Content-Type: text/html")
	c.Must(201, "PUT", "/v1/AUTH_test/site/sub/index.html", "<h1>sub</h1>", "Content-Type: text/html")
	c.Must(201, "PUT", "/v1/AUTH_test/site/docs/", "", "Content-Type: application/directory")
	c.Must(201, "PUT", "/v1/AUTH_test/site/docs/a b.txt", "12345", "Content-Type: text/plain")
	c.Must(201, "PUT", "/v1/AUTH_test/site/404error.html", "custom not found")

	// Without web settings the API answers as usual (anonymous JSON listing).
	_, body := c.Must(200, "GET", "/v1/AUTH_test/site?format=json", "", anon)
	if !strings.HasPrefix(body, "[") {
		t.Fatalf("listing %q", body)
	}
	c.Must(204, "POST", "/v1/AUTH_test/site", "", "X-Container-Meta-Web-Index: index.html", "X-Container-Meta-Web-Error: error.html")

	// Container without the slash redirects; with it serves the index.
	resp, _ := c.Must(301, "GET", "/v1/AUTH_test/site", "", anon)
	if loc := resp.Header.Get("Location"); loc != c.URL+"/v1/AUTH_test/site/" {
		t.Errorf("location %q", loc)
	}
	_, body = c.Must(200, "GET", "/v1/AUTH_test/site/", "", anon)
	if body != "<h1>home</h1>" {
		t.Errorf("index %q", body)
	}
	// Pseudo-directories: redirect to the slash, then their index.
	c.Must(301, "GET", "/v1/AUTH_test/site/sub", "", anon)
	_, body = c.Must(200, "GET", "/v1/AUTH_test/site/sub/", "", anon)
	if body != "<h1>sub</h1>" {
		t.Errorf("sub index %q", body)
	}
	// Missing object: 404 with the Web-Error page.
	_, body = c.Must(404, "GET", "/v1/AUTH_test/site/nothing", "", anon)
	if body != "custom not found" {
		t.Errorf("error page %q", body)
	}
	// A directory without an index and listings off: Swift's disabled page.
	_, body = c.Must(404, "GET", "/v1/AUTH_test/site/docs/", "", anon, "X-Container-Meta-Web-Error:")
	if body != "custom not found" {
		t.Errorf("error page for directory %q", body)
	}
	c.Must(204, "POST", "/v1/AUTH_test/site", "", "X-Container-Meta-Web-Listings: on", "X-Remove-Container-Meta-Web-Error: x",
		"X-Container-Meta-Web-Listings-CSS: style.css")
	resp, body = c.Must(200, "GET", "/v1/AUTH_test/site/docs/", "", anon)
	if resp.Header.Get("Content-Type") != "text/html; charset=UTF-8" ||
		!strings.Contains(body, "<title>Listing of /v1/AUTH_test/site/docs/</title>") ||
		!strings.Contains(body, `<link rel="stylesheet" type="text/css" href="../style.css" />`) ||
		!strings.Contains(body, `<tr class="item type-text type-plain">`+"\n"+`    <td class="colname"><a href="a%20b.txt">a b.txt</a></td>`+"\n"+`    <td class="colsize">5</td>`) ||
		!strings.Contains(body, `<a href="../">../</a>`) {
		t.Errorf("listing:\n%s", body)
	}
	// Authenticated requests see the API unless they ask for the web view.
	_, body = c.Must(200, "GET", "/v1/AUTH_test/site/", "")
	if strings.Contains(body, "<html") {
		t.Errorf("token request got the web view")
	}
	_, body = c.Must(200, "GET", "/v1/AUTH_test/site/", "", "X-Web-Mode: true")
	if body != "<h1>home</h1>" {
		t.Errorf("web mode %q", body)
	}
	// Without .r:* anonymous users are refused.
	c.Must(201, "PUT", "/v1/AUTH_test/private", "", "X-Container-Meta-Web-Index: index.html")
	c.Must(401, "GET", "/v1/AUTH_test/private/", "", anon)
	_, info := c.Must(200, "GET", "/info", "")
	if !strings.Contains(info, `"staticweb":{}`) {
		t.Errorf("info %s", info)
	}
}
