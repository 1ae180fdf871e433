package proxy

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"swiftbox/config"
)

func TestSyncGuardDecides(t *testing.T) {
	g := newSyncGuard(config.ContainerSyncConfig{
		AllowedSyncHosts: []string{"127.0.0.1:8080", "Backup.Example.com", "[::1]:7000", "10.0.0.5"},
		Realms:           map[string]config.SyncRealm{"R": {Clusters: map[string]string{"C": "https://peer.example.net/v1/"}}},
		SyncProxy:        []string{"http://127.0.0.1:3128"},
	})
	for _, c := range []struct {
		host, port string
		want       bool
	}{
		{"127.0.0.1", "8080", true},
		{"127.0.0.1", "8081", false}, // another port of a listed address
		{"backup.example.com", "443", true},
		{"BACKUP.example.com", "80", true},
		{"::1", "7000", true},
		{"::1", "7001", false},
		{"[::1]", "7000", true},
		{"peer.example.net", "443", true}, // a realm endpoint
		{"peer.example.net", "80", false},
		{"127.0.0.1", "3128", true}, // a sync proxy
		{"169.254.169.254", "80", false},
		{"localhost", "8080", false},
		{"evil.example.com", "80", false},
	} {
		if got := g.allowsName(c.host, c.port); got != c.want {
			t.Errorf("allowsName(%s, %s) = %v, want %v", c.host, c.port, got, c.want)
		}
	}
	var own netip.Addr
	for _, a := range interfaceAddrs() {
		if !a.IsLoopback() && !a.IsLinkLocalUnicast() {
			own = a
			break
		}
	}
	for _, c := range []struct {
		addr, port string
		want       bool
	}{
		{"127.0.0.1", "8080", true}, // listed as an address
		{"127.0.0.1", "80", false},  // a listed name resolving to loopback
		{"127.0.0.2", "8080", false},
		{"::ffff:127.0.0.1", "8080", true},
		{"::1", "443", false},
		{"169.254.169.254", "80", false},
		{"fe80::1", "80", false},
		{"0.0.0.0", "80", false},
		{"224.0.0.1", "80", false},
		{"10.0.0.5", "22", true},
		{"192.0.2.7", "443", true}, // an ordinary address a listed name resolved to
	} {
		if got := g.allowsAddr(netip.MustParseAddr(c.addr), c.port); got != c.want {
			t.Errorf("allowsAddr(%s, %s) = %v, want %v", c.addr, c.port, got, c.want)
		}
	}
	if own.IsValid() && g.allowsAddr(own, "8080") {
		t.Errorf("this box's own address %s is allowed without being listed", own)
	}
}

// recorder is an HTTP server that must never be reached.
type recorder struct {
	*httptest.Server
	mu   sync.Mutex
	seen []string
}

func newRecorder(t *testing.T, h http.HandlerFunc) *recorder {
	r := &recorder{}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.mu.Lock()
		r.seen = append(r.seen, req.Method+" "+req.URL.Path)
		r.mu.Unlock()
		if h != nil {
			h(w, req)
			return
		}
		w.WriteHeader(404)
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *recorder) requests() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.seen...)
}

func hostPort(u string) string { return strings.TrimPrefix(u, "http://") }

// Issue 13 finding 7: an account owner cannot point the container-sync
// daemon at loopback services, link-local metadata, the box's other
// ports, a listed name that resolves to loopback, or a redirect's target.
func TestContainerSyncSSRFRefused(t *testing.T) {
	c := startTestCluster(t)
	victim := newRecorder(t, nil)
	_, vport, _ := net.SplitHostPort(hostPort(victim.URL))
	redirector := newRecorder(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://localhost:"+vport+r.URL.Path, http.StatusTemporaryRedirect)
	})
	cs := &c.Proxy.cfg.ContainerSync
	cs.AllowedSyncHosts = []string{"127.0.0.1:1", "localhost:" + vport, hostPort(redirector.URL)}
	tok := "X-Auth-Token: " + c.Token
	c.must(201, "PUT", "/v1/AUTH_test/src", "", tok)
	c.must(201, "PUT", "/v1/AUTH_test/src/o", "attacker's body", tok)
	// Refused when set: the box's other ports, IPv6 loopback, metadata.
	for _, target := range []string{
		victim.URL + "/v1/AUTH_x/c",
		"http://127.0.0.1:" + strings.TrimPrefix(c.URL, "http://127.0.0.1:") + "/v1/AUTH_test2/c",
		"http://[::1]:" + vport + "/v1/AUTH_x/c",
		"http://169.254.169.254/latest/meta-data",
		"http://127.0.0.1/v1/AUTH_x/c",
	} {
		resp, body := c.do("POST", "/v1/AUTH_test/src", "", tok, "X-Container-Sync-To: "+target, "X-Container-Sync-Key: k")
		if resp.StatusCode != 400 || !strings.HasPrefix(body, "Invalid host ") {
			t.Errorf("X-Container-Sync-To %s: %d %q, want 400 Invalid host", target, resp.StatusCode, body)
		}
	}
	syncer := &ContainerSyncer{Proxy: c.Proxy, DBs: c.DBs, Log: slog.New(slog.DiscardHandler),
		Devices: func() []string { return []string{"d1", "d2", "d3"} }}
	pass := func(what string) {
		t.Helper()
		// The object's row may reach this database a moment after the PUT
		// (an async container update): pass until the row is tried.
		var st ContainerSyncStats
		for i := 0; i < 50 && st.Failures == 0 && st.Puts == 0; i++ {
			if i > 0 {
				time.Sleep(100 * time.Millisecond)
			}
			st = syncer.RunOnce(context.Background())
		}
		if st.Puts != 0 || st.Failures == 0 {
			t.Errorf("%s: pass %+v, want a failure and nothing sent", what, st)
		}
		if got := victim.requests(); len(got) != 0 {
			t.Fatalf("%s: the victim was sent %v", what, got)
		}
	}
	// A listed name that resolves to loopback: refused as it connects.
	c.must(204, "POST", "/v1/AUTH_test/src", "", tok, "X-Container-Sync-To: http://localhost:"+vport+"/v1/AUTH_x/c", "X-Container-Sync-Key: k")
	pass("a name resolving to loopback")
	// A listed host that redirects elsewhere: the redirect is not followed.
	c.must(204, "POST", "/v1/AUTH_test/src", "", tok, "X-Container-Sync-To: "+redirector.URL+"/v1/AUTH_x/c", "X-Container-Sync-Key: k")
	pass("a redirect")
	if got := redirector.requests(); len(got) != 1 || !strings.HasPrefix(got[0], "HEAD ") {
		t.Errorf("redirector saw %v, want the one HEAD", got)
	}
	// A target listed when it was set but no longer: refused at the pass.
	cs.AllowedSyncHosts = []string{hostPort(victim.URL)}
	c.must(204, "POST", "/v1/AUTH_test/src", "", tok, "X-Container-Sync-To: "+victim.URL+"/v1/AUTH_x/c", "X-Container-Sync-Key: k")
	cs.AllowedSyncHosts = []string{}
	pass("a target unlisted since")
}
