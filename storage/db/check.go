package db

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"
	"golang.org/x/sys/unix"
)

// Check verifies f's database for the auditor: bbolt's own page
// consistency check, then swiftbox's invariants — the stat record's counts
// equal the live rows' totals, no name is both live and deleted, rows sit
// in the bucket their Deleted flag says, and the change log names every
// row exactly once under the row's own change number. Any failure wraps
// ErrCorrupt; a missing file is ErrNotFound.
//
// bbolt's page check reads the shared freelist, which a commit changes
// under a read transaction, so beside live writes it reports healthy pages
// as "reachable freed" or "unreachable unfreed". Check therefore never
// runs it on the live file in a read transaction: it checks a consistent
// copy of a read transaction (written to <device>/tmp, which no writer
// touches), and confirms a failure on the live file inside a write
// transaction, where bbolt's writer lock holds every commit off (all of
// the Store's writes, batched or not, commit through it). Writers wait
// only for that confirmation, which healthy databases never need — or
// when the device lacks room for the copy (less than twice the database
// plus 1% of the device free), so that the audit never fills a disk.
func (s *Store) Check(f File) error {
	h, err := s.acquire("", f.Path, nil)
	if err != nil {
		return err
	}
	defer s.release(h)
	if s.roomForCopy(h, f) {
		err = s.checkCopy(h, f)
		if !errors.Is(err, ErrCorrupt) {
			return err
		}
	}
	return h.checkLocked(f.Path)
}

// checkLocked checks h's live file inside a write transaction that is
// rolled back: no commit can run meanwhile.
func (h *handle) checkLocked(name string) error {
	tx, err := h.db.Begin(true)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	return checkTx(tx, name)
}

// roomForCopy reports whether f's device has room for a copy of h's
// database to spare.
func (s *Store) roomForCopy(h *handle, f File) bool {
	var fs unix.Statfs_t
	if err := unix.Statfs(filepath.Join(s.cfg.DevicesDir, f.Device), &fs); err != nil {
		return false
	}
	var size int64
	if err := h.db.View(func(tx *bolt.Tx) error { size = tx.Size(); return nil }); err != nil {
		return false
	}
	free := int64(fs.Bavail) * int64(fs.Bsize)
	total := int64(fs.Blocks) * int64(fs.Bsize)
	return free > 2*size+total/100
}

// checkCopy checks a snapshot of h's database taken in a read transaction.
func (s *Store) checkCopy(h *handle, f File) error {
	devDir := filepath.Join(s.cfg.DevicesDir, f.Device)
	tmpDir := filepath.Join(devDir, "tmp")
	if err := mkdirSynced(devDir, tmpDir); err != nil {
		return err
	}
	tmp := filepath.Join(tmpDir, filepath.Base(f.Path)+"."+newID()[:16]+".audit")
	defer os.Remove(tmp)
	if err := h.db.View(func(tx *bolt.Tx) error { return tx.CopyFile(tmp, fileMode) }); err != nil {
		return err
	}
	return checkFile(tmp, f.Path)
}

// checkFile checks a database file no writer uses (a copy, or a fenced
// file), naming it as name in errors.
func checkFile(path, name string) error {
	cp, err := bolt.Open(path, fileMode, &bolt.Options{ReadOnly: true, Timeout: 10 * time.Second})
	if err != nil {
		if errors.Is(err, bolt.ErrInvalid) || errors.Is(err, bolt.ErrChecksum) || errors.Is(err, bolt.ErrVersionMismatch) {
			return fmt.Errorf("%w: %s: %v", ErrCorrupt, name, err)
		}
		return err
	}
	defer cp.Close()
	return cp.View(func(tx *bolt.Tx) error { return checkTx(tx, name) })
}

// checkTx runs every check in tx, which must see no concurrent commit
// (bbolt's page check reads the database-wide freelist).
func checkTx(tx *bolt.Tx, name string) (err error) {
	defer func() {
		// A damaged page can make bbolt panic while reading it.
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: %s: %v", ErrCorrupt, name, r)
		}
	}()
	var errs []error
	for err := range tx.Check() {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w: %s: %w", ErrCorrupt, name, errors.Join(errs...))
	}
	c := &txCtx{tx: tx}
	info, err := c.bucket(bucketInfo)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	for _, b := range [][]byte{bucketLive, bucketDeleted, bucketSeq} {
		if _, err := c.bucket(b); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	switch kind := string(info.Get(keyKind)); kind {
	case KindContainers:
		err = c.checkContainer()
	case KindAccounts:
		err = c.checkAccount()
	default:
		err = errCorruptf("unknown kind %q", kind)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

// checkRows decodes every row of bucket, checks its Deleted flag and its
// change number, and returns the change numbers seen.
func (c *txCtx) checkRows(bucket []byte, deleted bool, seen map[uint64][]byte,
	decode func(k, v []byte) (isDeleted bool, id uint64, err error)) error {
	return c.tx.Bucket(bucket).ForEach(func(k, v []byte) error {
		isDel, id, err := decode(k, v)
		if err != nil {
			return err
		}
		if deleted && c.tx.Bucket(bucketLive).Get(k) != nil {
			return errCorruptf("row %q is both live and deleted", k)
		}
		if isDel != deleted {
			return errCorruptf("row %q in %s has deleted=%v", k, bucket, isDel)
		}
		if _, dup := seen[id]; dup {
			return errCorruptf("change number %d used twice", id)
		}
		seen[id] = bytes.Clone(k)
		return nil
	})
}

// checkSeq checks that the change log is exactly the set seen.
func (c *txCtx) checkSeq(seen map[uint64][]byte, maxRow uint64) error {
	n := 0
	err := c.tx.Bucket(bucketSeq).ForEach(func(k, v []byte) error {
		id := bigEndian(k)
		if id > maxRow {
			return errCorruptf("change number %d above max %d", id, maxRow)
		}
		if name, ok := seen[id]; !ok || !bytes.Equal(name, v) {
			return errCorruptf("change %d names %q, row has another", id, v)
		}
		n++
		return nil
	})
	if err == nil && n != len(seen) {
		err = errCorruptf("change log has %d entries for %d rows", n, len(seen))
	}
	return err
}

func (c *txCtx) checkContainer() error {
	st, err := c.container()
	if err != nil {
		return err
	}
	var count, bytesUsed int64
	seen := map[uint64][]byte{}
	decode := func(k, v []byte) (bool, uint64, error) {
		r, id, err := decodeObject(k, v)
		if !r.Deleted {
			count++
			bytesUsed += r.Size
		}
		return r.Deleted, id, err
	}
	if err := c.checkRows(bucketLive, false, seen, decode); err != nil {
		return err
	}
	if err := c.checkRows(bucketDeleted, true, seen, decode); err != nil {
		return err
	}
	if count != st.ObjectCount || bytesUsed != st.BytesUsed {
		return errCorruptf("stat says %d objects/%d bytes, rows hold %d/%d",
			st.ObjectCount, st.BytesUsed, count, bytesUsed)
	}
	return c.checkSeq(seen, st.MaxRow)
}

func (c *txCtx) checkAccount() error {
	st, err := c.account()
	if err != nil {
		return err
	}
	var containers, objects, bytesUsed int64
	seen := map[uint64][]byte{}
	decode := func(k, v []byte) (bool, uint64, error) {
		r, id, err := decodeContainer(k, v)
		if !r.Deleted {
			containers++
		}
		objects += r.ObjectCount
		bytesUsed += r.BytesUsed
		return r.Deleted, id, err
	}
	if err := c.checkRows(bucketLive, false, seen, decode); err != nil {
		return err
	}
	if err := c.checkRows(bucketDeleted, true, seen, decode); err != nil {
		return err
	}
	if containers != st.ContainerCount || objects != st.ObjectCount || bytesUsed != st.BytesUsed {
		return errCorruptf("stat says %d containers/%d objects/%d bytes, rows hold %d/%d/%d",
			st.ContainerCount, st.ObjectCount, st.BytesUsed, containers, objects, bytesUsed)
	}
	return c.checkSeq(seen, st.MaxRow)
}
