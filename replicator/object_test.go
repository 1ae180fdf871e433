package replicator

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"swiftbox/ring"
	"swiftbox/storage"
	"swiftbox/storage/timestamp"
)

// cluster is an object store over n device dirs and a 3-replica ring.
type cluster struct {
	t     *testing.T
	dir   string
	store *storage.ObjectStore
	ring  *ring.Ring
	devs  []string
	repl  *Objects
}

func newCluster(t *testing.T, n int) *cluster {
	t.Helper()
	dir := t.TempDir()
	var devs []ring.Device
	var names []string
	for i := 1; i <= n; i++ {
		name := fmt.Sprintf("d%d", i)
		if err := os.Mkdir(filepath.Join(dir, name), 0o755); err != nil {
			t.Fatal(err)
		}
		names = append(names, name)
		devs = append(devs, ring.Device{Region: 1, Zone: i, IP: "127.0.0.1", Port: 6200, Device: name, Weight: 100})
	}
	b, err := ring.BuildFor(devs, 3, 4)
	if err != nil {
		t.Fatal(err)
	}
	c := &cluster{t: t, dir: dir, ring: b.Ring(), devs: names,
		store: storage.NewObjectStore(storage.ObjectStoreConfig{DevicesDir: dir, HashSuffix: "test", DeviceCacheTTL: -1})}
	c.repl = &Objects{Store: c.store, Ring: func() *ring.Ring { return c.ring },
		Local: func(*ring.Device) bool { return true }, Devices: func() []string { return c.devs }, Concurrency: 2}
	t.Cleanup(func() { c.store.Close() })
	return c
}

func (c *cluster) place(obj string) (int, []string) {
	h := ring.HashPath("", "test", "a", "c", obj)
	part := c.ring.Partition(h)
	var out []string
	for _, d := range c.ring.PrimaryNodes(part) {
		out = append(out, d.Device)
	}
	return part, out
}

func (c *cluster) put(dev string, part int, obj string, ts timestamp.Timestamp, body []byte) {
	c.t.Helper()
	w, err := c.store.NewWriter(dev, part, "a", "c", obj, ts, int64(len(body)))
	if err != nil {
		c.t.Fatal(err)
	}
	w.Write(body)
	if err := w.Commit(map[string]string{"Content-Type": "text/plain", "ETag": w.ETag(), "X-Object-Meta-Color": "blue"}); err != nil {
		c.t.Fatal(err)
	}
}

// read returns the body on dev, or an error (storage.ErrNotFound if absent).
func (c *cluster) read(dev string, part int, obj string) ([]byte, error) {
	r, err := c.store.Open(dev, part, "a", "c", obj)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	if r.Metadata()["X-Object-Meta-Color"] != "blue" {
		return nil, fmt.Errorf("metadata lost: %v", r.Metadata())
	}
	return io.ReadAll(r.VerifyingReader())
}

func TestReplicatePushesMissingReplica(t *testing.T) {
	c := newCluster(t, 3)
	var objs []string
	for i := range 40 {
		objs = append(objs, fmt.Sprintf("obj-%d", i))
	}
	now := timestamp.Now()
	for _, o := range objs {
		part, prim := c.place(o)
		c.put(prim[0], part, o, now, []byte("body of "+o))
	}
	st := c.repl.RunOnce(context.Background())
	if st.Failures != 0 || st.Files != 2*len(objs) {
		t.Fatalf("pass %+v, want %d files copied and no failures", st, 2*len(objs))
	}
	for _, o := range objs {
		part, prim := c.place(o)
		for _, d := range prim {
			got, err := c.read(d, part, o)
			if err != nil || string(got) != "body of "+o {
				t.Fatalf("%s on %s: %q %v", o, d, got, err)
			}
		}
	}
	// A second pass finds nothing to do.
	if st := c.repl.RunOnce(context.Background()); st.Files != 0 || st.SuffixesSynced != 0 {
		t.Fatalf("second pass copied: %+v", st)
	}
}

func TestReplicateSpreadsTombstones(t *testing.T) {
	c := newCluster(t, 3)
	part, prim := c.place("gone")
	old := timestamp.FromTime(time.Now().Add(-time.Minute))
	for _, d := range prim {
		c.put(d, part, "gone", old, []byte("old"))
	}
	// The DELETE reached only one replica (the others were down).
	if err := c.store.Delete(prim[0], part, "a", "c", "gone", timestamp.Now(), nil); err != nil {
		t.Fatal(err)
	}
	c.repl.RunOnce(context.Background())
	for _, d := range prim {
		if _, err := c.read(d, part, "gone"); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("%s: deleted object resurrected or wrong error: %v", d, err)
		}
	}
}

func TestReplicateNewerDataWins(t *testing.T) {
	c := newCluster(t, 3)
	part, prim := c.place("o")
	t1 := timestamp.FromTime(time.Now().Add(-time.Minute))
	t2 := timestamp.Now()
	c.put(prim[0], part, "o", t1, []byte("v1"))
	c.put(prim[1], part, "o", t2, []byte("v2"))
	c.put(prim[2], part, "o", t1, []byte("v1"))
	c.repl.RunOnce(context.Background())
	for _, d := range prim {
		got, err := c.read(d, part, "o")
		if err != nil || string(got) != "v2" {
			t.Fatalf("%s: %q %v, want v2", d, got, err)
		}
	}
}

func TestReplicateHandoffGoesHome(t *testing.T) {
	c := newCluster(t, 5)
	part, prim := c.place("o")
	var handoff string
	for h := range c.ring.Handoffs(part) {
		handoff = h.Device
		break
	}
	body := bytes.Repeat([]byte("x"), 2<<20) // large-object path
	c.put(handoff, part, "o", timestamp.Now(), body)
	st := c.repl.RunOnce(context.Background())
	if st.Removed != 1 {
		t.Fatalf("pass %+v: handoff partition not removed", st)
	}
	for _, d := range prim {
		got, err := c.read(d, part, "o")
		if err != nil || !bytes.Equal(got, body) {
			t.Fatalf("%s: %d bytes, %v", d, len(got), err)
		}
	}
	if _, err := os.Stat(filepath.Join(c.dir, handoff, "objects", fmt.Sprint(part))); !os.IsNotExist(err) {
		t.Fatalf("handoff partition dir still there: %v", err)
	}
}

func TestReplicateDownPrimaryUsesHandoff(t *testing.T) {
	c := newCluster(t, 4)
	part, prim := c.place("o")
	c.put(prim[0], part, "o", timestamp.Now(), []byte("data"))
	// prim[2] is gone: its replica goes to the first handoff instead.
	if err := os.Rename(filepath.Join(c.dir, prim[2]), filepath.Join(c.dir, ".away")); err != nil {
		t.Fatal(err)
	}
	c.repl.RunOnce(context.Background())
	var handoff string
	for h := range c.ring.Handoffs(part) {
		handoff = h.Device
		break
	}
	for _, d := range []string{prim[1], handoff} {
		if got, err := c.read(d, part, "o"); err != nil || string(got) != "data" {
			t.Fatalf("%s: %q %v", d, got, err)
		}
	}
	// It comes back: the handoff copy goes home and is removed.
	if err := os.Rename(filepath.Join(c.dir, ".away"), filepath.Join(c.dir, prim[2])); err != nil {
		t.Fatal(err)
	}
	c.repl.RunOnce(context.Background())
	if got, err := c.read(prim[2], part, "o"); err != nil || string(got) != "data" {
		t.Fatalf("returned primary: %q %v", got, err)
	}
	if _, err := os.Stat(filepath.Join(c.dir, handoff, "objects", fmt.Sprint(part))); !os.IsNotExist(err) {
		t.Fatalf("handoff copy kept after the primary returned: %v", err)
	}
}

func TestRateLimiter(t *testing.T) {
	var last time.Duration
	l := NewRateLimiter(1000)
	l.sleep = func(d time.Duration) { last = d }
	for range 10 {
		l.Wait(500)
	}
	// 5000 units at 1000/s in a burst: the last waits until 4.5 s from
	// the start (the first goes at once).
	if last < 4400*time.Millisecond || last > 4500*time.Millisecond {
		t.Fatalf("last wait %v", last)
	}
	var nl *RateLimiter
	nl.Wait(10) // nil is unlimited
}
