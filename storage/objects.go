// Package storage keeps objects on local devices in OpenStack Swift's
// on-disk format (replicated storage policies): bodies in
// <dev>/objects[-N]/<part>/<suffix>/<hash>/<timestamp>.data with pickled
// metadata in xattrs, tombstones (.ts), fast-POST metadata (.meta),
// hashes.pkl/hashes.invalid per partition, async_pending container updates
// and quarantine. Every disk operation goes through an FS so tests can
// inject faults and crashes.
package storage

import (
	"errors"
	"fmt"
	"hash/fnv"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"swiftbox/ring"
)

// Directory and file names inside a device, as in Swift's diskfile.py.
const (
	objectsBase     = "objects"
	tmpBase         = "tmp"
	asyncBase       = "async_pending"
	quarantineDir   = "quarantined"
	hashesFile      = "hashes.pkl"
	invalidFile     = "hashes.invalid"
	partLockFile    = ".lock"
	tmpPattern      = "swiftbox-*.tmp"
	defaultReclaim  = 7 * 24 * time.Hour
	objectLockCount = 64
)

// ObjectStoreConfig configures an ObjectStore.
type ObjectStoreConfig struct {
	// DevicesDir holds one directory per device (Swift's devices, e.g.
	// /srv/node).
	DevicesDir string
	// HashPrefix and HashSuffix are swift_hash_path_prefix/suffix.
	HashPrefix, HashSuffix string
	// FS performs all disk operations; nil means OSFS.
	FS FS
	// FallocateReserve is the number of bytes to keep free (0 = none).
	FallocateReserve int64
	// FallocateReservePercent is the percentage of the filesystem to keep
	// free, e.g. 1 for Swift's default fallocate_reserve of 1% (0 = none).
	FallocateReservePercent float64
	// ReclaimAge is how old a tombstone must be before cleanup removes it
	// (default one week, Swift's reclaim_age).
	ReclaimAge time.Duration
	// MountCheck requires each device to be a mount point (Swift's
	// mount_check); off, any subdirectory of DevicesDir is a device.
	MountCheck bool
	// DeviceCacheTTL is how long a good device check and a free-space
	// reading are reused (0 = 500 ms, negative = check on every write).
	DeviceCacheTTL time.Duration
	// FailedDir, if set, holds a file per device marked failed (by
	// drive-audit --unmount); such a device is unavailable until its
	// file is removed.
	FailedDir string
}

// ObjectStore reads and writes the objects of one storage policy on the
// devices under DevicesDir: policy 0 in <dev>/objects with temp files in
// <dev>/tmp, policy N in objects-N and tmp-N (Swift's get_policy_string).
// Policy returns the store of another policy; all of them share locks,
// group commits, journals and device checks. It is safe for concurrent
// use; writes to one object from this process are serialised only around
// the final rename, so concurrent writers leave the newest timestamp's
// state, as in Swift.
type ObjectStore struct {
	*storeState
	policy int
	// dataDir and tmpDir are the policy's directory names in a device.
	dataDir, tmpDir string
}

// storeState is what every policy's ObjectStore shares.
type storeState struct {
	cfg   ObjectStoreConfig
	fs    FS
	locks [objectLockCount]sync.Mutex
	// groups group-commits durability per filesystem (syncgroup.go).
	groups syncGroups
	// journals hold container updates until applied (journal.go).
	journals journals
	// invalid holds suffix invalidations not yet in hashes.invalid.
	invalid pendingInvalid
	// health caches good device checks and free space briefly (devcache.go).
	health deviceCache
	now    func() time.Time
}

// NewObjectStore returns a store for cfg, applying defaults.
func NewObjectStore(cfg ObjectStoreConfig) *ObjectStore {
	if cfg.FS == nil {
		cfg.FS = OSFS{}
	}
	if cfg.DeviceCacheTTL == 0 {
		cfg.DeviceCacheTTL = defaultDeviceCacheTTL
	}
	if cfg.ReclaimAge <= 0 {
		cfg.ReclaimAge = defaultReclaim
	}
	return newPolicyStore(&storeState{cfg: cfg, fs: cfg.FS, now: time.Now}, 0)
}

func newPolicyStore(st *storeState, policy int) *ObjectStore {
	return &ObjectStore{storeState: st, policy: policy,
		dataDir: ring.PolicyString(objectsBase, policy), tmpDir: ring.PolicyString(tmpBase, policy)}
}

// Policy returns the store of storage policy index i (its objects-N, tmp-N
// and async_pending-N), sharing this store's state.
func (s *ObjectStore) Policy(i int) *ObjectStore {
	if i == s.policy {
		return s
	}
	return newPolicyStore(s.storeState, i)
}

// PolicyIndex is the storage policy this store serves.
func (s *ObjectStore) PolicyIndex() int { return s.policy }

// FS returns the FS the store uses.
func (s *ObjectStore) FS() FS { return s.fs }

func (s *ObjectStore) devicePath(device string) string {
	return filepath.Join(s.cfg.DevicesDir, device)
}

func (s *ObjectStore) partitionPath(device string, partition int) string {
	return filepath.Join(s.cfg.DevicesDir, device, s.dataDir, strconv.Itoa(partition))
}

// ObjectHash returns the 32-hex-digit hash naming the object's directory.
func (s *ObjectStore) ObjectHash(account, container, object string) string {
	return ring.HashPathHex(s.cfg.HashPrefix, s.cfg.HashSuffix, account, container, object)
}

// HashDir returns <dev>/objects/<part>/<suffix>/<hash> for the object.
func (s *ObjectStore) HashDir(device string, partition int, account, container, object string) string {
	h := s.ObjectHash(account, container, object)
	return filepath.Join(s.partitionPath(device, partition), h[len(h)-3:], h)
}

// objectLock serialises, within this process, the commit phase (mkdir,
// rename, cleanup) and quarantine of one hash directory, so cleanup never
// removes a directory another goroutine is about to rename into.
func (s *ObjectStore) objectLock(hashDir string) *sync.Mutex {
	h := fnv.New32a()
	h.Write([]byte(hashDir)) // the full path: replicas on other devices don't contend
	return &s.locks[h.Sum32()%objectLockCount]
}

// CheckDevice reports whether device can be used: it must be a directory
// under DevicesDir, a mount point when MountCheck is set, and writable.
// Failures match ErrDeviceUnavailable and say why.
func (s *ObjectStore) CheckDevice(device string) error {
	if device == "" || device == "." || device == ".." || strings.ContainsRune(device, '/') {
		return deviceError(device, "invalid device name")
	}
	if s.health.recentlyOK(device, s.now(), s.cfg.DeviceCacheTTL) {
		return nil
	}
	if err := s.checkDevice(device); err != nil {
		return err
	}
	s.health.markOK(device, s.now())
	return nil
}

// checkDevice is CheckDevice without the cache of recent good results.
func (s *ObjectStore) checkDevice(device string) error {
	path := s.devicePath(device)
	st, err := s.fs.Stat(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return deviceError(device, "does not exist")
		}
		return deviceError(device, err.Error())
	}
	if !st.IsDir() {
		return deviceError(device, "not a directory")
	}
	if reason, failed := DeviceFailed(s.cfg.FailedDir, device); failed {
		return deviceError(device, "marked failed: "+reason)
	}
	if s.cfg.MountCheck {
		ok, err := s.isMount(path)
		if err != nil {
			return deviceError(device, err.Error())
		}
		if !ok {
			return deviceError(device, "not a mount point")
		}
	}
	if err := unix.Access(path, unix.W_OK|unix.X_OK); err != nil {
		return deviceError(device, "not writable: "+err.Error())
	}
	return nil
}

// isMount is Swift's ismount: path is on a different device from its
// parent, or is the parent (the root).
func (s *ObjectStore) isMount(path string) (bool, error) {
	st, err := s.fs.Stat(path)
	if err != nil {
		return false, err
	}
	pst, err := s.fs.Stat(filepath.Join(path, ".."))
	if err != nil {
		return false, err
	}
	a, ok1 := st.Sys().(*syscall.Stat_t)
	b, ok2 := pst.Sys().(*syscall.Stat_t)
	if !ok1 || !ok2 {
		return false, fmt.Errorf("cannot tell whether %s is a mount point", path)
	}
	return a.Dev != b.Dev || a.Ino == b.Ino, nil
}

// mkdirAllSynced creates dir and its missing parents and fsyncs the parent
// of each directory it created, so the new directories survive a crash.
func (s *ObjectStore) mkdirAllSynced(dir string) error {
	var missing []string
	for d := filepath.Clean(dir); d != filepath.Dir(d); d = filepath.Dir(d) {
		if _, err := s.fs.Stat(d); err == nil {
			break
		}
		missing = append(missing, d)
	}
	if len(missing) == 0 {
		return nil
	}
	if err := s.fs.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, d := range missing {
		if err := s.fs.SyncDir(filepath.Dir(d)); err != nil {
			return err
		}
	}
	return nil
}

// CleanupTmp removes files in the policy's <dev>/tmp last modified more than olderThan
// ago: leftovers of writes interrupted by a crash. Swift's replicator does
// the same with reclaim_age. It returns how many files it removed.
func (s *ObjectStore) CleanupTmp(device string, olderThan time.Duration) (int, error) {
	dir := filepath.Join(s.devicePath(device), s.tmpDir)
	names, err := s.fs.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	cutoff := s.now().Add(-olderThan)
	n := 0
	for _, name := range names {
		p := filepath.Join(dir, name)
		st, err := s.fs.Stat(p)
		if err != nil || st.IsDir() || st.ModTime().After(cutoff) {
			continue
		}
		if err := s.fs.Remove(p); err == nil {
			n++
		}
	}
	return n, nil
}

// noSpace maps ENOSPC and EDQUOT to ErrNoSpace.
func noSpace(err error) error {
	if errors.Is(err, unix.ENOSPC) || errors.Is(err, unix.EDQUOT) {
		return fmt.Errorf("%w: %v", ErrNoSpace, err)
	}
	return err
}

// DeviceFailed reports whether device is marked failed in failedDir, and
// the reason recorded there.
func DeviceFailed(failedDir, device string) (string, bool) {
	if failedDir == "" {
		return "", false
	}
	raw, err := os.ReadFile(filepath.Join(failedDir, device))
	if err != nil {
		return "", false
	}
	return strings.TrimSpace(string(raw)), true
}
