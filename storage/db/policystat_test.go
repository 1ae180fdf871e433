package db

import (
	"reflect"
	"testing"
)

// An account keeps counts per storage policy (Swift's policy_stat): a
// container moving to another policy (deleted and re-created) moves its
// counts, a deleted one leaves its policy's entry at zero.
func TestAccountPolicyStats(t *testing.T) {
	s, _ := newTestStore(t, 0)
	const a = "AUTH_p"
	if _, err := s.CreateAccount(dev, 1, a, ts(1), nil); err != nil {
		t.Fatal(err)
	}
	put := func(r ContainerRow) {
		t.Helper()
		if err := s.PutContainerRow(dev, 1, a, r); err != nil {
			t.Fatal(err)
		}
	}
	put(ContainerRow{Name: "g1", PutTimestamp: ts(10), ObjectCount: 2, BytesUsed: 20})
	put(ContainerRow{Name: "g2", PutTimestamp: ts(10), ObjectCount: 1, BytesUsed: 5})
	put(ContainerRow{Name: "s1", PutTimestamp: ts(10), ObjectCount: 4, BytesUsed: 40, StoragePolicy: 1})
	put(ContainerRow{Name: "g2", PutTimestamp: ts(10), DeleteTimestamp: ts(20)})
	put(ContainerRow{Name: "g1", PutTimestamp: ts(30), ObjectCount: 1, BytesUsed: 1, StoragePolicy: 2})
	info, err := s.AccountInfo(dev, 1, a)
	if err != nil {
		t.Fatal(err)
	}
	want := map[int]PolicyStat{0: {}, 1: {1, 4, 40}, 2: {1, 1, 1}}
	if !reflect.DeepEqual(info.PolicyStats, want) {
		t.Fatalf("policy stats %+v, want %+v", info.PolicyStats, want)
	}
	if info.ContainerCount != 2 || info.ObjectCount != 5 || info.BytesUsed != 41 {
		t.Fatalf("totals %+v", info)
	}
}

// A database from before storage policies has only totals: they are
// policy 0's.
func TestAccountPolicyStatsMigration(t *testing.T) {
	st := &accountStat{ContainerCount: 2, ObjectCount: 3, BytesUsed: 4}
	if got := st.policyStats(); len(got) != 1 || *got[0] != (PolicyStat{2, 3, 4}) {
		t.Fatalf("migrated %+v", got)
	}
	if got := (&accountStat{}).policyStats(); len(got) != 0 {
		t.Fatalf("empty account migrated to %+v", got)
	}
}
