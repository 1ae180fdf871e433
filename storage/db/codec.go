package db

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"swiftbox/storage/timestamp"
)

// Schema. Both kinds of database hold:
//
//	info/stat     JSON of containerStat or accountStat
//	info/meta     JSON {key: [value, internal timestamp]}, Swift's format
//	live/<name>   rows not deleted, keyed by name (the listing index)
//	deleted/<name> deleted rows kept for replication, keyed by name
//	seq/<row id>  8-byte big-endian change number -> name; one per row
//
// A name is in exactly one of live and deleted. Every change to a row gives
// it a new row id, so seq in key order is the replication change log.
var (
	bucketInfo    = []byte("info")
	bucketLive    = []byte("live")
	bucketDeleted = []byte("deleted")
	bucketSeq     = []byte("seq")

	keyStat = []byte("stat")
	keyMeta = []byte("meta")
	keyKind = []byte("kind")
)

// statusDeleted is Swift's status column value after DELETE.
const statusDeleted = "DELETED"

// createBuckets makes the buckets every database has.
func createBuckets(tx *bolt.Tx, kind string) error {
	for _, name := range [][]byte{bucketInfo, bucketLive, bucketDeleted, bucketSeq} {
		if _, err := tx.CreateBucket(name); err != nil {
			return err
		}
	}
	return tx.Bucket(bucketInfo).Put(keyKind, []byte(kind))
}

// txCtx is one transaction plus the stat record loaded from it, so that a
// batch of updates decodes and encodes the stat once.
type txCtx struct {
	tx    *bolt.Tx
	cstat *containerStat
	astat *accountStat
}

func (c *txCtx) bucket(name []byte) (*bolt.Bucket, error) {
	b := c.tx.Bucket(name)
	if b == nil {
		return nil, fmt.Errorf("%w: missing bucket %q", ErrCorrupt, name)
	}
	return b, nil
}

// loadJSON decodes info/key into v.
func (c *txCtx) loadJSON(key []byte, v any) error {
	b, err := c.bucket(bucketInfo)
	if err != nil {
		return err
	}
	raw := b.Get(key)
	if raw == nil {
		return fmt.Errorf("%w: missing info/%s", ErrCorrupt, key)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("%w: info/%s: %v", ErrCorrupt, key, err)
	}
	return nil
}

func (c *txCtx) storeJSON(key []byte, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return c.tx.Bucket(bucketInfo).Put(key, raw)
}

// flush writes back a stat record loaded in a writable transaction.
func (c *txCtx) flush() error {
	if !c.tx.Writable() {
		return nil
	}
	if c.cstat != nil {
		if err := c.storeJSON(keyStat, c.cstat); err != nil {
			return err
		}
	}
	if c.astat != nil {
		return c.storeJSON(keyStat, c.astat)
	}
	return nil
}

// reindex allocates the next change number and indexes name under it,
// dropping the row's previous change number old (0 if none).
func (c *txCtx) reindex(maxRow *uint64, old uint64, name []byte) (uint64, error) {
	seq := c.tx.Bucket(bucketSeq)
	if old != 0 {
		if err := seq.Delete(seqKey(old)); err != nil {
			return 0, err
		}
	}
	*maxRow++
	return *maxRow, seq.Put(seqKey(*maxRow), name)
}

func seqKey(n uint64) []byte {
	var k [8]byte
	binary.BigEndian.PutUint64(k[:], n)
	return k[:]
}

// Metadata maps a header name, as the client sent it, to its value and the
// timestamp of the request that set it. Value "" means deleted: the entry
// is kept with its timestamp so merges can tell it is newer, and Info
// results leave it out.
type Metadata map[string]MetaValue

// MetaValue is one metadata item.
type MetaValue struct {
	Value     string
	Timestamp timestamp.Timestamp
}

// loadMeta reads info/meta, stored as Swift stores it: {key: [value, ts]}.
func (c *txCtx) loadMeta() (Metadata, error) {
	var raw map[string][2]string
	if err := c.loadJSON(keyMeta, &raw); err != nil {
		return nil, err
	}
	md := make(Metadata, len(raw))
	for k, v := range raw {
		ts, err := timestamp.Parse(v[1])
		if err != nil {
			return nil, fmt.Errorf("%w: metadata %q: %v", ErrCorrupt, k, err)
		}
		md[k] = MetaValue{Value: v[0], Timestamp: ts}
	}
	return md, nil
}

func (c *txCtx) storeMeta(md Metadata) error {
	raw := make(map[string][2]string, len(md))
	for k, v := range md {
		raw[k] = [2]string{v.Value, v.Timestamp.Internal()}
	}
	return c.storeJSON(keyMeta, raw)
}

// mergeMeta applies updates to the stored metadata; per key the newer
// timestamp wins, as Swift's update_metadata does.
func (c *txCtx) mergeMeta(updates Metadata) error {
	if len(updates) == 0 {
		return nil
	}
	md, err := c.loadMeta()
	if err != nil {
		return err
	}
	changed := false
	for k, v := range updates {
		if old, ok := md[k]; !ok || v.Timestamp.After(old.Timestamp) {
			md[k] = v
			changed = true
		}
	}
	if !changed {
		return nil
	}
	return c.storeMeta(md)
}

// visible returns md without deleted ("") items.
func (md Metadata) visible() Metadata {
	out := make(Metadata, len(md))
	for k, v := range md {
		if v.Value != "" {
			out[k] = v
		}
	}
	return out
}

// rowEncoder appends fields to a byte slice; rowDecoder reads them back.
type rowEncoder struct{ b []byte }

func (e *rowEncoder) uint(v uint64) { e.b = binary.AppendUvarint(e.b, v) }
func (e *rowEncoder) int(v int64)   { e.b = binary.AppendVarint(e.b, v) }
func (e *rowEncoder) str(s string)  { e.uint(uint64(len(s))); e.b = append(e.b, s...) }
func (e *rowEncoder) ts(t timestamp.Timestamp) {
	e.int(t.Raw)
	e.uint(t.Offset)
}
func (e *rowEncoder) bool(v bool) {
	if v {
		e.b = append(e.b, 1)
	} else {
		e.b = append(e.b, 0)
	}
}

var errShortRow = errors.New("short row")

type rowDecoder struct {
	b   []byte
	err error
}

func (d *rowDecoder) uint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err = errShortRow
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *rowDecoder) int() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.err = errShortRow
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *rowDecoder) str() string {
	n := d.uint()
	if d.err != nil {
		return ""
	}
	if uint64(len(d.b)) < n {
		d.err = errShortRow
		return ""
	}
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
}

func (d *rowDecoder) ts() timestamp.Timestamp {
	raw := d.int()
	return timestamp.Timestamp{Raw: raw, Offset: d.uint()}
}

func (d *rowDecoder) bool() bool {
	if d.err != nil {
		return false
	}
	if len(d.b) < 1 {
		d.err = errShortRow
		return false
	}
	v := d.b[0] != 0
	d.b = d.b[1:]
	return v
}

// rowFormat is the first byte of every encoded row, so the format can grow.
const rowFormat = 1

// encodeObject encodes an object row (name is the key) with its row id.
func encodeObject(r *ObjectRow, rowID uint64) []byte {
	e := rowEncoder{b: make([]byte, 0, 48+len(r.ContentType)+len(r.ETag))}
	e.b = append(e.b, rowFormat)
	e.uint(rowID)
	e.ts(r.Timestamp)
	e.ts(r.CtypeTimestamp)
	e.ts(r.MetaTimestamp)
	e.int(r.Size)
	e.str(r.ContentType)
	e.str(r.ETag)
	e.bool(r.Deleted)
	e.int(int64(r.StoragePolicy))
	return e.b
}

func decodeObject(name, v []byte) (ObjectRow, uint64, error) {
	if len(v) == 0 || v[0] != rowFormat {
		return ObjectRow{}, 0, fmt.Errorf("%w: object row %q: bad format", ErrCorrupt, name)
	}
	d := rowDecoder{b: v[1:]}
	id := d.uint()
	r := ObjectRow{Name: string(name)}
	r.Timestamp = d.ts()
	r.CtypeTimestamp = d.ts()
	r.MetaTimestamp = d.ts()
	r.Size = d.int()
	r.ContentType = d.str()
	r.ETag = d.str()
	r.Deleted = d.bool()
	r.StoragePolicy = int(d.int())
	if d.err != nil {
		return ObjectRow{}, 0, fmt.Errorf("%w: object row %q: %v", ErrCorrupt, name, d.err)
	}
	return r, id, nil
}

// encodeContainer encodes an account's container row (name is the key).
func encodeContainer(r *ContainerRow, rowID uint64) []byte {
	e := rowEncoder{b: make([]byte, 0, 48)}
	e.b = append(e.b, rowFormat)
	e.uint(rowID)
	e.ts(r.PutTimestamp)
	e.ts(r.DeleteTimestamp)
	e.int(r.ObjectCount)
	e.int(r.BytesUsed)
	e.bool(r.Deleted)
	e.int(int64(r.StoragePolicy))
	e.ts(r.StatsTimestamp)
	return e.b
}

func decodeContainer(name, v []byte) (ContainerRow, uint64, error) {
	if len(v) == 0 || v[0] != rowFormat {
		return ContainerRow{}, 0, fmt.Errorf("%w: container row %q: bad format", ErrCorrupt, name)
	}
	d := rowDecoder{b: v[1:]}
	id := d.uint()
	r := ContainerRow{Name: string(name)}
	r.PutTimestamp = d.ts()
	r.DeleteTimestamp = d.ts()
	r.ObjectCount = d.int()
	r.BytesUsed = d.int()
	r.Deleted = d.bool()
	r.StoragePolicy = int(d.int())
	if len(d.b) > 0 { // rows written before StatsTimestamp end here
		r.StatsTimestamp = d.ts()
	}
	if d.err != nil {
		return ContainerRow{}, 0, fmt.Errorf("%w: container row %q: %v", ErrCorrupt, name, d.err)
	}
	return r, id, nil
}

func errCorruptf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrCorrupt}, args...)...)
}
