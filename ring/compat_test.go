package ring

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
)

// swiftPython returns a python3 that can import Debian's swift, or skips.
func swiftPython(t *testing.T) string {
	t.Helper()
	for _, py := range []string{"/usr/bin/python3", "python3"} {
		if exec.Command(py, "-c", "import swift.common.ring").Run() == nil {
			return py
		}
	}
	t.Skip("no python3 with swift importable")
	return ""
}

// TestSwiftReadsOurRing writes rings with swiftbox and has Swift's own
// python Ring read them: same table, devices, lookups and handoffs. Swift
// then re-saves the ring, and its uncompressed bytes must equal ours.
func TestSwiftReadsOurRing(t *testing.T) {
	py := swiftPython(t)
	b, _ := newTestBuilder(t, 7, 3, 1)
	mustAdd(t, b,
		dev(1, 1, "10.0.0.1", "sda", 100), dev(1, 1, "10.0.0.1", "sdb", 100),
		dev(1, 2, "10.0.0.2", "sda", 150.5), dev(2, 1, "10.0.1.1", "sda", 100),
		Device{Region: 2, Zone: 2, IP: "fe80::1", Port: 6200, ReplicationIP: "10.9.9.9", ReplicationPort: 6300,
			Device: "sdz", Weight: 1e-3, Meta: "caf\u00e9 \"x\"\\ \U0001F600"})
	mustRebalance(t, b)
	if err := b.RemoveDevice(1); err != nil {
		t.Fatal(err)
	}
	mustRebalance(t, b) // leaves a hole (null) in the device list
	dir := t.TempDir()
	path := filepath.Join(dir, "object.ring.gz")
	r := b.Ring()
	if err := r.Save(path); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(py, "testdata/expected.py", path).Output()
	if err != nil {
		t.Fatalf("Swift could not read our ring: %v\n%s", err, out)
	}
	var e expected
	if err := json.Unmarshal(out, &e); err != nil {
		t.Fatal(err)
	}
	if e.MD5 != r.FileMD5() {
		t.Errorf("Swift's md5 %s, ours %s", e.MD5, r.FileMD5())
	}
	checkAgainstSwift(t, r, &e)

	resave := filepath.Join(dir, "resaved.ring.gz")
	cmd := exec.Command(py, "-c", `import sys
from swift.common.ring import RingData
RingData.load(sys.argv[1]).save(sys.argv[2])`, path, "resaved.ring.gz")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("Swift re-save: %v\n%s", err, out)
	}
	if got := gunzipFile(t, resave); !bytes.Equal(got, r.Encode()) {
		t.Errorf("Swift re-saved different bytes:\n%q\n%q", got, r.Encode())
	}
	raw, _ := os.ReadFile(resave)
	ours, _ := os.ReadFile(path)
	// Gzip headers agree up to the file name Swift was given.
	if !bytes.Equal(raw[:10], ours[:10]) {
		t.Errorf("gzip header % x, Swift's % x", ours[:10], raw[:10])
	}
}

// TestFixturesUpToDate checks the committed expectations against the
// installed Swift, so a fixture cannot silently drift from what Swift says.
func TestFixturesUpToDate(t *testing.T) {
	py := swiftPython(t)
	for _, name := range []string{"simple", "mixed"} {
		out, err := exec.Command(py, "testdata/expected.py", filepath.Join("testdata", name+".ring.gz")).Output()
		if err != nil {
			t.Fatal(err)
		}
		want, err := os.ReadFile(filepath.Join("testdata", name+".expected.json"))
		if err != nil {
			t.Fatal(err)
		}
		var a, b any
		json.Unmarshal(out, &a)
		json.Unmarshal(want, &b)
		ja, _ := json.Marshal(a)
		jb, _ := json.Marshal(b)
		if !slices.Equal(ja, jb) {
			t.Errorf("%s: Swift now says something else than %s.expected.json", name, name)
		}
	}
}
