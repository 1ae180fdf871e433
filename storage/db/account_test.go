package db

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"testing"
)

func TestAccountCreateDelete(t *testing.T) {
	s, _ := newTestStore(t, 0)
	const a = "AUTH_a"
	created, err := s.CreateAccount(dev, 1, a, ts(10), Metadata{"X-Account-Meta-A": {"1", ts(10)}})
	if err != nil || !created {
		t.Fatalf("PUT: %v %v, want 201", created, err)
	}
	created, err = s.CreateAccount(dev, 1, a, ts(11), Metadata{"X-Account-Meta-A": {"2", ts(11)}})
	if err != nil || created {
		t.Fatalf("second PUT: %v %v, want 202", created, err)
	}
	if err := s.UpdateAccountMetadata(dev, 1, a, Metadata{"X-Account-Meta-A": {"old", ts(9)}, "X-Account-Meta-B": {"b", ts(12)}}); err != nil {
		t.Fatal(err)
	}
	info, err := s.AccountInfo(dev, 1, a)
	if err != nil || info.PutTimestamp != ts(11) || info.Metadata["X-Account-Meta-A"].Value != "2" || info.Metadata["X-Account-Meta-B"].Value != "b" {
		t.Fatalf("info %+v %v", info, err)
	}
	if err := s.DeleteAccount(dev, 1, a, ts(20)); err != nil {
		t.Fatal(err)
	}
	info, err = s.AccountInfo(dev, 1, a)
	if !errors.Is(err, ErrNotFound) || !info.Deleted || info.DeleteTimestamp != ts(20) || len(info.Metadata) != 0 {
		t.Fatalf("deleted info %+v %v", info, err)
	}
	if err := s.DeleteAccount(dev, 1, a, ts(21)); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second DELETE: %v", err)
	}
	if _, err := s.CreateAccount(dev, 1, a, ts(30), nil); !errors.Is(err, ErrRecentlyDeleted) {
		t.Fatalf("PUT after DELETE: %v, want ErrRecentlyDeleted", err)
	}
	if err := s.PutContainerRow(dev, 1, a, ContainerRow{Name: "c", PutTimestamp: ts(31)}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("container row into deleted account: %v", err)
	}
}

func TestAccountContainerRows(t *testing.T) {
	s, _ := newTestStore(t, 0)
	const a = "AUTH_a"
	if _, err := s.CreateAccount(dev, 1, a, ts(1), nil); err != nil {
		t.Fatal(err)
	}
	put := func(r ContainerRow) {
		t.Helper()
		if err := s.PutContainerRow(dev, 1, a, r); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 10 {
		put(ContainerRow{Name: fmt.Sprintf("c%d", i), PutTimestamp: ts(10), ObjectCount: int64(i), BytesUsed: int64(100 * i)})
	}
	put(ContainerRow{Name: "dir/x", PutTimestamp: ts(10)})
	put(ContainerRow{Name: "dir/y", PutTimestamp: ts(10)})
	// Stats update for c1, then c0 deleted, then a stale PUT for c0 that
	// must not resurrect it (newest put/delete timestamps win).
	put(ContainerRow{Name: "c1", PutTimestamp: ts(10), ObjectCount: 5, BytesUsed: 7})
	put(ContainerRow{Name: "c0", PutTimestamp: ts(10), DeleteTimestamp: ts(20)})
	put(ContainerRow{Name: "c0", PutTimestamp: ts(5)})
	// A delete that still has objects is not a deletion.
	put(ContainerRow{Name: "c9", PutTimestamp: ts(10), DeleteTimestamp: ts(20), ObjectCount: 9, BytesUsed: 900})

	info, err := s.AccountInfo(dev, 1, a)
	if err != nil {
		t.Fatal(err)
	}
	wantObjects := int64(5 + 2 + 3 + 4 + 5 + 6 + 7 + 8 + 9)
	wantBytes := int64(7 + 100*(2+3+4+5+6+7+8+9))
	if info.ContainerCount != 11 || info.ObjectCount != wantObjects || info.BytesUsed != wantBytes {
		t.Fatalf("totals %d/%d/%d, want 11/%d/%d", info.ContainerCount, info.ObjectCount, info.BytesUsed, wantObjects, wantBytes)
	}
	list, err := s.ListContainers(dev, 1, a, ListOptions{Delimiter: "/", Limit: 4})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range list {
		got = append(got, e.Name+e.Subdir)
	}
	if fmt.Sprint(got) != "[c1 c2 c3 c4]" {
		t.Fatalf("listing %v", got)
	}
	list, _ = s.ListContainers(dev, 1, a, ListOptions{Delimiter: "/", Reverse: true, Limit: 2})
	if len(list) != 2 || list[0].Subdir != "dir/" || list[1].Name != "c9" || list[1].ObjectCount != 9 {
		t.Fatalf("reverse listing %+v", list)
	}
	list, _ = s.ListContainers(dev, 1, a, ListOptions{IncludeDeleted: true, Limit: 1})
	if len(list) != 1 || list[0].Name != "c0" || !list[0].Deleted || list[0].DeleteTimestamp != ts(20) || list[0].PutTimestamp != ts(10) {
		t.Fatalf("deleted row %+v", list)
	}
	rows, last, err := s.ContainerRowsSince(dev, 1, a, 0, 100)
	if err != nil || len(rows) != 12 || last == 0 {
		t.Fatalf("rows since: %d %d %v", len(rows), last, err)
	}
	if err := s.MergeContainerRows(dev, 1, a, rows); err != nil {
		t.Fatal(err)
	}
	if after, _ := s.AccountInfo(dev, 1, a); after.ContainerCount != info.ContainerCount || after.ObjectCount != info.ObjectCount {
		t.Fatalf("re-merging own rows changed totals: %+v", after)
	}
	if err := s.Check(s.FileOf(KindAccounts, dev, 1, a, "")); err != nil {
		t.Fatal(err)
	}
	// Deleting an account leaves its containers for the reaper.
	if err := s.DeleteAccount(dev, 1, a, ts(50)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ListContainers(dev, 1, a, ListOptions{}); err != nil {
		t.Fatal(err)
	}
}

// listed returns the account's live container rows by name.
func listed(t *testing.T, s *Store, device, a string) map[string]ContainerRow {
	t.Helper()
	rows, err := s.ListContainers(device, 1, a, ListOptions{AllowReserved: true})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]ContainerRow{}
	for _, r := range rows {
		out[r.Name] = r.ContainerRow
	}
	return out
}

// Swift's rule for an account's container row: deleted when its delete
// timestamp is newer than its put timestamp and it holds no objects,
// whatever bytes it reports. PUT then DELETE of a container removes it.
func TestAccountRowDeletedRule(t *testing.T) {
	t.Parallel()
	s, _ := newTestStore(t, 0)
	const a = "AUTH_a"
	if _, err := s.CreateAccount(dev, 1, a, ts(1), nil); err != nil {
		t.Fatal(err)
	}
	put := func(r ContainerRow) {
		t.Helper()
		if err := s.PutContainerRow(dev, 1, a, r); err != nil {
			t.Fatal(err)
		}
	}
	put(ContainerRow{Name: "c", PutTimestamp: ts(10), ObjectCount: 2, BytesUsed: 66608})
	if r, ok := listed(t, s, dev, a)["c"]; !ok || r.ObjectCount != 2 || r.BytesUsed != 66608 {
		t.Fatalf("after PUT: %+v %v", r, ok)
	}
	// Deleted with bytes still reported: gone all the same.
	put(ContainerRow{Name: "c", PutTimestamp: ts(10), DeleteTimestamp: ts(12), ObjectCount: 0, BytesUsed: 66608})
	if r, ok := listed(t, s, dev, a)["c"]; ok {
		t.Fatalf("deleted container still listed: %+v", r)
	}
	// Delete newer than put but objects left: listed (Swift waits for 0).
	put(ContainerRow{Name: "d", PutTimestamp: ts(10), DeleteTimestamp: ts(12), ObjectCount: 1, BytesUsed: 5})
	if _, ok := listed(t, s, dev, a)["d"]; !ok {
		t.Fatal("container with objects and a newer delete not listed")
	}
	// PUT then DELETE of the first container again.
	put(ContainerRow{Name: "c", PutTimestamp: ts(20)})
	if _, ok := listed(t, s, dev, a)["c"]; !ok {
		t.Fatal("re-created container not listed")
	}
	put(ContainerRow{Name: "c", PutTimestamp: ts(20), DeleteTimestamp: ts(21)})
	got := listed(t, s, dev, a)
	if _, ok := got["c"]; ok || len(got) != 1 {
		t.Fatalf("after PUT and DELETE: %+v", got)
	}
	info, err := s.AccountInfo(dev, 1, a)
	if err != nil || info.ContainerCount != 1 || info.ObjectCount != 1 {
		t.Fatalf("account info %+v %v", info, err)
	}
	if err := s.Check(s.FileOf(KindAccounts, dev, 1, a, "")); err != nil {
		t.Fatal(err)
	}
}

// Replicas of an account database converge to the same rows whatever
// order the reports and replicated rows reach them in: a stale report of
// a container's objects merged after its deletion (as a restored or
// lagging copy replicates it) must not bring it back. This is the ghost
// of a deleted versions container that stayed live with 8 objects.
func TestAccountRowsConvergeAnyOrder(t *testing.T) {
	t.Parallel()
	s, root := newTestStore(t, 0)
	const a = "AUTH_a"
	for _, d := range []string{"sdb", "sdc"} {
		if err := os.Mkdir(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range []string{dev, "sdb", "sdc"} {
		if _, err := s.CreateAccount(d, 1, a, ts(1), nil); err != nil {
			t.Fatal(err)
		}
	}
	full := ContainerRow{Name: "\x00versions\x00c", PutTimestamp: ts(10), ObjectCount: 8, BytesUsed: 800, StatsTimestamp: ts(11)}
	fewer := ContainerRow{Name: "\x00versions\x00c", PutTimestamp: ts(10), ObjectCount: 3, BytesUsed: 300, StatsTimestamp: ts(12)}
	gone := ContainerRow{Name: "\x00versions\x00c", PutTimestamp: ts(10), DeleteTimestamp: ts(13), StatsTimestamp: ts(13)}
	other := ContainerRow{Name: "kept", PutTimestamp: ts(10), ObjectCount: 1, BytesUsed: 7, StatsTimestamp: ts(14)}
	merge := func(d string, rows ...ContainerRow) {
		t.Helper()
		if err := s.MergeContainerRows(d, 1, a, rows); err != nil {
			t.Fatal(err)
		}
	}
	merge(dev, full, fewer, gone, other)
	merge("sdb", gone, other, fewer, full)
	merge("sdc", other, full) // a lagging copy
	want := map[string]ContainerRow{"kept": listed(t, s, dev, a)["kept"]}
	for _, d := range []string{dev, "sdb"} {
		if got := listed(t, s, d, a); !maps.Equal(got, want) {
			t.Fatalf("%s lists %+v, want %+v", d, got, want)
		}
	}
	// Replication both ways among all three, twice.
	for range 2 {
		for _, from := range []string{dev, "sdb", "sdc"} {
			for _, to := range []string{dev, "sdb", "sdc"} {
				if from == to {
					continue
				}
				if _, err := s.Replicate(s.FileOf(KindAccounts, from, 1, a, ""), to); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	for _, d := range []string{dev, "sdb", "sdc"} {
		if got := listed(t, s, d, a); !maps.Equal(got, want) {
			t.Fatalf("%s lists %+v after replication, want %+v", d, got, want)
		}
		info, err := s.AccountInfo(d, 1, a)
		if err != nil || info.ContainerCount != 1 || info.ObjectCount != 1 || info.BytesUsed != 7 {
			t.Fatalf("%s account info %+v %v", d, info, err)
		}
	}
	// Agreeing replicas stop exchanging rows.
	res, err := s.Replicate(s.FileOf(KindAccounts, "sdc", 1, a, ""), dev)
	if err != nil || res.Rows != 0 {
		t.Fatalf("replication between agreeing copies merged %d rows (%v)", res.Rows, err)
	}
}
