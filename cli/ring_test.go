package cli_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// run runs the swiftbox binary and returns its combined output.
func run(t *testing.T, wantErr bool, args ...string) string {
	t.Helper()
	out, err := exec.Command(binPath, args...).CombinedOutput()
	if (err != nil) != wantErr {
		t.Fatalf("swiftbox %s: err %v (want error: %v)\n%s", strings.Join(args, " "), err, wantErr, out)
	}
	return string(out)
}

// The ring commands build a ring that serve then uses, Swift's own
// swift-ring-builder can rebuild a builder from it, and bad input is
// refused with a message naming the problem.
func TestRingCommandsAndServeWithOwnRing(t *testing.T) {
	dir := t.TempDir()
	devices := filepath.Join(dir, "node")
	for _, d := range []string{"sdb1", "sdc1", "sdd1", "sde1"} {
		os.MkdirAll(filepath.Join(devices, d), 0o755)
	}
	state := filepath.Join(dir, "etc")
	os.MkdirAll(state, 0o755)
	os.WriteFile(filepath.Join(state, "swift.conf"), []byte("[swift-hash]\nswift_hash_path_suffix = testsuffix\n"), 0o600)
	for _, name := range []string{"object", "container", "account"} {
		run(t, false, "ring", "create", name, "--dir", state, "--part-power", "8", "--replicas", "3", "--min-part-hours", "1")
		run(t, false, "ring", "add", name, "--dir", state, "r1z1-127.0.0.1:6200/sdb1", "100", "r1z2-127.0.0.1:6200/sdc1", "100")
		run(t, false, "ring", "add", name, "--dir", state, "--region", "1", "--zone", "3", "--ip", "127.0.0.1", "--port", "6200", "--device", "sdd1", "--weight", "100")
		run(t, false, "ring", "add", name, "--dir", state, "r1z4-127.0.0.1:6200/sde1", "50")
		run(t, false, "ring", "rebalance", name, "--dir", state)
	}
	list := run(t, false, "ring", "list", "object", "--dir", state)
	for _, want := range []string{"sdb1", "sdc1", "sdd1", "sde1", "256 partitions", "3 replicas"} {
		if !strings.Contains(list, want) {
			t.Errorf("ring list lacks %q:\n%s", want, list)
		}
	}
	look := run(t, false, "ring", "lookup", "object", "--dir", state, "--hash-path-suffix", "testsuffix", "AUTH_test", "c", "o")
	if !strings.Contains(look, "Partition") || strings.Count(look, "127.0.0.1:6200") < 3 {
		t.Errorf("ring lookup:\n%s", look)
	}
	// Bad input names the problem.
	for _, bad := range [][]string{
		{"ring", "create", "object", "--dir", state},                                 // exists
		{"ring", "add", "object", "--dir", state, "r1z1-127.0.0.1:6200/sdb1", "100"}, // duplicate
		{"ring", "add", "object", "--dir", state, "nonsense", "100"},                 // bad spec
		{"ring", "create", "object2", "--dir", state, "--part-power", "40"},          // part power
		{"ring", "lookup", "object", "--dir", state, "AUTH_test", "", "o"},           // object without container
		{"ring", "rebalance", "nosuch", "--dir", state},                              // no builder
	} {
		if out := run(t, true, bad...); len(strings.TrimSpace(out)) < 10 {
			t.Errorf("swiftbox %v: no useful message: %q", bad, out)
		}
	}
	if _, err := exec.LookPath("swift-ring-builder"); err == nil {
		cp := filepath.Join(dir, "swiftcopy")
		os.MkdirAll(cp, 0o755)
		raw, _ := os.ReadFile(filepath.Join(state, "object.ring.gz"))
		os.WriteFile(filepath.Join(cp, "object.ring.gz"), raw, 0o644)
		cmd := exec.Command("swift-ring-builder", "object.builder", "write_builder")
		cmd.Dir = cp
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("swift-ring-builder write_builder from swiftbox's ring: %v\n%s", err, out)
		}
		out, _ := exec.Command("swift-ring-builder", filepath.Join(cp, "object.builder")).CombinedOutput()
		if !strings.Contains(string(out), "256 partitions, 3.000000 replicas") || !strings.Contains(string(out), "sde1") {
			t.Errorf("swift-ring-builder view of swiftbox's ring:\n%s", out)
		}
	}

	// serve with a config file uses these rings; --addr overrides the file.
	cfg := filepath.Join(state, "config.yaml")
	os.WriteFile(cfg, []byte("devices: "+devices+"\nbind: 127.0.0.1:1\nauth:\n  users: [\"test:tester:testing:.admin\"]\n"), 0o600)
	s := &server{t: t, Devices: devices, args: []string{"--config", cfg}}
	s.start()
	t.Cleanup(s.Stop)
	if strings.Contains(s.Output(), "built object ring") {
		t.Errorf("serve rebuilt the ring instead of using %s:\n%s", state, s.Output())
	}
	c := s.conn(t, "test:tester", "testing")
	ctx := context.Background()
	if err := c.ContainerCreate(ctx, "c", nil); err != nil {
		t.Fatal(err)
	}
	if err := c.ObjectPutString(ctx, "c", "o", "placed", ""); err != nil {
		t.Fatal(err)
	}
	// The object is where `ring lookup` said: on the three devices it names.
	primaries := 0
	for _, line := range strings.Split(look, "\n") {
		if i := strings.Index(line, "127.0.0.1:6200 "); i >= 0 && strings.Contains(line, "Server") && !strings.Contains(line, "Handoff") {
			d := strings.TrimSpace(line[i+len("127.0.0.1:6200 "):])
			primaries++
			if n := len(findFiles(t, filepath.Join(devices, d, "objects"), ".data")); n != 1 {
				t.Errorf("device %s (a primary per ring lookup) holds %d .data files, want 1", d, n)
			}
		}
	}
	if primaries != 3 {
		t.Errorf("ring lookup named %d primaries, want 3:\n%s", primaries, look)
	}
	if v := run(t, false, "version"); !strings.Contains(v, "swiftbox") {
		t.Errorf("version: %q", v)
	}
}
