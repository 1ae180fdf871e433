package ring

import (
	"fmt"
	"slices"
	"testing"
)

func TestLookups(t *testing.T) {
	b, _ := newTestBuilder(t, 8, 3, 1)
	for i := range 8 {
		mustAdd(t, b, dev(1+i/4, 1+i%4, fmt.Sprint("10.0.0.", i%2), fmt.Sprint("d", i), 100))
	}
	mustRebalance(t, b)
	r := b.Ring()
	if r.PartPower() != 8 || r.PartitionCount() != 256 || r.ReplicaCount() != 3 || r.Replicas() != 3 || len(r.Devices()) != 8 {
		t.Fatalf("accessors: %d %d %d %v %d", r.PartPower(), r.PartitionCount(), r.ReplicaCount(), r.Replicas(), len(r.Devices()))
	}
	if v, ok := r.Version(); !ok || v != b.Version() {
		t.Errorf("Version() = %d, %v; builder %d", v, ok, b.Version())
	}
	h := HashPath("pre", "suf", "AUTH_test", "c", "o")
	if got, want := r.Partition(h), PartitionOf(h, 8); got != want {
		t.Errorf("Partition = %d, PartitionOf = %d", got, want)
	}
	for p := range r.PartitionCount() {
		prim := r.PrimaryNodes(p)
		seen := map[int]bool{}
		for _, d := range prim {
			seen[d.ID] = true
		}
		var hand []*Device
		for d := range r.Handoffs(p) {
			if seen[d.ID] {
				t.Fatalf("partition %d: handoff %d repeats a primary or handoff", p, d.ID)
			}
			seen[d.ID] = true
			hand = append(hand, d)
		}
		if len(seen) != 8 {
			t.Fatalf("partition %d: primaries+handoffs cover %d of 8 devices", p, len(seen))
		}
		// The first handoff is in a region (or else zone) not used yet.
		regions := map[int]bool{}
		for _, d := range prim {
			regions[d.Region] = true
		}
		if len(regions) == 1 && regions[hand[0].Region] {
			t.Fatalf("partition %d: first handoff %v in a used region", p, hand[0])
		}
		// Breaking early works and gives a prefix.
		var two []int
		for d := range r.Handoffs(p) {
			two = append(two, d.ID)
			if len(two) == 2 {
				break
			}
		}
		if !slices.Equal(two, ids(hand[:2])) {
			t.Fatalf("partition %d: early stop gave %v, want %v", p, two, ids(hand[:2]))
		}
	}
}

func TestHandoffsIncludeWeightedUnassignedDevices(t *testing.T) {
	b, _ := newTestBuilder(t, 6, 2, 1)
	mustAdd(t, b, dev(1, 1, "10.0.0.1", "a", 100), dev(1, 2, "10.0.0.1", "b", 100), dev(1, 3, "10.0.0.1", "c", 100))
	mustRebalance(t, b)
	mustAdd(t, b, dev(1, 4, "10.0.0.1", "new", 100)) // not rebalanced yet
	r := b.Ring()
	hand := ids(slices.Collect(r.Handoffs(0)))
	if len(hand) != 2 || hand[len(hand)-1] != 3 {
		t.Errorf("handoffs %v, want the unassigned device 3 last", hand)
	}
}

func TestNewRejectsBadTables(t *testing.T) {
	devs := []*Device{{ID: 0, IP: "x", Port: 1, Device: "d", Weight: 1}, nil}
	for _, rows := range [][][]uint16{
		{{0, 0, 0}},      // wrong length
		{{0, 0}, {0, 1}}, // hole
		{{0, 0}, {0, 7}}, // out of range
		{{0}, {0, 0}},    // short row not last
	} {
		if _, err := New(devs, rows, 1, 1); err == nil {
			t.Errorf("New accepted %v", rows)
		}
	}
	if _, err := New(devs, [][]uint16{{0, 0}, {0}}, 1, -1); err != nil {
		t.Errorf("fractional replica row rejected: %v", err)
	}
}
