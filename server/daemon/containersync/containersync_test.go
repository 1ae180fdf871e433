package containersync_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"swiftbox/config"
	"swiftbox/ring"
	"swiftbox/server/daemon/containersync"
	"swiftbox/server/servertest"
)

// With replicas on other boxes, a pass sends only the rows of this box's
// share at once (Swift's hash(name) % replicas == ordinal); the next pass
// sends the others' rows too, in case their boxes did not.
func TestContainerSyncShares(t *testing.T) {
	a, b := servertest.Start(t, servertest.Options{}), servertest.Start(t, servertest.Options{})
	ta, tb := "X-Auth-Token: "+a.Token, "X-Auth-Token: "+b.Token
	b.Must(201, "PUT", "/v1/AUTH_test/dst", "", tb, "X-Container-Sync-Key: k")
	a.Config.ContainerSync.AllowedSyncHosts = []string{strings.TrimPrefix(b.URL, "http://")}
	a.Must(201, "PUT", "/v1/AUTH_test/src", "", ta, "X-Container-Sync-Key: k", "X-Container-Sync-To: "+b.URL+"/v1/AUTH_test/dst")
	const n = 30
	for i := range n {
		a.Must(201, "PUT", fmt.Sprintf("/v1/AUTH_test/src/o%02d", i), "x", ta)
	}
	_, prim := a.Proxy.Cluster().ContainerNodes("AUTH_test", "src")
	mine := prim[1].Device // this box has the second primary alone
	syncer := &containersync.Syncer{Cluster: a.Proxy.Cluster(), Config: &a.Config.ContainerSync, DBs: a.DBs, Log: slog.New(slog.DiscardHandler),
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
	_, body := b.Must(200, "GET", "/v1/AUTH_test/dst", "", tb)
	if strings.Count(body, "\n") != n {
		t.Fatalf("B has %q", body)
	}
	if st = syncer.RunOnce(context.Background()); st.Puts+st.Failures != 0 {
		t.Fatalf("third pass: %+v", st)
	}
}

// The daemon's local read is a stream, never the object in memory.
func TestContainerSyncLocalReadStreams(t *testing.T) {
	c := servertest.Start(t, servertest.Options{})
	c.Must(201, "PUT", "/v1/AUTH_test/c", "", "X-Auth-Token: "+c.Token)
	c.Must(201, "PUT", "/v1/AUTH_test/c/o", strings.Repeat("x", 3<<20), "X-Auth-Token: "+c.Token)
	resp := c.Proxy.Cluster().Do(context.Background(), "GET", "/v1/AUTH_test/c/o", nil)
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
	c := containersync.Client(config.ContainerSyncConfig{SyncProxy: []string{proxy.URL}})
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
	a, b := servertest.Start(t, servertest.Options{}), servertest.Start(t, servertest.Options{})
	ta, tb := "X-Auth-Token: "+a.Token, "X-Auth-Token: "+b.Token
	b.Must(201, "PUT", "/v1/AUTH_test/dst", "", tb, "X-Container-Sync-Key: k")
	a.Config.ContainerSync.AllowedSyncHosts = []string{strings.TrimPrefix(b.URL, "http://")}
	a.Must(201, "PUT", "/v1/AUTH_test/src", "", ta, "X-Container-Sync-Key: k", "X-Container-Sync-To: "+b.URL+"/v1/AUTH_test/dst")
	const n = 5
	for i := range n {
		a.Must(201, "PUT", fmt.Sprintf("/v1/AUTH_test/src/o%02d", i), "x", ta)
	}
	syncer := &containersync.Syncer{Cluster: a.Proxy.Cluster(), Config: &a.Config.ContainerSync, DBs: a.DBs, Log: slog.New(slog.DiscardHandler),
		Devices: func() []string { return []string{"d1", "d2", "d3"} }, ContainerTime: time.Nanosecond}
	if st := syncer.RunOnce(context.Background()); st.Puts != 0 || st.Containers != 1 {
		t.Fatalf("pass with no time: %+v, want the container seen and nothing sent", st)
	}
	syncer.ContainerTime = time.Minute
	if st := syncer.RunOnce(context.Background()); st.Puts != n || st.Failures != 0 {
		t.Fatalf("pass with time: %+v, want %d puts", st, n)
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
	c := servertest.Start(t, servertest.Options{})
	victim := newRecorder(t, nil)
	_, vport, _ := net.SplitHostPort(hostPort(victim.URL))
	redirector := newRecorder(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://localhost:"+vport+r.URL.Path, http.StatusTemporaryRedirect)
	})
	cs := &c.Config.ContainerSync
	cs.AllowedSyncHosts = []string{"127.0.0.1:1", "localhost:" + vport, hostPort(redirector.URL)}
	tok := "X-Auth-Token: " + c.Token
	c.Must(201, "PUT", "/v1/AUTH_test/src", "", tok)
	c.Must(201, "PUT", "/v1/AUTH_test/src/o", "attacker's body", tok)
	// Refused when set: the box's other ports, IPv6 loopback, metadata.
	for _, target := range []string{
		victim.URL + "/v1/AUTH_x/c",
		"http://127.0.0.1:" + strings.TrimPrefix(c.URL, "http://127.0.0.1:") + "/v1/AUTH_test2/c",
		"http://[::1]:" + vport + "/v1/AUTH_x/c",
		"http://169.254.169.254/latest/meta-data",
		"http://127.0.0.1/v1/AUTH_x/c",
	} {
		resp, body := c.Do("POST", "/v1/AUTH_test/src", "", tok, "X-Container-Sync-To: "+target, "X-Container-Sync-Key: k")
		if resp.StatusCode != 400 || !strings.HasPrefix(body, "Invalid host ") {
			t.Errorf("X-Container-Sync-To %s: %d %q, want 400 Invalid host", target, resp.StatusCode, body)
		}
	}
	syncer := &containersync.Syncer{Cluster: c.Proxy.Cluster(), Config: &c.Config.ContainerSync, DBs: c.DBs, Log: slog.New(slog.DiscardHandler),
		Devices: func() []string { return []string{"d1", "d2", "d3"} }}
	pass := func(what string) {
		t.Helper()
		// The object's row may reach this database a moment after the PUT
		// (an async container update): pass until the row is tried.
		var st containersync.Stats
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
	c.Must(204, "POST", "/v1/AUTH_test/src", "", tok, "X-Container-Sync-To: http://localhost:"+vport+"/v1/AUTH_x/c", "X-Container-Sync-Key: k")
	pass("a name resolving to loopback")
	// A listed host that redirects elsewhere: the redirect is not followed.
	c.Must(204, "POST", "/v1/AUTH_test/src", "", tok, "X-Container-Sync-To: "+redirector.URL+"/v1/AUTH_x/c", "X-Container-Sync-Key: k")
	pass("a redirect")
	if got := redirector.requests(); len(got) != 1 || !strings.HasPrefix(got[0], "HEAD ") {
		t.Errorf("redirector saw %v, want the one HEAD", got)
	}
	// A target listed when it was set but no longer: refused at the pass.
	cs.AllowedSyncHosts = []string{hostPort(victim.URL)}
	c.Must(204, "POST", "/v1/AUTH_test/src", "", tok, "X-Container-Sync-To: "+victim.URL+"/v1/AUTH_x/c", "X-Container-Sync-Key: k")
	cs.AllowedSyncHosts = []string{}
	pass("a target unlisted since")
}
