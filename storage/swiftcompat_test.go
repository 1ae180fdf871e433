package storage

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// swiftConfHash reads the hash path prefix and suffix from
// /etc/swift/swift.conf (as installed by Debian's swift package).
func swiftConfHash(t *testing.T) (prefix, suffix string) {
	t.Helper()
	f, err := os.Open("/etc/swift/swift.conf")
	if err != nil {
		t.Skip("no /etc/swift/swift.conf")
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), "=")
		if !ok {
			continue
		}
		switch strings.TrimSpace(k) {
		case "swift_hash_path_prefix":
			prefix = strings.TrimSpace(v)
		case "swift_hash_path_suffix":
			suffix = strings.TrimSpace(v)
		}
	}
	return prefix, suffix
}

// objectInfo runs swift-object-info on path, or Swift's print_obj (what
// swift-object-info calls) when only python3-swift is installed.
func objectInfo(t *testing.T, path string) string {
	t.Helper()
	var cmd *exec.Cmd
	if bin, err := exec.LookPath("swift-object-info"); err == nil {
		cmd = exec.Command(bin, path)
	} else {
		py := swiftPython(t)
		cmd = exec.Command(py, "-c", "import sys; from swift.cli.info import print_obj; print_obj(sys.argv[1])", path)
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %v\n%s", cmd.Args, err, out)
	}
	t.Logf("%s", out)
	return string(out)
}

func TestSwiftObjectInfoReadsOurs(t *testing.T) {
	swiftPython(t)
	prefix, suffix := swiftConfHash(t)
	s := newStore(t, nil)
	s.cfg.HashPrefix, s.cfg.HashSuffix = prefix, suffix
	body := []byte("hello swift")
	mustPut(t, s, "ob☃j", 100, body, map[string]string{
		"Content-Type": "text/plain", "X-Object-Meta-Color": "blue", "X-Object-Sysmeta-Foo": "bar",
	})
	h := s.ObjectHash("a", "c", "ob☃j")
	path := filepath.Join(s.HashDir(testDev, 1, "a", "c", "ob☃j"), ts(100).Internal()+".data")
	out := objectInfo(t, path)
	for _, want := range []string{
		"Path: /a/c/ob☃j",
		"Object hash: " + h,
		"Content-Type: text/plain",
		"(" + ts(100).Internal() + ")",
		"X-Object-Meta-Color: blue",
		"X-Object-Sysmeta-Foo: bar",
		"ETag: " + md5hex(string(body)) + " (valid)",
		"Content-Length: 11 (valid)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
}

// TestSwiftDiskFileReadsOurs opens our objects with Swift's own DiskFile,
// which also merges .meta files and checks sizes.
func TestSwiftDiskFileReadsOurs(t *testing.T) {
	py := swiftPython(t)
	prefix, suffix := swiftConfHash(t)
	s := newStore(t, nil)
	s.cfg.HashPrefix, s.cfg.HashSuffix = prefix, suffix
	mustPut(t, s, "o", 100, []byte("body"), map[string]string{"Content-Type": "text/plain", "X-Object-Meta-A": "1"})
	if err := s.Post(testDev, 1, "a", "c", "o", ts(200), map[string]string{"Content-Type": "image/png", "X-Object-Meta-B": "2"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Post(testDev, 1, "a", "c", "o", ts(300), map[string]string{"X-Object-Meta-C": "3"}); err != nil {
		t.Fatal(err)
	}
	r := mustGet(t, s, "o", []byte("body"))
	script := `
import sys, json, logging
from swift.obj.diskfile import DiskFileManager
from swift.common.storage_policy import POLICIES
mgr = DiskFileManager({'devices': sys.argv[1], 'mount_check': 'false'}, logging.getLogger('t'))
df = mgr.get_diskfile(sys.argv[2], '1', 'a', 'c', 'o', POLICIES[0])
with df.open():
    md = df.get_metadata()
    body = b''.join(df.reader())
print(json.dumps({'meta': md, 'body': body.decode()}))
`
	out, err := exec.Command(py, "-c", script, s.cfg.DevicesDir, testDev).CombinedOutput()
	if err != nil {
		t.Fatalf("swift: %v\n%s", err, out)
	}
	for k, v := range r.Metadata() {
		if !strings.Contains(string(out), `"`+k+`": "`+v+`"`) {
			t.Errorf("Swift's metadata lacks %s=%s: %s", k, v, out)
		}
	}
	if !strings.Contains(string(out), `"body": "body"`) {
		t.Errorf("body: %s", out)
	}
}
