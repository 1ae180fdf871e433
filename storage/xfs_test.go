package storage

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// xfsDir mounts a fresh XFS loop image and returns its mount point, or
// skips the test when not root, mkfs.xfs is missing or mounting fails.
// The image is unmounted and removed in cleanup.
func xfsDir(t *testing.T) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("not root")
	}
	mkfs, err := exec.LookPath("mkfs.xfs")
	if err != nil {
		t.Skip("mkfs.xfs not installed")
	}
	dir := t.TempDir()
	img, mnt := filepath.Join(dir, "xfs.img"), filepath.Join(dir, "mnt")
	if err := os.Mkdir(mnt, 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(img)
	if err != nil {
		t.Fatal(err)
	}
	err = f.Truncate(512 << 20)
	f.Close()
	if err != nil {
		t.Skipf("image: %v", err)
	}
	if out, err := exec.Command(mkfs, "-q", img).CombinedOutput(); err != nil {
		t.Skipf("mkfs.xfs: %v %s", err, out)
	}
	if out, err := exec.Command("mount", "-o", "loop", img, mnt).CombinedOutput(); err != nil {
		t.Skipf("mount: %v %s", err, strings.TrimSpace(string(out)))
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", mnt).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v %s", mnt, err, out)
		}
	})
	return mnt
}

// TestXFS stores objects with ext4-overflowing and >64 KiB metadata on
// real XFS: both must live in xattrs (no sidecar), chunked as Swift does.
func TestXFS(t *testing.T) {
	mnt := xfsDir(t)
	s := newStoreIn(t, mnt, nil)
	meta := ext4Meta()
	mustPut(t, s, "o", 100, []byte("on xfs"), meta)
	r := mustGet(t, s, "o", []byte("on xfs"))
	for k, v := range meta {
		if r.Metadata()[k] != v {
			t.Errorf("%s lost", k)
		}
	}
	if got := files(t, s, "o"); len(got) != 1 {
		t.Errorf("XFS should need no sidecar: %v", got)
	}
	big := strings.Repeat("z", 140000)
	mustPut(t, s, "big", 100, []byte("x"), map[string]string{"X-Object-Meta-Big": big})
	if mustGet(t, s, "big", []byte("x")).Metadata()["X-Object-Meta-Big"] != big {
		t.Error("chunked metadata lost")
	}
	if got := files(t, s, "big"); len(got) != 1 {
		t.Errorf("files %v", got)
	}
	f, err := os.Open(filepath.Join(s.HashDir(testDev, 1, "a", "c", "big"), ts(100).Internal()+".data"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := fgetx(f, metaKey+"2"); err != nil {
		t.Errorf("third chunk: %v", err)
	}
	s.cfg.MountCheck = true
	if err := s.CheckDevice(testDev); err == nil {
		t.Error("subdirectory of the mount passed the mount check")
	}
	ms := NewObjectStore(ObjectStoreConfig{DevicesDir: filepath.Dir(mnt), MountCheck: true, DeviceCacheTTL: -1})
	if err := ms.CheckDevice(filepath.Base(mnt)); err != nil {
		t.Errorf("mount point failed the mount check: %v", err)
	}
}
