package storage

import (
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"testing"

	"swiftbox/storage/pickle"
)

func md5hex(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}

func suffixOf(s *ObjectStore, obj string) string {
	h := s.ObjectHash("a", "c", obj)
	return h[29:]
}

func TestSuffixHashes(t *testing.T) {
	s := newStore(t, nil)
	partDir := s.partitionPath(testDev, 1)
	if got, err := s.SuffixHashes(testDev, 1, nil); err != nil || len(got) != 0 {
		t.Fatalf("empty partition: %v %v", got, err)
	}
	mustPut(t, s, "o", 100, []byte("x"), nil)
	got, err := s.SuffixHashes(testDev, 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	suf := suffixOf(s, "o")
	if want := map[string]string{suf: md5hex(ts(100).Internal() + ".data")}; !reflect.DeepEqual(got, want) {
		t.Errorf("after put: %v want %v", got, want)
	}
	if b, _ := os.ReadFile(filepath.Join(partDir, invalidFile)); len(b) != 0 {
		t.Errorf("hashes.invalid not consolidated: %q", b)
	}
	blob, err := os.ReadFile(filepath.Join(partDir, hashesFile))
	if err != nil {
		t.Fatal(err)
	}
	m, err := pickle.UnmarshalDict(blob)
	if err != nil || m["valid"] != true || m[suf] != got[suf] {
		t.Errorf("hashes.pkl %v %v", m, err)
	}
	if _, ok := m["updated"].(float64); !ok {
		t.Errorf("updated %T", m["updated"])
	}

	// POST with content type, then the hash covers .meta, .data, _ctype.
	if err := s.Post(testDev, 1, "a", "c", "o", ts(200), map[string]string{"Content-Type": "x/y"}); err != nil {
		t.Fatal(err)
	}
	got, _ = s.SuffixHashes(testDev, 1, nil)
	want := md5hex(ts(200).Internal() + ".meta" + ts(100).Internal() + ".data" + ts(200).Internal() + "_ctype")
	if got[suf] != want {
		t.Errorf("after post: %v want %v", got[suf], want)
	}
	if err := s.Delete(testDev, 1, "a", "c", "o", ts(300), nil); err != nil {
		t.Fatal(err)
	}
	got, _ = s.SuffixHashes(testDev, 1, nil)
	if got[suf] != md5hex(ts(300).Internal()+".ts") {
		t.Errorf("after delete: %v", got)
	}
	// A change behind our back is seen only when asked to recalculate.
	hashDir := s.HashDir(testDev, 1, "a", "c", "o")
	os.RemoveAll(hashDir)
	if got, _ = s.SuffixHashes(testDev, 1, nil); got[suf] == "" {
		t.Errorf("cached hash dropped: %v", got)
	}
	if got, _ = s.SuffixHashes(testDev, 1, []string{suf}); len(got) != 0 {
		t.Errorf("recalculated: %v", got)
	}
	if _, err := os.Stat(filepath.Dir(hashDir)); !os.IsNotExist(err) {
		t.Errorf("empty suffix dir kept: %v", err)
	}
	// A corrupt hashes.pkl forces a full rehash.
	mustPut(t, s, "o", 400, []byte("x"), nil)
	os.WriteFile(filepath.Join(partDir, hashesFile), []byte("junk"), 0o644)
	os.Truncate(filepath.Join(partDir, invalidFile), 0)
	if got, _ = s.SuffixHashes(testDev, 1, nil); got[suf] != md5hex(ts(400).Internal()+".data") {
		t.Errorf("after corrupt pkl: %v", got)
	}
}

// swiftPython returns Debian's python3 when it can import swift.
func swiftPython(t *testing.T) string {
	t.Helper()
	for _, py := range []string{"/usr/bin/python3", "python3"} {
		if p, err := exec.LookPath(py); err == nil {
			if exec.Command(p, "-c", "import swift.obj.diskfile").Run() == nil {
				return p
			}
		}
	}
	t.Skip("python3 with OpenStack Swift not installed")
	return ""
}

// TestSuffixHashesMatchSwift runs Swift's own read_hashes on our
// hashes.pkl and Swift's get_hashes on our partition, and compares.
func TestSuffixHashesMatchSwift(t *testing.T) {
	py := swiftPython(t)
	s := newStore(t, nil)
	for i := range 20 {
		obj := "obj" + strconv.Itoa(i)
		mustPut(t, s, obj, 100, []byte(obj), nil)
		switch i % 4 {
		case 1:
			s.Delete(testDev, 1, "a", "c", obj, ts(200), nil)
		case 2:
			s.Post(testDev, 1, "a", "c", obj, ts(200), map[string]string{"X-Object-Meta-A": "1"})
		case 3:
			s.Post(testDev, 1, "a", "c", obj, ts(200), map[string]string{"Content-Type": "a/b"})
			s.Post(testDev, 1, "a", "c", obj, ts(300), map[string]string{"X-Object-Meta-A": "1"})
		}
	}
	ours, err := s.SuffixHashes(testDev, 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	script := `
import sys, json, logging
from swift.obj.diskfile import DiskFileManager, read_hashes
from swift.common.storage_policy import POLICIES
devices, dev, part = sys.argv[1], sys.argv[2], sys.argv[3]
stored = read_hashes(devices + '/' + dev + '/objects/' + part)
class L(logging.LoggerAdapter):
    def update_stats(self, *a, **k): pass
    def increment(self, *a, **k): pass
    def timing_since(self, *a, **k): pass
mgr = DiskFileManager({'devices': devices, 'mount_check': 'false'}, L(logging.getLogger('t'), {}))
suffixes = [k for k in stored if len(k) == 3]
fresh = mgr.get_hashes(dev, int(part), suffixes, POLICIES[0])
print(json.dumps({'stored': stored, 'fresh': fresh}))
`
	out, err := exec.Command(py, "-c", script, s.cfg.DevicesDir, testDev, "1").CombinedOutput()
	if err != nil {
		t.Fatalf("swift: %v\n%s", err, out)
	}
	var res struct{ Stored, Fresh map[string]any }
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if res.Stored["valid"] != true {
		t.Errorf("Swift reads our hashes.pkl as %v", res.Stored)
	}
	var keys []string
	for k, v := range ours {
		keys = append(keys, k)
		if res.Stored[k] != v {
			t.Errorf("stored %s: swift read %v, ours %s", k, res.Stored[k], v)
		}
		if res.Fresh[k] != v {
			t.Errorf("suffix %s: swift computes %v, ours %s", k, res.Fresh[k], v)
		}
	}
	sort.Strings(keys)
	t.Logf("%d suffixes agree with Swift: %v", len(keys), keys)
	for k := range res.Fresh {
		if len(k) == 3 && ours[k] == "" {
			t.Errorf("suffix %s only in Swift's hashes", k)
		}
	}
}

// A noted suffix flushed after its device vanished does not recreate the
// device directory; the note is kept for when the device is back.
func TestInvalidationFlushDoesNotRecreateDevice(t *testing.T) {
	s := newStore(t, nil)
	s.cfg.DeviceCacheTTL = -1
	mustPut(t, s, "o", 1, []byte("x"), nil)
	dev := filepath.Join(s.cfg.DevicesDir, testDev)
	if err := os.Rename(dev, dev+".gone"); err != nil {
		t.Fatal(err)
	}
	if err := s.FlushInvalidations(); err == nil {
		t.Error("flush onto a vanished device succeeded")
	}
	if _, err := os.Stat(dev); !os.IsNotExist(err) {
		t.Fatalf("device directory recreated: %v", err)
	}
	if err := os.Rename(dev+".gone", dev); err != nil {
		t.Fatal(err)
	}
	if err := s.FlushInvalidations(); err != nil {
		t.Errorf("flush after the device came back: %v", err)
	}
}
