package versioning_test

import (
	"encoding/json"
	"strings"
	"testing"

	"swiftbox/server/servertest"
)

func listJSON(t *testing.T, c *servertest.Cluster, path string) []map[string]any {
	t.Helper()
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	_, body := c.Must(200, "GET", path+sep+"format=json", "")
	var out []map[string]any
	if err := json.Unmarshal([]byte(body), &out); err != nil {
		t.Fatalf("%s: %v %q", path, err, body)
	}
	return out
}

func TestVersionedWritesStack(t *testing.T) {
	c := servertest.Start(t, servertest.Options{})
	c.Must(201, "PUT", "/v1/AUTH_test/versions", "")
	c.Must(201, "PUT", "/v1/AUTH_test/c", "", "X-Versions-Location: versions")
	resp, _ := c.Must(204, "HEAD", "/v1/AUTH_test/c", "")
	if resp.Header.Get("X-Versions-Location") != "versions" || resp.Header.Get("X-History-Location") != "" {
		t.Fatalf("container headers: %v", resp.Header)
	}
	for _, body := range []string{"aaaaa", "bbbbb", "ccccc"} {
		c.Must(201, "PUT", "/v1/AUTH_test/c/obj", body, "Content-Type: text/v-"+body, "X-Object-Meta-V: "+body)
	}
	list := listJSON(t, c, "/v1/AUTH_test/versions")
	if len(list) != 2 || !strings.HasPrefix(list[0]["name"].(string), "003obj/") || list[0]["content_type"] != "text/v-aaaaa" {
		t.Fatalf("versions: %v", list)
	}
	// DELETE pops the newest archived version back.
	c.Must(204, "DELETE", "/v1/AUTH_test/c/obj", "")
	resp, body := c.Must(200, "GET", "/v1/AUTH_test/c/obj", "")
	if body != "bbbbb" || resp.Header.Get("X-Object-Meta-V") != "bbbbb" || resp.Header.Get("Content-Type") != "text/v-bbbbb" {
		t.Fatalf("after pop: %q %v", body, resp.Header)
	}
	c.Must(204, "DELETE", "/v1/AUTH_test/c/obj", "")
	_, body = c.Must(200, "GET", "/v1/AUTH_test/c/obj", "")
	if body != "aaaaa" {
		t.Fatalf("after 2nd pop: %q", body)
	}
	if n := len(listJSON(t, c, "/v1/AUTH_test/versions")); n != 0 {
		t.Fatalf("%d versions left", n)
	}
	c.Must(204, "DELETE", "/v1/AUTH_test/c/obj", "")
	c.Must(404, "GET", "/v1/AUTH_test/c/obj", "")
	c.Must(404, "DELETE", "/v1/AUTH_test/c/obj", "")

	// Someone who may not write the object archives nothing.
	c.Must(201, "PUT", "/v1/AUTH_test/c/obj", "x")
	tok := c.Login("test:tester2", "testing2")
	c.Must(403, "PUT", "/v1/AUTH_test/c/obj", "y", "X-Auth-Token: "+tok)
	c.Must(403, "DELETE", "/v1/AUTH_test/c/obj", "", "X-Auth-Token: "+tok)
	if n := len(listJSON(t, c, "/v1/AUTH_test/versions")); n != 0 {
		t.Fatalf("%d versions after refused writes", n)
	}

	// Header rules.
	_, body = c.Must(400, "POST", "/v1/AUTH_test/c", "", "X-Versions-Location: a", "X-History-Location: b")
	if body != "Only one of x-versions-location or x-history-location may be specified" {
		t.Errorf("both: %q", body)
	}
	c.Must(412, "POST", "/v1/AUTH_test/c", "", "X-Versions-Location: a/b")
	c.Must(204, "POST", "/v1/AUTH_test/c", "", "X-Remove-Versions-Location: x")
	resp, _ = c.Must(204, "HEAD", "/v1/AUTH_test/c", "")
	if resp.Header.Get("X-Versions-Location") != "" {
		t.Fatalf("not removed: %v", resp.Header)
	}
	c.Must(201, "PUT", "/v1/AUTH_test/c/obj", "z")
	if n := len(listJSON(t, c, "/v1/AUTH_test/versions")); n != 0 {
		t.Fatalf("%d versions after versioning was removed", n)
	}
}

func TestVersionedWritesHistory(t *testing.T) {
	c := servertest.Start(t, servertest.Options{})
	c.Must(201, "PUT", "/v1/AUTH_test/hist", "")
	c.Must(201, "PUT", "/v1/AUTH_test/c", "", "X-History-Location: hist")
	c.Must(201, "PUT", "/v1/AUTH_test/c/o", "one")
	c.Must(201, "PUT", "/v1/AUTH_test/c/o", "two")
	c.Must(204, "DELETE", "/v1/AUTH_test/c/o", "")
	c.Must(404, "GET", "/v1/AUTH_test/c/o", "")
	list := listJSON(t, c, "/v1/AUTH_test/hist")
	if len(list) != 3 || list[2]["content_type"] != deleteMarkerType || list[1]["bytes"] != 3.0 {
		t.Fatalf("history: %v", list)
	}
	// Switching to stack mode replaces the history location.
	c.Must(204, "POST", "/v1/AUTH_test/c", "", "X-Versions-Location: hist")
	resp, _ := c.Must(204, "HEAD", "/v1/AUTH_test/c", "")
	if resp.Header.Get("X-History-Location") != "" || resp.Header.Get("X-Versions-Location") != "hist" {
		t.Fatalf("mode switch: %v", resp.Header)
	}
	// Stack mode over a delete marker: the object is gone, so the version
	// under the marker comes back and the marker goes.
	c.Must(204, "DELETE", "/v1/AUTH_test/c/o", "")
	_, body := c.Must(200, "GET", "/v1/AUTH_test/c/o", "")
	if body != "two" {
		t.Fatalf("restored under marker: %q", body)
	}
	if list := listJSON(t, c, "/v1/AUTH_test/hist"); len(list) != 1 {
		t.Fatalf("after restore: %v", list)
	}
}

func TestVersionedWritesSymlink(t *testing.T) {
	c := servertest.Start(t, servertest.Options{})
	c.Must(201, "PUT", "/v1/AUTH_test/v", "")
	c.Must(201, "PUT", "/v1/AUTH_test/c", "", "X-Versions-Location: v")
	c.Must(201, "PUT", "/v1/AUTH_test/c/target", "data")
	c.Must(201, "PUT", "/v1/AUTH_test/c/link", "", "X-Symlink-Target: c/target")
	c.Must(201, "PUT", "/v1/AUTH_test/c/link", "plain")
	c.Must(204, "DELETE", "/v1/AUTH_test/c/link", "")
	resp, body := c.Must(200, "GET", "/v1/AUTH_test/c/link", "")
	if body != "data" || resp.Header.Get("Content-Location") != "/v1/AUTH_test/c/target" {
		t.Fatalf("restored link: %q %v", body, resp.Header)
	}
}
