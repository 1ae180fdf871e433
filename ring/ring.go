// Package ring places partition replicas on devices the way OpenStack Swift
// does: it reads and writes Swift's *.ring.gz files, looks up primary and
// handoff devices, and builds and rebalances rings.
package ring

import (
	"crypto/md5"
	"encoding/binary"
	"fmt"
	"iter"
	"math"
	"strconv"
)

// Device is one disk of the cluster, as Swift's ring describes it.
type Device struct {
	ID              int
	Region          int
	Zone            int
	Weight          float64
	IP              string
	Port            int
	ReplicationIP   string
	ReplicationPort int
	Device          string
	Meta            string
}

// String renders d in swift-ring-builder's compact form,
// e.g. "d0r1z1-127.0.0.1:6200R127.0.0.1:6200/sdb1_meta".
func (d *Device) String() string {
	s := fmt.Sprintf("d%dr%dz%d-%s:%d", d.ID, d.Region, d.Zone, hostForm(d.IP), d.Port)
	s += fmt.Sprintf("R%s:%d/%s", hostForm(d.ReplicationIP), d.ReplicationPort, d.Device)
	if d.Meta != "" {
		s += "_" + d.Meta
	}
	return s
}

func hostForm(ip string) string {
	for i := 0; i < len(ip); i++ {
		if ip[i] == ':' {
			return "[" + ip + "]"
		}
	}
	return ip
}

// validate checks the fields every device must have; id is not checked.
func (d *Device) validate() error {
	switch {
	case d.IP == "":
		return fmt.Errorf("%w: empty ip", ErrInvalidDevice)
	case d.Port <= 0 || d.Port > 65535:
		return fmt.Errorf("%w: port %d out of range", ErrInvalidDevice, d.Port)
	case d.ReplicationPort < 0 || d.ReplicationPort > 65535:
		return fmt.Errorf("%w: replication port %d out of range", ErrInvalidDevice, d.ReplicationPort)
	case d.Device == "":
		return fmt.Errorf("%w: empty device name", ErrInvalidDevice)
	case containsByte(d.Device, '/'):
		return fmt.Errorf("%w: device name %q contains '/'", ErrInvalidDevice, d.Device)
	case d.Region < 0 || d.Zone < 0:
		return fmt.Errorf("%w: negative region or zone", ErrInvalidDevice)
	case math.IsNaN(d.Weight) || math.IsInf(d.Weight, 0) || d.Weight < 0:
		return fmt.Errorf("%w: weight %v must be a finite number >= 0", ErrInvalidDevice, d.Weight)
	}
	return nil
}

func containsByte(s string, b byte) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == b {
			return true
		}
	}
	return false
}

// Ring is an immutable partition → device table. It is safe for concurrent
// use; Devices returned by its methods are shared and must not be modified.
type Ring struct {
	devs             []*Device // index = device id; nil for removed devices
	replica2part2dev [][]uint16
	partShift        uint
	version          *int64
	nextPartPower    *int
	fileMD5          string

	// handoff bookkeeping, as Swift's _update_bookkeeping: only devices
	// holding at least one assignment count.
	numRegions, numZones, numIPs, numAssigned int
	unassigned                                []*Device // weighted devices with no assignment
}

// New builds a ring from a device table (index = id, nil for holes) and
// replica rows of partition → device id. Every row but the last must have
// 1<<partPower entries; the last may be shorter (Swift's fractional
// replicas). version < 0 means "no version".
func New(devs []*Device, replica2part2dev [][]uint16, partPower uint, version int64) (*Ring, error) {
	var v *int64
	if version >= 0 {
		v = &version
	}
	return newRing(devs, replica2part2dev, 32-partPower, v, nil)
}

func newRing(devs []*Device, r2p2d [][]uint16, partShift uint, version *int64, npp *int) (*Ring, error) {
	if partShift > 32 || partShift < 1 {
		return nil, fmt.Errorf("%w: part_shift %d", ErrCorruptRing, partShift)
	}
	parts := 1 << (32 - partShift)
	for i, d := range devs {
		if d != nil && d.ID != i {
			return nil, fmt.Errorf("%w: device at index %d has id %d", ErrCorruptRing, i, d.ID)
		}
	}
	for r, row := range r2p2d {
		if len(row) > parts || (len(row) != parts && r != len(r2p2d)-1) {
			return nil, fmt.Errorf("%w: replica row %d has %d entries, want %d", ErrCorruptRing, r, len(row), parts)
		}
		for p, id := range row {
			if int(id) >= len(devs) || devs[id] == nil {
				return nil, fmt.Errorf("%w: partition %d replica %d names missing device %d", ErrCorruptRing, p, r, id)
			}
		}
	}
	r := &Ring{devs: devs, replica2part2dev: r2p2d, partShift: partShift, version: version, nextPartPower: npp}
	r.bookkeeping()
	return r, nil
}

func (r *Ring) bookkeeping() {
	assigned := make([]bool, len(r.devs))
	for _, row := range r.replica2part2dev {
		for _, id := range row {
			assigned[id] = true
		}
	}
	type zoneKey struct{ region, zone int }
	type ipKey struct {
		region, zone int
		ip           string
	}
	regions := map[int]bool{}
	zones := map[zoneKey]bool{}
	ips := map[ipKey]bool{}
	for id, d := range r.devs {
		if d == nil {
			continue
		}
		if !assigned[id] {
			if d.Weight > 0 {
				r.unassigned = append(r.unassigned, d)
			}
			continue
		}
		r.numAssigned++
		regions[d.Region] = true
		zones[zoneKey{d.Region, d.Zone}] = true
		ips[ipKey{d.Region, d.Zone, d.IP}] = true
	}
	r.numRegions, r.numZones, r.numIPs = len(regions), len(zones), len(ips)
}

// PartPower is the number of hash bits that select a partition.
func (r *Ring) PartPower() uint { return 32 - r.partShift }

// PartitionCount is 1 << PartPower.
func (r *Ring) PartitionCount() int { return 1 << (32 - r.partShift) }

// ReplicaCount is the number of replica rows (Swift's ceil(replicas)).
func (r *Ring) ReplicaCount() int { return len(r.replica2part2dev) }

// Replicas is Swift's replica_count: fractional when the last row is short.
func (r *Ring) Replicas() float64 {
	n := len(r.replica2part2dev)
	if n == 0 {
		return 0
	}
	return float64(n-1) + float64(len(r.replica2part2dev[n-1]))/float64(len(r.replica2part2dev[0]))
}

// Version is the builder version stored in the ring, and whether there is one.
func (r *Ring) Version() (int64, bool) {
	if r.version == nil {
		return 0, false
	}
	return *r.version, true
}

// FileMD5 is the hex MD5 of the ring file's bytes as last loaded or saved
// (what Swift's recon reports as ringmd5); empty for an unsaved ring.
func (r *Ring) FileMD5() string { return r.fileMD5 }

// Devices returns the ring's devices ordered by id, without holes.
func (r *Ring) Devices() []*Device {
	out := make([]*Device, 0, len(r.devs))
	for _, d := range r.devs {
		if d != nil {
			out = append(out, d)
		}
	}
	return out
}

// Device returns the device with the given id, or nil.
func (r *Ring) Device(id int) *Device {
	if id < 0 || id >= len(r.devs) {
		return nil
	}
	return r.devs[id]
}

// Assignment returns the device id holding replica rep of partition part,
// and false when that replica does not exist (fractional replicas).
func (r *Ring) Assignment(rep, part int) (int, bool) {
	if rep < 0 || rep >= len(r.replica2part2dev) || part < 0 || part >= len(r.replica2part2dev[rep]) {
		return 0, false
	}
	return int(r.replica2part2dev[rep][part]), true
}

// Partition returns the partition of a hash_path digest (see HashPath).
func (r *Ring) Partition(hash [16]byte) int {
	return int(binary.BigEndian.Uint32(hash[:4]) >> r.partShift)
}

// PrimaryNodes returns the devices holding part, in replica order, each
// device once (Swift's get_part_nodes). It panics if part is out of range.
func (r *Ring) PrimaryNodes(part int) []*Device {
	if part < 0 || part >= r.PartitionCount() {
		panic("ring: partition " + strconv.Itoa(part) + " out of range")
	}
	out := make([]*Device, 0, len(r.replica2part2dev))
next:
	for _, row := range r.replica2part2dev {
		if part >= len(row) {
			continue
		}
		d := r.devs[row[part]]
		for _, seen := range out {
			if seen == d {
				continue next
			}
		}
		out = append(out, d)
	}
	return out
}

// Handoffs yields the devices to try after part's primaries, in exactly
// the order of Swift's get_more_nodes: walking partitions from one derived
// from md5(str(part)), first devices in regions the partition does not use
// yet, then unused zones, then unused IPs, then any device not yet yielded.
// Swift only considers devices holding some assignment; after those,
// swiftbox also yields weighted devices that hold none yet (a ring written
// before a rebalance), so every weighted device comes up eventually.
// No device is yielded twice and primaries never are. Stop early by
// breaking out of the range loop; each step costs O(replicas).
func (r *Ring) Handoffs(part int) iter.Seq[*Device] {
	return func(yield func(*Device) bool) {
		r.handoffs(part, yield)
	}
}

type zoneTier struct{ region, zone int }

type ipTier struct {
	zoneTier
	ip string
}

func (r *Ring) handoffs(part int, yield func(*Device) bool) {
	primaries := r.PrimaryNodes(part)
	used := make(map[int]bool, len(r.devs))
	sameRegions := map[int]bool{}
	sameZones := map[zoneTier]bool{}
	sameIPs := map[ipTier]bool{}
	for _, d := range primaries {
		used[d.ID] = true
		sameRegions[d.Region] = true
		sameZones[zoneTier{d.Region, d.Zone}] = true
		sameIPs[ipTier{zoneTier{d.Region, d.Zone}, d.IP}] = true
	}
	parts := r.PartitionCount()
	sum := md5.Sum([]byte(strconv.Itoa(part)))
	start := int(binary.BigEndian.Uint32(sum[:4]) >> r.partShift)
	inc := parts / 65536
	if inc == 0 {
		inc = 1
	}
	// Swift's chain(range(start, parts, inc), range(inc - ((parts - start) % inc), start, inc)).
	walk := func(visit func(dev *Device) (stop bool)) bool {
		for _, span := range [2][2]int{{start, parts}, {inc - ((parts - start) % inc), start}} {
			for hp := span[0]; hp < span[1]; hp += inc {
				for _, row := range r.replica2part2dev {
					if hp < len(row) {
						if visit(r.devs[row[hp]]) {
							return true
						}
					}
				}
			}
		}
		return false
	}
	emit := func(d *Device) bool {
		used[d.ID] = true
		sameRegions[d.Region] = true
		sameZones[zoneTier{d.Region, d.Zone}] = true
		sameIPs[ipTier{zoneTier{d.Region, d.Zone}, d.IP}] = true
		return yield(d)
	}
	stopped := false
	tier := func(done func() bool, fresh func(d *Device) bool) {
		if stopped || done() {
			return
		}
		walk(func(d *Device) bool {
			if used[d.ID] || !fresh(d) {
				return false
			}
			if !emit(d) {
				stopped = true
				return true
			}
			return done()
		})
	}
	tier(func() bool { return len(sameRegions) == r.numRegions },
		func(d *Device) bool { return !sameRegions[d.Region] })
	tier(func() bool { return len(sameZones) == r.numZones },
		func(d *Device) bool { return !sameZones[zoneTier{d.Region, d.Zone}] })
	tier(func() bool { return len(sameIPs) == r.numIPs },
		func(d *Device) bool { return !sameIPs[ipTier{zoneTier{d.Region, d.Zone}, d.IP}] })
	tier(func() bool { return len(used) == r.numAssigned },
		func(*Device) bool { return true })
	if stopped {
		return
	}
	for _, d := range r.unassigned {
		if !used[d.ID] && !yield(d) {
			return
		}
	}
}

// PolicyString is Swift's get_policy_string: base for storage policy 0,
// base-N for policy N ("object-1" rings, "objects-1" directories).
func PolicyString(base string, policy int) string {
	if policy == 0 {
		return base
	}
	return base + "-" + strconv.Itoa(policy)
}
