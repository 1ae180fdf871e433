package db

import (
	"errors"
	"strings"

	bolt "go.etcd.io/bbolt"

	"swiftbox/storage"
	"swiftbox/storage/timestamp"
)

// ObjectRow is one object's entry in a container database.
type ObjectRow struct {
	Name string
	// Timestamp is the data timestamp (Swift's created_at): the PUT or
	// DELETE that produced the current object or tombstone.
	Timestamp     timestamp.Timestamp
	Size          int64
	ContentType   string
	ETag          string
	Deleted       bool
	StoragePolicy int
	// CtypeTimestamp is when ContentType was last set (a POST may change
	// it); zero means Timestamp. MetaTimestamp is when metadata was last
	// set; zero means CtypeTimestamp. Listings show MetaTimestamp as the
	// last-modified time.
	CtypeTimestamp timestamp.Timestamp
	MetaTimestamp  timestamp.Timestamp
}

// ContainerInfo is a container database's stat record.
type ContainerInfo struct {
	Account, Container string
	CreatedAt          timestamp.Timestamp
	PutTimestamp       timestamp.Timestamp
	DeleteTimestamp    timestamp.Timestamp
	StatusChangedAt    timestamp.Timestamp
	ObjectCount        int64
	BytesUsed          int64
	StoragePolicy      int
	Metadata           Metadata // live items only
	Deleted            bool
}

// ObjectEntry is one listing entry: a row, or a delimiter roll-up when
// Subdir is non-empty (then only Subdir is set).
type ObjectEntry struct {
	ObjectRow
	Subdir string
}

// containerStat is the stored form of a container's info.
type containerStat struct {
	Account, Container string
	ID                 string
	CreatedAt          timestamp.Timestamp
	PutTimestamp       timestamp.Timestamp
	DeleteTimestamp    timestamp.Timestamp
	StatusChangedAt    timestamp.Timestamp
	Status             string
	ObjectCount        int64
	BytesUsed          int64
	StoragePolicy      int
	MaxRow             uint64
	// Reported is what was last sent to the account (see AccountReport);
	// nil if nothing was.
	Reported *reported `json:",omitempty"`
}

// deleted is Swift's ContainerBroker._is_deleted_info.
func (st *containerStat) deleted() bool {
	return st.ObjectCount == 0 && st.DeleteTimestamp.After(st.PutTimestamp)
}

func (st *containerStat) info(md Metadata) ContainerInfo {
	return ContainerInfo{
		Account: st.Account, Container: st.Container,
		CreatedAt: st.CreatedAt, PutTimestamp: st.PutTimestamp,
		DeleteTimestamp: st.DeleteTimestamp, StatusChangedAt: st.StatusChangedAt,
		ObjectCount: st.ObjectCount, BytesUsed: st.BytesUsed,
		StoragePolicy: st.StoragePolicy, Metadata: md.visible(), Deleted: st.deleted(),
	}
}

func (c *txCtx) container() (*containerStat, error) {
	if c.cstat == nil {
		st := new(containerStat)
		if err := c.loadJSON(keyStat, st); err != nil {
			return nil, err
		}
		c.cstat = st
	}
	return c.cstat, nil
}

// containerDeleteKeep lists metadata Swift keeps when a container is
// deleted (ContainerBroker.delete_meta_whitelist).
var containerDeleteKeep = map[string]bool{
	"x-container-sysmeta-shard-quoted-root": true,
	"x-container-sysmeta-shard-root":        true,
	"x-container-sysmeta-sharding":          true,
}

// openContainer acquires an existing container database.
func (s *Store) openContainer(device string, part int, account, container string) (*handle, error) {
	return s.acquire(device, s.DBPath(KindContainers, device, part, account, container), nil)
}

// NoPolicy is CreateContainer's policy argument when the PUT named none:
// a new container gets policy index def (Swift's
// X-Backend-Storage-Policy-Default), a live one keeps its own. NoPolicy(0)
// is -1.
func NoPolicy(def int) int { return -1 - def }

// CreateContainer is the container server's PUT. A new database, or one
// whose container is deleted, is (re)created and created is true (201); an
// existing live container gets the newer put timestamp and created is false
// (202). policy < 0 means none was requested: NoPolicy(d) gives policy d to
// a new container and is no check against a live one; a requested policy
// that differs from a live container's is ErrConflict. A put timestamp older than the container's
// delete timestamp leaves it deleted and returns ErrConflict (409). meta is
// merged per key by timestamp. Returns after the change is durable.
func (s *Store) CreateContainer(device string, part int, account, container string, putTs timestamp.Timestamp, policy int, meta Metadata) (created bool, err error) {
	newPolicy := policy
	if policy < 0 {
		newPolicy = -1 - policy
	}
	fresh := false
	path := s.DBPath(KindContainers, device, part, account, container)
	h, err := s.acquire(device, path, func(tx *bolt.Tx) error {
		fresh = true
		if err := createBuckets(tx, KindContainers); err != nil {
			return err
		}
		c := &txCtx{tx: tx, cstat: &containerStat{
			Account: account, Container: container, ID: newID(),
			CreatedAt: timestamp.Now(), PutTimestamp: putTs, StatusChangedAt: putTs,
			StoragePolicy: newPolicy,
		}}
		if err := c.storeMeta(Metadata{}); err != nil {
			return err
		}
		if err := c.mergeMeta(meta); err != nil {
			return err
		}
		return c.flush()
	})
	if err != nil {
		return false, err
	}
	defer s.release(h)
	if fresh {
		storage.Failpoint("container-created")
		return true, nil
	}
	err = h.update(func(c *txCtx) error {
		st, err := c.container()
		if err != nil {
			return err
		}
		created = st.deleted()
		if created {
			st.StoragePolicy = newPolicy
		} else if policy >= 0 && policy != st.StoragePolicy {
			return soft(ErrConflict)
		}
		if putTs.After(st.PutTimestamp) {
			st.PutTimestamp = putTs
		}
		if st.deleted() {
			return soft(ErrConflict)
		}
		if created && putTs.After(st.StatusChangedAt) {
			st.StatusChangedAt = putTs
		}
		return c.mergeMeta(meta)
	})
	if err == nil {
		storage.Failpoint("container-created")
	}
	return created, err
}

// DeleteContainer is the container server's DELETE: ErrNotFound if the
// database is missing, ErrNotEmpty if live objects remain, ErrConflict if
// ts is not newer than the put timestamp. Otherwise it clears the metadata
// and records the delete timestamp; the file and its rows stay, for
// replication. Deleting an already deleted container still records a newer
// timestamp and returns ErrNotFound, as Swift does.
func (s *Store) DeleteContainer(device string, part int, account, container string, ts timestamp.Timestamp) error {
	h, err := s.openContainer(device, part, account, container)
	if err != nil {
		return err
	}
	defer s.release(h)
	err = h.update(func(c *txCtx) error {
		st, err := c.container()
		if err != nil {
			return err
		}
		if st.ObjectCount > 0 {
			return soft(ErrNotEmpty)
		}
		existed := !st.PutTimestamp.IsZero() && !st.deleted()
		if err := c.clearMeta(ts, containerDeleteKeep); err != nil {
			return err
		}
		markDeleted(&st.DeleteTimestamp, &st.StatusChangedAt, &st.Status, ts)
		if !st.deleted() {
			return soft(ErrConflict)
		}
		if !existed {
			return soft(ErrNotFound)
		}
		return nil
	})
	if err == nil {
		storage.Failpoint("container-deleted")
	}
	return err
}

// clearMeta is the metadata half of Swift's delete_db: every item not in
// keep (lower-case names) is set to "" at ts.
func (c *txCtx) clearMeta(ts timestamp.Timestamp, keep map[string]bool) error {
	md, err := c.loadMeta()
	if err != nil {
		return err
	}
	cleared := Metadata{}
	for k := range md {
		if !keep[strings.ToLower(k)] {
			cleared[k] = MetaValue{Value: "", Timestamp: ts}
		}
	}
	return c.mergeMeta(cleared)
}

// markDeleted is the stat half of Swift's delete_db.
func markDeleted(deleteTs, statusChangedAt *timestamp.Timestamp, status *string, ts timestamp.Timestamp) {
	if ts.After(*deleteTs) {
		*deleteTs = ts
		*status = statusDeleted
		*statusChangedAt = ts
	}
}

// ContainerInfo returns the container's info. A deleted container returns
// its info together with ErrNotFound so callers can read its timestamps.
func (s *Store) ContainerInfo(device string, part int, account, container string) (ContainerInfo, error) {
	h, err := s.openContainer(device, part, account, container)
	if err != nil {
		return ContainerInfo{}, err
	}
	defer s.release(h)
	var info ContainerInfo
	err = h.view(func(c *txCtx) error {
		st, err := c.container()
		if err != nil {
			return err
		}
		md, err := c.loadMeta()
		if err != nil {
			return err
		}
		info = st.info(md)
		return nil
	})
	if err == nil && info.Deleted {
		err = ErrNotFound
	}
	return info, err
}

// UpdateContainerMetadata merges meta into the container's metadata, the
// newer timestamp winning per key. It does not check whether the container
// is deleted (the server's POST does that with ContainerInfo first).
func (s *Store) UpdateContainerMetadata(device string, part int, account, container string, meta Metadata) error {
	h, err := s.openContainer(device, part, account, container)
	if err != nil {
		return err
	}
	defer s.release(h)
	return h.update(func(c *txCtx) error { return c.mergeMeta(meta) })
}

// PutObjectRow merges one object update (a PUT, POST or DELETE row) into
// the container: per name the newest data, content-type and metadata
// timestamps win separately, as in Swift's merge_items; an update older
// than the row is ignored. Concurrent calls share one transaction and one
// fsync; the call returns after the update is durable. ErrNotFound if the
// container database does not exist (the caller writes an async_pending).
func (s *Store) PutObjectRow(device string, part int, account, container string, row ObjectRow) error {
	h, err := s.openContainer(device, part, account, container)
	if err != nil {
		return err
	}
	defer s.release(h)
	return h.do(func(c *txCtx) error { return c.mergeObject(row) })
}

// MergeObjectRows merges rows (from a replica) in one transaction, with
// PutObjectRow's rules.
func (s *Store) MergeObjectRows(device string, part int, account, container string, rows []ObjectRow) error {
	h, err := s.openContainer(device, part, account, container)
	if err != nil {
		return err
	}
	defer s.release(h)
	return h.do(func(c *txCtx) error {
		for _, r := range rows {
			if err := c.mergeObject(r); err != nil {
				return err
			}
		}
		return nil
	})
}

// mergeObject applies one object update inside a write transaction,
// keeping object_count and bytes_used equal to the live rows' totals.
func (c *txCtx) mergeObject(in ObjectRow) error {
	st, err := c.container()
	if err != nil {
		return err
	}
	if in.Name == "" {
		return soft(errors.New("db: object row without a name"))
	}
	live, dead := c.tx.Bucket(bucketLive), c.tx.Bucket(bucketDeleted)
	name := []byte(in.Name)
	var old *ObjectRow
	var oldID uint64
	if v := live.Get(name); v != nil {
		r, id, err := decodeObject(name, v)
		if err != nil {
			return err
		}
		old, oldID = &r, id
	} else if v := dead.Get(name); v != nil {
		r, id, err := decodeObject(name, v)
		if err != nil {
			return err
		}
		old, oldID = &r, id
	}
	merged, changed := mergeObjectRow(old, in)
	if !changed {
		return nil
	}
	if old != nil {
		if !old.Deleted {
			st.ObjectCount--
			st.BytesUsed -= old.Size
			err = live.Delete(name)
		} else {
			err = dead.Delete(name)
		}
		if err != nil {
			return err
		}
	}
	id, err := c.reindex(&st.MaxRow, oldID, name)
	if err != nil {
		return err
	}
	if merged.Deleted {
		return dead.Put(name, encodeObject(&merged, id))
	}
	st.ObjectCount++
	st.BytesUsed += merged.Size
	return live.Put(name, encodeObject(&merged, id))
}

// mergeObjectRow is Swift's update_new_item_from_existing: it returns the
// row to store and whether in was newer than old in any of its three
// timestamps (data, content-type, metadata).
func mergeObjectRow(old *ObjectRow, in ObjectRow) (ObjectRow, bool) {
	if in.CtypeTimestamp.IsZero() {
		in.CtypeTimestamp = in.Timestamp
	}
	if in.MetaTimestamp.IsZero() {
		in.MetaTimestamp = in.CtypeTimestamp
	}
	if old == nil {
		return in, true
	}
	ctype, swiftBytes := extractSwiftBytes(in.ContentType)
	oldCtype, oldSwiftBytes := extractSwiftBytes(old.ContentType)
	newer := false
	if old.Timestamp.Compare(in.Timestamp) >= 0 {
		in.Timestamp = old.Timestamp
		in.Size, in.ETag, in.Deleted, swiftBytes = old.Size, old.ETag, old.Deleted, oldSwiftBytes
		in.StoragePolicy = old.StoragePolicy
	} else {
		newer = true
	}
	if old.CtypeTimestamp.Compare(in.CtypeTimestamp) >= 0 {
		in.CtypeTimestamp = old.CtypeTimestamp
		ctype = oldCtype
	} else {
		newer = true
	}
	if old.MetaTimestamp.Compare(in.MetaTimestamp) >= 0 {
		in.MetaTimestamp = old.MetaTimestamp
	} else {
		newer = true
	}
	if swiftBytes != "" {
		ctype += ";swift_bytes=" + swiftBytes
	}
	in.ContentType = ctype
	return in, newer
}

// extractSwiftBytes splits a ";swift_bytes=N" parameter (set for SLO
// manifests) off a content type. swift_bytes belongs with the newest data,
// the rest of the content type with the newest content-type update.
func extractSwiftBytes(ct string) (string, string) {
	i := strings.Index(ct, ";swift_bytes=")
	if i < 0 {
		return ct, ""
	}
	rest := ct[i+len(";swift_bytes="):]
	val, tail, _ := strings.Cut(rest, ";")
	if tail != "" {
		return ct[:i] + ";" + tail, val
	}
	return ct[:i], val
}

// ListObjects lists the container with Swift's listing semantics (see
// ListOptions). It reads O(limit + roll-ups) keys whatever the size of
// the container, from one consistent snapshot.
func (s *Store) ListObjects(device string, part int, account, container string, opts ListOptions) ([]ObjectEntry, error) {
	out, _, err := s.listObjects(device, part, account, container, opts)
	return out, err
}

func (s *Store) listObjects(device string, part int, account, container string, opts ListOptions) ([]ObjectEntry, int, error) {
	h, err := s.openContainer(device, part, account, container)
	if err != nil {
		return nil, 0, err
	}
	defer s.release(h)
	var out []ObjectEntry
	var visited int
	err = h.view(func(c *txCtx) error {
		var err error
		visited, err = scanListing(c.tx, opts, func(k, v []byte, _ bool) error {
			r, _, err := decodeObject(k, v)
			out = append(out, ObjectEntry{ObjectRow: r})
			return err
		}, func(dir string) {
			out = append(out, ObjectEntry{Subdir: dir})
		})
		return err
	})
	return out, visited, err
}

// ObjectRowsSince returns up to limit rows, live or deleted, changed after
// change number afterRowID, in change order, and the change number of the
// last one returned (afterRowID if none): the replicator's feed.
func (s *Store) ObjectRowsSince(device string, part int, account, container string, afterRowID uint64, limit int) ([]ObjectRow, uint64, error) {
	h, err := s.openContainer(device, part, account, container)
	if err != nil {
		return nil, afterRowID, err
	}
	defer s.release(h)
	var rows []ObjectRow
	last := afterRowID
	err = h.view(func(c *txCtx) error {
		return c.rowsSince(afterRowID, limit, func(name, v []byte, id uint64) error {
			r, _, err := decodeObject(name, v)
			rows = append(rows, r)
			last = id
			return err
		})
	})
	return rows, last, err
}

// rowsSince walks the change log after afterRowID, calling fn with each
// row's name, encoded value and change number.
func (c *txCtx) rowsSince(afterRowID uint64, limit int, fn func(name, v []byte, id uint64) error) error {
	if limit <= 0 {
		limit = DefaultListLimit
	}
	live, dead := c.tx.Bucket(bucketLive), c.tx.Bucket(bucketDeleted)
	cur := c.tx.Bucket(bucketSeq).Cursor()
	n := 0
	for k, name := cur.Seek(seqKey(afterRowID + 1)); k != nil && n < limit; k, name = cur.Next() {
		v := live.Get(name)
		if v == nil {
			v = dead.Get(name)
		}
		if v == nil {
			return errCorruptf("change %x names missing row %q", k, name)
		}
		if err := fn(name, v, bigEndian(k)); err != nil {
			return err
		}
		n++
	}
	return nil
}

func bigEndian(k []byte) uint64 {
	var n uint64
	for _, b := range k {
		n = n<<8 | uint64(b)
	}
	return n
}
