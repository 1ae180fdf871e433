package ring

import (
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// fakeClock lets tests move time forward for min_part_hours.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time          { return c.t }
func (c *fakeClock) advance(d time.Duration) { c.t = c.t.Add(d) }

func newTestBuilder(t *testing.T, partPower uint, replicas, minPartHours int) (*Builder, *fakeClock) {
	t.Helper()
	b, err := NewBuilder(partPower, replicas, minPartHours)
	if err != nil {
		t.Fatal(err)
	}
	c := &fakeClock{t: time.Unix(1700000000, 0)}
	b.now = c.now
	return b, c
}

func dev(region, zone int, ip, name string, weight float64) Device {
	return Device{Region: region, Zone: zone, IP: ip, Port: 6200, Device: name, Weight: weight}
}

func mustAdd(t *testing.T, b *Builder, devs ...Device) {
	t.Helper()
	for _, d := range devs {
		if _, err := b.AddDevice(d); err != nil {
			t.Fatal(err)
		}
	}
}

func mustRebalance(t *testing.T, b *Builder) (int, float64) {
	t.Helper()
	changed, balance, err := b.Rebalance()
	if err != nil {
		t.Fatal(err)
	}
	checkPlacement(t, b)
	return changed, balance
}

// checkPlacement verifies, for every partition, that replicas are on
// distinct live devices and spread over as many zones (and regions) as
// the weights allow: with equal-weight zones no zone holds two replicas.
func checkPlacement(t *testing.T, b *Builder) {
	t.Helper()
	r := b.Ring()
	if r.ReplicaCount() != b.Replicas() {
		t.Fatalf("ring has %d replicas, builder %d", r.ReplicaCount(), b.Replicas())
	}
	for p := range r.PartitionCount() {
		nodes := r.PrimaryNodes(p)
		if len(nodes) != b.Replicas() {
			t.Fatalf("partition %d on %d distinct devices, want %d: %v", p, len(nodes), b.Replicas(), ids(nodes))
		}
		for _, d := range nodes {
			if d.Weight <= 0 {
				t.Fatalf("partition %d on zero-weight device %d", p, d.ID)
			}
		}
	}
}

// zonesPerPart returns, per partition, the number of distinct zones.
func minZonesPerPart(r *Ring) int {
	least := math.MaxInt
	for p := range r.PartitionCount() {
		zones := map[[2]int]bool{}
		for _, d := range r.PrimaryNodes(p) {
			zones[[2]int{d.Region, d.Zone}] = true
		}
		least = min(least, len(zones))
	}
	return least
}

func TestRebalanceShapes(t *testing.T) {
	for _, tc := range []struct {
		name       string
		replicas   int
		devs       []Device
		maxBalance float64
		minZones   int
	}{
		{"1 device", 1, []Device{dev(1, 1, "10.0.0.1", "d1", 100)}, 0, 1},
		{"2 devices", 2, []Device{dev(1, 1, "10.0.0.1", "d1", 100), dev(1, 2, "10.0.0.1", "d2", 100)}, 0, 2},
		{"3 devices", 3, []Device{dev(1, 1, "10.0.0.1", "d1", 100), dev(1, 2, "10.0.0.1", "d2", 100),
			dev(1, 3, "10.0.0.1", "d3", 100)}, 0, 3},
		{"4 devices one zone each", 3, []Device{dev(1, 1, "10.0.0.1", "d1", 100), dev(1, 2, "10.0.0.1", "d2", 100),
			dev(1, 3, "10.0.0.1", "d3", 100), dev(1, 4, "10.0.0.1", "d4", 100)}, 1, 3},
		{"4 devices same zone", 3, []Device{dev(1, 1, "10.0.0.1", "d1", 100), dev(1, 1, "10.0.0.1", "d2", 100),
			dev(1, 1, "10.0.0.1", "d3", 100), dev(1, 1, "10.0.0.1", "d4", 100)}, 1, 1},
		{"6 devices 3 zones", 3, []Device{
			dev(1, 1, "10.0.0.1", "a", 100), dev(1, 1, "10.0.0.1", "b", 100),
			dev(1, 2, "10.0.0.2", "a", 100), dev(1, 2, "10.0.0.2", "b", 100),
			dev(1, 3, "10.0.0.3", "a", 100), dev(1, 3, "10.0.0.3", "b", 100)}, 1, 3},
		{"6 devices unequal weights 3 zones", 3, []Device{
			dev(1, 1, "10.0.0.1", "a", 200), dev(1, 1, "10.0.0.1", "b", 100),
			dev(1, 2, "10.0.0.2", "a", 150), dev(1, 2, "10.0.0.2", "b", 150),
			dev(1, 3, "10.0.0.3", "a", 50), dev(1, 3, "10.0.0.3", "b", 250)}, 1, 3},
		{"unequal weights one zone each", 3, []Device{dev(1, 1, "10.0.0.1", "a", 100), dev(1, 2, "10.0.0.1", "b", 200),
			dev(1, 3, "10.0.0.1", "c", 300), dev(1, 4, "10.0.0.1", "d", 400), dev(1, 5, "10.0.0.1", "e", 500)}, 1, 3},
		{"two regions", 3, []Device{
			dev(1, 1, "10.0.0.1", "a", 100), dev(1, 2, "10.0.0.2", "a", 100),
			dev(2, 1, "10.0.1.1", "a", 100), dev(2, 2, "10.0.1.2", "a", 100)}, 1, 3},
		{"2 replicas 5 devices", 2, []Device{dev(1, 1, "10.0.0.1", "a", 100), dev(1, 2, "10.0.0.1", "b", 100),
			dev(1, 3, "10.0.0.1", "c", 100), dev(1, 4, "10.0.0.1", "d", 100), dev(1, 5, "10.0.0.1", "e", 100)}, 1, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, _ := newTestBuilder(t, 8, tc.replicas, 1)
			mustAdd(t, b, tc.devs...)
			changed, balance := mustRebalance(t, b)
			if want := 256 * tc.replicas; changed != want {
				t.Errorf("initial rebalance changed %d, want %d", changed, want)
			}
			if balance > tc.maxBalance {
				t.Errorf("balance %.2f > %.2f: %+v", balance, tc.maxBalance, b.DeviceStats())
			}
			if z := minZonesPerPart(b.Ring()); z < tc.minZones {
				t.Errorf("some partition spans only %d zones, want >= %d", z, tc.minZones)
			}
			// Nothing changed: nothing moves, even with min_part_hours passed.
			b.PretendMinPartHoursPassed()
			if changed, _ := mustRebalance(t, b); changed != 0 {
				t.Errorf("idle rebalance moved %d replicas", changed)
			}
		})
	}
}

// Two regions with equal weight and 3 replicas: every partition must
// touch both regions.
func TestRebalanceRegionDispersion(t *testing.T) {
	b, _ := newTestBuilder(t, 8, 3, 1)
	mustAdd(t, b, dev(1, 1, "10.0.0.1", "a", 100), dev(1, 2, "10.0.0.2", "a", 100), dev(1, 3, "10.0.0.3", "a", 100),
		dev(2, 1, "10.0.1.1", "a", 100), dev(2, 2, "10.0.1.2", "a", 100), dev(2, 3, "10.0.1.3", "a", 100))
	mustRebalance(t, b)
	r := b.Ring()
	for p := range r.PartitionCount() {
		regions := map[int]int{}
		for _, d := range r.PrimaryNodes(p) {
			regions[d.Region]++
		}
		if len(regions) != 2 {
			t.Fatalf("partition %d in regions %v", p, regions)
		}
	}
}

func TestRebalanceUnbalanceableWeights(t *testing.T) {
	// One device asks for more than one replica of every partition: it is
	// capped at one per partition and the rest share the remainder.
	b, _ := newTestBuilder(t, 8, 3, 1)
	mustAdd(t, b, dev(1, 1, "10.0.0.1", "a", 1000), dev(1, 2, "10.0.0.1", "b", 100),
		dev(1, 3, "10.0.0.1", "c", 100), dev(1, 4, "10.0.0.1", "d", 100))
	mustRebalance(t, b)
	st := b.DeviceStats()
	if st[0].Parts != 256 {
		t.Errorf("heavy device has %d parts, want all 256", st[0].Parts)
	}
	for _, s := range st[1:] {
		if s.Parts < 170 || s.Parts > 172 {
			t.Errorf("device %d has %d parts, want ~171", s.ID, s.Parts)
		}
	}
}

func TestAddDeviceMovesLittle(t *testing.T) {
	for n := 3; n <= 6; n++ {
		t.Run(fmt.Sprint(n, " devices"), func(t *testing.T) {
			b, clock := newTestBuilder(t, 10, 3, 1)
			for i := range n {
				mustAdd(t, b, dev(1, i+1, "10.0.0.1", fmt.Sprint("d", i), 100))
			}
			mustRebalance(t, b)
			before := b.Ring()
			clock.advance(2 * time.Hour)
			mustAdd(t, b, dev(1, n+1, "10.0.0.1", "new", 100))
			changed, balance := mustRebalance(t, b)
			ideal := 1024 * 3 / (n + 1)
			if changed < ideal || changed > ideal+ideal/20+2 {
				t.Errorf("moved %d replicas, ideal %d", changed, ideal)
			}
			if balance > 1 {
				t.Errorf("balance %.2f after adding a device", balance)
			}
			after := b.Ring()
			for p := range after.PartitionCount() {
				moved := 0
				for r := range 3 {
					x, _ := before.Assignment(r, p)
					y, _ := after.Assignment(r, p)
					if x != y {
						moved++
						if y != n {
							t.Fatalf("partition %d replica %d moved to old device %d", p, r, y)
						}
					}
				}
				if moved > 1 {
					t.Fatalf("partition %d moved %d replicas at once", p, moved)
				}
			}
		})
	}
}

func TestMinPartHours(t *testing.T) {
	b, clock := newTestBuilder(t, 8, 3, 2)
	mustAdd(t, b, dev(1, 1, "10.0.0.1", "a", 100), dev(1, 2, "10.0.0.1", "b", 100), dev(1, 3, "10.0.0.1", "c", 100))
	mustRebalance(t, b)
	// Every partition just moved: adding a device moves nothing yet.
	mustAdd(t, b, dev(1, 4, "10.0.0.1", "d", 100))
	clock.advance(time.Hour)
	if changed, _ := mustRebalance(t, b); changed != 0 {
		t.Fatalf("moved %d replicas within min_part_hours", changed)
	}
	clock.advance(time.Hour + time.Second)
	changed, _ := mustRebalance(t, b)
	if changed == 0 {
		t.Fatal("nothing moved after min_part_hours")
	}
	moved := slices.Clone(b.lastMoved)
	// Change weights again right away: the partitions just moved stay put.
	if err := b.SetWeight(3, 300); err != nil {
		t.Fatal(err)
	}
	before := b.Ring()
	mustRebalance(t, b)
	after := b.Ring()
	for p := range 256 {
		if moved[p] != clock.now().Unix() {
			continue
		}
		for r := range 3 {
			x, _ := before.Assignment(r, p)
			y, _ := after.Assignment(r, p)
			if x != y {
				t.Fatalf("partition %d moved twice within min_part_hours", p)
			}
		}
	}
}

func TestRemoveDeviceIgnoresMinPartHours(t *testing.T) {
	b, _ := newTestBuilder(t, 8, 3, 24)
	mustAdd(t, b, dev(1, 1, "10.0.0.1", "a", 100), dev(1, 2, "10.0.0.1", "b", 100),
		dev(1, 3, "10.0.0.1", "c", 100), dev(1, 4, "10.0.0.1", "d", 100))
	mustRebalance(t, b)
	parts := b.DeviceStats()[1].Parts
	if err := b.RemoveDevice(1); err != nil {
		t.Fatal(err)
	}
	changed, _ := mustRebalance(t, b)
	if changed != parts {
		t.Errorf("moved %d replicas, device 1 held %d", changed, parts)
	}
	r := b.Ring()
	if r.Device(1) != nil || len(r.Devices()) != 3 {
		t.Errorf("removed device still in ring: %v", ids(r.Devices()))
	}
	if err := b.RemoveDevice(1); !errors.Is(err, ErrNoSuchDevice) {
		t.Errorf("second remove: %v", err)
	}
	// The freed id is reused.
	if id, err := b.AddDevice(dev(1, 2, "10.0.0.1", "b2", 100)); err != nil || id != 1 {
		t.Errorf("AddDevice = %d, %v; want id 1", id, err)
	}
	// Zero weight drains a device too.
	if err := b.SetWeight(0, 0); err != nil {
		t.Fatal(err)
	}
	mustRebalance(t, b)
	if st := b.DeviceStats(); st[0].Parts != 0 {
		t.Errorf("zero-weight device keeps %d parts", st[0].Parts)
	}
}

func TestTooFewDevices(t *testing.T) {
	b, _ := newTestBuilder(t, 8, 3, 1)
	mustAdd(t, b, dev(1, 1, "10.0.0.1", "a", 100), dev(1, 2, "10.0.0.1", "b", 100), dev(1, 3, "10.0.0.1", "c", 0))
	if _, _, err := b.Rebalance(); !errors.Is(err, ErrTooFewDevices) {
		t.Fatalf("err %v, want ErrTooFewDevices", err)
	}
	if b.Ring() != nil {
		t.Error("Ring before a successful rebalance should be nil")
	}
}

func TestRebalanceDeterministic(t *testing.T) {
	build := func() *Ring {
		b, _ := newTestBuilder(t, 9, 3, 1)
		for i := range 7 {
			mustAdd(t, b, dev(1, i%3+1, fmt.Sprint("10.0.0.", i%3), fmt.Sprint("d", i), float64(100+10*i)))
		}
		mustRebalance(t, b)
		return b.Ring()
	}
	a, b := build(), build()
	if string(a.Encode()) != string(b.Encode()) {
		t.Error("same builder state rebalanced differently")
	}
}

func TestChangeReplicas(t *testing.T) {
	b, clock := newTestBuilder(t, 8, 2, 1)
	mustAdd(t, b, dev(1, 1, "10.0.0.1", "a", 100), dev(1, 2, "10.0.0.1", "b", 100),
		dev(1, 3, "10.0.0.1", "c", 100), dev(1, 4, "10.0.0.1", "d", 100))
	mustRebalance(t, b)
	clock.advance(2 * time.Hour)
	if err := b.SetReplicas(3); err != nil {
		t.Fatal(err)
	}
	if changed, _ := mustRebalance(t, b); changed < 256 {
		t.Errorf("adding a replica changed %d assignments, want >= 256", changed)
	}
	clock.advance(2 * time.Hour)
	if err := b.SetReplicas(2); err != nil {
		t.Fatal(err)
	}
	mustRebalance(t, b)
}

func TestAddDeviceValidation(t *testing.T) {
	b, _ := newTestBuilder(t, 8, 3, 1)
	mustAdd(t, b, dev(1, 1, "10.0.0.1", "a", 100))
	for _, d := range []Device{
		{IP: "", Port: 6200, Device: "x", Weight: 1},
		{IP: "10.0.0.1", Port: 0, Device: "x", Weight: 1},
		{IP: "10.0.0.1", Port: 6200, Device: "", Weight: 1},
		{IP: "10.0.0.1", Port: 6200, Device: "a/b", Weight: 1},
		{IP: "10.0.0.1", Port: 6200, Device: "x", Weight: -1},
		{IP: "10.0.0.1", Port: 6200, Device: "x", Weight: math.NaN()},
	} {
		if _, err := b.AddDevice(d); !errors.Is(err, ErrInvalidDevice) {
			t.Errorf("AddDevice(%+v) err %v, want ErrInvalidDevice", d, err)
		}
	}
	if _, err := b.AddDevice(dev(2, 5, "10.0.0.1", "a", 1)); !errors.Is(err, ErrDuplicateDevice) {
		t.Errorf("duplicate: err %v", err)
	}
	if err := b.SetWeight(7, 1); !errors.Is(err, ErrNoSuchDevice) {
		t.Errorf("SetWeight on missing device: %v", err)
	}
	for _, args := range [][3]int{{0, 3, 1}, {25, 3, 1}, {8, 0, 1}, {8, 3, -1}} {
		if _, err := NewBuilder(uint(args[0]), args[1], args[2]); !errors.Is(err, ErrInvalidBuilder) {
			t.Errorf("NewBuilder%v err %v", args, err)
		}
	}
}

func TestParseDeviceSpec(t *testing.T) {
	d, err := ParseDeviceSpec("r2z3-127.0.0.1:6200R10.0.0.1:6300/sdb1_some meta", "55.5")
	want := Device{Region: 2, Zone: 3, IP: "127.0.0.1", Port: 6200, ReplicationIP: "10.0.0.1",
		ReplicationPort: 6300, Device: "sdb1", Meta: "some meta", Weight: 55.5}
	if err != nil || d != want {
		t.Errorf("got %+v, %v", d, err)
	}
	d, err = ParseDeviceSpec("z1-[::1]:6200/sdc", "100")
	want = Device{Region: 1, Zone: 1, IP: "::1", Port: 6200, ReplicationIP: "::1", ReplicationPort: 6200, Device: "sdc", Weight: 100}
	if err != nil || d != want {
		t.Errorf("got %+v, %v", d, err)
	}
	if d.String() != "d0r1z1-[::1]:6200R[::1]:6200/sdc" {
		t.Errorf("String() = %s", d.String())
	}
	for _, bad := range [][2]string{{"r1z1-127.0.0.1/sdb", "1"}, {"r1z1-127.0.0.1:6200/", "1"},
		{"r1z1-127.0.0.1:6200/sdb", "x"}, {"r1z1-127.0.0.1:99999/sdb", "1"}, {"r1z1-127.0.0.1:6200/sdb", "-1"}} {
		if _, err := ParseDeviceSpec(bad[0], bad[1]); !errors.Is(err, ErrInvalidDevice) {
			t.Errorf("ParseDeviceSpec(%q, %q) err %v", bad[0], bad[1], err)
		}
	}
}

func TestBuilderSaveLoad(t *testing.T) {
	b, clock := newTestBuilder(t, 6, 3, 1)
	mustAdd(t, b, dev(1, 1, "10.0.0.1", "a", 100), dev(1, 2, "10.0.0.1", "b", 100),
		dev(1, 3, "10.0.0.1", "c", 100), dev(1, 4, "10.0.0.1", "d", 100))
	mustRebalance(t, b)
	if err := b.RemoveDevice(2); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "object.builder")
	if err := b.Save(path); err != nil {
		t.Fatal(err)
	}
	b2, err := LoadBuilder(path)
	if err != nil {
		t.Fatal(err)
	}
	b2.now = clock.now
	if b2.Version() != b.Version() || !slices.Equal(b2.lastMoved, b.lastMoved) ||
		!slices.EqualFunc(b2.DeviceStats(), b.DeviceStats(), func(x, y DeviceStat) bool { return x == y }) {
		t.Fatal("builder changed across Save/LoadBuilder")
	}
	c1, _ := mustRebalance(t, b)
	c2, _ := mustRebalance(t, b2)
	if c1 != c2 || string(b.Ring().Encode()) != string(b2.Ring().Encode()) {
		t.Error("loaded builder rebalances differently")
	}
}

func TestBuildDefault(t *testing.T) {
	for n := 1; n <= 6; n++ {
		var devs []Device
		for i := range n {
			devs = append(devs, Device{IP: "127.0.0.1", Port: 6200, Device: fmt.Sprint("d", i), Weight: 100})
		}
		b, err := BuildDefault(devs)
		if err != nil {
			t.Fatal(err)
		}
		checkPlacement(t, b)
		r := b.Ring()
		if r.ReplicaCount() != min(3, n) || b.MinPartHours() != 1 || r.PartPower() < 8 || r.PartPower() > 14 {
			t.Errorf("%d devices: replicas %d part power %d", n, r.ReplicaCount(), r.PartPower())
		}
		if minZonesPerPart(r) != min(3, n) {
			t.Errorf("%d devices: replicas share zones", n)
		}
		if bal := b.Balance(); bal > 1 {
			t.Errorf("%d devices: balance %.2f", n, bal)
		}
	}
	if _, err := BuildDefault(nil); !errors.Is(err, ErrTooFewDevices) {
		t.Errorf("no devices: %v", err)
	}
}
