// Package db holds Swift's container and account databases, one bbolt file
// per container or account, laid out exactly where Swift keeps its SQLite
// files: <devices>/<device>/containers/<part>/<hash[-3:]>/<hash>/<hash>.db
// (accounts/ for accounts).
//
// Durability: every method that changes a database returns after the bbolt
// transaction holding the change has committed, and bbolt fsyncs on commit.
// A new database is built in <device>/tmp, fsynced, renamed into place, and
// every directory created on the way and the final directory are fsynced,
// so a crash never leaves a half-initialised database at the real path.
//
// Permissions: databases hold ACLs, tempurl and sync keys, so every file
// is 0600 and every directory from <device>/<kind> down is 0700; opening a
// database fixes looser modes left by older versions.
//
// Concurrency: a Store is safe for concurrent use. Object and container row
// updates from concurrent callers share transactions (group commit), so one
// fsync serves many updates. Reads run in bbolt read transactions and never
// block writers.
package db

import (
	"container/list"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"

	"swiftbox/ring"
)

// DefaultMaxOpen bounds the number of open database files when
// Config.MaxOpen is zero.
const DefaultMaxOpen = 256

// Kinds of database, also the data directory names under a device.
const (
	KindContainers = "containers"
	KindAccounts   = "accounts"
)

// Config locates databases and bounds the handle cache.
type Config struct {
	DevicesDir string // e.g. /srv/node
	HashPrefix string // swift_hash_path_prefix
	HashSuffix string // swift_hash_path_suffix
	MaxOpen    int    // open database files kept; DefaultMaxOpen if 0
	// Failed reports whether a device is marked failed (then it is
	// unavailable, as if unmounted); nil means none are.
	Failed func(device string) bool
}

// Store opens, caches and closes database files. Handles beyond MaxOpen are
// closed least recently used first, but never while a call is using them.
type Store struct {
	cfg Config

	mu      sync.Mutex
	closed  bool
	handles map[string]*handle
	lru     list.List // *handle, most recently used at the front
	// fences are paths being quarantined or removed: acquire waits for the
	// channel to close instead of opening the file.
	fences map[string]chan struct{}
	// commits counts the write transactions committed (group commit: one
	// may carry many updates); Commits exports it.
	commits atomic.Uint64
}

// Commits is how many write transactions the store's databases have
// committed (swiftbox_db_commits_total): against the updates made, it
// shows how well group commit shares fsyncs.
func (s *Store) Commits() uint64 { return s.commits.Load() }

// File and directory modes of databases (see the package comment).
const (
	fileMode = 0o600
	dirMode  = 0o700
)

// handle is one open database file shared by all callers.
type handle struct {
	path  string
	db    *bolt.DB
	err   error         // set, with db nil, if opening failed
	ready chan struct{} // closed once db or err is set
	refs  int           // callers using the handle; guarded by Store.mu
	elem  *list.Element // guarded by Store.mu
	batch batcher
	// commits is the store's commit counter.
	commits *atomic.Uint64
}

// Open returns a Store for the databases under cfg.DevicesDir. It touches
// no files until a database is used.
func Open(cfg Config) *Store {
	if cfg.MaxOpen <= 0 {
		cfg.MaxOpen = DefaultMaxOpen
	}
	return &Store{cfg: cfg, handles: make(map[string]*handle), fences: make(map[string]chan struct{})}
}

// Close closes every idle database now and every busy one when its last
// caller finishes; calls made after Close fail with ErrClosed. Every change
// already returned to a caller is durable, so Close has nothing to flush.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	var firstErr error
	for _, h := range s.handles {
		if h.refs == 0 {
			if err := s.dropLocked(h); err != nil && firstErr == nil {
				firstErr = err
			}
		}
	}
	return firstErr
}

// DBPath returns where Swift keeps the database of an account (container
// "") or a container. kind is KindContainers or KindAccounts.
func (s *Store) DBPath(kind string, device string, part int, account, container string) string {
	if kind == KindAccounts {
		container = ""
	}
	hash := ring.HashPathHex(s.cfg.HashPrefix, s.cfg.HashSuffix, account, container, "")
	return filepath.Join(s.cfg.DevicesDir, device, kind, strconv.Itoa(part), hash[len(hash)-3:], hash, hash+".db")
}

// initFunc fills a brand-new database inside its first transaction.
type initFunc func(tx *bolt.Tx) error

// acquire returns the open handle for path, opening it if needed. If the
// file is missing it is created with init, or ErrNotFound is returned when
// init is nil. device names the device directory checked before opening
// ("" skips the check). Every successful acquire must be paired with release.
func (s *Store) acquire(device, path string, init initFunc) (*handle, error) {
	for {
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			return nil, ErrClosed
		}
		if fence, ok := s.fences[path]; ok {
			s.mu.Unlock()
			<-fence
			continue
		}
		if h, ok := s.handles[path]; ok {
			h.refs++
			s.lru.MoveToFront(h.elem)
			s.mu.Unlock()
			<-h.ready
			if h.err == nil {
				return h, nil
			}
			s.release(h)
			if errors.Is(h.err, ErrNotFound) && init != nil {
				continue // its opener would not create it; we will
			}
			return nil, h.err
		}
		h := &handle{path: path, ready: make(chan struct{}), refs: 1, commits: &s.commits}
		h.elem = s.lru.PushFront(h)
		s.handles[path] = h
		s.mu.Unlock()

		h.db, h.err = s.openFile(device, path, init)
		if h.err != nil {
			s.mu.Lock()
			delete(s.handles, path)
			s.lru.Remove(h.elem)
			h.refs--
			s.mu.Unlock()
			close(h.ready)
			return nil, h.err
		}
		close(h.ready)
		s.mu.Lock()
		s.evictLocked()
		s.mu.Unlock()
		return h, nil
	}
}

// release ends a caller's use of h and closes idle handles over the bound.
func (s *Store) release(h *handle) {
	s.mu.Lock()
	defer s.mu.Unlock()
	h.refs--
	if h.db == nil {
		return
	}
	if s.closed && h.refs == 0 {
		_ = s.dropLocked(h)
		return
	}
	s.evictLocked()
}

// evictLocked closes least recently used idle handles until the cache is
// within its bound or only busy handles remain.
func (s *Store) evictLocked() {
	for e := s.lru.Back(); e != nil && len(s.handles) > s.cfg.MaxOpen; {
		prev := e.Prev()
		if h := e.Value.(*handle); h.refs == 0 && h.db != nil {
			_ = s.dropLocked(h)
		}
		e = prev
	}
}

func (s *Store) dropLocked(h *handle) error {
	if s.handles[h.path] == h {
		delete(s.handles, h.path)
		s.lru.Remove(h.elem)
	}
	return h.db.Close()
}

// openFile opens path, creating it with init if it is missing.
func (s *Store) openFile(device, path string, init initFunc) (*bolt.DB, error) {
	devDir := filepath.Join(s.cfg.DevicesDir, device)
	if device != "" {
		if fi, err := os.Stat(devDir); err != nil || !fi.IsDir() {
			return nil, fmt.Errorf("%w: %s", ErrDeviceUnavailable, devDir)
		}
		if s.cfg.Failed != nil && s.cfg.Failed(device) {
			return nil, fmt.Errorf("%w: %s is marked failed", ErrDeviceUnavailable, devDir)
		}
	}
	if _, err := os.Stat(path); err != nil {
		if !os.IsNotExist(err) {
			return nil, err
		}
		if init == nil {
			return nil, ErrNotFound
		}
		if err := createFile(devDir, path, init); err != nil {
			return nil, err
		}
	} else if err := s.fixModes(path); err != nil {
		return nil, err
	}
	db, err := bolt.Open(path, fileMode, &bolt.Options{Timeout: 10 * time.Second})
	if err != nil {
		if errors.Is(err, bolt.ErrInvalid) || errors.Is(err, bolt.ErrChecksum) || errors.Is(err, bolt.ErrVersionMismatch) {
			return nil, fmt.Errorf("%w: %s: %v", ErrCorrupt, path, err)
		}
		return nil, err
	}
	err = db.View(func(tx *bolt.Tx) error {
		if tx.Bucket(bucketInfo) == nil {
			return fmt.Errorf("%w: %s: no info bucket", ErrCorrupt, path)
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// createFile builds a database in <device>/tmp and renames it to path,
// fsyncing the file (bbolt's commit), every directory it creates and the
// directory it lands in.
func createFile(devDir, path string, init initFunc) error {
	tmpDir := filepath.Join(devDir, "tmp")
	if err := mkdirSynced(devDir, tmpDir); err != nil {
		return err
	}
	var rnd [8]byte
	_, _ = rand.Read(rnd[:])
	tmp := filepath.Join(tmpDir, filepath.Base(path)+"."+hex.EncodeToString(rnd[:])+".tmp")
	db, err := bolt.Open(tmp, fileMode, nil)
	if err != nil {
		return err
	}
	err = db.Update(init)
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = mkdirSynced(devDir, filepath.Dir(path))
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	return syncDir(filepath.Dir(path))
}

// mkdirSynced creates dir and any missing parents below base (which must
// exist), fsyncing the parent of each directory it creates.
func mkdirSynced(base, dir string) error {
	if dir == base {
		return nil
	}
	if fi, err := os.Stat(dir); err == nil {
		if !fi.IsDir() {
			return fmt.Errorf("db: %s is not a directory", dir)
		}
		return nil
	}
	parent := filepath.Dir(dir)
	if parent == dir {
		return fmt.Errorf("db: %s is outside %s", dir, base)
	}
	if err := mkdirSynced(base, parent); err != nil {
		return err
	}
	if err := os.Mkdir(dir, dirMode); err != nil {
		if os.IsExist(err) {
			return nil
		}
		return err
	}
	return syncDir(parent)
}

// fixModes makes an existing database file 0600 and the directories from
// its device's <kind> directory down to it 0700, as the package comment
// promises, for files an older version made world-readable.
func (s *Store) fixModes(path string) error {
	fix := func(p string, want os.FileMode) error {
		fi, err := os.Stat(p)
		if err != nil {
			return err
		}
		if fi.Mode().Perm() != want {
			return os.Chmod(p, want)
		}
		return nil
	}
	if err := fix(path, fileMode); err != nil {
		return err
	}
	// <dev>/<kind>/<part>/<suf>/<hash>/<hash>.db: four directories.
	dir := filepath.Dir(path)
	for range 4 {
		if err := fix(dir, dirMode); err != nil {
			return err
		}
		dir = filepath.Dir(dir)
	}
	return nil
}

func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// newID returns a random database id, like Swift's broker id.
func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
