package proxy

import (
	"context"
	"strings"
	"testing"

	"swiftbox/storage/timestamp"
)

func TestObjectVersioning(t *testing.T) {
	c := startTestCluster(t)
	c.must(201, "PUT", "/v1/AUTH_test/c", "", "X-Versions-Enabled: true")
	resp, _ := c.must(204, "HEAD", "/v1/AUTH_test/c", "")
	if resp.Header.Get("X-Versions-Enabled") != "True" {
		t.Fatalf("HEAD: %v", resp.Header)
	}
	// The hidden versions container is not listed.
	_, body := c.must(200, "GET", "/v1/AUTH_test", "")
	if body != "c\n" {
		t.Fatalf("account listing: %q", body)
	}

	r1, _ := c.must(201, "PUT", "/v1/AUTH_test/c/o", "one", "Content-Type: text/one")
	v1 := r1.Header.Get("X-Object-Version-Id")
	r2, _ := c.must(201, "PUT", "/v1/AUTH_test/c/o", "two!", "Content-Type: text/two")
	v2 := r2.Header.Get("X-Object-Version-Id")
	if v1 == "" || v2 == "" || v1 == v2 || r2.Header.Get("Etag") != "9f5b6d9a034d175868bf593885b7dc4e" {
		t.Fatalf("versions %q %q, etag %q", v1, v2, r2.Header.Get("Etag"))
	}
	resp, body = c.must(200, "GET", "/v1/AUTH_test/c/o", "")
	if body != "two!" || resp.Header.Get("X-Object-Version-Id") != v2 || resp.Header.Get("Content-Type") != "text/two" {
		t.Fatalf("GET latest: %q %v", body, resp.Header)
	}
	_, body = c.must(200, "GET", "/v1/AUTH_test/c/o?version-id="+v1, "")
	if body != "one" {
		t.Fatalf("GET v1: %q", body)
	}
	// The plain listing shows the current version's size and etag.
	list := listJSON(t, c, "/v1/AUTH_test/c")
	if len(list) != 1 || list[0]["bytes"] != 4.0 || list[0]["hash"] != "9f5b6d9a034d175868bf593885b7dc4e" {
		t.Fatalf("listing: %v", list)
	}
	_, body = c.must(200, "GET", "/v1/AUTH_test/c?format=xml", "")
	if !strings.Contains(body, "<bytes>4</bytes>") {
		t.Fatalf("xml listing: %s", body)
	}
	vers := listJSON(t, c, "/v1/AUTH_test/c?versions")
	if len(vers) != 2 || vers[0]["version_id"] != v2 || vers[0]["is_latest"] != true || vers[1]["is_latest"] != false {
		t.Fatalf("?versions: %v", vers)
	}
	c.must(406, "GET", "/v1/AUTH_test/c?versions&format=xml", "")
	c.must(400, "GET", "/v1/AUTH_test/c?versions&version_marker=x", "")
	c.must(400, "POST", "/v1/AUTH_test/c/o?version-id="+v1, "")
	c.must(400, "GET", "/v1/AUTH_test/c/o?version-id=nope", "")

	// DELETE leaves a marker; the versions stay readable.
	resp, _ = c.must(204, "DELETE", "/v1/AUTH_test/c/o", "")
	marker := resp.Header.Get("X-Object-Version-Id")
	c.must(404, "GET", "/v1/AUTH_test/c/o", "")
	c.must(200, "GET", "/v1/AUTH_test/c/o?version-id="+v2, "")
	resp, _ = c.must(404, "HEAD", "/v1/AUTH_test/c/o?version-id="+marker, "")
	if resp.Header.Get("Content-Type") != deleteMarkerType {
		t.Fatalf("marker: %v", resp.Header)
	}
	vers = listJSON(t, c, "/v1/AUTH_test/c?versions")
	if len(vers) != 3 || vers[0]["content_type"] != deleteMarkerType || vers[0]["is_latest"] != true {
		t.Fatalf("?versions after delete: %v", vers)
	}

	// PUT ?version-id makes an old version current again.
	c.must(201, "PUT", "/v1/AUTH_test/c/o?version-id="+v1, "")
	_, body = c.must(200, "GET", "/v1/AUTH_test/c/o", "")
	if body != "one" {
		t.Fatalf("restored: %q", body)
	}
	c.must(400, "PUT", "/v1/AUTH_test/c/o?version-id="+v1, "body")
	c.must(404, "PUT", "/v1/AUTH_test/c/o?version-id=1.00000", "")

	// DELETE ?version-id of the current version removes link and version.
	resp, _ = c.must(204, "DELETE", "/v1/AUTH_test/c/o?version-id="+v1, "")
	if resp.Header.Get("X-Object-Current-Version-Id") != "null" {
		t.Fatalf("delete current: %v", resp.Header)
	}
	c.must(404, "GET", "/v1/AUTH_test/c/o", "")

	// Another user with no rights reads and deletes nothing.
	tok := c.login("test:tester2", "testing2")
	c.must(403, "GET", "/v1/AUTH_test/c/o?version-id="+v2, "", "X-Auth-Token: "+tok)
	c.must(403, "DELETE", "/v1/AUTH_test/c/o?version-id="+v2, "", "X-Auth-Token: "+tok)
	c.must(403, "PUT", "/v1/AUTH_test/c", "", "X-Auth-Token: "+tok, "X-Versions-Enabled: false")

	// Clients cannot reach the hidden container.
	c.must(412, "GET", "/v1/AUTH_test/%00versions%00c", "")

	// The container cannot go while versions remain.
	c.must(409, "DELETE", "/v1/AUTH_test/c", "")
	c.must(204, "POST", "/v1/AUTH_test/c", "", "X-Versions-Enabled: false")
	resp, _ = c.must(204, "HEAD", "/v1/AUTH_test/c", "")
	if resp.Header.Get("X-Versions-Enabled") != "False" {
		t.Fatalf("disabled: %v", resp.Header)
	}
	// Disabled: writes are plain again, versions are still there.
	c.must(201, "PUT", "/v1/AUTH_test/c/plain", "p")
	for _, v := range listJSON(t, c, "/v1/AUTH_test/c?versions") {
		c.do("DELETE", "/v1/AUTH_test/c/"+v["name"].(string)+"?version-id="+v["version_id"].(string), "")
	}
	c.must(204, "DELETE", "/v1/AUTH_test/c", "")
}

func TestObjectVersioningLegacyConflict(t *testing.T) {
	c := startTestCluster(t)
	c.must(201, "PUT", "/v1/AUTH_test/v", "")
	c.must(201, "PUT", "/v1/AUTH_test/c", "", "X-Versions-Location: v")
	_, body := c.must(400, "POST", "/v1/AUTH_test/c", "", "X-Versions-Enabled: true")
	if !strings.Contains(body, "legacy versioned writes") {
		t.Fatalf("body %q", body)
	}
	c.must(400, "GET", "/v1/AUTH_test/c/o?version-id=1.00000", "")
}

func TestInfoVersioningEntries(t *testing.T) {
	c := startTestCluster(t)
	_, body := c.must(200, "GET", "/info", "")
	for _, want := range []string{`"symlink":{"static_links":true,"symloop_max":2}`, `"object_versioning":{}`,
		`"versioned_writes":{"allowed_flags":["x-versions-location","x-history-location"]}`} {
		if !strings.Contains(body, want) {
			t.Errorf("/info lacks %s: %s", want, body)
		}
	}
}

// A versions container whose primary is gone is listed under the
// primary's name while it holds versions (Swift lists containers that
// only have versions left), but not when empty: that is what a crash
// between creating the versions container and the primary leaves, and
// listing it would show a container that answers 404.
func TestObjectVersioningOrphanListing(t *testing.T) {
	c := startTestCluster(t)
	p := c.Proxy
	dropPrimary := func(name string) {
		t.Helper()
		pl := p.containerPlace("AUTH_test", name)
		ts := timestamp.Now()
		for _, n := range pl.primaries {
			if err := p.be.ContainerDelete(context.Background(), pl.container(n, "AUTH_test", name), ts); err != nil {
				t.Fatalf("deleting %s on %s: %v", name, n.Device, err)
			}
		}
		p.acct.updateNow("AUTH_test", name)
		p.acct.updateNow("AUTH_test", reservedName("versions", name)) // its count, without waiting for the flush
		p.vinfo.forget("AUTH_test", name)
	}
	c.must(201, "PUT", "/v1/AUTH_test/kept", "", "X-Versions-Enabled: true")
	c.must(201, "PUT", "/v1/AUTH_test/kept/o", "one")
	c.must(204, "DELETE", "/v1/AUTH_test/kept/o", "")
	c.must(201, "PUT", "/v1/AUTH_test/empty", "", "X-Versions-Enabled: true")
	dropPrimary("kept")
	dropPrimary("empty")
	c.must(404, "HEAD", "/v1/AUTH_test/empty", "")
	if _, body := c.must(200, "GET", "/v1/AUTH_test", ""); body != "kept\n" {
		t.Fatalf("account listing: %q, want only the container with versions left", body)
	}
}
