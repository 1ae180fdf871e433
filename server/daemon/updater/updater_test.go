package updater_test

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"swiftbox/server/backend"
	"swiftbox/server/daemon/updater"
	"swiftbox/server/servertest"
	"swiftbox/storage"
	"swiftbox/storage/db"
	"swiftbox/storage/storagetest"
	"swiftbox/storage/timestamp"
)

// killPoint stops an object store's commit for good at one moment, as a
// kill -9 would: before the rename of the object's file (the file never
// lands) or at the first disk operation after it outside the object's
// lock (it landed, nothing after it ran). What the commit wrote until then stays on disk.
type killPoint struct {
	mu      sync.Mutex
	ext     string // the file being committed: ".data", ".ts" or ".meta"
	after   bool   // stop after its rename rather than at it
	renamed bool
	reached chan struct{}
	release chan struct{}
}

func (k *killPoint) inject(op storagetest.Op, path string) error {
	k.mu.Lock()
	stop := false
	switch {
	case k.ext == "":
	case op == storagetest.OpRename && strings.HasSuffix(path, k.ext):
		if k.after {
			k.renamed = true
		} else {
			stop = true
		}
	case k.renamed && op != storagetest.OpRemove:
		// Past the rename's stale-sidecar removal, which runs under the
		// object's lock (a killed process holds no lock).
		stop = true
	}
	if stop {
		k.ext, k.renamed = "", false
	}
	k.mu.Unlock()
	if !stop {
		return nil
	}
	k.reached <- struct{}{}
	<-k.release // the "killed" commit never goes on while the test runs
	return io.ErrClosedPipe
}

// crashes runs commits that a kill stops at a kill point. Each runs in an
// object store (a process) of its own: a store whose group flush the
// kill stops does not hold up the next one.
type crashes struct {
	t       *testing.T
	devices string
	kp      *killPoint
	killed  sync.WaitGroup
}

func newCrashes(t *testing.T, devices string) *crashes {
	cr := &crashes{t: t, devices: devices, kp: &killPoint{reached: make(chan struct{}), release: make(chan struct{})}}
	t.Cleanup(func() { close(cr.kp.release); cr.killed.Wait() })
	return cr
}

// run runs op in a commit of a file ending in ext that is stopped at the
// kill point (after its rename, with after).
func (cr *crashes) run(ext string, after bool, op func(faulty *storage.ObjectStore) error) {
	cr.t.Helper()
	kp := cr.kp
	kp.mu.Lock()
	kp.ext, kp.after = ext, after
	kp.mu.Unlock()
	fs := storagetest.NewFaultFS(nil)
	fs.Inject = kp.inject
	faulty := storage.NewObjectStore(storage.ObjectStoreConfig{DevicesDir: cr.devices, HashSuffix: "test", FS: fs})
	cr.killed.Add(1)
	go func() { defer cr.killed.Done(); op(faulty) }()
	select {
	case <-kp.reached:
	case <-time.After(10 * time.Second):
		cr.t.Fatalf("the commit of a %s never reached its kill point", ext)
	}
}

// A container update is journalled before its object's file lands, and a
// replay after a crash sends what the disk holds: whichever side of the
// rename a kill falls on, the listing ends up equal to the disk — an
// object that landed is listed with its own etag, size and timestamp, one
// that never landed leaves no ghost row and does not replace the
// previous version, for PUT, overwrite, DELETE and POST.
func TestReplayAfterKillListsWhatTheDiskHolds(t *testing.T) {
	c := servertest.Start(t, servertest.Options{})
	cfg := storage.ObjectStoreConfig{DevicesDir: c.Devices, HashSuffix: "test"}
	kill := newCrashes(t, c.Devices).run
	c.Must(201, "PUT", "/v1/AUTH_test/c", "")
	const a, cont = "AUTH_test", "c"
	place := func(o string) (string, int) {
		part, prim := c.Proxy.Cluster().ObjectNodes(0, a, cont, o)
		return prim[0].Device, part
	}
	put := func(o, body string, after bool) {
		dev, part := place(o)
		kill(".data", after, func(faulty *storage.ObjectStore) error {
			w, err := faulty.NewWriter(dev, part, a, cont, o, timestamp.Now(), int64(len(body)))
			if err != nil {
				return err
			}
			w.Write([]byte(body))
			row := db.ObjectRow{Name: o, Timestamp: w.Timestamp(), Size: int64(len(body)), ContentType: "text/new", ETag: md5hex(body)}
			ap := backend.AsyncPendingFor(a, cont, o, row)
			_, err = w.CommitWithUpdate(map[string]string{"Content-Type": "text/new"}, &ap)
			return err
		})
	}
	del := func(o string, after bool) {
		dev, part := place(o)
		kill(".ts", after, func(faulty *storage.ObjectStore) error {
			ts := timestamp.Now()
			ap := backend.AsyncPendingFor(a, cont, o, db.ObjectRow{Name: o, Timestamp: ts, Deleted: true})
			var ref storage.JournalRef
			return faulty.DeleteWithUpdate(dev, part, a, cont, o, ts, nil, &ap, &ref)
		})
	}
	post := func(o, old string, after bool) {
		dev, part := place(o)
		kill(".meta", after, func(faulty *storage.ObjectStore) error {
			r, err := faulty.Open(dev, part, a, cont, o)
			if err != nil {
				return err
			}
			dataTS := r.Timestamp()
			r.Close()
			ts := timestamp.Now()
			row := db.ObjectRow{Name: o, Timestamp: dataTS, Size: int64(len(old)), ContentType: "text/posted",
				ETag: md5hex(old), MetaTimestamp: ts, CtypeTimestamp: ts}
			ap := backend.AsyncPendingFor(a, cont, o, row)
			var ref storage.JournalRef
			return faulty.PostWithUpdate(dev, part, a, cont, o, ts, map[string]string{"Content-Type": "text/posted"}, &ap, &ref)
		})
	}
	for _, o := range []string{"over-landed", "over-lost", "del-landed", "del-lost", "post-landed", "post-lost"} {
		c.Must(201, "PUT", "/v1/AUTH_test/c/"+o, "v1 of "+o, "Content-Type: text/old")
	}
	c.Must(200, "GET", "/v1/AUTH_test/c", "") // the live updates are applied

	put("new-landed", "new body", true)
	put("ghost", "never landed", false)
	put("over-landed", "v2 landed", true)
	put("over-lost", "v2 never landed", false)
	del("del-landed", true)
	del("del-lost", false)
	post("post-landed", "v1 of post-landed", true)
	post("post-lost", "v1 of post-lost", false)

	// The restart: a fresh store replays the journals.
	restarted := storage.NewObjectStore(cfg)
	u := &updater.Updater{Cluster: c.Proxy.Cluster(), Objects: restarted, Devices: func() []string { return []string{"d1", "d2", "d3"} },
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if n := u.ReplayJournals(context.Background()); n == 0 {
		t.Fatal("nothing replayed")
	}

	got := listing(t, c)
	want := map[string]string{
		"new-landed":  md5hex("new body") + " text/new",
		"over-landed": md5hex("v2 landed") + " text/new",
		"over-lost":   md5hex("v1 of over-lost") + " text/old",
		"del-lost":    md5hex("v1 of del-lost") + " text/old",
		"post-landed": md5hex("v1 of post-landed") + " text/posted",
		"post-lost":   md5hex("v1 of post-lost") + " text/old",
	}
	for name, w := range want {
		if got[name] != w {
			t.Errorf("%s listed as %q, the disk holds %q", name, got[name], w)
		}
	}
	for name := range got {
		if _, ok := want[name]; !ok {
			t.Errorf("%s listed, but no device holds it", name)
		}
	}
}

// listing is container AUTH_test/c's listing: each name's etag and
// content type.
func listing(t *testing.T, c *servertest.Cluster) map[string]string {
	return listed(t, c, func(e map[string]any) string { return e["hash"].(string) + " " + e["content_type"].(string) })
}

// listedHashes is container AUTH_test/c's listing: each name's etag.
func listedHashes(t *testing.T, c *servertest.Cluster) map[string]string {
	return listed(t, c, func(e map[string]any) string { return e["hash"].(string) })
}

// listed maps each name of container AUTH_test/c's JSON listing to what
// field makes of its row.
func listed(t *testing.T, c *servertest.Cluster, field func(map[string]any) string) map[string]string {
	t.Helper()
	_, body := c.Must(200, "GET", "/v1/AUTH_test/c?format=json", "")
	var raw []map[string]any
	if err := json.Unmarshal([]byte(body), &raw); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, e := range raw {
		got[e["name"].(string)] = field(e)
	}
	return got
}

// The updater's reconciler finds listing rows behind the disk — an
// overwrite, a delete and a new object whose updates never reached the
// container — and sends what the disk holds; rows that agree are left
// alone.
func TestReconcileListingWithDisk(t *testing.T) {
	c := servertest.Start(t, servertest.Options{})
	c.Must(201, "PUT", "/v1/AUTH_test/c", "")
	for _, o := range []string{"same", "overwritten", "deleted"} {
		c.Must(201, "PUT", "/v1/AUTH_test/c/"+o, "v1 of "+o)
	}
	c.Must(200, "GET", "/v1/AUTH_test/c", "")
	// Written behind the listing's back, on every replica.
	store := storage.NewObjectStore(storage.ObjectStoreConfig{DevicesDir: c.Devices, HashSuffix: "test"})
	for _, o := range []string{"overwritten", "unlisted", "deleted"} {
		part, primaries := c.Proxy.Cluster().ObjectNodes(0, "AUTH_test", "c", o)
		ts := timestamp.Now()
		for _, n := range primaries {
			if o == "deleted" {
				if err := store.Delete(n.Device, part, "AUTH_test", "c", o, ts, nil); err != nil {
					t.Fatal(err)
				}
				continue
			}
			body := "v2 of " + o
			w, err := store.NewWriter(n.Device, part, "AUTH_test", "c", o, ts, int64(len(body)))
			if err != nil {
				t.Fatal(err)
			}
			w.Write([]byte(body))
			if err := w.Commit(map[string]string{"Content-Type": "text/v2"}); err != nil {
				t.Fatal(err)
			}
		}
	}
	want := map[string]string{"same": md5hex("v1 of same"), "overwritten": md5hex("v2 of overwritten"), "unlisted": md5hex("v2 of unlisted")}
	u := &updater.Updater{Cluster: c.Proxy.Cluster(), Objects: store, Devices: func() []string { return []string{"d1", "d2", "d3"} },
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	st := u.RunOnce(context.Background())
	got := listedHashes(t, c)
	for name, w := range want {
		if got[name] != w {
			t.Errorf("after a pass %s is listed as %q, the disk holds %q", name, got[name], w)
		}
	}
	if _, ok := got["deleted"]; ok {
		t.Error("after a pass the deleted object is still listed")
	}
	if st.Reconciled != 3 {
		t.Errorf("%d rows reconciled, want 3 (one per object behind)", st.Reconciled)
	}
	// The next sweep looks only at what changed since: nothing to send.
	for range 4 {
		if st := u.RunOnce(context.Background()); st.Reconciled != 0 {
			t.Errorf("a later pass reconciled %d rows of a listing that agrees", st.Reconciled)
		}
	}
	// A restarted updater resumes from the sweep recorded on the devices
	// instead of comparing every object again.
	restarted := &updater.Updater{Cluster: c.Proxy.Cluster(), Objects: storage.NewObjectStore(storage.ObjectStoreConfig{DevicesDir: c.Devices, HashSuffix: "test"}),
		Devices: u.Devices, Log: u.Log}
	backdate := time.Now().Add(-time.Hour)
	for _, d := range []string{"d1", "d2", "d3"} {
		// As if the sweep that recorded it had run an hour ago, before
		// every write of this test but the next one.
		if err := restarted.Objects.SetReconciledSince(d, backdate.Add(30*time.Minute)); err != nil {
			t.Fatal(err)
		}
		hashDirs, _ := filepath.Glob(filepath.Join(c.Devices, d, "objects", "*", "*", "*"))
		for _, hd := range hashDirs {
			os.Chtimes(hd, backdate, backdate)
		}
	}
	c.Must(201, "PUT", "/v1/AUTH_test/c/later", "after the restart")
	if st := restarted.RunOnce(context.Background()); st.Checked != 3 || st.Reconciled != 0 {
		t.Errorf("after a restart the first pass checked %d objects and reconciled %d, want the 3 replicas of the one written since (0 behind)",
			st.Checked, st.Reconciled)
	}
}

// The updater, reconciler included, run back to back beside overwrite and
// delete load never leaves a listing behind or ahead of the disk: after
// the load, every row equals the newest replica and deleted objects are
// absent.
func TestUpdaterUnderWriteLoad(t *testing.T) {
	t.Parallel()
	c := servertest.Start(t, servertest.Options{})
	c.Must(201, "PUT", "/v1/AUTH_test/c", "")
	store := storage.NewObjectStore(storage.ObjectStoreConfig{DevicesDir: c.Devices, HashSuffix: "test"})
	u := &updater.Updater{Cluster: c.Proxy.Cluster(), Objects: store, Devices: func() []string { return []string{"d1", "d2", "d3"} },
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	stop := make(chan struct{})
	var daemon sync.WaitGroup
	daemon.Add(1)
	passes := 0
	go func() {
		defer daemon.Done()
		for {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
			u.RunOnce(context.Background())
			passes++
		}
	}()
	var load sync.WaitGroup
	deadline := time.Now().Add(1500 * time.Millisecond)
	for w := range 4 {
		load.Add(1)
		go func() {
			defer load.Done()
			for i := 0; time.Now().Before(deadline); i++ {
				name := fmt.Sprintf("/v1/AUTH_test/c/o%d", (w*7+i)%10)
				if i%3 == 2 {
					c.Do("DELETE", name, "")
				} else {
					c.Do("PUT", name, fmt.Sprintf("w%d i%d", w, i))
				}
			}
		}()
	}
	load.Wait()
	close(stop)
	daemon.Wait()
	u.RunOnce(context.Background())

	listedNow := listedHashes(t, c)
	for i := range 10 {
		o := fmt.Sprintf("o%d", i)
		part, primaries := c.Proxy.Cluster().ObjectNodes(0, "AUTH_test", "c", o)
		var newest db.ObjectRow
		for _, n := range primaries {
			row, ok, err := backend.RowOnDisk(store, n.Device, part, "AUTH_test", "c", o)
			if err != nil {
				t.Fatal(err)
			}
			if ok && row.Timestamp.After(newest.Timestamp) {
				newest = row
			}
		}
		switch {
		case newest.Timestamp.IsZero() || newest.Deleted:
			if h, ok := listedNow[o]; ok {
				t.Errorf("%s is listed (%s) but deleted on disk", o, h)
			}
		case listedNow[o] != newest.ETag:
			t.Errorf("%s is listed as %q, the newest replica is %q", o, listedNow[o], newest.ETag)
		}
	}
	t.Logf("%d updater passes beside the load", passes)
}

// A kill -9 leaves the journal's current segment behind: up to 8 MiB of
// records, nearly all applied long before. Serving waits for the replay,
// so it must not cost a database commit per record: 3,000 records
// (500 objects, each written twice, on 3 devices) replay in a few
// transactions, and the listing equals the disk afterwards.
func TestReplayOfALargeJournalIsQuick(t *testing.T) {
	c := servertest.Start(t, servertest.Options{})
	c.Must(201, "PUT", "/v1/AUTH_test/c", "")
	const objects, clients = 500, 16
	var wg sync.WaitGroup
	for w := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < objects; i += clients {
				for v := range 2 {
					c.Must(201, "PUT", fmt.Sprintf("/v1/AUTH_test/c/o%d", i), fmt.Sprintf("v%d of %d", v, i))
				}
			}
		}()
	}
	wg.Wait()
	c.Must(200, "GET", "/v1/AUTH_test/c", "") // every update applied
	restarted := storage.NewObjectStore(storage.ObjectStoreConfig{DevicesDir: c.Devices, HashSuffix: "test"})
	u := &updater.Updater{Cluster: c.Proxy.Cluster(), Objects: restarted, Devices: func() []string { return []string{"d1", "d2", "d3"} },
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	start, commits := time.Now(), c.DBs.Commits()
	n := u.ReplayJournals(context.Background())
	took, commits := time.Since(start), c.DBs.Commits()-commits
	t.Logf("replayed %d records in %v, %d database commits", n, took, commits)
	if n != 3*2*objects {
		t.Fatalf("replayed %d records, want %d", n, 3*2*objects)
	}
	// One transaction per container replica and journal segment: 3 × 3.
	if commits > 30 {
		t.Errorf("replay of %d records made %d database commits", n, commits)
	}
	_, body := c.Must(200, "GET", "/v1/AUTH_test/c?format=json", "")
	var rows []map[string]any
	if err := json.Unmarshal([]byte(body), &rows); err != nil {
		t.Fatal(err)
	}
	if len(rows) != objects {
		t.Fatalf("%d rows listed, want %d", len(rows), objects)
	}
	for _, r := range rows {
		var i int
		fmt.Sscanf(r["name"].(string), "o%d", &i)
		if r["hash"] != md5hex(fmt.Sprintf("v1 of %d", i)) {
			t.Errorf("%s listed with %v, the disk holds v1", r["name"], r["hash"])
		}
	}
}

func md5hex(s string) string {
	h := md5.Sum([]byte(s))
	return hex.EncodeToString(h[:])
}

// A pass whose context has ended applies nothing (serve's shutdown stops
// it); the next pass applies what it left.
func TestUpdaterStopsWithItsContext(t *testing.T) {
	c := servertest.Start(t, servertest.Options{})
	c.Must(201, "PUT", "/v1/AUTH_test/c", "")
	store := storage.NewObjectStore(storage.ObjectStoreConfig{DevicesDir: c.Devices, HashSuffix: "test"})
	row := db.ObjectRow{Name: "pending", Timestamp: timestamp.Now(), Size: 1, ContentType: "text/plain", ETag: md5hex("x")}
	if err := store.WriteAsyncPending("d1", backend.AsyncPendingFor("AUTH_test", "c", "pending", row)); err != nil {
		t.Fatal(err)
	}
	u := &updater.Updater{Cluster: c.Proxy.Cluster(), Objects: store, Devices: func() []string { return []string{"d1", "d2", "d3"} },
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if st := u.RunOnce(ctx); st.Applied+st.Failed+st.Reconciled != 0 {
		t.Fatalf("a cancelled pass did work: %+v", st)
	}
	if resp, body := c.Do("GET", "/v1/AUTH_test/c", ""); resp.StatusCode != 204 || body != "" {
		t.Fatalf("listed before the pass: %d %q", resp.StatusCode, body)
	}
	if st := u.RunOnce(context.Background()); st.Applied != 1 {
		t.Fatalf("pass: %+v", st)
	}
	if _, body := c.Must(200, "GET", "/v1/AUTH_test/c", ""); body != "pending\n" {
		t.Fatalf("listed after the pass: %q", body)
	}
}
