package cli_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ncw/swift/v2"
)

// replicaFiles maps each .data file's path below its device to its
// content, per device.
func replicaFiles(t *testing.T, devices string, devs ...string) map[string]map[string][]byte {
	t.Helper()
	out := map[string]map[string][]byte{}
	for _, d := range devs {
		out[d] = map[string][]byte{}
		root := filepath.Join(devices, d)
		for _, p := range findFiles(t, filepath.Join(root, "objects"), ".data") {
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			rel, _ := filepath.Rel(root, p)
			out[d][rel] = b
		}
	}
	return out
}

// Corrupt, truncate and delete .data files on one device of a running
// server: `swiftbox auditor --once` quarantines the bad ones, `swiftbox
// replicator --once` restores every copy, and GET never returns bad bytes
// meanwhile.
func TestAuditorAndReplicatorRepairDamagedDevice(t *testing.T) {
	dev := t.TempDir()
	s := startServer(t, dev, "--user", "test:tester:testing:.admin")
	ctx := context.Background()
	c := s.conn(t, "test:tester", "testing")
	if err := c.ContainerCreate(ctx, "rot", nil); err != nil {
		t.Fatal(err)
	}
	const n = 40
	bodies := map[string][]byte{}
	for i := range n {
		name := fmt.Sprintf("obj-%02d", i)
		body := bytes.Repeat([]byte(name), 100+i*50)
		if _, err := c.ObjectPut(ctx, "rot", name, bytes.NewReader(body), true, "", "", nil); err != nil {
			t.Fatal(err)
		}
		bodies[name] = body
	}
	d2 := findFiles(t, filepath.Join(dev, "d2", "objects"), ".data")
	if len(d2) != n {
		t.Fatalf("d2 holds %d .data files, want %d", len(d2), n)
	}
	for _, p := range d2[:3] { // bit rot
		f, _ := os.OpenFile(p, os.O_RDWR, 0)
		f.WriteAt([]byte("XX"), 17)
		f.Close()
	}
	os.Truncate(d2[3], 7) // torn write
	os.Remove(d2[4])      // lost files
	os.Remove(d2[5])

	// Reads are right even before any repair: a bad copy is never served.
	for name, body := range bodies {
		got, err := c.ObjectGetBytes(ctx, "rot", name)
		if err != nil || !bytes.Equal(got, body) {
			t.Fatalf("GET %s before repair: %d bytes, %v", name, len(got), err)
		}
	}
	out := run(t, true, "account-audit", "AUTH_test", "--devices", dev)
	if strings.Count(out, "replica missing on d2") != 3 || !strings.Contains(out, "3 problems") {
		t.Fatalf("account-audit before repair should name the 2 deleted and the truncated replica:\n%s", out)
	}
	start := time.Now()
	out = run(t, false, "auditor", "--once", "--devices", dev)
	if !strings.Contains(out, "running serve") {
		t.Errorf("auditor --once did not go through the running serve:\n%s", out)
	}
	// GETs above may already have quarantined some flipped copies; the
	// auditor gets the rest (the truncated one always).
	quarantined := 0
	for _, d := range []string{"d1", "d2", "d3"} {
		ents, _ := os.ReadDir(filepath.Join(dev, d, "quarantined", "objects"))
		quarantined += len(ents)
	}
	if quarantined != 4 {
		t.Fatalf("%d objects quarantined, want 4 (3 flipped, 1 truncated)\n%s", quarantined, out)
	}
	out = run(t, false, "replicator", "--once", "--devices", dev)
	repair := time.Since(start)
	files := replicaFiles(t, dev, "d1", "d2", "d3")
	for _, d := range []string{"d2", "d3"} {
		if len(files[d]) != n {
			t.Fatalf("%s has %d .data files after repair, want %d\n%s", d, len(files[d]), n, out)
		}
		for rel, b := range files["d1"] {
			if !bytes.Equal(files[d][rel], b) {
				t.Fatalf("%s: %s differs from d1's copy after repair", d, rel)
			}
		}
	}
	for name, body := range bodies {
		got, err := c.ObjectGetBytes(ctx, "rot", name)
		if err != nil || !bytes.Equal(got, body) {
			t.Fatalf("GET %s after repair: %d bytes, %v", name, len(got), err)
		}
	}
	out = run(t, false, "account-audit", "AUTH_test", "--verify", "--devices", dev)
	if !strings.Contains(out, "1 containers, 40 objects, 120 object replicas checked (120 read in full): 0 problems") {
		t.Fatalf("account-audit after repair:\n%s", out)
	}
	t.Logf("objects %d, damaged 6 (3 flipped, 1 truncated, 2 deleted), quarantined %d, repaired 6, lost 0, time to repair %v",
		n, quarantined, repair.Round(time.Millisecond))
}

// A device gone during writes: every write is acknowledged and readable,
// and once it returns one replication pass brings everything back to
// three copies. A DELETE made while it was gone is not undone by it.
func TestDeviceReturnsAndIsRefilled(t *testing.T) {
	dev := t.TempDir()
	s := startServer(t, dev, "--user", "test:tester:testing:.admin")
	ctx := context.Background()
	c := s.conn(t, "test:tester", "testing")
	if err := c.ContainerCreate(ctx, "away", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ObjectPut(ctx, "away", "doomed", strings.NewReader("soon deleted"), true, "", "", nil); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(dev, "d3"), 0); err != nil {
		t.Fatal(err)
	}
	defer os.Chmod(filepath.Join(dev, "d3"), 0o755)
	time.Sleep(600 * time.Millisecond) // past the device check cache
	const n = 30
	for i := range n {
		name := fmt.Sprintf("o%02d", i)
		if _, err := c.ObjectPut(ctx, "away", name, strings.NewReader(name), true, "", "", nil); err != nil {
			t.Fatalf("PUT %s with d3 unreadable: %v", name, err)
		}
	}
	if err := c.ObjectDelete(ctx, "away", "doomed"); err != nil {
		t.Fatalf("DELETE with d3 unreadable: %v", err)
	}
	for i := range n {
		name := fmt.Sprintf("o%02d", i)
		if got, err := c.ObjectGetBytes(ctx, "away", name); err != nil || string(got) != name {
			t.Fatalf("GET %s: %q %v", name, got, err)
		}
	}
	os.Chmod(filepath.Join(dev, "d3"), 0o755)
	time.Sleep(600 * time.Millisecond)
	start := time.Now()
	out := run(t, false, "replicator", "--once", "--devices", dev)
	if got := len(objectFiles(t, dev)); got != 3*n {
		t.Fatalf("%d .data files after the device returned, want %d\n%s", got, 3*n, out)
	}
	if _, _, err := c.Object(ctx, "away", "doomed"); err != swift.ObjectNotFound {
		t.Fatalf("deleted object came back: %v", err)
	}
	names, err := c.ObjectNamesAll(ctx, "away", nil)
	if err != nil || len(names) != n {
		t.Fatalf("listing after repair: %d names (%v), want %d", len(names), err, n)
	}
	t.Logf("objects %d written with a device unreadable, lost 0, 3 copies again after %v", n, time.Since(start).Round(time.Millisecond))
}

// The daemon commands run alone over a stopped server's devices.
func TestDaemonCommandsAlone(t *testing.T) {
	dev := t.TempDir()
	s := startServer(t, dev, "--user", "test:tester:testing:.admin")
	ctx := context.Background()
	c := s.conn(t, "test:tester", "testing")
	c.ContainerCreate(ctx, "alone", nil)
	for i := range 10 {
		c.ObjectPut(ctx, "alone", fmt.Sprint(i), strings.NewReader("x"), true, "", "", nil)
	}
	s.Stop()
	victim := findFiles(t, filepath.Join(dev, "d1", "objects"), ".data")[0]
	os.WriteFile(victim, []byte("y"), 0o644) // same size, wrong bytes: xattrs are lost too
	out := run(t, false, "auditor", "--once", "--devices", dev)
	if !regexp.MustCompile(`object auditor \(all\): 30 objects.*1 quarantined`).MatchString(out) &&
		!regexp.MustCompile(`quarantined`).MatchString(out) {
		t.Fatalf("auditor alone:\n%s", out)
	}
	out = run(t, false, "replicator", "--once", "--devices", dev)
	if !strings.Contains(out, "object replicator:") || !strings.Contains(out, "container replicator:") {
		t.Fatalf("replicator alone:\n%s", out)
	}
	if got := len(objectFiles(t, dev)); got != 30 {
		t.Fatalf("%d .data files after repair, want 30\n%s", got, out)
	}
	out = run(t, false, "updater", "--once", "--devices", dev)
	if !strings.Contains(out, "object updater:") {
		t.Fatalf("updater alone:\n%s", out)
	}
	// Bad input: no state there.
	out = run(t, true, "replicator", "--once", "--devices", t.TempDir())
	if !strings.Contains(out, "swift.conf") {
		t.Fatalf("replicator over empty dir: %s", out)
	}
}

// objectFiles lists the .data files in service (not quarantined) on every device.
func objectFiles(t *testing.T, devices string) []string {
	var out []string
	for _, d := range []string{"d1", "d2", "d3", "d4"} {
		out = append(out, findFiles(t, filepath.Join(devices, d, "objects"), ".data")...)
	}
	return out
}

// drive-audit finds a device's kernel errors, --unmount takes it out of
// service at once (writes go to handoffs), and after --clear one
// replication pass moves its share home.
func TestDriveAuditUnmount(t *testing.T) {
	dev := t.TempDir()
	for _, d := range []string{"d1", "d2", "d3", "d4"} {
		os.Mkdir(filepath.Join(dev, d), 0o755)
	}
	s := startServer(t, dev, "--user", "test:tester:testing:.admin")
	ctx := context.Background()
	c := s.conn(t, "test:tester", "testing")
	c.ContainerCreate(ctx, "da", nil)
	logf := filepath.Join(t.TempDir(), "kern.log")
	line := time.Now().Add(-2*time.Minute).Format(time.Stamp) + " box kernel: [ 812.1] blk_update_request: I/O error, dev sdc, sector 2048 op 0x1:(WRITE)\n"
	os.WriteFile(logf, []byte(line+line), 0o644)
	mounts := filepath.Join(t.TempDir(), "mounts")
	os.WriteFile(mounts, []byte("/dev/sdc1 "+filepath.Join(dev, "d2")+" xfs rw 0 0\n"), 0o644)

	out := run(t, false, "drive-audit", "--devices", dev, "--log-file", logf, "--mounts", mounts)
	if !strings.Contains(out, "kernel device sdc: 2 errors") || !strings.Contains(out, "device d2 has 2 errors: failing") {
		t.Fatalf("drive-audit report:\n%s", out)
	}
	out = run(t, false, "drive-audit", "--devices", dev, "--log-file", logf, "--mounts", mounts, "--unmount")
	if !strings.Contains(out, "d2 has 2 errors: marked failed") {
		t.Fatalf("drive-audit --unmount:\n%s", out)
	}
	time.Sleep(600 * time.Millisecond) // past the device check cache
	const n = 20
	for i := range n {
		if _, err := c.ObjectPut(ctx, "da", fmt.Sprint(i), strings.NewReader("v"), true, "", "", nil); err != nil {
			t.Fatalf("PUT with d2 failed: %v", err)
		}
	}
	if got := findFiles(t, filepath.Join(dev, "d2", "objects"), ".data"); len(got) != 0 {
		t.Fatalf("failed device d2 still took %d writes", len(got))
	}
	if got := len(objectFiles(t, dev)); got != 3*n {
		t.Fatalf("%d copies, want %d (handoffs stand in for d2)", got, 3*n)
	}
	run(t, false, "drive-audit", "--devices", dev, "--clear", "d2")
	time.Sleep(600 * time.Millisecond)
	run(t, false, "replicator", "--once", "--devices", dev)
	if got := len(objectFiles(t, dev)); got != 3*n {
		t.Fatalf("%d copies after d2 returned, want %d (handoff copies removed)", got, 3*n)
	}
	if got := findFiles(t, filepath.Join(dev, "d2", "objects"), ".data"); len(got) == 0 {
		t.Fatal("d2 got nothing back after its mark was cleared")
	}
	run(t, true, "drive-audit", "--devices", dev, "--clear", "d2") // not marked any more
	out = run(t, true, "drive-audit", "--devices", dev, "--log-file", "/nonexistent/kern.log")
	if !strings.Contains(out, "kernel log") {
		t.Fatalf("missing log file: %s", out)
	}
}
