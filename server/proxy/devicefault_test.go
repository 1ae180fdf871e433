package proxy_test

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"

	"swiftbox/server/proxy"
	"swiftbox/server/servertest"
	"swiftbox/storage"
	"swiftbox/storage/storagetest"
)

// Every way a device can fail a write — at each point of the object
// write path the fault-injecting filesystem reaches, for PUT, POST and
// DELETE — answers 507 when the device is full (ENOSPC) and 503 when it
// fails I/O (EIO), and logs the fault with its device.
func TestDeviceFaultsAnswer507Or503AndLog(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var armed storagetest.Op
	var fault error
	fs := storagetest.NewFaultFS(nil)
	fs.Inject = func(op storagetest.Op, path string) error {
		mu.Lock()
		defer mu.Unlock()
		if op == armed {
			return fault
		}
		return nil
	}
	logs := &servertest.LogBuffer{}
	c := servertest.Start(t, servertest.Options{FS: fs, Log: slog.New(slog.NewTextHandler(logs, nil))})
	c.Must(201, "PUT", "/v1/AUTH_test/c", "")
	type point struct {
		method string
		ops    []storagetest.Op
	}
	points := []point{
		{"PUT", []storagetest.Op{storagetest.OpCreate, storagetest.OpWrite, storagetest.OpFallocate, storagetest.OpSetxattr, storagetest.OpMkdir, storagetest.OpRename, storagetest.OpSyncfs}},
		{"POST", []storagetest.Op{storagetest.OpCreate, storagetest.OpSetxattr, storagetest.OpRename, storagetest.OpSyncfs}},
		{"DELETE", []storagetest.Op{storagetest.OpCreate, storagetest.OpSetxattr, storagetest.OpRename, storagetest.OpSyncfs}},
	}
	faults := []struct {
		err  error
		want int
	}{{syscall.ENOSPC, 507}, {syscall.EIO, 503}}
	i := 0
	for _, p := range points {
		for _, op := range p.ops {
			for _, f := range faults {
				if op == storagetest.OpSetxattr && errors.Is(f.err, syscall.ENOSPC) {
					continue // xattr space is full: metadata goes to a sidecar file, as designed
				}
				i++
				obj := fmt.Sprintf("/v1/AUTH_test/c/o%d", i)
				if p.method != "PUT" {
					c.Must(201, "PUT", obj, "existing", "Content-Type: text/plain")
				}
				logs.Take()
				mu.Lock()
				armed, fault = op, f.err
				mu.Unlock()
				var resp, body = c.Do(p.method, obj, strings.Repeat("x", 3000), "X-Object-Meta-K: v")
				mu.Lock()
				armed = ""
				mu.Unlock()
				logged := logs.Take()
				if resp.StatusCode != f.want {
					t.Errorf("object %s with %v at %s: %d %s, want %d", p.method, f.err, op, resp.StatusCode, body, f.want)
				}
				if !strings.Contains(logged, f.err.Error()) || !strings.Contains(logged, "device=d") {
					t.Errorf("object %s with %v at %s: nothing logged about it:\n%s", p.method, f.err, op, logged)
				}
			}
		}
	}
}

// A full device's databases answer 507 and log it too: container PUT,
// POST and DELETE and account POST with no byte free (a small tmpfs per
// device, so it needs root).
func TestFullDeviceDatabaseWritesAnswer507AndLog(t *testing.T) {
	t.Parallel()
	if os.Geteuid() != 0 {
		t.Skip("mounting a small filesystem needs root")
	}
	dir := t.TempDir()
	for _, d := range []string{"d1", "d2", "d3"} {
		p := filepath.Join(dir, d)
		os.Mkdir(p, 0o755)
		if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", p).CombinedOutput(); err != nil {
			t.Skipf("mount tmpfs: %v %s", err, out)
		}
		t.Cleanup(func() { exec.Command("umount", "-l", p).Run() })
	}
	logs := &servertest.LogBuffer{}
	c := servertest.Start(t, servertest.Options{Dir: dir, Log: slog.New(slog.NewTextHandler(logs, nil))})
	c.Must(201, "PUT", "/v1/AUTH_test/kept", "")
	c.Must(204, "POST", "/v1/AUTH_test", "", "X-Account-Meta-Before: full")
	// Fill every device to the last byte.
	for _, d := range []string{"d1", "d2", "d3"} {
		f, err := os.Create(filepath.Join(dir, d, "filler"))
		if err != nil {
			t.Fatal(err)
		}
		chunk := make([]byte, 64<<10)
		for {
			if _, err := f.Write(chunk); err != nil {
				if !errors.Is(err, syscall.ENOSPC) {
					t.Fatal(err)
				}
				break
			}
		}
		for n := 4096; n > 0; n /= 2 {
			for {
				if _, err := f.Write(chunk[:n]); err != nil {
					break
				}
			}
		}
		f.Close()
	}
	// Near Swift's 4096-byte metadata limit: more than a database page.
	bigMeta := func(prefix string) []string {
		var h []string
		for i := range 14 {
			h = append(h, fmt.Sprintf("%s%d: %s", prefix, i, strings.Repeat("v", 250)))
		}
		return h
	}
	for _, r := range []struct {
		method, path string
		hdrs         []string
	}{
		{"PUT", "/v1/AUTH_test/new", nil},
		{"POST", "/v1/AUTH_test/kept", bigMeta("X-Container-Meta-Big")},
		{"POST", "/v1/AUTH_test", bigMeta("X-Account-Meta-Big")},
		{"DELETE", "/v1/AUTH_test/kept", nil},
	} {
		logs.Take()
		resp, body := c.Do(r.method, r.path, "", r.hdrs...)
		logged := logs.Take()
		if resp.StatusCode/100 == 2 {
			// bbolt reused pages it already owned: nothing needed space.
			t.Logf("%s %s on a full device: %d (fit in pages the database had)", r.method, r.path, resp.StatusCode)
			continue
		}
		if resp.StatusCode != 507 {
			t.Errorf("%s %s on a full device: %d %s, want 507", r.method, r.path, resp.StatusCode, body)
		}
		if !strings.Contains(logged, syscall.ENOSPC.Error()) {
			t.Errorf("%s %s on a full device: nothing logged about it:\n%s", r.method, r.path, logged)
		}
	}
}

// The one mapping of device errors, whichever layer wrapped them.
func TestDeviceFaultStatus(t *testing.T) {
	t.Parallel()
	pathErr := func(e error) error { return &os.PathError{Op: "write", Path: "/srv/node/d1/x", Err: e} }
	for _, c := range []struct {
		err  error
		want int
	}{
		{fmt.Errorf("file resize error: %w", pathErr(syscall.ENOSPC)), 507}, // bbolt growing a database
		{fmt.Errorf("db: commit: %w", pathErr(syscall.EDQUOT)), 507},
		{fmt.Errorf("%w: %v", storage.ErrNoSpace, syscall.ENOSPC), 507},
		{storage.ErrDeviceUnavailable, 507},
		{fmt.Errorf("db: write page: %w", pathErr(syscall.EIO)), 503},
		{pathErr(syscall.EROFS), 503},
		{storage.ErrNotFound, 404},
		{errors.New("something else"), 500},
	} {
		if got := proxy.StatusOf(c.err); got != c.want {
			t.Errorf("status(%v) = %d, want %d", c.err, got, c.want)
		}
	}
}

// A replica whose disk fails the read (EIO: a bad sector) must not fail
// the GET while other replicas are readable: the next one serves it.
func TestGetTurnsToAnotherReplicaOnReadError(t *testing.T) {
	t.Parallel()
	var bad sync.Map // .data paths whose reads fail
	fs := storagetest.NewFaultFS(nil)
	fs.Inject = func(op storagetest.Op, path string) error {
		if _, ok := bad.Load(path); ok && op == storagetest.OpRead {
			return syscall.EIO
		}
		return nil
	}
	c := servertest.Start(t, servertest.Options{FS: fs, Log: slog.New(slog.NewTextHandler(&servertest.LogBuffer{}, nil))})
	c.Must(201, "PUT", "/v1/AUTH_test/c", "")
	body := strings.Repeat("0123456789", 30000)
	c.Must(201, "PUT", "/v1/AUTH_test/c/o", body)
	reps := c.Replicas("AUTH_test", "c", "o")
	bad.Store(reps[0], true)
	for _, rng := range []string{"", "bytes=10-99"} {
		var hdr []string
		want, code := body, 200
		if rng != "" {
			hdr, want, code = []string{"Range: " + rng}, body[10:100], 206
		}
		st, got, err := c.Get("/v1/AUTH_test/c/o", hdr...)
		if st != code || err != nil || string(got) != want {
			t.Fatalf("GET %q with the first replica's disk failing reads: %d, %d bytes, %v", rng, st, len(got), err)
		}
	}
	for _, r := range reps {
		bad.Store(r, true)
	}
	if st, _, _ := c.Get("/v1/AUTH_test/c/o"); st != 503 {
		t.Fatalf("GET with every replica failing reads: %d, want 503", st)
	}
}
