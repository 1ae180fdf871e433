package db

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"swiftbox/ring"
	"swiftbox/storage/timestamp"
)

const dev = "sda"

// newTestStore returns a Store over a fresh devices dir holding device
// "sda", closed when the test ends.
func newTestStore(t testing.TB, maxOpen int) (*Store, string) {
	t.Helper()
	root := t.TempDir()
	if err := os.Mkdir(filepath.Join(root, dev), 0o755); err != nil {
		t.Fatal(err)
	}
	s := Open(Config{DevicesDir: root, HashPrefix: "pre", HashSuffix: "suf", MaxOpen: maxOpen})
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	return s, root
}

// ts returns the timestamp n seconds after the epoch.
func ts(n int) timestamp.Timestamp { return timestamp.FromUnix(int64(n)) }

func mustCreateContainer(t testing.TB, s *Store, c string) {
	t.Helper()
	if _, err := s.CreateContainer(dev, 1, "AUTH_a", c, ts(1), 0, nil); err != nil {
		t.Fatal(err)
	}
}

func TestDBPathLayout(t *testing.T) {
	s, root := newTestStore(t, 0)
	mustCreateContainer(t, s, "c")
	hash := ring.HashPathHex("pre", "suf", "AUTH_a", "c", "")
	want := filepath.Join(root, dev, "containers", "1", hash[29:], hash, hash+".db")
	if got := s.DBPath(KindContainers, dev, 1, "AUTH_a", "c"); got != want {
		t.Fatalf("DBPath = %s, want %s", got, want)
	}
	if _, err := os.Stat(want); err != nil {
		t.Fatal(err)
	}
	ahash := ring.HashPathHex("pre", "suf", "AUTH_a", "", "")
	if got := s.DBPath(KindAccounts, dev, 7, "AUTH_a", ""); !strings.HasSuffix(got, filepath.Join("accounts", "7", ahash[29:], ahash, ahash+".db")) {
		t.Fatalf("account DBPath = %s", got)
	}
	tmp, err := os.ReadDir(filepath.Join(root, dev, "tmp"))
	if err != nil || len(tmp) != 0 {
		t.Fatalf("tmp dir after create: %v %v", tmp, err)
	}
}

func TestDeviceUnavailable(t *testing.T) {
	s, root := newTestStore(t, 0)
	_, err := s.CreateContainer("sdz", 1, "AUTH_a", "c", ts(1), 0, nil)
	if !errors.Is(err, ErrDeviceUnavailable) {
		t.Fatalf("err = %v, want ErrDeviceUnavailable", err)
	}
	if _, err := s.CreateAccount("sdz", 1, "AUTH_a", ts(1), nil); !errors.Is(err, ErrDeviceUnavailable) {
		t.Fatalf("err = %v, want ErrDeviceUnavailable", err)
	}
	if _, err := os.Stat(filepath.Join(root, "sdz")); !os.IsNotExist(err) {
		t.Fatalf("device dir was created: %v", err)
	}
	if _, err := s.ContainerInfo("sdz", 1, "AUTH_a", "c"); !errors.Is(err, ErrDeviceUnavailable) {
		t.Fatalf("info err = %v", err)
	}
}

func TestMissingIsNotFound(t *testing.T) {
	s, _ := newTestStore(t, 0)
	if err := s.PutObjectRow(dev, 1, "AUTH_a", "nope", ObjectRow{Name: "o", Timestamp: ts(1)}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("PutObjectRow err = %v", err)
	}
	if _, err := s.ListObjects(dev, 1, "AUTH_a", "nope", ListOptions{}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("ListObjects err = %v", err)
	}
	if err := s.PutContainerRow(dev, 1, "AUTH_a", ContainerRow{Name: "c"}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("PutContainerRow err = %v", err)
	}
	if err := s.Check(s.FileOf(KindContainers, dev, 1, "AUTH_a", "nope")); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Check err = %v", err)
	}
}

func TestHandleCacheBounded(t *testing.T) {
	s, _ := newTestStore(t, 4)
	for i := range 20 {
		mustCreateContainer(t, s, string(rune('a'+i)))
	}
	s.mu.Lock()
	n := len(s.handles)
	s.mu.Unlock()
	if n > 4 {
		t.Fatalf("%d handles open, bound is 4", n)
	}
	for i := range 20 {
		c := string(rune('a' + i))
		if err := s.PutObjectRow(dev, 1, "AUTH_a", c, ObjectRow{Name: "o", Timestamp: ts(2), Size: 1}); err != nil {
			t.Fatal(err)
		}
		if info, err := s.ContainerInfo(dev, 1, "AUTH_a", c); err != nil || info.ObjectCount != 1 {
			t.Fatalf("%s: %+v %v", c, info, err)
		}
	}
}

func TestHandleInUseNotEvicted(t *testing.T) {
	s, _ := newTestStore(t, 1)
	mustCreateContainer(t, s, "a")
	h, err := s.openContainer(dev, 1, "AUTH_a", "a")
	if err != nil {
		t.Fatal(err)
	}
	mustCreateContainer(t, s, "b")
	mustCreateContainer(t, s, "c")
	if err := h.view(func(*txCtx) error { return nil }); err != nil {
		t.Fatalf("in-use handle was closed: %v", err)
	}
	s.release(h)
}

func TestClose(t *testing.T) {
	s, _ := newTestStore(t, 0)
	mustCreateContainer(t, s, "c")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ContainerInfo(dev, 1, "AUTH_a", "c"); !errors.Is(err, ErrClosed) {
		t.Fatalf("after Close err = %v", err)
	}
	s2 := Open(s.cfg)
	defer s2.Close()
	if _, err := s2.ContainerInfo(dev, 1, "AUTH_a", "c"); err != nil {
		t.Fatalf("reopen: %v", err)
	}
}

func TestCheckDetectsBadCounts(t *testing.T) {
	s, _ := newTestStore(t, 0)
	mustCreateContainer(t, s, "c")
	if err := s.PutObjectRow(dev, 1, "AUTH_a", "c", ObjectRow{Name: "o", Timestamp: ts(2), Size: 5}); err != nil {
		t.Fatal(err)
	}
	path := s.FileOf(KindContainers, dev, 1, "AUTH_a", "c")
	if err := s.Check(path); err != nil {
		t.Fatal(err)
	}
	h, err := s.openContainer(dev, 1, "AUTH_a", "c")
	if err != nil {
		t.Fatal(err)
	}
	err = h.update(func(c *txCtx) error {
		st, err := c.container()
		st.BytesUsed++
		return err
	})
	s.release(h)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Check(path); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Check = %v, want ErrCorrupt", err)
	}
}

func TestCorruptFile(t *testing.T) {
	s, _ := newTestStore(t, 0)
	path := s.DBPath(KindContainers, dev, 1, "AUTH_a", "c")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(strings.Repeat("garbage!", 2048)), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ContainerInfo(dev, 1, "AUTH_a", "c"); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("err = %v, want ErrCorrupt", err)
	}
}

// Databases hold ACLs and tempurl and sync keys: files are 0600 in 0700
// directories, new or copied ones and old ones reopened alike.
func TestDatabaseFilesPrivate(t *testing.T) {
	t.Parallel()
	s, root := newTestStore(t, 0)
	if err := os.Mkdir(filepath.Join(root, "sdb"), 0o755); err != nil {
		t.Fatal(err)
	}
	mustCreateContainer(t, s, "c")
	f := s.FileOf(KindContainers, dev, 1, "AUTH_a", "c")
	check := func(when, path, kindDir string) {
		t.Helper()
		if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("%s: %s mode %v (%v), want 0600", when, path, fi.Mode().Perm(), err)
		}
		for d := filepath.Dir(path); ; d = filepath.Dir(d) {
			if fi, err := os.Stat(d); err != nil || fi.Mode().Perm() != 0o700 {
				t.Fatalf("%s: %s mode %v (%v), want 0700", when, d, fi.Mode().Perm(), err)
			}
			if d == kindDir {
				break
			}
		}
	}
	check("created", f.Path, filepath.Join(root, dev, KindContainers))
	if _, err := s.Replicate(f, "sdb"); err != nil {
		t.Fatal(err)
	}
	check("copied", s.FileOn(f, "sdb").Path, filepath.Join(root, "sdb", KindContainers))
	// As an older version left them.
	s.Close()
	os.Chmod(f.Path, 0o644)
	for d := filepath.Dir(f.Path); d != filepath.Join(root, dev); d = filepath.Dir(d) {
		os.Chmod(d, 0o755)
	}
	s2 := Open(s.cfg)
	defer s2.Close()
	if _, err := s2.ContainerInfo(dev, 1, "AUTH_a", "c"); err != nil {
		t.Fatal(err)
	}
	check("reopened", f.Path, filepath.Join(root, dev, KindContainers))
}
