package config

import (
	"os"
	"path/filepath"
	"testing"
)

// The state dir holds the token secret, users' keys and the hash suffix:
// it is 0700 and those files 0600, also when an older version or a loose
// umask left them readable by others.
func TestStateFilesPrivate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	st, _, err := LoadState(dir, false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.GenerateAdmin(); err != nil {
		t.Fatal(err)
	}
	check := func(when string) {
		t.Helper()
		if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
			t.Fatalf("%s: state dir mode %v (%v), want 0700", when, fi.Mode().Perm(), err)
		}
		for _, name := range secretFiles {
			fi, err := os.Stat(filepath.Join(dir, name))
			if err != nil || fi.Mode().Perm() != 0o600 {
				t.Fatalf("%s: %s mode %v (%v), want 0600", when, name, fi.Mode().Perm(), err)
			}
		}
	}
	check("new")
	os.Chmod(dir, 0o755)
	for _, name := range secretFiles {
		os.Chmod(filepath.Join(dir, name), 0o644)
	}
	if _, _, err := LoadState(dir, true); err != nil {
		t.Fatal(err)
	}
	check("reloaded")
}
