package db

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"swiftbox/storage/timestamp"
)

// File is one database file on a device, as the replicator and auditor
// find them: <dev>/<kind>/<part>/<suffix>/<hash>/<hash>.db.
type File struct {
	Kind, Device string
	Part         int
	Hash         string
	Path         string
}

// ListFiles returns every database of kind on device.
func (s *Store) ListFiles(kind, device string) ([]File, error) {
	root := filepath.Join(s.cfg.DevicesDir, device, kind)
	parts, err := os.ReadDir(root)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []File
	for _, p := range parts {
		part, err := strconv.Atoi(p.Name())
		if err != nil || !p.IsDir() {
			continue
		}
		sufs, _ := os.ReadDir(filepath.Join(root, p.Name()))
		for _, suf := range sufs {
			hashes, _ := os.ReadDir(filepath.Join(root, p.Name(), suf.Name()))
			for _, h := range hashes {
				path := filepath.Join(root, p.Name(), suf.Name(), h.Name(), h.Name()+".db")
				if _, err := os.Stat(path); err == nil {
					out = append(out, File{Kind: kind, Device: device, Part: part, Hash: h.Name(), Path: path})
				}
			}
		}
	}
	return out, nil
}

// FileOn is f's database as it is, or would be, on device.
func (s *Store) FileOn(f File, device string) File {
	f.Path = s.pathOn(f, device)
	f.Device = device
	return f
}

// FileOf is the database of an account (container "") or a container on
// device, whether or not it exists.
func (s *Store) FileOf(kind, device string, part int, account, container string) File {
	path := s.DBPath(kind, device, part, account, container)
	return File{Kind: kind, Device: device, Part: part, Hash: filepath.Base(filepath.Dir(path)), Path: path}
}

// pathOn is where f's database lives on device.
func (s *Store) pathOn(f File, device string) string {
	return filepath.Join(s.cfg.DevicesDir, device, f.Kind, strconv.Itoa(f.Part), f.Hash[len(f.Hash)-3:], f.Hash, f.Hash+".db")
}

// Identity is who a database belongs to.
type Identity struct {
	Account, Container string
	ID                 string
	MaxRow             uint64
	Deleted            bool
	DeleteTimestamp    timestamp.Timestamp
	PutTimestamp       timestamp.Timestamp
	ObjectCount        int64 // containers: objects; accounts: containers
	// Version changes with every change to the rows, the stat record or
	// the metadata (not with sync points): Remove compares it to be sure
	// nothing arrived since a replication.
	Version string
}

// identityOf reads the identity in c.
func identityOf(c *txCtx, kind string) (Identity, error) {
	var id Identity
	if kind == KindAccounts {
		st, err := c.account()
		if err != nil {
			return id, err
		}
		id = Identity{Account: st.Account, ID: st.ID, MaxRow: st.MaxRow, Deleted: st.deleted(),
			DeleteTimestamp: st.DeleteTimestamp, PutTimestamp: st.PutTimestamp, ObjectCount: st.ContainerCount}
	} else {
		st, err := c.container()
		if err != nil {
			return id, err
		}
		id = Identity{Account: st.Account, Container: st.Container, ID: st.ID, MaxRow: st.MaxRow,
			Deleted: st.deleted(), DeleteTimestamp: st.DeleteTimestamp, PutTimestamp: st.PutTimestamp, ObjectCount: st.ObjectCount}
	}
	// Every row change takes a new change number (MaxRow); stat and
	// metadata changes show in their stored bytes.
	sum := sha256.New()
	info := c.tx.Bucket(bucketInfo)
	fmt.Fprintf(sum, "%d\n%s\n%s", id.MaxRow, info.Get(keyStat), info.Get(keyMeta))
	id.Version = hex.EncodeToString(sum.Sum(nil))
	return id, nil
}

// statOf reads h's identity.
func (s *Store) statOf(h *handle, kind string) (Identity, error) {
	var id Identity
	err := h.view(func(c *txCtx) error {
		var err error
		id, err = identityOf(c, kind)
		return err
	})
	return id, err
}

// Stat opens f and returns its identity.
func (s *Store) Stat(f File) (Identity, error) {
	h, err := s.acquire(f.Device, f.Path, nil)
	if err != nil {
		return Identity{}, err
	}
	defer s.release(h)
	return s.statOf(h, f.Kind)
}

// ReplicateResult says what one database replication did.
type ReplicateResult struct {
	Copied bool // the peer had no database: a whole copy was made
	Rows   int  // rows merged into the peer
}

// syncKey is the info key holding the last change number of ours that a
// peer database (by id) has merged: Swift's outgoing sync point.
func syncKey(peerID string) []byte { return []byte("sync/" + peerID) }

// Replicate brings f's database on peer up to date with f, as Swift's db
// replicator does: when peer has none, a whole copy (under a new id);
// otherwise the rows changed since the last sync with that peer database
// are merged (newest timestamp wins per row, deleted rows included), then
// the stat timestamps and metadata. The sync point is kept in f.
func (s *Store) Replicate(f File, peer string) (ReplicateResult, error) {
	var res ReplicateResult
	h, err := s.acquire(f.Device, f.Path, nil)
	if err != nil {
		return res, err
	}
	defer s.release(h)
	peerPath := s.pathOn(f, peer)
	if _, err := os.Stat(filepath.Join(s.cfg.DevicesDir, peer)); err != nil {
		return res, fmt.Errorf("%w: %s", ErrDeviceUnavailable, peer)
	}
	if _, err := os.Stat(peerPath); errors.Is(err, os.ErrNotExist) {
		ok, err := s.copyWhole(h, peer, peerPath)
		if err != nil || ok {
			res.Copied = ok
			return res, err
		}
		// Someone created it meanwhile: merge instead.
	}
	ph, err := s.acquire(peer, peerPath, nil)
	if err != nil {
		return res, err
	}
	defer s.release(ph)
	them, err := s.statOf(ph, f.Kind)
	if err != nil {
		return res, err
	}
	var point uint64
	if err := h.view(func(c *txCtx) error {
		if v := c.tx.Bucket(bucketInfo).Get(syncKey(them.ID)); v != nil {
			point, _ = strconv.ParseUint(string(v), 10, 64)
		}
		return nil
	}); err != nil {
		return res, err
	}
	last := point
	for {
		var batch []func(*txCtx) error
		next := last
		err := h.view(func(c *txCtx) error {
			return c.rowsSince(last, 1000, func(name, v []byte, id uint64) error {
				next = id
				if f.Kind == KindAccounts {
					r, _, err := decodeContainer(name, v)
					batch = append(batch, func(c *txCtx) error { return c.mergeContainer(r) })
					return err
				}
				r, _, err := decodeObject(name, v)
				batch = append(batch, func(c *txCtx) error { return c.mergeObject(r) })
				return err
			})
		})
		if err != nil {
			return res, err
		}
		if len(batch) == 0 {
			break
		}
		if err := ph.update(func(c *txCtx) error {
			for _, m := range batch {
				if err := m(c); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			return res, err
		}
		res.Rows += len(batch)
		last = next
	}
	if err := s.mergeStatAndMeta(h, ph, f.Kind); err != nil {
		return res, err
	}
	if last != point {
		err = h.update(func(c *txCtx) error {
			return c.tx.Bucket(bucketInfo).Put(syncKey(them.ID), []byte(strconv.FormatUint(last, 10)))
		})
	}
	return res, err
}

// mergeStatAndMeta merges src's put/delete timestamps and metadata into
// dst (Swift's merge_timestamps and update_metadata), writing only when
// something is newer.
func (s *Store) mergeStatAndMeta(src, dst *handle, kind string) error {
	var put, del, created timestamp.Timestamp
	var meta Metadata
	if err := src.view(func(c *txCtx) error {
		var err error
		if kind == KindAccounts {
			st, e := c.account()
			if e != nil {
				return e
			}
			put, del, created = st.PutTimestamp, st.DeleteTimestamp, st.CreatedAt
		} else {
			st, e := c.container()
			if e != nil {
				return e
			}
			put, del, created = st.PutTimestamp, st.DeleteTimestamp, st.CreatedAt
		}
		meta, err = c.loadMeta()
		return err
	}); err != nil {
		return err
	}
	apply := func(c *txCtx) (bool, error) {
		var p, d, cr *timestamp.Timestamp
		var status *string
		var changedAt *timestamp.Timestamp
		if kind == KindAccounts {
			st, err := c.account()
			if err != nil {
				return false, err
			}
			p, d, cr, status, changedAt = &st.PutTimestamp, &st.DeleteTimestamp, &st.CreatedAt, &st.Status, &st.StatusChangedAt
		} else {
			st, err := c.container()
			if err != nil {
				return false, err
			}
			p, d, cr, status, changedAt = &st.PutTimestamp, &st.DeleteTimestamp, &st.CreatedAt, &st.Status, &st.StatusChangedAt
		}
		changed := false
		if put.After(*p) {
			*p = put
			*changedAt = put
			if *status == statusDeleted && put.After(*d) {
				*status = ""
			}
			changed = true
		}
		if del.After(*d) {
			markDeleted(d, changedAt, status, del)
			changed = true
		}
		if !created.IsZero() && (cr.IsZero() || created.Compare(*cr) < 0) {
			*cr = created
			changed = true
		}
		md, err := c.loadMeta()
		if err != nil {
			return false, err
		}
		for k, v := range meta {
			if old, ok := md[k]; !ok || v.Timestamp.After(old.Timestamp) {
				changed = true
			}
		}
		return changed, nil
	}
	var need bool
	if err := dst.view(func(c *txCtx) error {
		var err error
		need, err = apply(c)
		return err
	}); err != nil || !need {
		return err
	}
	return dst.update(func(c *txCtx) error {
		if _, err := apply(c); err != nil {
			return err
		}
		return c.mergeMeta(meta)
	})
}

// copyWhole writes a consistent copy of h's database to peerPath under a
// fresh id and without our sync points, as Swift's complete_rsync does.
// It reports false, without error, if peerPath appeared meanwhile.
func (s *Store) copyWhole(h *handle, peer, peerPath string) (bool, error) {
	devDir := filepath.Join(s.cfg.DevicesDir, peer)
	tmpDir := filepath.Join(devDir, "tmp")
	if err := mkdirSynced(devDir, tmpDir); err != nil {
		return false, err
	}
	var rnd [8]byte
	_, _ = rand.Read(rnd[:])
	tmp := filepath.Join(tmpDir, filepath.Base(peerPath)+"."+hex.EncodeToString(rnd[:])+".repl")
	defer os.Remove(tmp)
	var maxRow uint64
	if err := h.db.View(func(tx *bolt.Tx) error {
		var st struct{ MaxRow uint64 }
		if err := (&txCtx{tx: tx}).loadJSON(keyStat, &st); err != nil {
			return err
		}
		maxRow = st.MaxRow
		return tx.CopyFile(tmp, fileMode)
	}); err != nil {
		return false, err
	}
	cp, err := bolt.Open(tmp, fileMode, nil)
	if err != nil {
		return false, err
	}
	err = cp.Update(func(tx *bolt.Tx) error {
		info := tx.Bucket(bucketInfo)
		var stale [][]byte
		c := info.Cursor()
		for k, _ := c.Seek([]byte("sync/")); k != nil && strings.HasPrefix(string(k), "sync/"); k, _ = c.Next() {
			stale = append(stale, append([]byte(nil), k...))
		}
		for _, k := range stale {
			if err := info.Delete(k); err != nil {
				return err
			}
		}
		var st map[string]any
		cx := &txCtx{tx: tx}
		if err := cx.loadJSON(keyStat, &st); err != nil {
			return err
		}
		st["ID"] = newID()
		return cx.storeJSON(keyStat, st)
	})
	if cerr := cp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return false, err
	}
	if err := mkdirSynced(devDir, filepath.Dir(peerPath)); err != nil {
		return false, err
	}
	// Link, not rename: never replace a database created meanwhile.
	if err := os.Link(tmp, peerPath); err != nil {
		if errors.Is(err, os.ErrExist) {
			return false, nil
		}
		return false, err
	}
	if err := syncDir(filepath.Dir(peerPath)); err != nil {
		return false, err
	}
	// Both hold the same rows now: record that each has the other's, as
	// Swift's replicator does after an rsync, so neither pushes them back.
	return true, s.recordCopySync(h, peer, peerPath, kindOf(peerPath), maxRow)
}

// recordCopySync stores, on both sides of a whole copy, a sync point at
// the copied change number for the other's id.
func (s *Store) recordCopySync(src *handle, peer, peerPath, kind string, maxRow uint64) error {
	ph, err := s.acquire(peer, peerPath, nil)
	if err != nil {
		return err
	}
	defer s.release(ph)
	me, err := s.statOf(src, kind)
	if err != nil {
		return err
	}
	them, err := s.statOf(ph, kind)
	if err != nil {
		return err
	}
	point := []byte(strconv.FormatUint(maxRow, 10))
	if err := src.update(func(c *txCtx) error { return c.tx.Bucket(bucketInfo).Put(syncKey(them.ID), point) }); err != nil {
		return err
	}
	return ph.update(func(c *txCtx) error { return c.tx.Bucket(bucketInfo).Put(syncKey(me.ID), point) })
}

// kindOf is the database kind from its path (…/<kind>/<part>/<suf>/<hash>/<hash>.db).
func kindOf(path string) string {
	return filepath.Base(filepath.Dir(filepath.Dir(filepath.Dir(filepath.Dir(path)))))
}

// Remove deletes f's database file (a handoff copy every primary has, or
// a reclaimed deleted database) under a fence (see fence), so no handle
// stays open on the removed file and nothing can change it meanwhile.
// keep, if not nil, is given the file's identity read under the fence: if
// it says the file changed since the caller decided (a write arrived
// after the last replication, a deleted container was re-created), the
// file stays and ErrChanged is returned.
func (s *Store) Remove(f File, unchanged func(Identity) bool) error {
	unfence, err := s.fence(f.Path)
	if err != nil {
		return err
	}
	defer unfence()
	if unchanged != nil {
		id, err := readIdentity(f)
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		if !unchanged(id) {
			return fmt.Errorf("%w: %s", ErrChanged, f.Path)
		}
	}
	if err := os.Remove(f.Path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	dir := filepath.Dir(f.Path)
	os.Remove(dir)               // the hash dir, if now empty
	os.Remove(filepath.Dir(dir)) // the suffix dir, if now empty
	return syncDir(filepath.Dir(filepath.Dir(dir)))
}

// readIdentity reads f's identity from the file directly; f must be
// fenced (no handle open on it).
func readIdentity(f File) (Identity, error) {
	if _, err := os.Stat(f.Path); err != nil {
		return Identity{}, err
	}
	b, err := bolt.Open(f.Path, fileMode, &bolt.Options{ReadOnly: true, Timeout: 10 * time.Second})
	if err != nil {
		return Identity{}, err
	}
	defer b.Close()
	var id Identity
	err = b.View(func(tx *bolt.Tx) error {
		var err error
		id, err = identityOf(&txCtx{tx: tx}, f.Kind)
		return err
	})
	return id, err
}

// Reclaim drops deleted rows whose timestamp is older than before (Swift's
// reclaim with reclaim_age) and reports whether the whole database is
// deleted and older than before, so the caller may remove it.
func (s *Store) Reclaim(f File, before timestamp.Timestamp) (removable bool, rows int, err error) {
	h, err := s.acquire(f.Device, f.Path, nil)
	if err != nil {
		return false, 0, err
	}
	defer s.release(h)
	var old [][]byte
	err = h.view(func(c *txCtx) error {
		return c.tx.Bucket(bucketDeleted).ForEach(func(k, v []byte) error {
			var ts timestamp.Timestamp
			if f.Kind == KindAccounts {
				r, _, err := decodeContainer(k, v)
				if err != nil {
					return err
				}
				ts = r.DeleteTimestamp
			} else {
				r, _, err := decodeObject(k, v)
				if err != nil {
					return err
				}
				ts = r.Timestamp
			}
			if ts.Compare(before) < 0 {
				old = append(old, append([]byte(nil), k...))
			}
			return nil
		})
	})
	if err != nil {
		return false, 0, err
	}
	if len(old) > 0 {
		err = h.update(func(c *txCtx) error {
			dead := c.tx.Bucket(bucketDeleted)
			for _, k := range old {
				v := dead.Get(k)
				if v == nil {
					continue
				}
				var id uint64
				if f.Kind == KindAccounts {
					_, id, err = decodeContainer(k, v)
				} else {
					_, id, err = decodeObject(k, v)
				}
				if err != nil {
					return err
				}
				if err := c.tx.Bucket(bucketSeq).Delete(seqKey(id)); err != nil {
					return err
				}
				if err := dead.Delete(k); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return false, 0, err
		}
	}
	id, err := s.statOf(h, f.Kind)
	if err != nil {
		return false, len(old), err
	}
	removable = id.Deleted && id.ObjectCount == 0 && id.DeleteTimestamp.Compare(before) < 0
	return removable, len(old), nil
}

// Quarantine moves f's database directory to
// <dev>/quarantined/<kind>/<hash> (Swift's quarantine_db), so the
// replicator restores it from a good replica. replicas are f's other
// copies (on the ring's other primaries and any handoff device): unless
// one of them passes Check, f is the last good-looking copy and is kept
// (ErrLastReplica). Otherwise f is fenced (new callers wait, calls under
// way finish, the open handle is closed) and checked once more with
// nothing able to write it: one that passes stays where it is and
// ErrHealthy is returned. The directory is only moved while no handle has
// the database open.
func (s *Store) Quarantine(f File, replicas []File) error {
	good := false
	for _, r := range replicas {
		if r.Path != f.Path && s.Check(r) == nil {
			good = true
			break
		}
	}
	if !good {
		return fmt.Errorf("%w: %s", ErrLastReplica, f.Path)
	}
	unfence, err := s.fence(f.Path)
	if err != nil {
		return err
	}
	defer unfence()
	if err := checkFile(f.Path, f.Path); err == nil {
		return ErrHealthy
	} else if !errors.Is(err, ErrCorrupt) {
		return err
	}
	devDir := filepath.Join(s.cfg.DevicesDir, f.Device)
	qdir := filepath.Join(devDir, "quarantined", f.Kind)
	if err := mkdirSynced(devDir, qdir); err != nil {
		return err
	}
	dest := filepath.Join(qdir, f.Hash)
	if _, err := os.Stat(dest); err == nil {
		var b [8]byte
		_, _ = rand.Read(b[:])
		dest += "-" + hex.EncodeToString(b[:])
	}
	src := filepath.Dir(f.Path)
	if err := os.Rename(src, dest); err != nil {
		return err
	}
	if err := syncDir(qdir); err != nil {
		return err
	}
	return syncDir(filepath.Dir(src))
}

// fenceWait bounds how long fence waits for calls under way to finish.
const fenceWait = 30 * time.Second

// fence makes new callers of path wait until unfence is called, waits for
// the calls under way to finish and closes the open handle, so the caller
// may move or remove the file. It fails if the file stays in use.
func (s *Store) fence(path string) (unfence func(), err error) {
	s.mu.Lock()
	for {
		if s.closed {
			s.mu.Unlock()
			return nil, ErrClosed
		}
		other, ok := s.fences[path]
		if !ok {
			break
		}
		s.mu.Unlock()
		<-other
		s.mu.Lock()
	}
	ch := make(chan struct{})
	s.fences[path] = ch
	s.mu.Unlock()
	unfence = func() {
		s.mu.Lock()
		delete(s.fences, path)
		s.mu.Unlock()
		close(ch)
	}
	deadline := time.Now().Add(fenceWait)
	for {
		s.mu.Lock()
		h, ok := s.handles[path]
		if !ok || h.refs == 0 {
			if ok {
				err = s.dropLocked(h)
			}
			s.mu.Unlock()
			if err != nil {
				unfence()
				return nil, err
			}
			return unfence, nil
		}
		s.mu.Unlock()
		if time.Now().After(deadline) {
			unfence()
			return nil, fmt.Errorf("db: %s stays in use", path)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
