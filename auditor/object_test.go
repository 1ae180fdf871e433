package auditor

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"

	"swiftbox/replicator"
	"swiftbox/ring"
	"swiftbox/storage"
	"swiftbox/storage/timestamp"
)

// Corrupt, truncate and delete .data files on one device: one audit pass
// quarantines the bad ones, one replication pass restores every copy, and
// no read ever returns bad bytes.
func TestAuditThenReplicateRepairs(t *testing.T) {
	dir := t.TempDir()
	var devs []ring.Device
	names := []string{"d1", "d2", "d3"}
	for i, n := range names {
		os.Mkdir(filepath.Join(dir, n), 0o755)
		devs = append(devs, ring.Device{Region: 1, Zone: i + 1, IP: "127.0.0.1", Port: 6200, Device: n, Weight: 100})
	}
	b, err := ring.BuildFor(devs, 3, 3)
	if err != nil {
		t.Fatal(err)
	}
	r := b.Ring()
	store := storage.NewObjectStore(storage.ObjectStoreConfig{DevicesDir: dir, HashSuffix: "t", DeviceCacheTTL: -1})
	defer store.Close()
	bodies := map[string][]byte{}
	parts := map[string]int{}
	for i := range 30 {
		o := fmt.Sprintf("o%d", i)
		body := bytes.Repeat([]byte{byte('a' + i%26)}, 1000+i*100)
		if i%10 == 0 {
			body = nil // zero-byte objects too
		}
		part := r.Partition(ring.HashPath("", "t", "a", "c", o))
		ts := timestamp.Now()
		for _, n := range names {
			w, err := store.NewWriter(n, part, "a", "c", o, ts, int64(len(body)))
			if err != nil {
				t.Fatal(err)
			}
			w.Write(body)
			if err := w.Commit(map[string]string{"Content-Type": "x/y", "ETag": w.ETag()}); err != nil {
				t.Fatal(err)
			}
		}
		bodies[o], parts[o] = body, part
	}
	// Damage d2: flip a byte, truncate, delete.
	dataOf := func(o string) string {
		hd := store.HashDir("d2", parts[o], "a", "c", o)
		m, _ := filepath.Glob(filepath.Join(hd, "*.data"))
		return m[0]
	}
	flip := []string{"o1", "o2", "o3"}
	for _, o := range flip {
		p := dataOf(o)
		f, _ := os.OpenFile(p, os.O_RDWR, 0)
		f.WriteAt([]byte{'!'}, 5)
		f.Close()
	}
	os.Truncate(dataOf("o4"), 10)
	os.Remove(dataOf("o5"))
	os.Remove(dataOf("o6"))

	a := &Objects{Store: store, Devices: func() []string { return names }}
	st := a.RunOnce(context.Background(), false)
	if st.Quarantined != 4 {
		t.Fatalf("audit %+v: want 4 quarantined (3 flipped, 1 truncated)", st)
	}
	if n := store.QuarantinedCount("d2"); n != 4 {
		t.Fatalf("%d in d2's quarantine", n)
	}
	rep := &replicator.Objects{Store: store, Ring: func() *ring.Ring { return r },
		Local: func(*ring.Device) bool { return true }, Devices: func() []string { return names }, Concurrency: 1}
	rs := rep.RunOnce(context.Background())
	if rs.Files != 6 {
		t.Fatalf("replication %+v: want the 6 damaged copies restored", rs)
	}
	for o, body := range bodies {
		for _, n := range names {
			rd, err := store.Open(n, parts[o], "a", "c", o)
			if err != nil {
				t.Fatalf("%s on %s: %v", o, n, err)
			}
			got, err := io.ReadAll(rd.VerifyingReader())
			rd.Close()
			if err != nil || !bytes.Equal(got, body) {
				t.Fatalf("%s on %s: %d bytes %v", o, n, len(got), err)
			}
		}
	}
	// A clean second audit quarantines nothing.
	if st := a.RunOnce(context.Background(), false); st.Quarantined != 0 || st.Files != 90 {
		t.Fatalf("second audit %+v", st)
	}
	if st := a.RunOnce(context.Background(), true); st.Quarantined != 0 || st.Bytes != 0 {
		t.Fatalf("zero-byte pass %+v", st)
	}
}
