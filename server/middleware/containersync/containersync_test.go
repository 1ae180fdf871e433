package containersync_test

import (
	"strings"
	"testing"

	"swiftbox/config"
	syncd "swiftbox/server/daemon/containersync"
	"swiftbox/server/servertest"
)

func TestContainerSyncToValidation(t *testing.T) {
	c := servertest.Start(t, servertest.Options{})
	c.Config.ContainerSync.AllowedSyncHosts = []string{"127.0.0.1"}
	c.Config.ContainerSync.Realms = map[string]config.SyncRealm{
		"REALM1": {Key: "realmkey", Clusters: map[string]string{"CLUSTER1": "http://127.0.0.1:8080/v1/"}},
	}
	tok := "X-Auth-Token: " + c.Token
	c.Must(201, "PUT", "/v1/AUTH_test/c", "", tok)
	for _, tc := range []struct{ value, msg string }{
		{"//realm1/cluster1/AUTH_x", "Invalid X-Container-Sync-To format '//realm1/cluster1/AUTH_x'"},
		{"//nope/cluster1/AUTH_x/c", "No realm key for 'nope'"},
		{"//realm1/nope/AUTH_x/c", "No cluster endpoint for 'realm1' 'nope'"},
		{"ftp://127.0.0.1/v1/AUTH_x/c", `Invalid scheme 'ftp' in X-Container-Sync-To, must be "//", "http", or "https".`},
		{"127.0.0.1/v1/a/c", `Invalid scheme '' in X-Container-Sync-To, must be "//", "http", or "https".`},
		{"http://127.0.0.1", "Path required in X-Container-Sync-To"},
		{"http://127.0.0.1/v1/a/c?x=1", "Params, queries, and fragments not allowed in X-Container-Sync-To"},
		{"http://127.0.0.1/v1/a/c#f", "Params, queries, and fragments not allowed in X-Container-Sync-To"},
		{"http://127.0.0.1/v1/a/c;p", "Params, queries, and fragments not allowed in X-Container-Sync-To"},
		{"http://example.com/v1/a/c", "Invalid host 'example.com' in X-Container-Sync-To"},
	} {
		for _, m := range []string{"PUT", "POST"} {
			want := 400
			resp, body := c.Do(m, "/v1/AUTH_test/c", "", tok, "X-Container-Sync-To: "+tc.value)
			if resp.StatusCode != want || body != tc.msg {
				t.Errorf("%s %q: %d %q, want %d %q", m, tc.value, resp.StatusCode, body, want, tc.msg)
			}
		}
	}
	for _, ok := range []string{"//realm1/cluster1/AUTH_x/c", "//REALM1/Cluster1/AUTH_x/c/", "http://127.0.0.1:9/v1/AUTH_x/c", "https://127.0.0.1/v1/a/c", ""} {
		c.Must(204, "POST", "/v1/AUTH_test/c", "", tok, "X-Container-Sync-To: "+ok, "X-Container-Sync-Key: k")
	}
	// owner-only: an owner sees them, others with read access do not
	c.Must(204, "POST", "/v1/AUTH_test/c", "", tok, "X-Container-Sync-To: //realm1/cluster1/AUTH_x/c", "X-Container-Read: test:tester2")
	resp, _ := c.Must(204, "HEAD", "/v1/AUTH_test/c", "", tok)
	if resp.Header.Get("X-Container-Sync-To") != "//realm1/cluster1/AUTH_x/c" || resp.Header.Get("X-Container-Sync-Key") != "k" {
		t.Errorf("owner HEAD: %v", resp.Header)
	}
	resp, _ = c.Must(204, "HEAD", "/v1/AUTH_test/c", "", "X-Auth-Token: "+c.Login("test:tester2", "testing2"))
	if resp.Header.Get("X-Container-Sync-To") != "" || resp.Header.Get("X-Container-Sync-Key") != "" {
		t.Errorf("non-owner HEAD shows sync settings: %v", resp.Header)
	}
	// not with object versioning, either way round
	c.Must(201, "PUT", "/v1/AUTH_test/v", "", tok, "X-Versions-Enabled: true")
	_, body := c.Must(400, "POST", "/v1/AUTH_test/v", "", tok, "X-Container-Sync-To: //realm1/cluster1/AUTH_x/c")
	if body != "Cannot configure container sync on a container with object versioning configured." {
		t.Errorf("sync-to on versioned container: %q", body)
	}
	c.Must(400, "POST", "/v1/AUTH_test/c", "", tok, "X-Versions-Enabled: true")
	// full URLs refused when allow_full_urls is off
	c.Config.ContainerSync.AllowFullURLs = false
	_, body = c.Must(400, "POST", "/v1/AUTH_test/c", "", tok, "X-Container-Sync-To: http://127.0.0.1/v1/a/c")
	if !strings.HasPrefix(body, "Full URLs are not allowed") {
		t.Errorf("allow_full_urls off: %q", body)
	}
	// /info
	_, body = c.Must(200, "GET", "/info", "")
	if !strings.Contains(body, `"container_sync":{"realms":{"REALM1":{"clusters":{"CLUSTER1":{}}}}}`) {
		t.Errorf("/info: %s", body)
	}
}

func TestContainerSyncAuth(t *testing.T) {
	c := servertest.Start(t, servertest.Options{})
	c.Config.ContainerSync.Realms = map[string]config.SyncRealm{
		"REALM1": {Key: "realmkey", Key2: "realmkey2", Clusters: map[string]string{"CLUSTER1": "http://127.0.0.1:8080/v1/"}},
	}
	tok := "X-Auth-Token: " + c.Token
	c.Must(201, "PUT", "/v1/AUTH_test/c", "", tok, "X-Container-Sync-Key: secret")
	ts := "1500000000.12345"
	path := "/v1/AUTH_test/c/o%20x"
	for i, rk := range []string{"realmkey2", "realmkey"} {
		ts := []string{"1400000000.00000", ts}[i]
		sig := syncd.Sig("PUT", path, ts, "nonce", rk, "secret")
		c.Must(201, "PUT", path, "data", "X-Timestamp: "+ts, "X-Auth-Token:", "X-Container-Sync-Auth: realm1 nonce "+sig)
	}
	resp, _ := c.Must(200, "GET", path, "", tok)
	if resp.Header.Get("X-Timestamp") != ts {
		t.Errorf("synced object's timestamp %q, want %q", resp.Header.Get("X-Timestamp"), ts)
	}
	bad := syncd.Sig("PUT", path, ts, "nonce", "realmkey", "wrong")
	resp, body := c.Must(401, "PUT", path, "data", "X-Timestamp: "+ts, "X-Auth-Token:", "X-Container-Sync-Auth: realm1 nonce "+bad)
	if body != "X-Container-Sync-Auth header not valid; contact cluster operator for support." ||
		!strings.HasPrefix(resp.Header.Get("Www-Authenticate"), "SwiftContainerSync ") {
		t.Errorf("bad sig: %q %v", body, resp.Header)
	}
	c.Must(401, "PUT", path, "data", "X-Timestamp: "+ts, "X-Auth-Token:", "X-Container-Sync-Auth: realm1 nonce")
	// key form (full URLs): the key must match and X-Timestamp be given
	c.Must(201, "PUT", "/v1/AUTH_test/c/k", "data", "X-Timestamp: "+ts, "X-Container-Sync-Key: secret", "X-Auth-Token:")
	resp, _ = c.Must(200, "HEAD", "/v1/AUTH_test/c/k", "", tok)
	if resp.Header.Get("X-Timestamp") != ts {
		t.Errorf("key-synced timestamp %q", resp.Header.Get("X-Timestamp"))
	}
	c.Must(401, "PUT", "/v1/AUTH_test/c/k", "data", "X-Timestamp: "+ts, "X-Container-Sync-Key: wrong", "X-Auth-Token:")
	c.Must(401, "PUT", "/v1/AUTH_test/c/k", "data", "X-Container-Sync-Key: secret", "X-Auth-Token:")
	c.Must(401, "GET", "/v1/AUTH_test/c/k", "", "X-Timestamp: "+ts, "X-Container-Sync-Key: secret", "X-Auth-Token:")
	c.Must(200, "HEAD", "/v1/AUTH_test/c/k", "", "X-Timestamp: "+ts, "X-Container-Sync-Key: secret", "X-Auth-Token:")
	// a client's X-Timestamp is still ignored otherwise
	c.Must(201, "PUT", "/v1/AUTH_test/c/t", "data", tok, "X-Timestamp: "+ts)
	resp, _ = c.Must(200, "HEAD", "/v1/AUTH_test/c/t", "", tok)
	if resp.Header.Get("X-Timestamp") == ts {
		t.Errorf("client X-Timestamp kept")
	}
	c.Must(204, "DELETE", "/v1/AUTH_test/c/k", "", "X-Timestamp: 1500000001.00000", "X-Container-Sync-Key: secret", "X-Auth-Token:")
}
