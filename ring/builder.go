package ring

import (
	"encoding/json"
	"fmt"
	"math"
	"net"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// noDev marks an unassigned replica in the builder's table. Swift uses the
// same sentinel (none_dev_id); it never appears in a ring file.
const noDev = math.MaxUint16

// MaxBalance is the balance Swift reports for a zero-weight device that
// still holds partitions.
const MaxBalance = 999.99

// BuilderFormat names swiftbox's builder file format; see Builder.
const BuilderFormat = "swiftbox-ring-builder"

// Builder holds what is needed to (re)build a ring: parameters, devices
// with weights, the current assignment table and when each partition last
// moved. It is not safe for concurrent use.
//
// A builder is persisted as a JSON file, conventionally <name>.builder.json
// (Swift's own .builder is a Python pickle; swiftbox neither reads nor
// writes that). Its fields:
//
//	format           "swiftbox-ring-builder"
//	format_version   1
//	part_power       partition power (partitions = 1 << part_power)
//	replicas         integer replica count
//	min_part_hours   hours a moved partition must stay before moving again
//	version          incremented by every change; stored in the ring file
//	devs             list indexed by device id, null for removed ids; each
//	                 {id, region, zone, weight, ip, port, replication_ip,
//	                 replication_port, device, meta, remove?} where remove
//	                 marks a device leaving at the next rebalance
//	replica2part2dev replica rows of device ids, 65535 = unassigned; null
//	                 before the first rebalance
//	last_moved       per partition, unix seconds of its last move (0 never)
type Builder struct {
	partPower    uint
	replicas     int
	minPartHours int
	version      int64
	devs         []*builderDev
	table        [][]uint16
	lastMoved    []int64
	now          func() time.Time
}

type builderDev struct {
	Device
	remove bool
}

type builderFile struct {
	Format        string        `json:"format"`
	FormatVersion int           `json:"format_version"`
	PartPower     uint          `json:"part_power"`
	Replicas      int           `json:"replicas"`
	MinPartHours  int           `json:"min_part_hours"`
	Version       int64         `json:"version"`
	Devs          []*builderDJS `json:"devs"`
	Table         [][]uint16    `json:"replica2part2dev"`
	LastMoved     []int64       `json:"last_moved"`
}

type builderDJS struct {
	ID              int     `json:"id"`
	Region          int     `json:"region"`
	Zone            int     `json:"zone"`
	Weight          float64 `json:"weight"`
	IP              string  `json:"ip"`
	Port            int     `json:"port"`
	ReplicationIP   string  `json:"replication_ip"`
	ReplicationPort int     `json:"replication_port"`
	Device          string  `json:"device"`
	Meta            string  `json:"meta"`
	Remove          bool    `json:"remove,omitempty"`
}

// Limits on builder parameters.
const (
	MinPartPower = 1
	MaxPartPower = 24 // 16M partitions; Swift allows 32 but tables grow as 2^pp
	MaxReplicas  = 64
)

// BuilderSuffix ends a builder file's name: "object" + BuilderSuffix. It is
// not Swift's ".builder" (a pickle), so Swift's tools that look for
// object.builder beside object.ring.gz read the ring itself instead.
const BuilderSuffix = ".builder.json"

// NewBuilder returns an empty builder.
func NewBuilder(partPower uint, replicas, minPartHours int) (*Builder, error) {
	switch {
	case partPower < MinPartPower || partPower > MaxPartPower:
		return nil, fmt.Errorf("%w: part power %d not in %d..%d", ErrInvalidBuilder, partPower, MinPartPower, MaxPartPower)
	case replicas < 1 || replicas > MaxReplicas:
		return nil, fmt.Errorf("%w: replicas %d not in 1..%d", ErrInvalidBuilder, replicas, MaxReplicas)
	case minPartHours < 0 || minPartHours > 255:
		return nil, fmt.Errorf("%w: min_part_hours %d not in 0..255", ErrInvalidBuilder, minPartHours)
	}
	return &Builder{partPower: partPower, replicas: replicas, minPartHours: minPartHours, now: time.Now}, nil
}

// PartPower is the builder's partition power.
func (b *Builder) PartPower() uint { return b.partPower }

// Replicas is the replica count.
func (b *Builder) Replicas() int { return b.replicas }

// MinPartHours is the minimum time, in hours, between moves of a partition.
func (b *Builder) MinPartHours() int { return b.minPartHours }

// Version counts changes to the builder.
func (b *Builder) Version() int64 { return b.version }

// SetReplicas changes the replica count; the next rebalance adds or drops
// replica rows.
func (b *Builder) SetReplicas(n int) error {
	if n < 1 || n > MaxReplicas {
		return fmt.Errorf("%w: replicas %d not in 1..%d", ErrInvalidBuilder, n, MaxReplicas)
	}
	b.replicas = n
	b.version++
	return nil
}

// SetMinPartHours changes min_part_hours.
func (b *Builder) SetMinPartHours(h int) error {
	if h < 0 || h > 255 {
		return fmt.Errorf("%w: min_part_hours %d not in 0..255", ErrInvalidBuilder, h)
	}
	b.minPartHours = h
	b.version++
	return nil
}

// AddDevice adds d and returns its id: d.ID is ignored and the lowest free
// id is used, as Swift does. Region 0 becomes 1; an empty replication
// address defaults to the device's address.
func (b *Builder) AddDevice(d Device) (int, error) {
	if d.Region == 0 {
		d.Region = 1
	}
	if d.ReplicationIP == "" {
		d.ReplicationIP = d.IP
	}
	if d.ReplicationPort == 0 {
		d.ReplicationPort = d.Port
	}
	if err := d.validate(); err != nil {
		return 0, err
	}
	id := len(b.devs)
	for i, o := range b.devs {
		if o == nil {
			if i < id {
				id = i
			}
			continue
		}
		if o.IP == d.IP && o.Port == d.Port && o.Device.Device == d.Device {
			return 0, fmt.Errorf("%w: device %d already uses %s:%d/%s", ErrDuplicateDevice, o.ID, d.IP, d.Port, d.Device)
		}
	}
	if id >= noDev {
		return 0, fmt.Errorf("%w: too many devices", ErrInvalidDevice)
	}
	d.ID = id
	if id == len(b.devs) {
		b.devs = append(b.devs, nil)
	}
	b.devs[id] = &builderDev{Device: d}
	b.version++
	return id, nil
}

func (b *Builder) dev(id int) (*builderDev, error) {
	if id < 0 || id >= len(b.devs) || b.devs[id] == nil || b.devs[id].remove {
		return nil, fmt.Errorf("%w: %d", ErrNoSuchDevice, id)
	}
	return b.devs[id], nil
}

// RemoveDevice takes a device out: its weight drops to 0 and the next
// Rebalance moves all its partitions elsewhere (regardless of
// min_part_hours) and then forgets it. Before the first rebalance it is
// forgotten at once.
func (b *Builder) RemoveDevice(id int) error {
	d, err := b.dev(id)
	if err != nil {
		return err
	}
	if b.table == nil {
		b.devs[id] = nil
	} else {
		d.Weight = 0
		d.remove = true
	}
	b.version++
	return nil
}

// SetWeight changes a device's weight; the next Rebalance moves partitions.
func (b *Builder) SetWeight(id int, w float64) error {
	d, err := b.dev(id)
	if err != nil {
		return err
	}
	if math.IsNaN(w) || math.IsInf(w, 0) || w < 0 {
		return fmt.Errorf("%w: weight %v must be a finite number >= 0", ErrInvalidDevice, w)
	}
	d.Weight = w
	b.version++
	return nil
}

// PretendMinPartHoursPassed forgets when partitions last moved, so the
// next Rebalance may move any of them (Swift's command of the same name).
func (b *Builder) PretendMinPartHoursPassed() {
	for i := range b.lastMoved {
		b.lastMoved[i] = 0
	}
}

// DeviceStat describes one device for listings.
type DeviceStat struct {
	Device
	Parts   int     // replicas assigned to the device
	Wanted  float64 // replicas its weight asks for
	Balance float64 // percent over (+) or under (-) Wanted, as Swift computes it
	Removed bool    // leaving at the next rebalance
}

// DeviceStats returns every device (including ones pending removal), by id.
func (b *Builder) DeviceStats() []DeviceStat {
	parts := b.partsPerDev()
	wop := b.weightOfOnePart()
	var out []DeviceStat
	for _, d := range b.devs {
		if d == nil {
			continue
		}
		st := DeviceStat{Device: d.Device, Parts: parts[d.ID], Wanted: d.Weight * wop, Removed: d.remove}
		st.Balance = devBalance(st.Parts, d.Weight, wop)
		out = append(out, st)
	}
	return out
}

func (b *Builder) partsPerDev() []int {
	parts := make([]int, len(b.devs))
	for _, row := range b.table {
		for _, id := range row {
			if id != noDev {
				parts[id]++
			}
		}
	}
	return parts
}

func (b *Builder) weightOfOnePart() float64 {
	var total float64
	for _, d := range b.devs {
		if d != nil {
			total += d.Weight
		}
	}
	if total == 0 {
		return 0
	}
	return float64(int(1)<<b.partPower) * float64(b.replicas) / total
}

func devBalance(parts int, weight, weightOfOnePart float64) float64 {
	if weight == 0 || weightOfOnePart == 0 {
		if parts > 0 {
			return MaxBalance
		}
		return 0
	}
	return 100*float64(parts)/(weight*weightOfOnePart) - 100
}

// Balance is the largest percentage by which any device's partition count
// differs from what its weight asks for (Swift's get_balance).
func (b *Builder) Balance() float64 {
	var worst float64
	for _, st := range b.DeviceStats() {
		worst = max(worst, math.Abs(st.Balance))
	}
	return worst
}

// Ring returns the ring of the current assignments, or nil before the
// first Rebalance. The ring shares nothing with the builder.
func (b *Builder) Ring() *Ring {
	if b.table == nil {
		return nil
	}
	devs := make([]*Device, len(b.devs))
	for i, d := range b.devs {
		if d != nil {
			c := d.Device
			devs[i] = &c
		}
	}
	rows := make([][]uint16, len(b.table))
	for i, row := range b.table {
		rows[i] = append([]uint16(nil), row...)
	}
	r, err := New(devs, rows, b.partPower, b.version)
	if err != nil {
		// Rebalance leaves no unassigned replica; a hole means a bug.
		panic(err)
	}
	return r
}

// Save writes the builder to path atomically (tmp file, fsync, rename,
// directory fsync).
func (b *Builder) Save(path string) error {
	f := builderFile{Format: BuilderFormat, FormatVersion: 1, PartPower: b.partPower, Replicas: b.replicas,
		MinPartHours: b.minPartHours, Version: b.version, Table: b.table, LastMoved: b.lastMoved,
		Devs: make([]*builderDJS, len(b.devs))}
	for i, d := range b.devs {
		if d != nil {
			f.Devs[i] = &builderDJS{ID: d.ID, Region: d.Region, Zone: d.Zone, Weight: d.Weight, IP: d.IP,
				Port: d.Port, ReplicationIP: d.ReplicationIP, ReplicationPort: d.ReplicationPort,
				Device: d.Device.Device, Meta: d.Meta, Remove: d.remove}
		}
	}
	data, err := json.MarshalIndent(f, "", " ")
	if err != nil {
		return err
	}
	return writeFileAtomic(path, append(data, '\n'), 0o644)
}

// LoadBuilder reads a builder written by Save.
func LoadBuilder(path string) (*Builder, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var f builderFile
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("%s: %w: %v", path, ErrInvalidBuilder, err)
	}
	if f.Format != BuilderFormat || f.FormatVersion != 1 {
		return nil, fmt.Errorf("%s: %w: not a swiftbox builder (format %q version %d)", path, ErrInvalidBuilder, f.Format, f.FormatVersion)
	}
	b, err := NewBuilder(f.PartPower, f.Replicas, f.MinPartHours)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	b.version = f.Version
	b.devs = make([]*builderDev, len(f.Devs))
	for i, j := range f.Devs {
		if j == nil {
			continue
		}
		d := Device{ID: j.ID, Region: j.Region, Zone: j.Zone, Weight: j.Weight, IP: j.IP, Port: j.Port,
			ReplicationIP: j.ReplicationIP, ReplicationPort: j.ReplicationPort, Device: j.Device, Meta: j.Meta}
		if d.ID != i {
			return nil, fmt.Errorf("%s: %w: device at index %d has id %d", path, ErrInvalidBuilder, i, d.ID)
		}
		if err := d.validate(); err != nil {
			return nil, fmt.Errorf("%s: device %d: %w", path, i, err)
		}
		b.devs[i] = &builderDev{Device: d, remove: j.Remove}
	}
	parts := 1 << f.PartPower
	if f.Table != nil {
		if len(f.LastMoved) != parts {
			return nil, fmt.Errorf("%s: %w: last_moved has %d entries, want %d", path, ErrInvalidBuilder, len(f.LastMoved), parts)
		}
		for r, row := range f.Table {
			if len(row) != parts {
				return nil, fmt.Errorf("%s: %w: replica row %d has %d entries, want %d", path, ErrInvalidBuilder, r, len(row), parts)
			}
			for p, id := range row {
				if id != noDev && (int(id) >= len(b.devs) || b.devs[id] == nil) {
					return nil, fmt.Errorf("%s: %w: partition %d names missing device %d", path, ErrInvalidBuilder, p, id)
				}
			}
		}
		b.table, b.lastMoved = f.Table, f.LastMoved
	}
	return b, nil
}

// deviceSpec matches swift-ring-builder's add syntax:
// [r<region>]z<zone>-<ip>:<port>[R<repl ip>:<repl port>]/<device>[_<meta>]
var deviceSpec = regexp.MustCompile(`^(?:r(\d+))?z(\d+)-(\[[^\]]+\]|[^:\[\]/]+):(\d+)(?:R(\[[^\]]+\]|[^:\[\]/]+):(\d+))?/([^_/]+)(?:_(.*))?$`)

// ParseDeviceSpec parses swift-ring-builder's compact device form, e.g.
// "r1z1-127.0.0.1:6200/sdb1" or "r1z2-[::1]:6200R[::1]:6300/sdc_meta",
// and a weight. Region defaults to 1; the returned device has no id.
func ParseDeviceSpec(spec, weight string) (Device, error) {
	m := deviceSpec.FindStringSubmatch(spec)
	if m == nil {
		return Device{}, fmt.Errorf("%w: %q is not of the form r1z1-127.0.0.1:6200/sdb1", ErrInvalidDevice, spec)
	}
	atoi := func(s string, def int) int {
		if s == "" {
			return def
		}
		n, err := strconv.Atoi(s)
		if err != nil {
			return -1
		}
		return n
	}
	host := func(s string) string { return strings.TrimSuffix(strings.TrimPrefix(s, "["), "]") }
	d := Device{Region: atoi(m[1], 1), Zone: atoi(m[2], 0), IP: host(m[3]), Port: atoi(m[4], 0),
		ReplicationIP: host(m[5]), ReplicationPort: atoi(m[6], 0), Device: m[7], Meta: m[8]}
	if d.ReplicationIP == "" {
		d.ReplicationIP, d.ReplicationPort = d.IP, d.Port
	}
	w, err := strconv.ParseFloat(weight, 64)
	if err != nil {
		return Device{}, fmt.Errorf("%w: weight %q is not a number", ErrInvalidDevice, weight)
	}
	d.Weight = w
	if err := d.validate(); err != nil {
		return Device{}, err
	}
	if strings.ContainsAny(d.IP, ":") && net.ParseIP(d.IP) == nil {
		return Device{}, fmt.Errorf("%w: bad IPv6 address %q", ErrInvalidDevice, d.IP)
	}
	return d, nil
}

// BuildDefault builds and rebalances a ring for one box's devices:
// replicas = min(3, devices), min_part_hours 1, and every device whose
// zone is 0 gets a zone of its own (so replicas land on distinct disks and
// handoffs prefer other disks). The part power gives about 100 partition
// replicas per device even after the box grows to 8× as many devices:
// fewer partitions balance poorly, many more only add directories for the
// replicator to walk. It is clamped to 8..14 (256..16384 partitions).
func BuildDefault(devices []Device) (*Builder, error) {
	return BuildFor(devices, 0, 0)
}

// BuildFor is BuildDefault with the replica count and part power given
// (0 = BuildDefault's choice).
func BuildFor(devices []Device, replicas int, partPower uint) (*Builder, error) {
	if len(devices) == 0 {
		return nil, fmt.Errorf("%w: no devices", ErrTooFewDevices)
	}
	if replicas == 0 {
		replicas = min(3, len(devices))
	}
	if partPower == 0 {
		partPower = DefaultPartPower(len(devices), replicas)
	}
	b, err := NewBuilder(partPower, replicas, 1)
	if err != nil {
		return nil, err
	}
	for i, d := range devices {
		if d.Zone == 0 {
			d.Zone = i + 1
		}
		if _, err := b.AddDevice(d); err != nil {
			return nil, err
		}
	}
	if _, _, err := b.Rebalance(); err != nil {
		return nil, err
	}
	return b, nil
}

// DefaultPartPower is the part power BuildDefault picks; see there.
func DefaultPartPower(devices, replicas int) uint {
	const perDevice, growth = 100, 8
	want := perDevice * growth * max(devices, 1) / max(replicas, 1)
	pp := uint(8)
	for pp < 14 && 1<<pp < want {
		pp++
	}
	return pp
}
