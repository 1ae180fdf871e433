package cli_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/rand"
	"encoding/hex"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// swiftCLI runs Debian's `swift` command against s as test:tester.
func swiftCLI(t *testing.T, s *server, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("swift", append([]string{"-A", s.AuthURL(), "-U", "test:tester", "-K", "testing"}, args...)...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("swift %s: %v\n%s\nserver:\n%s", strings.Join(args, " "), err, out, s.Output())
	}
	return string(out)
}

func TestSwiftCLI(t *testing.T) {
	if _, err := exec.LookPath("swift"); err != nil {
		t.Skip("Debian's swift CLI (python3-swiftclient) is not installed")
	}
	s := startServer(t, t.TempDir(), "--user", "test:tester:testing:.admin")
	work := t.TempDir()
	src := filepath.Join(work, "src")
	files := map[string][]byte{
		"readme.txt":           []byte("hello swiftbox\n"),
		"dir/a.bin":            randBytes(t, 300_000),
		"dir/sub/b.bin":        randBytes(t, 5_000_000),
		"dir/sub/empty":        {},
		"space name & more.md": []byte("# odd names"),
		"unicodé/ø.txt":        []byte("ünïcode"),
	}
	for name, data := range files {
		p := filepath.Join(src, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	swiftCLI(t, s, src, "upload", "backup", ".")
	listing := swiftCLI(t, s, work, "list", "backup")
	for name := range files {
		if !strings.Contains(listing, name) {
			t.Errorf("listing lacks %q:\n%s", name, listing)
		}
	}
	stat := swiftCLI(t, s, work, "stat")
	if !strings.Contains(stat, "Objects: 6") || !strings.Contains(stat, "Containers: 1") {
		// account statistics are carried over asynchronously; allow a moment
		time.Sleep(time.Second)
		stat = swiftCLI(t, s, work, "stat")
		if !strings.Contains(stat, "Objects: 6") {
			t.Errorf("account stat:\n%s", stat)
		}
	}
	swiftCLI(t, s, work, "post", "-m", "color:green", "backup", "readme.txt")
	if st := swiftCLI(t, s, work, "stat", "backup", "readme.txt"); !strings.Contains(st, "Meta Color: green") {
		t.Errorf("object stat after post:\n%s", st)
	}
	swiftCLI(t, s, work, "post", "-m", "team:blue", "backup")
	if st := swiftCLI(t, s, work, "stat", "backup"); !strings.Contains(st, "Meta Team: blue") || !strings.Contains(st, "Objects: 6") {
		t.Errorf("container stat:\n%s", st)
	}
	dst := filepath.Join(work, "dst")
	os.MkdirAll(dst, 0o755)
	swiftCLI(t, s, dst, "download", "backup")
	for name, data := range files {
		got, err := os.ReadFile(filepath.Join(dst, name))
		if err != nil || !bytes.Equal(got, data) {
			t.Errorf("downloaded %s differs (%v)", name, err)
		}
	}
	swiftCLI(t, s, work, "delete", "backup", "readme.txt")
	if l := swiftCLI(t, s, work, "list", "backup"); strings.Contains(l, "readme.txt") {
		t.Errorf("deleted object still listed:\n%s", l)
	}
	swiftCLI(t, s, work, "delete", "backup")
	if l := swiftCLI(t, s, work, "list"); strings.Contains(l, "backup") {
		t.Errorf("deleted container still listed:\n%s", l)
	}
}

func randBytes(t *testing.T, n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// patternReader yields n pseudo-random bytes without holding them.
type patternReader struct {
	n, off int64
	block  []byte
}

func newPatternReader(n int64) *patternReader {
	b := make([]byte, 1<<20)
	for i := range b {
		b[i] = byte(i*7 + i/251)
	}
	return &patternReader{n: n, block: b}
}

func (r *patternReader) Read(p []byte) (int, error) {
	if r.off >= r.n {
		return 0, io.EOF
	}
	k := int64(len(p))
	if k > r.n-r.off {
		k = r.n - r.off
	}
	for i := int64(0); i < k; {
		j := copy(p[i:k], r.block[(r.off+i)%int64(len(r.block)):])
		i += int64(j)
	}
	r.off += k
	return int(k), nil
}

// A 1 GiB object streams through: the server's RSS stays bounded on the
// way in and on the way out, and the bytes come back identical.
func TestLargeObjectStreamsWithBoundedMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("1 GiB upload")
	}
	const size = 1 << 30
	s := startServer(t, t.TempDir(), "--user", "test:tester:testing:.admin")
	c := s.conn(t, "test:tester", "testing")
	ctx := context.Background()
	if err := c.ContainerCreate(ctx, "big", nil); err != nil {
		t.Fatal(err)
	}
	h := md5.New()
	io.Copy(h, newPatternReader(size))
	want := hex.EncodeToString(h.Sum(nil))

	stop := sampleRSS(s.cmd.Process.Pid)
	w, err := c.ObjectCreate(ctx, "big", "gig", false, "", "application/octet-stream", nil) // chunked
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(w, newPatternReader(size)); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	putPeak := stop()
	info, _, err := c.Object(ctx, "big", "gig")
	if err != nil || info.Bytes != size || info.Hash != want {
		t.Fatalf("stored: %+v %v (want md5 %s)", info, err, want)
	}
	stop = sampleRSS(s.cmd.Process.Pid)
	r, _, err := c.ObjectOpen(ctx, "big", "gig", false, nil)
	if err != nil {
		t.Fatal(err)
	}
	g := md5.New()
	n, err := io.Copy(g, r)
	r.Close()
	getPeak := stop()
	if err != nil || n != size || hex.EncodeToString(g.Sum(nil)) != want {
		t.Fatalf("read back %d bytes, md5 %x, err %v", n, g.Sum(nil), err)
	}
	t.Logf("peak server RSS: PUT %.0f MiB, GET %.0f MiB", putPeak, getPeak)
	if putPeak > 150 || getPeak > 150 {
		t.Errorf("server RSS grew with the object: PUT %.0f MiB, GET %.0f MiB (limit 150)", putPeak, getPeak)
	}
}
