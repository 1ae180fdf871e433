package cli_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ncw/swift/v2"
)

// mountSmall mounts a tmpfs of size at dir (root only), so a device can
// really run out of space.
func mountSmall(t *testing.T, dir, size string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("mounting a small filesystem needs root")
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("mount tmpfs: %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", "-l", dir).Run() })
	if err := exec.Command("setfattr", "-n", "user.probe", "-v", "1", dir).Run(); err != nil {
		// Probe with a file instead (setfattr may be missing).
		f := filepath.Join(dir, ".probe")
		os.WriteFile(f, nil, 0o644)
		defer os.Remove(f)
	}
}

// A device that fills up: writes it can't hold go to a handoff (201), no
// partial object is left on it, everything reads back; a box whose only
// device is full answers 507 and keeps nothing.
func TestFullDevice(t *testing.T) {
	dev := t.TempDir()
	for _, d := range []string{"d1", "d2", "d3", "d4"} {
		os.Mkdir(filepath.Join(dev, d), 0o755)
	}
	mountSmall(t, filepath.Join(dev, "d2"), "6m")
	s := startServer(t, dev, "--user", "test:tester:testing:.admin")
	ctx := context.Background()
	c := s.conn(t, "test:tester", "testing")
	if err := c.ContainerCreate(ctx, "full", nil); err != nil {
		t.Fatal(err)
	}
	const n = 40
	body := func(i int) []byte { return bytes.Repeat([]byte{byte(i)}, 512<<10) }
	for i := range n {
		if _, err := c.ObjectPut(ctx, "full", fmt.Sprint(i), bytes.NewReader(body(i)), true, "", "", nil); err != nil {
			t.Fatalf("PUT %d with d2 filling up: %v\n%s", i, err, s.Output())
		}
	}
	for i := range n {
		got, err := c.ObjectGetBytes(ctx, "full", fmt.Sprint(i))
		if err != nil || !bytes.Equal(got, body(i)) {
			t.Fatalf("GET %d: %d bytes, %v", i, len(got), err)
		}
	}
	// A streamed (chunked) upload that hits ENOSPC midway on d2 is
	// acknowledged by the quorum; the replicator then puts the third copy
	// on a handoff, as Swift's does after a 507.
	acked := len(objectFiles(t, dev))
	if acked < 2*n {
		t.Fatalf("%d copies acknowledged, want at least a quorum (%d)", acked, 2*n)
	}
	run(t, false, "replicator", "--once", "--devices", dev)
	if got := len(objectFiles(t, dev)); got != 3*n {
		t.Fatalf("%d copies after replication, want %d: what d2 could not hold must go to a handoff", got, 3*n)
	}
	for _, p := range findFiles(t, filepath.Join(dev, "d2"), ".data") {
		if fi, _ := os.Stat(p); fi.Size() != 512<<10 {
			t.Fatalf("partial object on the full device: %s (%d bytes)", p, fi.Size())
		}
	}
	if left := tmpFiles(t, dev); len(left) > 0 {
		t.Fatalf("temp files left on full device: %v", left)
	}

	// One device, full: 507, nothing kept.
	one := t.TempDir()
	os.Mkdir(filepath.Join(one, "d1"), 0o755)
	mountSmall(t, filepath.Join(one, "d1"), "3m")
	s1 := startServer(t, one, "--user", "test:tester:testing:.admin")
	c1 := s1.conn(t, "test:tester", "testing")
	if err := c1.ContainerCreate(ctx, "full", nil); err != nil {
		t.Fatal(err)
	}
	var lastErr error
	stored := 0
	for i := range 10 {
		_, err := c1.ObjectPut(ctx, "full", fmt.Sprint(i), bytes.NewReader(body(i)), true, "", "", nil)
		if err != nil {
			lastErr = err
			continue
		}
		stored++
	}
	if lastErr == nil || !strings.Contains(lastErr.Error(), "507") && lastErr != swift.ObjectNotFound {
		t.Fatalf("a full single device must answer 507, got %v", lastErr)
	}
	if got := len(findFiles(t, filepath.Join(one, "d1", "objects"), ".data")); got != stored {
		t.Fatalf("%d objects on disk, %d acknowledged: a refused PUT left something", got, stored)
	}
	if left := tmpFiles(t, one); len(left) > 0 {
		t.Fatalf("temp files left: %v", left)
	}
	t.Logf("4 devices, d2 of 6 MiB: %d PUTs of 512 KiB all acknowledged and readable, %d copies at once, %d after one replication pass; 1 device of 3 MiB: %d stored, then %v",
		n, acked, 3*n, stored, lastErr)
}
