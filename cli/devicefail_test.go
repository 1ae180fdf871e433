package cli_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// A missing device is skipped: writes land on a handoff device and still
// get three copies, and everything stays readable.
func TestMissingDeviceWritesGoToHandoffs(t *testing.T) {
	dev := t.TempDir()
	for _, d := range []string{"d1", "d2", "d3", "d4"} {
		os.Mkdir(filepath.Join(dev, d), 0o755)
	}
	s := startServer(t, dev, "--user", "test:tester:testing:.admin")
	c := s.conn(t, "test:tester", "testing")
	ctx := context.Background()
	if err := c.ContainerCreate(ctx, "ha", nil); err != nil {
		t.Fatal(err)
	}
	// The device vanishes (unmounted disk).
	if err := os.Rename(filepath.Join(dev, "d2"), filepath.Join(dev, ".d2-gone")); err != nil {
		t.Fatal(err)
	}
	time.Sleep(600 * time.Millisecond) // past the device check cache
	const n = 30
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("obj-%02d", i)
		if _, err := c.ObjectPut(ctx, "ha", name, bytes.NewReader([]byte(name)), true, "", "", nil); err != nil {
			t.Fatalf("PUT %s with a device missing: %v\n%s", name, err, s.Output())
		}
	}
	if got := len(findFiles(t, dev, ".data")); got != 3*n {
		t.Errorf("want %d .data files (3 copies each, on the remaining devices), found %d", 3*n, got)
	}
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("obj-%02d", i)
		got, err := c.ObjectGetBytes(ctx, "ha", name)
		if err != nil || string(got) != name {
			t.Errorf("GET %s: %q %v", name, got, err)
		}
	}
	names, err := c.ObjectNamesAll(ctx, "ha", nil)
	if err != nil || len(names) != n {
		t.Errorf("listing with a device missing: %d names, %v", len(names), err)
	}
}
