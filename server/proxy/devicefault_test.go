package proxy

import (
	"bytes"
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

	"swiftbox/storage"
)

// syncBuffer is a bytes.Buffer safe for a logger's writer and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// take returns what was logged since the last take.
func (s *syncBuffer) take() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.b.String()
	s.b.Reset()
	return out
}

// Every way a device can fail a write — at each point of the object
// write path the fault-injecting filesystem reaches, for PUT, POST and
// DELETE — answers 507 when the device is full (ENOSPC) and 503 when it
// fails I/O (EIO), and logs the fault with its device.
func TestDeviceFaultsAnswer507Or503AndLog(t *testing.T) {
	var mu sync.Mutex
	var armed storage.Op
	var fault error
	fs := storage.NewFaultFS(nil)
	fs.Inject = func(op storage.Op, path string) error {
		mu.Lock()
		defer mu.Unlock()
		if op == armed {
			return fault
		}
		return nil
	}
	logs := &syncBuffer{}
	c := startClusterOn(t, t.TempDir(), fs, slog.New(slog.NewTextHandler(logs, nil)), nil)
	c.must(201, "PUT", "/v1/AUTH_test/c", "")
	type point struct {
		method string
		ops    []storage.Op
	}
	points := []point{
		{"PUT", []storage.Op{storage.OpCreate, storage.OpWrite, storage.OpFallocate, storage.OpSetxattr, storage.OpMkdir, storage.OpRename, storage.OpSyncfs}},
		{"POST", []storage.Op{storage.OpCreate, storage.OpSetxattr, storage.OpRename, storage.OpSyncfs}},
		{"DELETE", []storage.Op{storage.OpCreate, storage.OpSetxattr, storage.OpRename, storage.OpSyncfs}},
	}
	faults := []struct {
		err  error
		want int
	}{{syscall.ENOSPC, 507}, {syscall.EIO, 503}}
	i := 0
	for _, p := range points {
		for _, op := range p.ops {
			for _, f := range faults {
				if op == storage.OpSetxattr && errors.Is(f.err, syscall.ENOSPC) {
					continue // xattr space is full: metadata goes to a sidecar file, as designed
				}
				i++
				obj := fmt.Sprintf("/v1/AUTH_test/c/o%d", i)
				if p.method != "PUT" {
					c.must(201, "PUT", obj, "existing", "Content-Type: text/plain")
				}
				logs.take()
				mu.Lock()
				armed, fault = op, f.err
				mu.Unlock()
				var resp, body = c.do(p.method, obj, strings.Repeat("x", 3000), "X-Object-Meta-K: v")
				mu.Lock()
				armed = ""
				mu.Unlock()
				logged := logs.take()
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
	logs := &syncBuffer{}
	c := startClusterOn(t, dir, nil, slog.New(slog.NewTextHandler(logs, nil)), nil)
	c.must(201, "PUT", "/v1/AUTH_test/kept", "")
	c.must(204, "POST", "/v1/AUTH_test", "", "X-Account-Meta-Before: full")
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
		logs.take()
		resp, body := c.do(r.method, r.path, "", r.hdrs...)
		logged := logs.take()
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
		if got := StatusOf(c.err); got != c.want {
			t.Errorf("status(%v) = %d, want %d", c.err, got, c.want)
		}
	}
}

// A replica whose disk fails the read (EIO: a bad sector) must not fail
// the GET while other replicas are readable: the next one serves it.
func TestGetTurnsToAnotherReplicaOnReadError(t *testing.T) {
	var bad sync.Map // .data paths whose reads fail
	fs := storage.NewFaultFS(nil)
	fs.Inject = func(op storage.Op, path string) error {
		if _, ok := bad.Load(path); ok && op == storage.OpRead {
			return syscall.EIO
		}
		return nil
	}
	c := startClusterOn(t, t.TempDir(), fs, slog.New(slog.NewTextHandler(&syncBuffer{}, nil)), nil)
	c.must(201, "PUT", "/v1/AUTH_test/c", "")
	body := strings.Repeat("0123456789", 30000)
	c.must(201, "PUT", "/v1/AUTH_test/c/o", body)
	reps := c.replicas("o")
	bad.Store(reps[0], true)
	for _, rng := range []string{"", "bytes=10-99"} {
		var hdr []string
		want, code := body, 200
		if rng != "" {
			hdr, want, code = []string{"Range: " + rng}, body[10:100], 206
		}
		st, got, err := c.getBody("/v1/AUTH_test/c/o", hdr...)
		if st != code || err != nil || string(got) != want {
			t.Fatalf("GET %q with the first replica's disk failing reads: %d, %d bytes, %v", rng, st, len(got), err)
		}
	}
	for _, r := range reps {
		bad.Store(r, true)
	}
	if st, _, _ := c.getBody("/v1/AUTH_test/c/o"); st != 503 {
		t.Fatalf("GET with every replica failing reads: %d, want 503", st)
	}
}
