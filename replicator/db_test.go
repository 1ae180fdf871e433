package replicator

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"swiftbox/ring"
	"swiftbox/storage/db"
	"swiftbox/storage/timestamp"
)

func newDBCluster(t *testing.T, n int) (*Databases, *ring.Ring, string) {
	t.Helper()
	dir := t.TempDir()
	var devs []ring.Device
	var names []string
	for i := 1; i <= n; i++ {
		name := fmt.Sprintf("d%d", i)
		os.Mkdir(filepath.Join(dir, name), 0o755)
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
	return &Databases{Kind: db.KindContainers, Store: store, Ring: func() *ring.Ring { return r },
		Local: func(*ring.Device) bool { return true }, Devices: func() []string { return names },
		ReclaimAge: time.Hour}, r, dir
}

func TestDatabaseReplication(t *testing.T) {
	d, r, _ := newDBCluster(t, 3)
	part := r.Partition(ring.HashPath("", "test", "AUTH_a", "c", ""))
	prim := r.PrimaryNodes(part)
	now := timestamp.Now()
	// Replica 0 has the container and 300 rows; replica 1 has it with a
	// newer version of one row and a metadata item; replica 2 has nothing.
	if _, err := d.Store.CreateContainer(prim[0].Device, part, "AUTH_a", "c", now, 0, db.Metadata{"X-Container-Meta-A": {Value: "1", Timestamp: now}}); err != nil {
		t.Fatal(err)
	}
	var rows []db.ObjectRow
	for i := range 300 {
		rows = append(rows, db.ObjectRow{Name: fmt.Sprintf("o%03d", i), Timestamp: now, Size: 10, ContentType: "text/plain", ETag: "x"})
	}
	if err := d.Store.MergeObjectRows(prim[0].Device, part, "AUTH_a", "c", rows); err != nil {
		t.Fatal(err)
	}
	later := timestamp.FromTime(time.Now().Add(time.Second))
	if _, err := d.Store.CreateContainer(prim[1].Device, part, "AUTH_a", "c", now, 0, db.Metadata{"X-Container-Meta-B": {Value: "2", Timestamp: later}}); err != nil {
		t.Fatal(err)
	}
	if err := d.Store.PutObjectRow(prim[1].Device, part, "AUTH_a", "c", db.ObjectRow{Name: "o007", Timestamp: later, Deleted: true}); err != nil {
		t.Fatal(err)
	}
	st := d.RunOnce(context.Background())
	if st.Failures != 0 || st.Files != 1 {
		t.Fatalf("pass %+v: want one whole copy, no failures", st)
	}
	for _, n := range prim {
		info, err := d.Store.ContainerInfo(n.Device, part, "AUTH_a", "c")
		if err != nil {
			t.Fatalf("%s: %v", n.Device, err)
		}
		if info.ObjectCount != 299 || info.BytesUsed != 2990 {
			t.Errorf("%s: %d objects %d bytes, want 299/2990", n.Device, info.ObjectCount, info.BytesUsed)
		}
		if info.Metadata["X-Container-Meta-A"].Value != "1" || info.Metadata["X-Container-Meta-B"].Value != "2" {
			t.Errorf("%s: metadata %v", n.Device, info.Metadata)
		}
	}
	// Rows a replica received go back once as no-ops; after that the
	// sync points leave nothing to do.
	d.RunOnce(context.Background())
	if st := d.RunOnce(context.Background()); st.Bytes != 0 || st.Files != 0 {
		t.Fatalf("third pass did work: %+v", st)
	}
}

func TestDatabaseHandoffAndReclaim(t *testing.T) {
	d, r, dir := newDBCluster(t, 5)
	part := r.Partition(ring.HashPath("", "test", "AUTH_a", "h", ""))
	var handoff string
	for h := range r.Handoffs(part) {
		handoff = h.Device
		break
	}
	old := timestamp.FromTime(time.Now().Add(-2 * time.Hour))
	if _, err := d.Store.CreateContainer(handoff, part, "AUTH_a", "h", old, 0, nil); err != nil {
		t.Fatal(err)
	}
	d.Store.PutObjectRow(handoff, part, "AUTH_a", "h", db.ObjectRow{Name: "x", Timestamp: old, Size: 1, ETag: "e", ContentType: "a/b"})
	st := d.RunOnce(context.Background())
	if st.Removed != 1 || st.Files != 3 {
		t.Fatalf("pass %+v: want 3 copies and the handoff removed", st)
	}
	if files, _ := d.Store.ListFiles(db.KindContainers, handoff); len(files) != 0 {
		t.Fatalf("handoff still has %v", files)
	}
	// Delete the object and the container long ago: the row and then the
	// databases are reclaimed.
	for _, n := range r.PrimaryNodes(part) {
		d.Store.PutObjectRow(n.Device, part, "AUTH_a", "h", db.ObjectRow{Name: "x", Timestamp: timestamp.FromTime(time.Now().Add(-90 * time.Minute)), Deleted: true})
		if err := d.Store.DeleteContainer(n.Device, part, "AUTH_a", "h", timestamp.FromTime(time.Now().Add(-80*time.Minute))); err != nil {
			t.Fatal(err)
		}
	}
	st = d.RunOnce(context.Background())
	if st.Removed != 3 {
		t.Fatalf("pass %+v: want the 3 deleted databases reclaimed", st)
	}
	_ = dir
}

// The container replicator reports a container's row to its account when
// it changed since last reported (Swift's container-updater), so the
// account holds exactly the containers that exist even when the proxy's
// update never arrived.
func TestContainerReplicatorReportsToAccount(t *testing.T) {
	d, r, _ := newDBCluster(t, 3)
	d.AccountRing = func() *ring.Ring { return r }
	apart := d.Store.Partition(r, "AUTH_a", "")
	for _, n := range r.PrimaryNodes(apart) {
		if _, err := d.Store.CreateAccount(n.Device, apart, "AUTH_a", timestamp.Now(), nil); err != nil {
			t.Fatal(err)
		}
	}
	part := d.Store.Partition(r, "AUTH_a", "c")
	now := timestamp.Now()
	for _, n := range r.PrimaryNodes(part) {
		if _, err := d.Store.CreateContainer(n.Device, part, "AUTH_a", "c", now, 0, nil); err != nil {
			t.Fatal(err)
		}
		for _, o := range []string{"x", "y"} {
			if err := d.Store.PutObjectRow(n.Device, part, "AUTH_a", "c", db.ObjectRow{Name: o, Timestamp: now, Size: 21}); err != nil {
				t.Fatal(err)
			}
		}
	}
	rows := func() map[string]db.ContainerRow {
		t.Helper()
		var first map[string]db.ContainerRow
		for i, n := range r.PrimaryNodes(apart) {
			list, err := d.Store.ListContainers(n.Device, apart, "AUTH_a", db.ListOptions{})
			if err != nil {
				t.Fatal(err)
			}
			m := map[string]db.ContainerRow{}
			for _, e := range list {
				e.StatsTimestamp = timestamp.Timestamp{}
				m[e.Name] = e.ContainerRow
			}
			if i == 0 {
				first = m
			} else if fmt.Sprint(m) != fmt.Sprint(first) {
				t.Fatalf("account replicas differ: %v and %v", first, m)
			}
		}
		return first
	}
	d.RunOnce(context.Background())
	if got := rows(); len(got) != 1 || got["c"].ObjectCount != 2 || got["c"].BytesUsed != 42 {
		t.Fatalf("account rows after a pass: %+v", got)
	}
	for _, n := range r.PrimaryNodes(part) {
		f := d.Store.FileOf(db.KindContainers, n.Device, part, "AUTH_a", "c")
		if _, _, due, err := d.Store.AccountReport(f); err != nil || due {
			t.Fatalf("%s: report still due (%v) after it was sent", n.Device, err)
		}
	}
	later := timestamp.Now()
	for _, n := range r.PrimaryNodes(part) {
		for _, o := range []string{"x", "y"} {
			if err := d.Store.PutObjectRow(n.Device, part, "AUTH_a", "c", db.ObjectRow{Name: o, Timestamp: later, Deleted: true}); err != nil {
				t.Fatal(err)
			}
		}
		if err := d.Store.DeleteContainer(n.Device, part, "AUTH_a", "c", timestamp.Now()); err != nil {
			t.Fatal(err)
		}
	}
	d.RunOnce(context.Background())
	if got := rows(); len(got) != 0 {
		t.Fatalf("deleted container still in the account: %+v", got)
	}
}
