package db

import (
	"errors"
	"fmt"
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
