package storage

import (
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"swiftbox/storage/pickle"
)

// noteInvalid records that suffix of partDir changed. Object writes only
// note it in memory; FlushInvalidations appends the notes to hashes.invalid
// (at the latest 2 s later, before SuffixHashes reads the partition, and
// at Close). A crash can lose notes: serve then invalidates every
// partition's hashes at its next start, so replication never trusts a
// stale suffix hash.
func (s *ObjectStore) noteInvalid(partDir, suffix string) {
	inv := &s.invalid
	inv.mu.Lock()
	defer inv.mu.Unlock()
	if inv.m == nil {
		inv.m = map[string]map[string]struct{}{}
	}
	if inv.m[partDir] == nil {
		inv.m[partDir] = map[string]struct{}{}
	}
	inv.m[partDir][suffix] = struct{}{}
	if inv.timer == nil && !inv.closed {
		inv.timer = time.AfterFunc(invalidFlushDelay, func() {
			inv.flushing.Lock()
			defer inv.flushing.Unlock()
			inv.mu.Lock()
			closed := inv.closed
			inv.mu.Unlock()
			if closed {
				return // Close flushed everything
			}
			if err := s.flushInvalid(""); err != nil {
				s.noteFlushError(err)
			}
		})
	}
}

// invalidFlushDelay bounds how long a noted suffix waits in memory.
const invalidFlushDelay = 2 * time.Second

// pendingInvalid holds suffixes noted but not yet in hashes.invalid.
type pendingInvalid struct {
	mu     sync.Mutex
	m      map[string]map[string]struct{} // partition dir → suffixes
	timer  *time.Timer
	closed bool
	// flushing is held by a background flush, so Close returns only
	// after it has finished writing (nothing touches the store later).
	flushing sync.Mutex
	err      error // last background flush error, reported by Close
}

func (s *ObjectStore) noteFlushError(err error) {
	s.invalid.mu.Lock()
	s.invalid.err = err
	s.invalid.mu.Unlock()
}

// FlushInvalidations appends every noted suffix to its partition's
// hashes.invalid. Suffixes that could not be written stay noted.
func (s *ObjectStore) FlushInvalidations() error {
	return s.flushInvalid("")
}

// flushInvalid flushes one partition dir ("" = all).
func (s *ObjectStore) flushInvalid(only string) error {
	inv := &s.invalid
	inv.mu.Lock()
	batch := map[string]map[string]struct{}{}
	for dir, sufs := range inv.m {
		if only == "" || dir == only {
			batch[dir] = sufs
			delete(inv.m, dir)
		}
	}
	if only == "" && inv.timer != nil {
		inv.timer.Stop()
		inv.timer = nil
	}
	inv.mu.Unlock()
	var firstErr error
	for dir, sufs := range batch {
		for suf := range sufs {
			if err := s.invalidateHash(dir, suf); err != nil {
				if firstErr == nil {
					firstErr = err
				}
				s.noteInvalid(dir, suf)
			}
		}
	}
	return firstErr
}

// Close writes out noted suffix invalidations; the store must not be
// written to afterwards.
func (s *ObjectStore) Close() error {
	s.invalid.mu.Lock()
	s.invalid.closed = true
	if s.invalid.timer != nil {
		s.invalid.timer.Stop()
		s.invalid.timer = nil
	}
	s.invalid.mu.Unlock()
	s.invalid.flushing.Lock()
	err := s.FlushInvalidations()
	s.invalid.flushing.Unlock()
	s.invalid.mu.Lock()
	if err == nil {
		err = s.invalid.err
	}
	s.invalid.mu.Unlock()
	return err
}

// invalidateHash is Swift's invalidate_hash: append suffix to
// <part>/hashes.invalid under the partition lock, so the next SuffixHashes
// rehashes it. Returns after the line (and a newly created file's
// directory entry) is fsynced.
func (s *ObjectStore) invalidateHash(partDir, suffix string) error {
	// The partition directory may be created, the device's never: a device
	// that vanished (unmounted, removed) must not come back as an empty
	// directory because a deferred note was flushed; the note stays.
	if rel, err := filepath.Rel(s.cfg.DevicesDir, partDir); err == nil && !strings.HasPrefix(rel, "..") {
		dev, _, _ := strings.Cut(rel, string(filepath.Separator))
		if err := s.CheckDevice(dev); err != nil {
			return err
		}
	}
	// Created directories become durable with the caller's group flush.
	if err := s.fs.MkdirAll(partDir, 0o755); err != nil {
		return err
	}
	lock, err := s.fs.Lock(filepath.Join(partDir, partLockFile))
	if err != nil {
		return err
	}
	defer lock.Close()
	path := filepath.Join(partDir, invalidFile)
	_, statErr := s.fs.Stat(path)
	f, err := s.fs.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	// No fsync of its own: the caller's group flush (syncfs) makes this
	// append durable together with the object it records.
	_, err = f.Write([]byte(suffix + "\n"))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil && statErr != nil {
		err = s.fs.SyncDir(partDir)
	}
	return err
}

func validSuffix(s string) bool {
	if len(s) != 3 {
		return false
	}
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// hashesState is a decoded hashes.pkl: suffix → md5 hex, or "" for "needs
// rehash" (None in Swift's pickle).
type hashesState struct {
	valid   bool
	updated float64
	hashes  map[string]string
}

// readHashes is Swift's read_hashes: a missing or unreadable hashes.pkl,
// or one with keys that are not suffixes, is invalid.
func (s *ObjectStore) readHashes(partDir string) hashesState {
	st := hashesState{hashes: map[string]string{}}
	f, err := s.fs.Open(filepath.Join(partDir, hashesFile))
	if err != nil {
		return st
	}
	defer f.Close()
	data, err := io.ReadAll(f)
	if err != nil {
		return st
	}
	m, err := pickle.UnmarshalDict(data)
	if err != nil {
		return st
	}
	for k, v := range m {
		switch k {
		case "valid":
			st.valid, _ = v.(bool)
		case "updated":
			switch u := v.(type) {
			case float64:
				st.updated = u
			case int64:
				st.updated = float64(u)
			}
		default:
			h, _ := v.(string)
			if !validSuffix(k) {
				st.valid = false
				return st
			}
			st.hashes[k] = h
		}
	}
	return st
}

// writeHashes is Swift's write_hashes: stamp 'updated' and write
// hashes.pkl atomically. Returns after the file and the partition
// directory are fsynced.
func (s *ObjectStore) writeHashes(partDir string, st hashesState) error {
	m := make(map[string]any, len(st.hashes)+2)
	for k, v := range st.hashes {
		if v == "" {
			m[k] = nil
		} else {
			m[k] = v
		}
	}
	m["valid"] = st.valid
	m["updated"] = float64(s.now().UnixNano()) / 1e9
	blob, err := pickle.Marshal(m)
	if err != nil {
		return err
	}
	return s.writeFileAtomic(partDir, filepath.Join(partDir, hashesFile), blob)
}

// writeFileAtomic writes data to dest via a temp file in tmp: write,
// fsync, rename, fsync dest's directory.
func (s *ObjectStore) writeFileAtomic(tmp, dest string, data []byte) error {
	f, err := s.fs.CreateTemp(tmp, tmpPattern)
	if err != nil {
		return noSpace(err)
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = s.mkdirAllSynced(filepath.Dir(dest))
	}
	if err == nil {
		err = s.fs.Rename(f.Name(), dest)
	}
	if err != nil {
		s.fs.Remove(f.Name())
		return noSpace(err)
	}
	return s.fs.SyncDir(filepath.Dir(dest))
}

// consolidateHashes is Swift's consolidate_hashes: under the partition
// lock, mark every suffix listed in hashes.invalid for rehash in
// hashes.pkl, then empty hashes.invalid.
func (s *ObjectStore) consolidateHashes(partDir string) (hashesState, error) {
	lock, err := s.fs.Lock(filepath.Join(partDir, partLockFile))
	if err != nil {
		return hashesState{}, err
	}
	defer lock.Close()
	st := s.readHashes(partDir)
	invPath := filepath.Join(partDir, invalidFile)
	f, err := s.fs.Open(invPath)
	if errors.Is(err, os.ErrNotExist) {
		return st, nil
	}
	if err != nil {
		return st, err
	}
	data, err := io.ReadAll(f)
	f.Close()
	if err != nil {
		return st, err
	}
	if len(data) == 0 {
		return st, nil
	}
	updated := false
	for _, line := range strings.Split(string(data), "\n") {
		if suffix := strings.TrimSpace(line); validSuffix(suffix) {
			st.hashes[suffix] = ""
			updated = true
		}
	}
	if updated {
		if err := s.writeHashes(partDir, st); err != nil {
			return st, err
		}
		st = s.readHashes(partDir)
	}
	tf, err := s.fs.OpenFile(invPath, os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return st, err
	}
	return st, tf.Close()
}

// SuffixHashes is Swift's get_hashes for one partition: it folds
// hashes.invalid into hashes.pkl, rehashes the suffixes marked invalid and
// those in recalculate (all of them if hashes.pkl is missing or invalid),
// cleaning up obsolete files as it goes, writes hashes.pkl and returns
// suffix → md5 hex. A suffix's hash is the MD5 of "<ts.internal><ext>" of
// the files that define each object's state (names only, not contents),
// in sorted hash-directory order. Suffixes invalidated while hashing stay
// in hashes.invalid for the next call.
func (s *ObjectStore) SuffixHashes(device string, partition int, recalculate []string) (map[string]string, error) {
	if err := s.CheckDevice(device); err != nil {
		return nil, err
	}
	partDir := s.partitionPath(device, partition)
	if _, err := s.fs.Stat(partDir); errors.Is(err, os.ErrNotExist) {
		return map[string]string{}, nil
	}
	if err := s.flushInvalid(partDir); err != nil {
		return nil, err
	}
	for attempt := 0; ; attempt++ {
		st, err := s.consolidateHashes(partDir)
		if err != nil {
			return nil, err
		}
		origUpdated, origValid := st.updated, st.valid
		modified := false
		if !st.valid {
			st.hashes = map[string]string{}
			names, err := s.fs.ReadDir(partDir)
			if err != nil {
				return nil, err
			}
			for _, n := range names {
				if validSuffix(n) {
					st.hashes[n] = ""
				}
			}
			st.valid, modified = true, true
		}
		for _, suffix := range recalculate {
			if validSuffix(suffix) {
				st.hashes[suffix] = ""
			}
		}
		for suffix, h := range st.hashes {
			if h != "" {
				continue
			}
			modified = true
			sum, ok, err := s.hashSuffix(filepath.Join(partDir, suffix))
			if err != nil {
				return nil, err
			}
			if ok {
				st.hashes[suffix] = sum
			} else {
				delete(st.hashes, suffix)
			}
		}
		if !modified {
			return st.hashes, nil
		}
		done, err := s.writeHashesIfUnchanged(partDir, st, origUpdated, origValid)
		if err != nil {
			return nil, err
		}
		if done || attempt >= 2 {
			return st.hashes, nil
		}
	}
}

// writeHashesIfUnchanged writes st unless someone rewrote hashes.pkl since
// it was read (then the caller starts over, as Swift does).
func (s *ObjectStore) writeHashesIfUnchanged(partDir string, st hashesState, origUpdated float64, origValid bool) (bool, error) {
	lock, err := s.fs.Lock(filepath.Join(partDir, partLockFile))
	if err != nil {
		return false, err
	}
	defer lock.Close()
	now := s.readHashes(partDir)
	if now.updated != origUpdated || now.valid != origValid {
		return false, nil
	}
	return true, s.writeHashes(partDir, st)
}

// hashSuffix is Swift's _hash_suffix_dir for the replication policy. ok is
// false when the suffix directory is missing or was empty and removed.
func (s *ObjectStore) hashSuffix(suffixDir string) (sum string, ok bool, err error) {
	names, err := s.fs.ReadDir(suffixDir)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) || isNotDir(err) {
			return "", false, nil
		}
		return "", false, err
	}
	h := md5.New()
	for _, name := range names {
		hashDir := filepath.Join(suffixDir, name)
		mu := s.objectLock(hashDir)
		mu.Lock()
		r, files, err := s.cleanup(hashDir)
		mu.Unlock()
		if err != nil {
			if isNotDir(err) {
				if qerr := s.quarantineDir(filepath.Dir(filepath.Dir(filepath.Dir(suffixDir))), hashDir); qerr != nil {
					return "", false, fmt.Errorf("quarantine %s: %w", hashDir, qerr)
				}
				continue
			}
			return "", false, err
		}
		if len(files) == 0 {
			continue
		}
		if r.meta != nil {
			h.Write([]byte(r.meta.ts.Internal() + r.meta.ext))
		}
		if r.ts != nil {
			h.Write([]byte(r.ts.ts.Internal() + r.ts.ext))
		}
		if r.data != nil {
			h.Write([]byte(r.data.ts.Internal() + r.data.ext))
		}
		if r.ctype != nil {
			h.Write([]byte(r.ctype.ctype.Internal() + "_ctype"))
		}
	}
	if err := s.fs.Remove(suffixDir); err == nil || errors.Is(err, os.ErrNotExist) {
		return "", false, nil
	}
	return hex.EncodeToString(h.Sum(nil)), true, nil
}

// InvalidateAllHashes removes every partition's hashes.pkl on device, so
// the next SuffixHashes recomputes every suffix from the directories. serve
// calls it after an unclean shutdown, when a hashes.invalid append (not
// fsynced on its own) may have been lost.
func (s *ObjectStore) InvalidateAllHashes(device string) error {
	objDir := filepath.Join(s.devicePath(device), s.dataDir)
	parts, err := s.fs.ReadDir(objDir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, p := range parts {
		err := s.fs.Remove(filepath.Join(objDir, p, hashesFile))
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	return nil
}
