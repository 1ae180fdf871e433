package storage

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"swiftbox/storage/storagetest"
)

// failOn returns an Inject hook failing op (on paths containing substr)
// with err.
func failOn(op storagetest.Op, substr string, err error) func(storagetest.Op, string) error {
	return func(o storagetest.Op, p string) error {
		if o == op && strings.Contains(p, substr) {
			return err
		}
		return nil
	}
}

func TestFallocateENOSPC(t *testing.T) {
	ffs := storagetest.NewFaultFS(nil)
	s := newStore(t, ffs)
	ffs.Inject = failOn(storagetest.OpFallocate, "", unix.ENOSPC)
	if _, err := s.NewWriter(testDev, 1, "a", "c", "o", ts(1), 1<<20); !errors.Is(err, ErrNoSpace) {
		t.Fatalf("got %v", err)
	}
	if got := tmpFiles(t, s); len(got) != 0 {
		t.Errorf("tmp %v", got)
	}
	if got := files(t, s, "o"); got != nil {
		t.Errorf("files %v", got)
	}
}

func TestFallocateReserve(t *testing.T) {
	ffs := storagetest.NewFaultFS(nil)
	s := newStore(t, ffs)
	st, err := OSFS{}.Statfs(s.cfg.DevicesDir)
	if err != nil {
		t.Fatal(err)
	}
	avail := st.Total / 200 // 0.5% free
	ffs.Avail = &avail
	s.cfg.FallocateReservePercent = 1
	for _, size := range []int64{-1, 0, 10} {
		if _, err := s.NewWriter(testDev, 1, "a", "c", "o", ts(1), size); !errors.Is(err, ErrNoSpace) {
			t.Errorf("size %d: %v", size, err)
		}
	}
	// Tombstones ignore the reserve.
	if err := s.Delete(testDev, 1, "a", "c", "o", ts(2), nil); !errors.Is(err, ErrNotFound) {
		t.Errorf("delete: %v", err)
	}
	s.cfg.FallocateReservePercent = 0
	s.cfg.FallocateReserve = 1 << 20
	avail = 2 << 20
	if _, err := s.NewWriter(testDev, 1, "a", "c", "o2", ts(1), 1<<20+1); !errors.Is(err, ErrNoSpace) {
		t.Errorf("byte reserve: %v", err)
	}
	if err := put(t, s, "o2", 1, []byte("fits"), nil); err != nil {
		t.Errorf("small put: %v", err)
	}
	if got := tmpFiles(t, s); len(got) != 0 {
		t.Errorf("tmp %v", got)
	}
}

// TestFailuresLeaveNothing injects an error at each step of a commit over
// an existing version: the commit fails, the old version is still served
// and no temp file is left.
func TestFailuresLeaveNothing(t *testing.T) {
	for _, c := range []struct {
		name string
		op   storagetest.Op
		path string
		err  error
		want error
	}{
		{"write EIO", storagetest.OpWrite, "", unix.EIO, unix.EIO},
		{"write ENOSPC", storagetest.OpWrite, "", unix.ENOSPC, ErrNoSpace},
		{"syncfs EIO", storagetest.OpSyncfs, "", unix.EIO, unix.EIO},
		{"setxattr EIO", storagetest.OpSetxattr, "", unix.EIO, unix.EIO},
		{"rename EIO", storagetest.OpRename, ".data", unix.EIO, unix.EIO},
	} {
		t.Run(c.name, func(t *testing.T) {
			ffs := storagetest.NewFaultFS(nil)
			s := newStore(t, ffs)
			mustPut(t, s, "o", 100, []byte("old"), nil)
			ffs.Inject = failOn(c.op, c.path, c.err)
			err := put(t, s, "o", 200, []byte("new"), nil)
			ffs.Inject = nil
			if !errors.Is(err, c.want) {
				t.Fatalf("got %v, want %v", err, c.want)
			}
			mustGet(t, s, "o", []byte("old"))
			if got := tmpFiles(t, s); len(got) != 0 {
				t.Errorf("tmp %v", got)
			}
			if got := files(t, s, "o"); len(got) != 1 {
				t.Errorf("files %v", got)
			}
		})
	}
}

func TestNoXattrSupport(t *testing.T) {
	ffs := storagetest.NewFaultFS(nil)
	s := newStore(t, ffs)
	ffs.NoXattr = true
	if err := put(t, s, "o", 1, []byte("x"), nil); !errors.Is(err, ErrXattrUnsupported) {
		t.Fatalf("got %v", err)
	}
	if got := tmpFiles(t, s); len(got) != 0 {
		t.Errorf("tmp %v", got)
	}
	ffs.NoXattr = false
	mustPut(t, s, "o", 2, []byte("x"), nil)
	ffs.NoXattr = true
	if _, err := s.Open(testDev, 1, "a", "c", "o"); !errors.Is(err, ErrXattrUnsupported) {
		t.Errorf("open: %v", err)
	}
}

// ext4Meta is legal Swift metadata (90 items, 4096 bytes of user
// metadata) that does not fit ext4's xattr block.
func ext4Meta() map[string]string {
	m := map[string]string{"Content-Type": "application/octet-stream"}
	for i := range 16 {
		m["X-Object-Meta-K"+strings.Repeat("x", 10)+string(rune('a'+i))] = strings.Repeat("v", 240)
	}
	return m
}

func checkOverflowRoundTrip(t *testing.T, s *ObjectStore) {
	t.Helper()
	meta := ext4Meta()
	body := bytes.Repeat([]byte("0123456789"), 1000)
	mustPut(t, s, "o", 100, body, meta)
	r := mustGet(t, s, "o", body)
	for k, v := range meta {
		if r.Metadata()[k] != v {
			t.Fatalf("%s lost", k)
		}
	}
	data := ts(100).Internal() + ".data"
	if got := files(t, s, "o"); len(got) != 2 || got[0] != data || got[1] != data+overflowSuffix {
		t.Fatalf("files %v", got)
	}
	// POST with as much metadata overflows the .meta the same way.
	if err := s.Post(testDev, 1, "a", "c", "o", ts(150), meta); err != nil {
		t.Fatal(err)
	}
	r = mustGet(t, s, "o", body)
	if r.Metadata()["X-Object-Meta-Kxxxxxxxxxxa"] != meta["X-Object-Meta-Kxxxxxxxxxxa"] {
		t.Errorf("post metadata lost: %v", r.Metadata())
	}
	// Sidecars go with their files.
	mustPut(t, s, "o", 200, []byte("small"), nil)
	if got := files(t, s, "o"); len(got) != 1 {
		t.Errorf("after overwrite: %v", got)
	}
	mustPut(t, s, "o", 300, body, meta)
	if err := s.Delete(testDev, 1, "a", "c", "o", ts(400), nil); err != nil {
		t.Fatal(err)
	}
	if got := files(t, s, "o"); len(got) != 1 || !strings.HasSuffix(got[0], ".ts") {
		t.Errorf("after delete: %v", got)
	}
}

// TestExt4XattrOverflowFaultFS emulates ext4's single 4 KiB xattr block.
func TestExt4XattrOverflowFaultFS(t *testing.T) {
	for _, e := range []error{unix.ENOSPC, unix.E2BIG} {
		t.Run(e.Error(), func(t *testing.T) {
			ffs := storagetest.NewFaultFS(nil)
			ffs.XattrLimit, ffs.XattrErr = 4096, e
			checkOverflowRoundTrip(t, newStore(t, ffs))
		})
	}
}

// TestExt4XattrOverflowReal runs on the temp dir's real filesystem when it
// is ext4.
func TestExt4XattrOverflowReal(t *testing.T) {
	var st unix.Statfs_t
	dir := os.TempDir()
	if err := unix.Statfs(dir, &st); err != nil || st.Type != unix.EXT4_SUPER_MAGIC {
		t.Skipf("%s is not ext4", dir)
	}
	checkOverflowRoundTrip(t, newStore(t, nil))
}

func TestOverflowSidecarCorrupt(t *testing.T) {
	ffs := storagetest.NewFaultFS(nil)
	ffs.XattrLimit = 4096
	s := newStore(t, ffs)
	mustPut(t, s, "o", 100, []byte("x"), ext4Meta())
	p := filepath.Join(s.HashDir(testDev, 1, "a", "c", "o"), ts(100).Internal()+".data"+overflowSuffix)
	b, _ := os.ReadFile(p)
	b[len(b)-3] ^= 1
	os.WriteFile(p, b, 0o600)
	if _, err := s.Open(testDev, 1, "a", "c", "o"); !errors.Is(err, ErrQuarantined) {
		t.Errorf("open: %v", err)
	}
}

func TestCrashAfterCommitKeepsObject(t *testing.T) {
	ffs := storagetest.NewFaultFS(nil)
	s := newStore(t, ffs)
	mustPut(t, s, "o", 100, []byte("durable"), map[string]string{"X-Object-Meta-A": "1"})
	if err := s.Delete(testDev, 1, "a", "c", "gone", ts(100), nil); !errors.Is(err, ErrNotFound) {
		t.Fatal(err)
	}
	if err := s.Post(testDev, 1, "a", "c", "o", ts(150), map[string]string{"X-Object-Meta-B": "2"}); err != nil {
		t.Fatal(err)
	}
	ffs.XattrLimit = 4096
	mustPut(t, s, "big", 100, []byte("overflowing"), ext4Meta())
	if err := s.WriteAsyncPending(testDev, AsyncPending{Op: "PUT", Account: "a", Container: "c", Object: "o",
		Headers: map[string]string{"X-Timestamp": ts(100).Internal()}}); err != nil {
		t.Fatal(err)
	}
	// An upload in flight at the crash.
	w, err := s.NewWriter(testDev, 1, "a", "c", "o", ts(200), -1)
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("in flight"))
	if err := ffs.Crash(); err != nil {
		t.Fatal(err)
	}
	r := mustGet(t, s, "o", []byte("durable"))
	if r.Metadata()["X-Object-Meta-B"] != "2" {
		t.Errorf("post lost: %v", r.Metadata())
	}
	mustGet(t, s, "big", []byte("overflowing"))
	if _, err := s.Open(testDev, 1, "a", "c", "gone"); !errors.As(err, new(*DeletedError)) {
		t.Errorf("tombstone lost: %v", err)
	}
	if l, err := s.ListAsyncPendings(testDev); err != nil || len(l) != 1 {
		t.Errorf("async pendings %v %v", l, err)
	}
	// hashes.invalid is not fsynced on its own (as in Swift); after an
	// unclean shutdown serve invalidates every partition's hashes instead.
	if err := s.InvalidateAllHashes(testDev); err != nil {
		t.Fatal(err)
	}
	hashes, err := s.SuffixHashes(testDev, 1, nil)
	if err != nil || len(hashes) == 0 {
		t.Errorf("suffix hashes after crash recovery: %v %v", hashes, err)
	}
}

// TestCrashBeforeDirSyncLosesOnlyUncommitted checks that the crash model
// bites: a rename whose directory was never fsynced is undone.
func TestCrashModelUndoesUnsyncedRename(t *testing.T) {
	ffs := storagetest.NewFaultFS(nil)
	dir := t.TempDir()
	f, err := ffs.CreateTemp(dir, "x")
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte("data"))
	f.Sync()
	f.Close()
	ffs.SyncDir(dir)
	ffs.Rename(f.Name(), filepath.Join(dir, "final"))
	g, _ := ffs.OpenFile(filepath.Join(dir, "unsynced"), os.O_CREATE|os.O_WRONLY, 0o644)
	g.Write([]byte("lost"))
	g.Close()
	if err := ffs.Crash(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "final")); !os.IsNotExist(err) {
		t.Errorf("unsynced rename survived: %v", err)
	}
	if b, err := os.ReadFile(f.Name()); err != nil || string(b) != "data" {
		t.Errorf("synced file: %q %v", b, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "unsynced")); !os.IsNotExist(err) {
		t.Errorf("unsynced create survived: %v", err)
	}
}

func TestCrashLeftoversCleaned(t *testing.T) {
	s := newStore(t, nil)
	mustPut(t, s, "o", 200, []byte("new"), nil)
	hashDir := s.HashDir(testDev, 1, "a", "c", "o")
	// Files a crash could leave: an older .data whose unlink was lost, an
	// older tombstone and .meta, an orphan sidecar, a temp file.
	for _, n := range []string{ts(100).Internal() + ".data", ts(150).Internal() + ".ts", ts(120).Internal() + ".meta",
		ts(50).Internal() + ".data" + overflowSuffix} {
		os.WriteFile(filepath.Join(hashDir, n), nil, 0o600)
	}
	tmp := filepath.Join(s.cfg.DevicesDir, testDev, s.tmpDir, "swiftbox-123.tmp")
	os.WriteFile(tmp, []byte("partial"), 0o600)
	mustGet(t, s, "o", []byte("new"))
	if got := files(t, s, "o"); len(got) != 1 {
		t.Errorf("files %v", got)
	}
	if n, err := s.CleanupTmp(testDev, time.Hour); err != nil || n != 0 {
		t.Errorf("young temp removed: %d %v", n, err)
	}
	old := time.Now().Add(-2 * time.Hour)
	os.Chtimes(tmp, old, old)
	if n, err := s.CleanupTmp(testDev, time.Hour); err != nil || n != 1 {
		t.Errorf("CleanupTmp: %d %v", n, err)
	}
}

// Device checks and free space are cached briefly: a full device is
// noticed once the cache expires, and an ENOSPC forgets the cache at once.
func TestDeviceCacheExpires(t *testing.T) {
	ffs := storagetest.NewFaultFS(nil)
	s := newStore(t, ffs)
	s.cfg.DeviceCacheTTL = 50 * time.Millisecond
	s.cfg.FallocateReserve = 1 << 20
	avail := uint64(1 << 30)
	ffs.Avail = &avail
	mustPut(t, s, "o1", 1, []byte("x"), nil)
	avail = 1 << 10
	mustPut(t, s, "o2", 2, []byte("cached"), nil)
	time.Sleep(60 * time.Millisecond)
	if _, err := s.NewWriter(testDev, 1, "a", "c", "o3", ts(3), 1); !errors.Is(err, ErrNoSpace) {
		t.Fatalf("full device after the cache expired: %v", err)
	}
}

// Suffix invalidations are noted in memory by writes and written out by
// FlushInvalidations; one that cannot be written stays noted and is
// reported.
func TestInvalidationsFlushAndRetry(t *testing.T) {
	ffs := storagetest.NewFaultFS(nil)
	s := newStore(t, ffs)
	mustPut(t, s, "o", 1, []byte("x"), nil)
	ffs.Inject = failOn(storagetest.OpWrite, "hashes.invalid", unix.EIO)
	if err := s.FlushInvalidations(); !errors.Is(err, unix.EIO) {
		t.Fatalf("flush with EIO: %v", err)
	}
	ffs.Inject = nil
	if err := s.Close(); err != nil {
		t.Fatalf("close retries the noted suffix: %v", err)
	}
	inv, _ := os.ReadFile(filepath.Join(s.cfg.DevicesDir, testDev, "objects", "1", invalidFile))
	if len(inv) != 4 {
		t.Errorf("hashes.invalid after retry: %q", inv)
	}
}
