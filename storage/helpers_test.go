package storage

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"swiftbox/storage/timestamp"
)

const testDev = "sda"

// newStore returns a store over a fresh devices dir with device sda; fs
// wraps OSFS when non-nil.
func newStore(t *testing.T, fs FS) *ObjectStore {
	t.Helper()
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, testDev), 0o755); err != nil {
		t.Fatal(err)
	}
	return NewObjectStore(ObjectStoreConfig{DevicesDir: dir, HashPrefix: "", HashSuffix: "changeme", FS: fs, DeviceCacheTTL: -1})
}

// baseSec keeps test timestamps recent, so tombstones are not reclaimed.
var baseSec = time.Now().Unix() - 1000

func ts(sec int64) timestamp.Timestamp { return timestamp.FromUnix(baseSec + sec) }

// newStoreIn is newStore with the devices dir under root (for tests that
// need a particular filesystem).
func newStoreIn(t *testing.T, root string, fs FS) *ObjectStore {
	t.Helper()
	dir, err := os.MkdirTemp(root, "swiftbox-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Mkdir(filepath.Join(dir, testDev), 0o755); err != nil {
		t.Fatal(err)
	}
	return NewObjectStore(ObjectStoreConfig{DevicesDir: dir, HashSuffix: "changeme", FS: fs, DeviceCacheTTL: -1})
}

// bigXattrDir returns a directory whose filesystem takes 64 KiB xattr
// values (tmpfs on Linux >= 6.6), or skips the test.
func bigXattrDir(t *testing.T) string {
	t.Helper()
	f, err := os.CreateTemp("/dev/shm", "swiftbox-probe-")
	if err != nil {
		t.Skip("no /dev/shm")
	}
	defer os.Remove(f.Name())
	defer f.Close()
	if err := fsetx(f, "user.probe", make([]byte, xattrChunk)); err != nil {
		t.Skipf("/dev/shm lacks large user xattrs: %v", err)
	}
	return "/dev/shm"
}

// put writes body as a/c/o at time sec.
func put(t *testing.T, s *ObjectStore, obj string, sec int64, body []byte, meta map[string]string) error {
	t.Helper()
	w, err := s.NewWriter(testDev, 1, "a", "c", obj, ts(sec), int64(len(body)))
	if err != nil {
		return err
	}
	if _, err := w.Write(body); err != nil {
		w.Abort()
		return err
	}
	if meta == nil {
		meta = map[string]string{"Content-Type": "text/plain"}
	}
	return w.Commit(meta)
}

func mustPut(t *testing.T, s *ObjectStore, obj string, sec int64, body []byte, meta map[string]string) {
	t.Helper()
	if err := put(t, s, obj, sec, body, meta); err != nil {
		t.Fatalf("put %s@%d: %v", obj, sec, err)
	}
}

// get opens obj and returns its body read through VerifyingReader.
func get(t *testing.T, s *ObjectStore, obj string) (*ObjectReader, []byte, error) {
	t.Helper()
	r, err := s.Open(testDev, 1, "a", "c", obj)
	if err != nil {
		return nil, nil, err
	}
	defer r.Close()
	body, err := io.ReadAll(r.VerifyingReader())
	return r, body, err
}

func mustGet(t *testing.T, s *ObjectStore, obj string, want []byte) *ObjectReader {
	t.Helper()
	r, body, err := get(t, s, obj)
	if err != nil {
		t.Fatalf("get %s: %v", obj, err)
	}
	if !bytes.Equal(body, want) {
		t.Fatalf("get %s: body %q, want %q", obj, trunc(body), trunc(want))
	}
	return r
}

func trunc(b []byte) []byte {
	if len(b) > 40 {
		return b[:40]
	}
	return b
}

// files lists the names in obj's hash dir.
func files(t *testing.T, s *ObjectStore, obj string) []string {
	t.Helper()
	names, err := os.ReadDir(s.HashDir(testDev, 1, "a", "c", obj))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, n := range names {
		out = append(out, n.Name())
	}
	return out
}

// tmpFiles lists <dev>/tmp.
func tmpFiles(t *testing.T, s *ObjectStore) []string {
	t.Helper()
	names, _ := os.ReadDir(filepath.Join(s.cfg.DevicesDir, testDev, s.tmpDir))
	var out []string
	for _, n := range names {
		out = append(out, n.Name())
	}
	return out
}
