package cli_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ncw/swift/v2"
)

// Two real servers: containers of A with X-Container-Sync-To (a realm
// value, and a full URL with a sync key) pointing at containers of B;
// `swiftbox container-sync --once` makes B hold exactly A's objects with
// the same ETags, timestamps and metadata, deletions included.
func TestContainerSyncBetweenServers(t *testing.T) {
	x := newCSync(t)
	x.seed()
	x.syncOnce("3 containers with sync settings, 2 synced [2 deletes, 7 puts")
	x.checkFirstPass()
	x.deletesOverwritesAndLinks()
	x.postedMetadata()

	// The sync point survives a restart: nothing is sent again.
	x.a.Stop()
	x.syncOnce("0 deletes, 0 puts") // alone, over the stopped server's devices
	x.a.Restart()
	x.syncOnce("0 deletes, 0 puts")

	x.serveDaemonSyncs()
	x.wrongKeysRefused()
}

// cSync is TestContainerSyncBetweenServers' two servers: A's containers
// sync to B's; ca and cb are test:tester's connections to each.
type cSync struct {
	t          *testing.T
	ctx        context.Context
	a, b       *server
	ca, cb     *swift.Connection
	devA, cfgA string
	big        []byte // 3 MiB, streamed
}

// writeCSyncCfg writes the config of server name, whose realm cluster b
// is clusterB.
func writeCSyncCfg(t *testing.T, dir, name, clusterB string) string {
	path := filepath.Join(dir, name+".yaml")
	// The full-URL target is listed explicitly (host:port): nothing
	// else on loopback may be synced to.
	cfg := fmt.Sprintf(`swift_dir: %q
container_sync:
  interval: 3600
  allowed_sync_hosts: [%q]
  realms:
    realm1:
      key: realmsecret
      clusters: {b: %q}
`, filepath.Join(dir, name), strings.TrimSuffix(strings.TrimPrefix(clusterB, "http://"), "/v1/"), clusterB)
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func newCSync(t *testing.T) *cSync {
	dir := t.TempDir()
	x := &cSync{t: t, ctx: context.Background(), big: bytes.Repeat([]byte("0123456789abcdef"), 3<<16)}
	devB := filepath.Join(dir, "b", "node")
	cfgB := writeCSyncCfg(t, dir, "b", "http://127.0.0.1:1/v1/")
	x.b = startServer(t, devB, "--config", cfgB, "--user", "test:tester:testing:.admin")
	x.devA = filepath.Join(dir, "a", "node")
	x.cfgA = writeCSyncCfg(t, dir, "a", x.b.URL+"/v1/")
	x.a = startServer(t, x.devA, "--config", x.cfgA, "--user", "test:tester:testing:.admin")
	x.ca, x.cb = x.a.conn(t, "test:tester", "testing"), x.b.conn(t, "test:tester", "testing")
	return x
}

func (x *cSync) must(err error) {
	x.t.Helper()
	if err != nil {
		x.t.Fatal(err)
	}
}

func (x *cSync) put(c *swift.Connection, cont, name string, body []byte, h swift.Headers) {
	x.t.Helper()
	_, err := c.ObjectPut(x.ctx, cont, name, bytes.NewReader(body), true, "", "text/x-test", h)
	x.must(err)
}

// syncOnce runs `container-sync --once` on A, whose summary must hold want.
func (x *cSync) syncOnce(want string) {
	x.t.Helper()
	out := run(x.t, false, "container-sync", "--once", "--devices", x.devA, "--config", x.cfgA)
	if !strings.Contains(out, want) {
		x.t.Fatalf("container-sync --once: %s\nwant %q", out, want)
	}
}

// compare checks that B's dst lists A's src (but the extra names) and
// that every object of src has the same headers on B.
func (x *cSync) compare(src, dst string, extra ...string) {
	t, ctx, ca, cb, must := x.t, x.ctx, x.ca, x.cb, x.must
	t.Helper()
	la, err := ca.ObjectsAll(ctx, src, nil)
	must(err)
	lb, err := cb.ObjectsAll(ctx, dst, nil)
	must(err)
	var want []string
	for _, o := range la {
		if slices.Contains(extra, o.Name) {
			continue
		}
		want = append(want, fmt.Sprintf("%s %s %d %s", o.Name, o.Hash, o.Bytes, o.ContentType))
	}
	var got []string
	for _, o := range lb {
		if !slices.Contains(extra, o.Name) {
			got = append(got, fmt.Sprintf("%s %s %d %s", o.Name, o.Hash, o.Bytes, o.ContentType))
		}
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("%s → %s:\n got %q\nwant %q", src, dst, got, want)
	}
	for _, o := range la {
		_, ha, err := ca.Object(ctx, src, o.Name)
		must(err)
		_, hb, err := cb.Object(ctx, dst, o.Name)
		must(err)
		for _, k := range []string{"Etag", "Last-Modified", "X-Timestamp", "X-Object-Meta-Color", "Content-Type", "Content-Length"} {
			if ha[k] != hb[k] {
				t.Errorf("%s/%s %s: A %q, B %q", dst, o.Name, k, ha[k], hb[k])
			}
		}
	}
}

// seed makes the containers of both servers (src syncs to dst by realm,
// src2 to dst2 by URL, wrong to other with another key) and A's objects.
func (x *cSync) seed() {
	ctx, ca, cb, must, put, b, big := x.ctx, x.ca, x.cb, x.must, x.put, x.b, x.big
	must(cb.ContainerCreate(ctx, "dst", swift.Headers{"X-Container-Sync-Key": "secret"}))
	must(cb.ContainerCreate(ctx, "dst2", swift.Headers{"X-Container-Sync-Key": "secret2"}))
	must(cb.ContainerCreate(ctx, "other", swift.Headers{"X-Container-Sync-Key": "different"}))
	must(ca.ContainerCreate(ctx, "src", swift.Headers{"X-Container-Sync-To": "//realm1/b/AUTH_test/dst", "X-Container-Sync-Key": "secret"}))
	must(ca.ContainerCreate(ctx, "src2", swift.Headers{"X-Container-Sync-To": b.URL + "/v1/AUTH_test/dst2", "X-Container-Sync-Key": "secret2"}))
	must(ca.ContainerCreate(ctx, "wrong", swift.Headers{"X-Container-Sync-To": "//realm1/b/AUTH_test/other", "X-Container-Sync-Key": "secret"}))

	for _, cont := range []string{"src", "src2", "wrong"} {
		put(ca, cont, "a", []byte("alpha"), swift.Headers{"X-Object-Meta-Color": "red"})
		put(ca, cont, "b b", []byte("beta"), nil)
		put(ca, cont, "dir/ü", big, nil)
		put(ca, cont, "gone", []byte("x"), nil)
		must(ca.ObjectDelete(ctx, cont, "gone"))
	}
	put(ca, "src", "odd//name/../%41 +", []byte("odd"), nil)
	put(cb, "dst", "stale", []byte("old"), nil) // not A's: stays (Swift syncs one way)
}

// checkFirstPass: B holds A's objects (big one included), and nothing
// reached the container with another key.
func (x *cSync) checkFirstPass() {
	t, ctx, cb, compare := x.t, x.ctx, x.cb, x.compare
	compare("src", "dst", "stale")
	compare("src2", "dst2")
	if names, err := cb.ObjectNamesAll(ctx, "other", nil); err != nil || len(names) != 0 {
		t.Fatalf("container with another key got %v %v", names, err)
	}
	body, err := cb.ObjectGetBytes(ctx, "dst", "dir/ü")
	if err != nil || !bytes.Equal(body, x.big) {
		t.Fatalf("big object: %d bytes, %v", len(body), err)
	}
}

// deletesOverwritesAndLinks: deletes and overwrites propagate; a second
// pass sends only those, and a new synced container. An SLO manifest and
// symlinks are synced as stored: on B they resolve through B's copies of
// the segments.
func (x *cSync) deletesOverwritesAndLinks() {
	t, ctx, a, b, ca, cb, must, put, compare := x.t, x.ctx, x.a, x.b, x.ca, x.cb, x.must, x.put, x.compare
	must(ca.ObjectDelete(ctx, "src", "a"))
	put(ca, "src", "b b", []byte("beta 2"), nil)
	must(cb.ContainerCreate(ctx, "segs", swift.Headers{"X-Container-Sync-Key": "segkey"}))
	must(ca.ContainerCreate(ctx, "segs", swift.Headers{"X-Container-Sync-To": b.URL + "/v1/AUTH_test/segs", "X-Container-Sync-Key": "segkey"}))
	put(ca, "segs", "s1", []byte("first segment "), nil)
	put(ca, "segs", "s2", []byte("second segment"), nil)
	_, hs1, err := ca.Object(ctx, "segs", "s1")
	must(err)
	manifest := `[{"path":"segs/s1"},{"path":"segs/s2"}]`
	req, _ := http.NewRequest("PUT", a.URL+"/v1/AUTH_test/src/slo?multipart-manifest=put", strings.NewReader(manifest))
	req.Header.Set("X-Auth-Token", ca.AuthToken)
	resp, err := http.DefaultClient.Do(req)
	must(err)
	resp.Body.Close()
	if resp.StatusCode != 201 {
		t.Fatalf("SLO PUT: %d", resp.StatusCode)
	}
	put(ca, "src", "link", nil, swift.Headers{"X-Symlink-Target": "segs/s1"})
	put(ca, "src", "static", nil, swift.Headers{"X-Symlink-Target": "segs/s1", "X-Symlink-Target-Etag": hs1["Etag"]})
	x.syncOnce("[1 deletes, 6 puts")
	compare("src", "dst", "stale", "slo")
	compare("segs", "segs")
	for name, want := range map[string]string{"slo": "first segment second segment", "link": "first segment ", "static": "first segment "} {
		got, err := cb.ObjectGetBytes(ctx, "dst", name)
		if err != nil || string(got) != want {
			t.Errorf("B's %s: %q %v, want %q", name, got, err, want)
		}
	}
	_, ha, err := ca.Object(ctx, "src", "slo")
	must(err)
	_, hb, err := cb.Object(ctx, "dst", "slo")
	must(err)
	if ha["Etag"] != hb["Etag"] || ha["X-Static-Large-Object"] != hb["X-Static-Large-Object"] || ha["Last-Modified"] != hb["Last-Modified"] {
		t.Errorf("SLO headers: A %v\nB %v", ha, hb)
	}
}

// postedMetadata: a metadata change (POST) is sent again as a PUT with
// the new metadata.
func (x *cSync) postedMetadata() {
	t, ctx, ca, cb, must := x.t, x.ctx, x.ca, x.cb, x.must
	must(ca.ObjectUpdate(ctx, "src", "b b", swift.Headers{"X-Object-Meta-Color": "blue"}))
	x.syncOnce("[0 deletes, 1 puts")
	x.compare("src", "dst", "stale", "slo")
	if _, hb, err := cb.Object(ctx, "dst", "b b"); err != nil || hb["X-Object-Meta-Color"] != "blue" {
		t.Fatalf("POSTed metadata on B: %v %v", hb, err)
	}
}

// serveDaemonSyncs: serve's own daemon syncs every
// container_sync.interval seconds.
func (x *cSync) serveDaemonSyncs() {
	t, ctx, a, cb, must, cfgA := x.t, x.ctx, x.a, x.cb, x.must, x.cfgA
	must(os.WriteFile(cfgA, bytes.Replace(must2(os.ReadFile(cfgA)), []byte("interval: 3600"), []byte("interval: 1"), 1), 0o600))
	a.Restart()
	x.ca = a.conn(t, "test:tester", "testing")
	x.put(x.ca, "src", "by-daemon", []byte("late"), nil)
	deadline := time.Now().Add(20 * time.Second)
	for {
		if _, _, err := cb.Object(ctx, "dst", "by-daemon"); err == nil {
			// and in B's listing (container updates land a moment later)
			if names, err := cb.ObjectNamesAll(ctx, "dst", nil); err == nil && slices.Contains(names, "by-daemon") {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve's container-sync did not send by-daemon:\n%s", a.Output())
		}
		time.Sleep(200 * time.Millisecond)
	}
	x.compare("src", "dst", "stale", "slo")
}

// wrongKeysRefused: a wrong key is refused, 401 without a token.
func (x *cSync) wrongKeysRefused() {
	t, b, must := x.t, x.b, x.must
	req, _ := http.NewRequest("PUT", b.URL+"/v1/AUTH_test/dst2/x", strings.NewReader("x"))
	req.Header.Set("X-Container-Sync-Key", "nope")
	req.Header.Set("X-Timestamp", "1500000000.00000")
	resp, err := http.DefaultClient.Do(req)
	must(err)
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Fatalf("wrong sync key: %d", resp.StatusCode)
	}
	req, _ = http.NewRequest("PUT", b.URL+"/v1/AUTH_test/dst/x", strings.NewReader("x"))
	req.Header.Set("X-Container-Sync-Auth", "realm1 nonce 0123")
	resp, err = http.DefaultClient.Do(req)
	must(err)
	msg, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 401 || !strings.Contains(string(msg), "X-Container-Sync-Auth header not valid") {
		t.Fatalf("bad signature: %d %s", resp.StatusCode, msg)
	}
}

func must2[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
