package ring

import (
	"bytes"
	"compress/gzip"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// swiftGzipMtime is the gzip header mtime Swift writes so that identical
// rings are identical files.
const swiftGzipMtime = 1300507380

// ringJSONDev is a device as it appears in a ring file's JSON.
type ringJSONDev struct {
	ID              int     `json:"id"`
	Region          *int    `json:"region"`
	Zone            int     `json:"zone"`
	Weight          float64 `json:"weight"`
	IP              string  `json:"ip"`
	Port            int     `json:"port"`
	ReplicationIP   *string `json:"replication_ip"`
	ReplicationPort *int    `json:"replication_port"`
	Device          string  `json:"device"`
	Meta            string  `json:"meta"`
}

func (j *ringJSONDev) device() *Device {
	d := &Device{ID: j.ID, Region: 1, Zone: j.Zone, Weight: j.Weight, IP: j.IP, Port: j.Port,
		ReplicationIP: j.IP, ReplicationPort: j.Port, Device: j.Device, Meta: j.Meta}
	// Swift defaults these for rings written by old builders.
	if j.Region != nil {
		d.Region = *j.Region
	}
	if j.ReplicationIP != nil {
		d.ReplicationIP = *j.ReplicationIP
	}
	if j.ReplicationPort != nil {
		d.ReplicationPort = *j.ReplicationPort
	}
	return d
}

// Load reads a Swift ring file (*.ring.gz), format v1 or v2. Devices with
// ids beyond 65535 (possible only in v2) are not supported.
func Load(path string) (*Ring, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	r, err := Decode(raw)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return r, nil
}

// Decode parses the bytes of a ring file (gzip-compressed, as on disk).
func Decode(raw []byte) (*Ring, error) {
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotRing, err)
	}
	data, err := io.ReadAll(zr)
	if err != nil {
		return nil, fmt.Errorf("%w: gunzip: %v", ErrCorruptRing, err)
	}
	if len(data) < 6 || string(data[:4]) != "R1NG" {
		return nil, ErrNotRing
	}
	var r *Ring
	switch v := binary.BigEndian.Uint16(data[4:6]); v {
	case 1:
		r, err = decodeV1(data[6:])
	case 2:
		r, err = decodeV2(data)
	default:
		return nil, fmt.Errorf("%w: version %d", ErrUnsupportedFormat, v)
	}
	if err != nil {
		return nil, err
	}
	sum := md5.Sum(raw)
	r.fileMD5 = hex.EncodeToString(sum[:])
	return r, nil
}

type ringMeta struct {
	ByteOrder     string         `json:"byteorder"`
	Devs          []*ringJSONDev `json:"devs"`
	PartShift     *uint          `json:"part_shift"`
	ReplicaCount  json.Number    `json:"replica_count"`
	Version       *int64         `json:"version"`
	NextPartPower *int           `json:"next_part_power"`
	DevIDBytes    int            `json:"dev_id_bytes"`
}

func (m *ringMeta) devices() []*Device {
	devs := make([]*Device, len(m.Devs))
	for i, j := range m.Devs {
		if j != nil {
			devs[i] = j.device()
		}
	}
	return devs
}

func (m *ringMeta) partShift() (uint, error) {
	if m.PartShift == nil || *m.PartShift < 1 || *m.PartShift > 32 {
		return 0, fmt.Errorf("%w: missing or bad part_shift", ErrCorruptRing)
	}
	return *m.PartShift, nil
}

func decodeV1(data []byte) (*Ring, error) {
	if len(data) < 4 {
		return nil, fmt.Errorf("%w: truncated header", ErrCorruptRing)
	}
	n := binary.BigEndian.Uint32(data)
	data = data[4:]
	if uint64(n) > uint64(len(data)) {
		return nil, fmt.Errorf("%w: truncated JSON header", ErrCorruptRing)
	}
	var m ringMeta
	if err := json.Unmarshal(data[:n], &m); err != nil {
		return nil, fmt.Errorf("%w: JSON header: %v", ErrCorruptRing, err)
	}
	data = data[n:]
	shift, err := m.partShift()
	if err != nil {
		return nil, err
	}
	replicas, err := m.ReplicaCount.Int64()
	if err != nil || replicas < 0 || replicas > 1<<16 {
		return nil, fmt.Errorf("%w: bad replica_count %q", ErrCorruptRing, m.ReplicaCount)
	}
	var order binary.ByteOrder = binary.LittleEndian
	switch m.ByteOrder {
	case "little", "":
		// Swift defaults to the reader's byte order; every platform
		// Swift runs on today is little-endian.
	case "big":
		order = binary.BigEndian
	default:
		return nil, fmt.Errorf("%w: byteorder %q", ErrCorruptRing, m.ByteOrder)
	}
	parts := 1 << (32 - shift)
	rows := make([][]uint16, 0, replicas)
	for r := 0; r < int(replicas); r++ {
		// Like Swift, a short final row is a fractional replica.
		size := min(2*parts, len(data))
		if size%2 != 0 || (size < 2*parts && r != int(replicas)-1) {
			return nil, fmt.Errorf("%w: truncated replica table", ErrCorruptRing)
		}
		row := make([]uint16, size/2)
		for i := range row {
			row[i] = order.Uint16(data[2*i:])
		}
		rows = append(rows, row)
		data = data[size:]
	}
	return newRing(m.devices(), rows, shift, m.Version, m.NextPartPower)
}

// decodeV2 reads Swift's v2 format (swift/common/ring/io.py): named,
// length-prefixed and checksummed sections located through a JSON index
// whose uncompressed offset is the second-to-last 8 bytes of the stream.
func decodeV2(data []byte) (*Ring, error) {
	if len(data) < 6+16 {
		return nil, badV2("too short")
	}
	f := v2File(data)
	_, idxJSON, err := f.blob(binary.BigEndian.Uint64(data[len(data)-16:]))
	if err != nil {
		return nil, err
	}
	var index map[string][]any
	if err := json.Unmarshal(idxJSON, &index); err != nil {
		return nil, badV2("index JSON")
	}
	metaJSON, err := f.section(index, "swift/ring/metadata")
	if err != nil {
		return nil, err
	}
	var m ringMeta
	if err := json.Unmarshal(metaJSON, &m); err != nil {
		return nil, badV2("metadata JSON")
	}
	devJSON, err := f.section(index, "swift/ring/devices")
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(devJSON, &m.Devs); err != nil {
		return nil, badV2("devices JSON")
	}
	shift, err := m.partShift()
	if err != nil {
		return nil, err
	}
	table, err := f.section(index, "swift/ring/assignments")
	if err != nil {
		return nil, err
	}
	rows, err := decodeAssignments(table, m.DevIDBytes, 1<<(32-shift))
	if err != nil {
		return nil, err
	}
	return newRing(m.devices(), rows, shift, m.Version, m.NextPartPower)
}

func badV2(what string) error { return fmt.Errorf("%w: v2 %s", ErrCorruptRing, what) }

// v2File is a v2 ring file's bytes: length-prefixed blobs, found through
// an index at the end.
type v2File []byte

// blob is the length-prefixed blob at off: whole (prefix included, what
// the checksum covers) and its body.
func (data v2File) blob(off uint64) (whole, body []byte, err error) {
	if off > uint64(len(data))-8 {
		return nil, nil, badV2("offset out of range")
	}
	n := binary.BigEndian.Uint64(data[off:])
	if n > uint64(len(data))-off-8 {
		return nil, nil, badV2("blob out of range")
	}
	return data[off : off+8+n], data[off+8 : off+8+n], nil
}

// section is the body of the index's section name, its checksum verified.
func (data v2File) section(index map[string][]any, name string) ([]byte, error) {
	e, ok := index[name]
	if !ok || len(e) != 6 {
		return nil, badV2("missing section " + name)
	}
	start, ok1 := e[1].(float64)
	method, ok2 := e[4].(string)
	want, ok3 := e[5].(string)
	if !ok1 || !ok2 || !ok3 || start < 0 {
		return nil, badV2("index entry " + name)
	}
	whole, body, err := data.blob(uint64(start))
	if err != nil {
		return nil, err
	}
	var h hash.Hash
	switch method {
	case "md5":
		h = md5.New()
	case "sha1":
		h = sha1.New()
	case "sha256":
		h = sha256.New()
	case "sha512":
		h = sha512.New()
	default:
		return nil, badV2("checksum method " + method)
	}
	h.Write(whole)
	if hex.EncodeToString(h.Sum(nil)) != want {
		return nil, badV2("checksum mismatch in " + name)
	}
	return body, nil
}

// decodeAssignments splits the assignments table (device ids of width
// bytes) into replica rows of parts entries.
func decodeAssignments(table []byte, width, parts int) ([][]uint16, error) {
	if width != 2 && width != 4 {
		return nil, fmt.Errorf("%w: dev_id_bytes %d", ErrUnsupportedFormat, width)
	}
	if len(table)%width != 0 {
		return nil, badV2("assignments size")
	}
	var rows [][]uint16
	for len(table) > 0 {
		n := min(parts, len(table)/width)
		row := make([]uint16, n)
		for i := range row {
			var id uint32
			if width == 2 {
				id = uint32(binary.BigEndian.Uint16(table[2*i:]))
			} else {
				id = binary.BigEndian.Uint32(table[4*i:])
			}
			if id > math.MaxUint16 {
				return nil, fmt.Errorf("%w: device id %d beyond 65535", ErrUnsupportedFormat, id)
			}
			row[i] = uint16(id)
		}
		rows = append(rows, row)
		table = table[n*width:]
	}
	return rows, nil
}

// Encode returns the ring in Swift's v1 format, uncompressed: the bytes
// Swift's RingData.serialize_v1 produces on a little-endian host.
func (r *Ring) Encode() []byte {
	var hdr bytes.Buffer
	hdr.WriteString(`{"byteorder": "little", "devs": [`)
	for i, d := range r.devs {
		if i > 0 {
			hdr.WriteString(", ")
		}
		if d == nil {
			hdr.WriteString("null")
			continue
		}
		// Keys sorted, as json.dumps(sort_keys=True) does.
		fmt.Fprintf(&hdr, `{"device": %s, "id": %d, "ip": %s, "meta": %s, "port": %d, "region": %d, `+
			`"replication_ip": %s, "replication_port": %d, "weight": %s, "zone": %d}`,
			pyString(d.Device), d.ID, pyString(d.IP), pyString(d.Meta), d.Port, d.Region,
			pyString(d.ReplicationIP), d.ReplicationPort, pyFloat(d.Weight), d.Zone)
	}
	hdr.WriteString("]")
	if r.nextPartPower != nil {
		fmt.Fprintf(&hdr, `, "next_part_power": %d`, *r.nextPartPower)
	}
	fmt.Fprintf(&hdr, `, "part_shift": %d, "replica_count": %d`, r.partShift, len(r.replica2part2dev))
	if r.version != nil {
		fmt.Fprintf(&hdr, `, "version": %d`, *r.version)
	}
	hdr.WriteString("}")

	// Sized by the rows as they are: a fractional last replica is shorter
	// than the partition count.
	size := 10 + hdr.Len()
	for _, row := range r.replica2part2dev {
		size += 2 * len(row)
	}
	out := make([]byte, 0, size)
	out = append(out, "R1NG"...)
	out = binary.BigEndian.AppendUint16(out, 1)
	out = binary.BigEndian.AppendUint32(out, uint32(hdr.Len()))
	out = append(out, hdr.Bytes()...)
	for _, row := range r.replica2part2dev {
		for _, id := range row {
			out = binary.LittleEndian.AppendUint16(out, id)
		}
	}
	return out
}

// Save writes the ring to path in Swift's v1 format. The uncompressed
// content and the gzip header (file name, mtime 1300507380, flags) are
// what Swift writes; the deflate stream itself comes from Go's compressor,
// not zlib, so the file's bytes (and FileMD5) differ from a Swift-written
// file of the same ring. Save returns after the file and its directory
// are fsynced; readers see either the old or the new ring, never a mix.
func (r *Ring) Save(path string) error {
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return err
	}
	zw.Name = strings.TrimSuffix(filepath.Base(path), ".gz")
	zw.ModTime = time.Unix(swiftGzipMtime, 0)
	zw.OS = 255
	if _, err := zw.Write(r.Encode()); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	if err := writeFileAtomic(path, buf.Bytes(), 0o644); err != nil {
		return err
	}
	sum := md5.Sum(buf.Bytes())
	r.fileMD5 = hex.EncodeToString(sum[:])
	return nil
}

// writeFileAtomic writes data to a temporary file beside path, fsyncs it,
// renames it over path and fsyncs the directory.
func writeFileAtomic(path string, data []byte, perm os.FileMode) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if _, err = f.Write(data); err != nil {
		return err
	}
	if err = f.Chmod(perm); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Rename(f.Name(), path); err != nil {
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	if err := d.Sync(); err != nil && !errors.Is(err, os.ErrInvalid) {
		d.Close()
		return err
	}
	return d.Close()
}

// pyFloat formats f as Python's repr (and so json.dumps) does: shortest
// round-trip digits, ".0" on integral values, exponent form outside
// 1e-4 <= |f| < 1e16.
func pyFloat(f float64) string {
	if f == 0 {
		if math.Signbit(f) {
			return "-0.0"
		}
		return "0.0"
	}
	e := strconv.FormatFloat(f, 'e', -1, 64)
	exp, _ := strconv.Atoi(e[strings.IndexByte(e, 'e')+1:])
	if exp < -4 || exp >= 16 {
		return e
	}
	s := strconv.FormatFloat(f, 'f', -1, 64)
	if !strings.ContainsAny(s, ".") {
		s += ".0"
	}
	return s
}

// pyString quotes s as json.dumps(ensure_ascii=True) does.
func pyString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, c := range s {
		switch c {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		default:
			switch {
			case c >= 0x20 && c <= 0x7e:
				b.WriteRune(c)
			case c > 0xffff:
				c -= 0x10000
				fmt.Fprintf(&b, `\u%04x\u%04x`, 0xd800+(c>>10), 0xdc00+(c&0x3ff))
			default:
				if c == utf8.RuneError {
					c = 0xfffd
				}
				fmt.Fprintf(&b, `\u%04x`, c)
			}
		}
	}
	b.WriteByte('"')
	return b.String()
}
