package cli_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/ncw/swift/v2"
)

var credRE = regexp.MustCompile(`-U (\S+) -K (\S+) stat`)

// First start on an empty directory creates devices, rings and an admin,
// prints working credentials, and a restart comes back to the same cluster.
func TestServeEmbeddedDefault(t *testing.T) {
	dir := t.TempDir()
	s := startServer(t, dir)
	out := s.Output()
	for _, want := range []string{"created d1, d2, d3", "built object ring", "built container ring",
		"built account ring", "created admin user", "swift -A", "curl -i"} {
		if !strings.Contains(out, want) {
			t.Errorf("first start output lacks %q:\n%s", want, out)
		}
	}
	m := credRE.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no credentials printed:\n%s", out)
	}
	for _, f := range []string{"swift.conf", "object.ring.gz", "container.ring.gz", "account.ring.gz", "users.yaml"} {
		if _, err := os.Stat(filepath.Join(dir, ".swiftbox", f)); err != nil {
			t.Errorf("state file: %v", err)
		}
	}
	c := s.conn(t, m[1], m[2])
	ctx := context.Background()
	if err := c.ContainerCreate(ctx, "keep", nil); err != nil {
		t.Fatal(err)
	}
	if err := c.ObjectPutString(ctx, "keep", "a/b.txt", "hello", ""); err != nil {
		t.Fatal(err)
	}
	// A second server over the same devices is refused with a clear error.
	if out := run(t, true, "serve", "--devices", dir, "--addr", "127.0.0.1:0"); !strings.Contains(out, "already serving these devices") {
		t.Errorf("second serve on the same devices: %s", out)
	}
	s.Restart()
	out2 := s.Output()
	if strings.Contains(out2[len(out):], "built object ring") || strings.Contains(out2[len(out):], "created admin") {
		t.Errorf("restart rebuilt state:\n%s", out2[len(out):])
	}
	c = s.conn(t, m[1], m[2])
	got, err := c.ObjectGetString(ctx, "keep", "a/b.txt")
	if err != nil || got != "hello" {
		t.Fatalf("after restart: %q %v", got, err)
	}
}

func TestSwiftObjectLifecycle(t *testing.T) {
	s := startServer(t, t.TempDir(), "--user", "test:tester:testing:.admin")
	c := s.conn(t, "test:tester", "testing")
	ctx := context.Background()
	if err := c.ContainerCreate(ctx, "photos", swift.Headers{"X-Container-Meta-Color": "blue"}); err != nil {
		t.Fatal(err)
	}
	_, h, err := c.Container(ctx, "photos")
	if err != nil || h["X-Container-Meta-Color"] != "blue" {
		t.Fatalf("container meta: %v %v", h, err)
	}
	body := bytes.Repeat([]byte("swiftbox!"), 100000)
	sum := md5.Sum(body)
	etag := hex.EncodeToString(sum[:])
	hdr, err := c.ObjectPut(ctx, "photos", "cat.jpg", bytes.NewReader(body), true, etag, "", swift.Headers{"X-Object-Meta-Kind": "cat"})
	if err != nil || hdr["Etag"] != etag {
		t.Fatalf("put: %v %v", hdr, err)
	}
	info, h, err := c.Object(ctx, "photos", "cat.jpg")
	if err != nil || info.Bytes != int64(len(body)) || info.Hash != etag || h["X-Object-Meta-Kind"] != "cat" ||
		info.ContentType != "image/jpeg" {
		t.Fatalf("head: %+v %v %v", info, h, err)
	}
	var buf bytes.Buffer
	if _, err := c.ObjectGet(ctx, "photos", "cat.jpg", &buf, true, nil); err != nil || !bytes.Equal(buf.Bytes(), body) {
		t.Fatalf("get: %v", err)
	}
	// Range, suffix range, multi-range
	f, _, err := c.ObjectOpen(ctx, "photos", "cat.jpg", false, swift.Headers{"Range": "bytes=9-17"})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(f)
	f.Close()
	if string(got) != "swiftbox!" {
		t.Fatalf("range: %q", got)
	}
	if err := c.ObjectUpdate(ctx, "photos", "cat.jpg", swift.Headers{"X-Object-Meta-Kind": "lion"}); err != nil {
		t.Fatal(err)
	}
	_, h, _ = c.Object(ctx, "photos", "cat.jpg")
	if h["X-Object-Meta-Kind"] != "lion" {
		t.Fatalf("post meta: %v", h)
	}
	names, err := c.ObjectNamesAll(ctx, "photos", nil)
	if err != nil || len(names) != 1 || names[0] != "cat.jpg" {
		t.Fatalf("list: %v %v", names, err)
	}
	if err := c.ContainerDelete(ctx, "photos"); err != swift.ContainerNotEmpty {
		t.Fatalf("delete non-empty container: %v", err)
	}
	if err := c.ObjectDelete(ctx, "photos", "cat.jpg"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.Object(ctx, "photos", "cat.jpg"); err != swift.ObjectNotFound {
		t.Fatalf("after delete: %v", err)
	}
	if err := c.ContainerDelete(ctx, "photos"); err != nil {
		t.Fatal(err)
	}
	// bad auth
	req, _ := http.NewRequest("GET", s.AuthURL(), nil)
	req.Header.Set("X-Auth-User", "test:tester")
	req.Header.Set("X-Auth-Key", "wrong")
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 401 {
		t.Fatalf("bad key: %v %v", resp, err)
	}
}

// lost+found, which an ext4 filesystem mounted as the devices root has,
// is not a device: serve skips it with a warning (and, with no device
// beside it, creates d1..d3 as for an empty root); nothing is stored in it.
func TestServeSkipsLostFound(t *testing.T) {
	dev := t.TempDir()
	if err := os.Mkdir(filepath.Join(dev, "lost+found"), 0o700); err != nil {
		t.Fatal(err)
	}
	s := startServer(t, dev, "--user", "test:tester:testing:.admin")
	out := s.Output()
	if !strings.Contains(out, "created d1, d2, d3") || !strings.Contains(out, "not a device") ||
		strings.Count(out, "lost+found") != 1 {
		t.Fatalf("serve over a root holding only lost+found:\n%s", out)
	}
	ctx := context.Background()
	c := s.conn(t, "test:tester", "testing")
	if err := c.ContainerCreate(ctx, "c", nil); err != nil {
		t.Fatal(err)
	}
	if err := c.ObjectPutString(ctx, "c", "o", "body", ""); err != nil {
		t.Fatal(err)
	}
	if ents, _ := os.ReadDir(filepath.Join(dev, "lost+found")); len(ents) > 0 {
		t.Fatalf("lost+found was used as a device: %v", ents)
	}
}
