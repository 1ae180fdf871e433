package proxy

import (
	"context"
	"encoding/binary"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"swiftbox/config"
	"swiftbox/ring"
)

func TestContainerSyncToValidation(t *testing.T) {
	c := startTestCluster(t)
	c.Proxy.cfg.ContainerSync.AllowedSyncHosts = []string{"127.0.0.1"}
	c.Proxy.cfg.ContainerSync.Realms = map[string]config.SyncRealm{
		"REALM1": {Key: "realmkey", Clusters: map[string]string{"CLUSTER1": "http://127.0.0.1:8080/v1/"}},
	}
	tok := "X-Auth-Token: " + c.Token
	c.must(201, "PUT", "/v1/AUTH_test/c", "", tok)
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
			resp, body := c.do(m, "/v1/AUTH_test/c", "", tok, "X-Container-Sync-To: "+tc.value)
			if resp.StatusCode != want || body != tc.msg {
				t.Errorf("%s %q: %d %q, want %d %q", m, tc.value, resp.StatusCode, body, want, tc.msg)
			}
		}
	}
	for _, ok := range []string{"//realm1/cluster1/AUTH_x/c", "//REALM1/Cluster1/AUTH_x/c/", "http://127.0.0.1:9/v1/AUTH_x/c", "https://127.0.0.1/v1/a/c", ""} {
		c.must(204, "POST", "/v1/AUTH_test/c", "", tok, "X-Container-Sync-To: "+ok, "X-Container-Sync-Key: k")
	}
	// owner-only: an owner sees them, others with read access do not
	c.must(204, "POST", "/v1/AUTH_test/c", "", tok, "X-Container-Sync-To: //realm1/cluster1/AUTH_x/c", "X-Container-Read: test:tester2")
	resp, _ := c.must(204, "HEAD", "/v1/AUTH_test/c", "", tok)
	if resp.Header.Get("X-Container-Sync-To") != "//realm1/cluster1/AUTH_x/c" || resp.Header.Get("X-Container-Sync-Key") != "k" {
		t.Errorf("owner HEAD: %v", resp.Header)
	}
	resp, _ = c.must(204, "HEAD", "/v1/AUTH_test/c", "", "X-Auth-Token: "+c.login("test:tester2", "testing2"))
	if resp.Header.Get("X-Container-Sync-To") != "" || resp.Header.Get("X-Container-Sync-Key") != "" {
		t.Errorf("non-owner HEAD shows sync settings: %v", resp.Header)
	}
	// (not with object versioning: server/middleware/versioning's tests)
	// full URLs refused when allow_full_urls is off
	c.Proxy.cfg.ContainerSync.AllowFullURLs = false
	_, body := c.must(400, "POST", "/v1/AUTH_test/c", "", tok, "X-Container-Sync-To: http://127.0.0.1/v1/a/c")
	if !strings.HasPrefix(body, "Full URLs are not allowed") {
		t.Errorf("allow_full_urls off: %q", body)
	}
	// /info
	_, body = c.must(200, "GET", "/info", "")
	if !strings.Contains(body, `"container_sync":{"realms":{"REALM1":{"clusters":{"CLUSTER1":{}}}}}`) {
		t.Errorf("/info: %s", body)
	}
}

func TestContainerSyncAuth(t *testing.T) {
	c := startTestCluster(t)
	c.Proxy.cfg.ContainerSync.Realms = map[string]config.SyncRealm{
		"REALM1": {Key: "realmkey", Key2: "realmkey2", Clusters: map[string]string{"CLUSTER1": "http://127.0.0.1:8080/v1/"}},
	}
	tok := "X-Auth-Token: " + c.Token
	c.must(201, "PUT", "/v1/AUTH_test/c", "", tok, "X-Container-Sync-Key: secret")
	ts := "1500000000.12345"
	path := "/v1/AUTH_test/c/o%20x"
	for i, rk := range []string{"realmkey2", "realmkey"} {
		ts := []string{"1400000000.00000", ts}[i]
		sig := syncSig("PUT", path, ts, "nonce", rk, "secret")
		c.must(201, "PUT", path, "data", "X-Timestamp: "+ts, "X-Auth-Token:", "X-Container-Sync-Auth: realm1 nonce "+sig)
	}
	resp, _ := c.must(200, "GET", path, "", tok)
	if resp.Header.Get("X-Timestamp") != ts {
		t.Errorf("synced object's timestamp %q, want %q", resp.Header.Get("X-Timestamp"), ts)
	}
	bad := syncSig("PUT", path, ts, "nonce", "realmkey", "wrong")
	resp, body := c.must(401, "PUT", path, "data", "X-Timestamp: "+ts, "X-Auth-Token:", "X-Container-Sync-Auth: realm1 nonce "+bad)
	if body != "X-Container-Sync-Auth header not valid; contact cluster operator for support." ||
		!strings.HasPrefix(resp.Header.Get("Www-Authenticate"), "SwiftContainerSync ") {
		t.Errorf("bad sig: %q %v", body, resp.Header)
	}
	c.must(401, "PUT", path, "data", "X-Timestamp: "+ts, "X-Auth-Token:", "X-Container-Sync-Auth: realm1 nonce")
	// key form (full URLs): the key must match and X-Timestamp be given
	c.must(201, "PUT", "/v1/AUTH_test/c/k", "data", "X-Timestamp: "+ts, "X-Container-Sync-Key: secret", "X-Auth-Token:")
	resp, _ = c.must(200, "HEAD", "/v1/AUTH_test/c/k", "", tok)
	if resp.Header.Get("X-Timestamp") != ts {
		t.Errorf("key-synced timestamp %q", resp.Header.Get("X-Timestamp"))
	}
	c.must(401, "PUT", "/v1/AUTH_test/c/k", "data", "X-Timestamp: "+ts, "X-Container-Sync-Key: wrong", "X-Auth-Token:")
	c.must(401, "PUT", "/v1/AUTH_test/c/k", "data", "X-Container-Sync-Key: secret", "X-Auth-Token:")
	c.must(401, "GET", "/v1/AUTH_test/c/k", "", "X-Timestamp: "+ts, "X-Container-Sync-Key: secret", "X-Auth-Token:")
	c.must(200, "HEAD", "/v1/AUTH_test/c/k", "", "X-Timestamp: "+ts, "X-Container-Sync-Key: secret", "X-Auth-Token:")
	// a client's X-Timestamp is still ignored otherwise
	c.must(201, "PUT", "/v1/AUTH_test/c/t", "data", tok, "X-Timestamp: "+ts)
	resp, _ = c.must(200, "HEAD", "/v1/AUTH_test/c/t", "", tok)
	if resp.Header.Get("X-Timestamp") == ts {
		t.Errorf("client X-Timestamp kept")
	}
	c.must(204, "DELETE", "/v1/AUTH_test/c/k", "", "X-Timestamp: 1500000001.00000", "X-Container-Sync-Key: secret", "X-Auth-Token:")
}

// With replicas on other boxes, a pass sends only the rows of this box's
// share at once (Swift's hash(name) % replicas == ordinal); the next pass
// sends the others' rows too, in case their boxes did not.
func TestContainerSyncShares(t *testing.T) {
	a, b := startTestCluster(t), startTestCluster(t)
	ta, tb := "X-Auth-Token: "+a.Token, "X-Auth-Token: "+b.Token
	b.must(201, "PUT", "/v1/AUTH_test/dst", "", tb, "X-Container-Sync-Key: k")
	a.Proxy.cfg.ContainerSync.AllowedSyncHosts = []string{strings.TrimPrefix(b.URL, "http://")}
	a.must(201, "PUT", "/v1/AUTH_test/src", "", ta, "X-Container-Sync-Key: k", "X-Container-Sync-To: "+b.URL+"/v1/AUTH_test/dst")
	const n = 30
	for i := range n {
		a.must(201, "PUT", fmt.Sprintf("/v1/AUTH_test/src/o%02d", i), "x", ta)
	}
	prim := a.Proxy.containerPlace("AUTH_test", "src").primaries
	mine := prim[1].Device // this box has the second primary alone
	syncer := &ContainerSyncer{Proxy: a.Proxy, DBs: a.DBs, Log: slog.New(slog.DiscardHandler),
		Devices: func() []string { return []string{"d1", "d2", "d3"} },
		Local:   func(d *ring.Device) bool { return d.Device == mine }}
	own := 0
	for i := range n {
		h := ring.HashPath("", "test", "AUTH_test", "src", fmt.Sprintf("o%02d", i))
		if binary.BigEndian.Uint32(h[:4])%3 == 1 {
			own++
		}
	}
	st := syncer.RunOnce(context.Background())
	if st.Puts != own || st.Failures != 0 || own == 0 || own == n {
		t.Fatalf("first pass: %+v, want %d puts", st, own)
	}
	st = syncer.RunOnce(context.Background())
	if st.Puts != n-own || st.Failures != 0 {
		t.Fatalf("second pass: %+v, want %d puts", st, n-own)
	}
	_, body := b.must(200, "GET", "/v1/AUTH_test/dst", "", tb)
	if strings.Count(body, "\n") != n {
		t.Fatalf("B has %q", body)
	}
	if st = syncer.RunOnce(context.Background()); st.Puts+st.Failures != 0 {
		t.Fatalf("third pass: %+v", st)
	}
}

// The daemon's local read is a stream, never the object in memory.
func TestContainerSyncLocalReadStreams(t *testing.T) {
	c := startTestCluster(t)
	c.must(201, "PUT", "/v1/AUTH_test/c", "", "X-Auth-Token: "+c.Token)
	c.must(201, "PUT", "/v1/AUTH_test/c/o", strings.Repeat("x", 3<<20), "X-Auth-Token: "+c.Token)
	resp := c.Proxy.internalRequest("GET", "/v1/AUTH_test/c/o", nil)
	defer resp.CloseBodyStream()
	if resp.BodyStream() == nil {
		t.Fatal("local GET is buffered, not streamed")
	}
}

// The daemon's client sends through a configured sync_proxy.
func TestSyncClientUsesProxy(t *testing.T) {
	var seen []string
	var mu sync.Mutex
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Method+" "+r.URL.String())
		mu.Unlock()
		w.WriteHeader(201)
	}))
	defer proxy.Close()
	c := SyncClient(config.ContainerSyncConfig{SyncProxy: []string{proxy.URL}})
	req, _ := http.NewRequest("PUT", "http://127.0.0.1:1/v1/AUTH_x/c/o", strings.NewReader("x"))
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 201 || len(seen) != 1 || seen[0] != "PUT http://127.0.0.1:1/v1/AUTH_x/c/o" {
		t.Fatalf("through the proxy: %d %v", resp.StatusCode, seen)
	}
}

// container_time bounds a pass's time on one container; what is left
// goes in the next pass, from where the last one stopped.
func TestContainerSyncContainerTime(t *testing.T) {
	a, b := startTestCluster(t), startTestCluster(t)
	ta, tb := "X-Auth-Token: "+a.Token, "X-Auth-Token: "+b.Token
	b.must(201, "PUT", "/v1/AUTH_test/dst", "", tb, "X-Container-Sync-Key: k")
	a.Proxy.cfg.ContainerSync.AllowedSyncHosts = []string{strings.TrimPrefix(b.URL, "http://")}
	a.must(201, "PUT", "/v1/AUTH_test/src", "", ta, "X-Container-Sync-Key: k", "X-Container-Sync-To: "+b.URL+"/v1/AUTH_test/dst")
	const n = 5
	for i := range n {
		a.must(201, "PUT", fmt.Sprintf("/v1/AUTH_test/src/o%02d", i), "x", ta)
	}
	syncer := &ContainerSyncer{Proxy: a.Proxy, DBs: a.DBs, Log: slog.New(slog.DiscardHandler),
		Devices: func() []string { return []string{"d1", "d2", "d3"} }, ContainerTime: time.Nanosecond}
	if st := syncer.RunOnce(context.Background()); st.Puts != 0 || st.Containers != 1 {
		t.Fatalf("pass with no time: %+v, want the container seen and nothing sent", st)
	}
	syncer.ContainerTime = time.Minute
	if st := syncer.RunOnce(context.Background()); st.Puts != n || st.Failures != 0 {
		t.Fatalf("pass with time: %+v, want %d puts", st, n)
	}
}
