package cli_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ncw/swift/v2"
)

// mountXFS makes a loop-mounted XFS image for devices, or skips.
func mountXFS(t *testing.T) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("XFS loop image needs root")
	}
	mnt := filepath.Join(t.TempDir(), "devices")
	if err := mountLoop(t, mnt, "xfs", 1<<30); err != nil {
		t.Skip(err)
	}
	return mnt
}

// mountLoop makes a filesystem of type fs (mkfs.<fs>) in a sparse image
// of size bytes and loop-mounts it at dir (created), unmounted at cleanup.
// It needs root; the error says why it could not.
func mountLoop(t *testing.T, dir, fs string, size int64) error {
	t.Helper()
	if os.Geteuid() != 0 {
		return fmt.Errorf("a loop mount needs root")
	}
	if _, err := exec.LookPath("mkfs." + fs); err != nil {
		return fmt.Errorf("mkfs.%s not installed", fs)
	}
	img := filepath.Join(t.TempDir(), fs+".img")
	os.MkdirAll(dir, 0o755)
	if err := os.WriteFile(img, nil, 0o600); err != nil {
		return err
	}
	if err := os.Truncate(img, size); err != nil {
		return err
	}
	mkfs := []string{"mkfs." + fs, "-q", img}
	if fs == "ext4" { // no blocks reserved for root: full means full
		mkfs = []string{"mkfs.ext4", "-q", "-m", "0", img}
	}
	for _, cmd := range [][]string{mkfs, {"mount", "-o", "loop", img, dir}} {
		if out, err := exec.Command(cmd[0], cmd[1:]...).CombinedOutput(); err != nil {
			return fmt.Errorf("%s: %v %s", cmd[0], err, out)
		}
	}
	t.Cleanup(func() { exec.Command("umount", "-l", dir).Run() })
	return nil
}

// maxMetadata is legal Swift metadata at the limits: 90 items, 4096 bytes.
func maxMetadata() swift.Headers {
	h := swift.Headers{}
	for i := 0; i < 16; i++ {
		k := fmt.Sprintf("K%02d", i)
		h["X-Object-Meta-"+k] = strings.Repeat(string(rune('a'+i)), 256-len(k))
	}
	return h
}

// Legal maximal metadata is stored and read back identically on ext4 (the
// machine's /tmp; xattrs overflow to a sidecar) and on XFS, and Swift's own
// swift-object-info reads what swiftbox wrote and calls its ETag valid.
func TestMetadataLimitsOnExt4AndXFS(t *testing.T) {
	for _, fs := range []string{"default", "xfs"} {
		t.Run(fs, func(t *testing.T) {
			dev := t.TempDir()
			if fs == "xfs" {
				dev = mountXFS(t)
			}
			s := startServer(t, dev, "--user", "test:tester:testing:.admin")
			c := s.conn(t, "test:tester", "testing")
			ctx := context.Background()
			c.ContainerCreate(ctx, "meta", nil)
			meta := maxMetadata()
			if _, err := c.ObjectPut(ctx, "meta", "full", strings.NewReader("payload"), false, "", "text/plain", meta); err != nil {
				t.Fatalf("PUT with maximal metadata: %v", err)
			}
			for i := 0; i < 2; i++ { // before and after a restart
				_, h, err := c.Object(ctx, "meta", "full")
				if err != nil {
					t.Fatal(err)
				}
				for k, v := range meta {
					if h[k] != v {
						t.Fatalf("%s: got %d bytes, want %d", k, len(h[k]), len(v))
					}
				}
				s.Restart()
				c = s.conn(t, "test:tester", "testing")
			}
			if fs == "xfs" {
				// On ext4 the overflow sidecar is swiftbox's own; Swift
				// itself cannot store such an object there at all.
				checkObjectInfo(t, dev, "/AUTH_test/meta/full", "X-Object-Meta-K00")
			}
			if _, err := c.ObjectPut(ctx, "meta", "small", strings.NewReader("tiny"), false, "", "text/plain", swift.Headers{"X-Object-Meta-Color": "red"}); err != nil {
				t.Fatal(err)
			}
			checkObjectInfo(t, dev, "/AUTH_test/meta/small", "X-Object-Meta-Color: red")
			// Many blocks: the block table's xattr is swiftbox's own and
			// Swift reads the object past it.
			big := strings.Repeat("0123456789abcdef", 3<<16)
			if _, err := c.ObjectPut(ctx, "meta", "blocks", strings.NewReader(big), false, "", "text/plain", swift.Headers{"X-Object-Meta-Color": "blue"}); err != nil {
				t.Fatal(err)
			}
			checkObjectInfo(t, dev, "/AUTH_test/meta/blocks", "X-Object-Meta-Color: blue")
		})
	}
}

// checkObjectInfo runs Debian's swift-object-info on the .data files of
// the object at path and checks what it says.
func checkObjectInfo(t *testing.T, dev, path, wantMeta string) {
	bin, err := exec.LookPath("swift-object-info")
	if err != nil {
		t.Log("swift-object-info (Debian swift-object) not installed; skipping the cross-check")
		return
	}
	swiftDir := filepath.Join(dev, ".swiftbox")
	checked := 0
	for _, f := range findFiles(t, dev, ".data") {
		out, _ := exec.Command(bin, "--swift-dir", swiftDir, f).CombinedOutput()
		got := string(out)
		if !strings.Contains(got, "Path: "+path+"\n") {
			continue
		}
		checked++
		for _, want := range []string{"Content-Type: text/plain", "ETag: ", "(valid)", "Content-Length: ", wantMeta} {
			if !strings.Contains(got, want) {
				t.Errorf("swift-object-info %s lacks %q:\n%s", f, want, got)
			}
		}
	}
	if checked != 3 {
		t.Errorf("swift-object-info recognised %d replicas of %s, want 3", checked, path)
	}
}
