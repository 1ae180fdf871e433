package db

import (
	"bytes"
	"errors"
	"fmt"
)

// Check verifies the database at path for the auditor: bbolt's own page
// consistency check, then swiftbox's invariants — the stat record's counts
// equal the live rows' totals, no name is both live and deleted, rows sit
// in the bucket their Deleted flag says, and the change log names every
// row exactly once under the row's own change number. Any failure wraps
// ErrCorrupt; a missing file is ErrNotFound.
func (s *Store) Check(path string) error {
	h, err := s.acquire("", path, nil)
	if err != nil {
		return err
	}
	defer s.release(h)
	return h.view(func(c *txCtx) error {
		var errs []error
		for err := range c.tx.Check() {
			errs = append(errs, err)
		}
		if len(errs) > 0 {
			return fmt.Errorf("%w: %s: %w", ErrCorrupt, path, errors.Join(errs...))
		}
		kind := string(c.tx.Bucket(bucketInfo).Get(keyKind))
		var err error
		switch kind {
		case KindContainers:
			err = c.checkContainer()
		case KindAccounts:
			err = c.checkAccount()
		default:
			err = errCorruptf("unknown kind %q", kind)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		return nil
	})
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
