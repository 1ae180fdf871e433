package cli_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestSwiftCLILargeObjects drives SLO, DLO, server-side copy and bulk
// delete with Debian's swift client, which picks them from /info.
func TestSwiftCLILargeObjects(t *testing.T) {
	if _, err := exec.LookPath("swift"); err != nil {
		t.Skip("Debian's swift CLI (python3-swiftclient) is not installed")
	}
	s := startServer(t, t.TempDir(), "--user", "test:tester:testing:.admin")
	work := t.TempDir()
	src := filepath.Join(work, "src")
	os.MkdirAll(src, 0o755)
	slo, dlo := randBytes(t, 3_500_000), randBytes(t, 2_200_000)
	os.WriteFile(filepath.Join(src, "slo.bin"), slo, 0o644)
	os.WriteFile(filepath.Join(src, "dlo.bin"), dlo, 0o644)

	swiftCLI(t, s, src, "upload", "--use-slo", "-S", "1000000", "big", "slo.bin")
	swiftCLI(t, s, src, "upload", "-S", "1000000", "big", "dlo.bin")
	if l := swiftCLI(t, s, work, "list", "big_segments"); strings.Count(l, "\n") != 4+3 {
		t.Fatalf("segments:\n%s", l)
	}
	if st := swiftCLI(t, s, work, "stat", "big", "dlo.bin"); !strings.Contains(st, "Manifest: big_segments/dlo.bin/") {
		t.Fatalf("dlo stat:\n%s", st)
	}
	if st := swiftCLI(t, s, work, "stat", "big", "slo.bin"); !strings.Contains(st, "Content Length: 3500000") {
		t.Fatalf("slo stat:\n%s", st)
	}
	dst := filepath.Join(work, "dst")
	os.MkdirAll(dst, 0o755)
	swiftCLI(t, s, dst, "download", "big")
	for name, want := range map[string][]byte{"slo.bin": slo, "dlo.bin": dlo} {
		if got, _ := os.ReadFile(filepath.Join(dst, name)); !bytes.Equal(got, want) {
			t.Fatalf("%s: downloaded %d bytes, differ", name, len(got))
		}
	}

	// Server-side copy of a large object makes a plain object of its bytes.
	swiftCLI(t, s, work, "copy", "-d", "/copies/slo-copy", "big", "slo.bin")
	swiftCLI(t, s, dst, "download", "copies", "slo-copy")
	if got, _ := os.ReadFile(filepath.Join(dst, "slo-copy")); !bytes.Equal(got, slo) {
		t.Fatalf("copy: %d bytes, differ", len(got))
	}

	// Deleting an SLO deletes its segments (multipart-manifest=delete).
	swiftCLI(t, s, work, "delete", "big", "slo.bin")
	if l := swiftCLI(t, s, work, "list", "big_segments"); strings.Contains(l, "slo.bin") {
		t.Fatalf("slo segments left:\n%s", l)
	}
	// Whole containers go by bulk delete.
	swiftCLI(t, s, work, "delete", "big")
	swiftCLI(t, s, work, "delete", "big_segments")
	swiftCLI(t, s, work, "delete", "copies")
	if l := swiftCLI(t, s, work, "list"); strings.TrimSpace(l) != "" {
		t.Fatalf("containers left:\n%s", l)
	}
}
