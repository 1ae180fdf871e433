package auditor

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"swiftbox/replicator"
	"swiftbox/ring"
	"swiftbox/storage/db"
	"swiftbox/storage/timestamp"
)

// A corrupt database replica is quarantined when another replica is good
// and the replicator then restores it; when every replica is corrupt none
// is quarantined (each is the last copy) and each is counted as kept.
func TestDatabaseAuditorKeepsLastReplica(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	var devs []ring.Device
	var names []string
	for i := 1; i <= 3; i++ {
		name := fmt.Sprintf("d%d", i)
		if err := os.Mkdir(filepath.Join(dir, name), 0o755); err != nil {
			t.Fatal(err)
		}
		names = append(names, name)
		devs = append(devs, ring.Device{Region: 1, Zone: i, IP: "127.0.0.1", Port: 6201, Device: name, Weight: 100})
	}
	b, err := ring.BuildFor(devs, 3, 4)
	if err != nil {
		t.Fatal(err)
	}
	r := b.Ring()
	store := db.Open(db.Config{DevicesDir: dir, HashSuffix: "test"})
	t.Cleanup(func() { store.Close() })
	local := func(*ring.Device) bool { return true }
	quiet := slog.New(slog.DiscardHandler)
	aud := &Databases{Kind: db.KindContainers, Store: store, Devices: func() []string { return names },
		Ring: func() *ring.Ring { return r }, Local: local, Log: quiet}
	rep := &replicator.Databases{Kind: db.KindContainers, Store: store, Ring: func() *ring.Ring { return r },
		Local: local, Devices: func() []string { return names }, ReclaimAge: time.Hour, Log: quiet}

	part := r.Partition(ring.HashPath("", "test", "AUTH_a", "c", ""))
	prim := r.PrimaryNodes(part)
	now := timestamp.Now()
	for _, n := range prim {
		if _, err := store.CreateContainer(n.Device, part, "AUTH_a", "c", now, 0, nil); err != nil {
			t.Fatal(err)
		}
		if err := store.PutObjectRow(n.Device, part, "AUTH_a", "c", db.ObjectRow{Name: "o", Timestamp: now, Size: 3, ETag: "e"}); err != nil {
			t.Fatal(err)
		}
	}
	rot := func(dev string) db.File {
		t.Helper()
		f := store.FileOf(db.KindContainers, dev, part, "AUTH_a", "c")
		if err := store.Remove(f, nil); err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Dir(f.Path), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(f.Path, []byte(strings.Repeat("rotten!!", 4096)), 0o600); err != nil {
			t.Fatal(err)
		}
		return f
	}
	if st := aud.RunOnce(context.Background()); st.Quarantined != 0 || st.Kept != 0 || st.Errors != 0 || st.Files != 3 {
		t.Fatalf("healthy pass: %+v", st)
	}
	bad := rot(prim[0].Device)
	if st := aud.RunOnce(context.Background()); st.Quarantined != 1 || st.Kept != 0 {
		t.Fatalf("one rotten replica: %+v, want it quarantined", st)
	}
	if _, err := os.Stat(filepath.Join(dir, bad.Device, "quarantined", db.KindContainers, bad.Hash, bad.Hash+".db")); err != nil {
		t.Fatal(err)
	}
	rep.RunOnce(context.Background())
	if err := store.Check(bad); err != nil {
		t.Fatalf("replica not restored: %v", err)
	}
	if info, err := store.ContainerInfo(bad.Device, part, "AUTH_a", "c"); err != nil || info.ObjectCount != 1 {
		t.Fatalf("restored replica: %+v %v", info, err)
	}
	// Every replica rotten: all are kept.
	for _, n := range prim {
		rot(n.Device)
	}
	if st := aud.RunOnce(context.Background()); st.Quarantined != 0 || st.Kept != 3 {
		t.Fatalf("all replicas rotten: %+v, want 3 kept", st)
	}
	for _, n := range prim {
		if _, err := os.Stat(store.FileOf(db.KindContainers, n.Device, part, "AUTH_a", "c").Path); err != nil {
			t.Fatalf("%s: last replicas must stay: %v", n.Device, err)
		}
	}
}
