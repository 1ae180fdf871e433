package storage

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"swiftbox/storage/storagetest"
)

// Concurrent commits share flushes: fewer syncfs calls than commits, and
// every commit survives a crash right after it returned.
func TestGroupCommitSharesFlushes(t *testing.T) {
	ffs := storagetest.NewFaultFS(nil)
	s := newStore(t, ffs)
	var flushes atomic.Int64
	ffs.Inject = func(op storagetest.Op, path string) error {
		if op == storagetest.OpSyncfs {
			flushes.Add(1)
		}
		return nil
	}
	const n = 64
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			mustPut(t, s, fmt.Sprintf("o%d", i), int64(100+i), []byte(fmt.Sprintf("body %d", i)), nil)
		}(i)
	}
	wg.Wait()
	if f := flushes.Load(); f >= n || f == 0 {
		t.Errorf("%d commits used %d flushes; want shared flushes", n, f)
	}
	if err := ffs.Crash(); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		mustGet(t, s, fmt.Sprintf("o%d", i), []byte(fmt.Sprintf("body %d", i)))
	}
	t.Logf("%d commits, %d syncfs", n, flushes.Load())
}

// Devices sharing a filesystem share a group; when the device whose path
// first made the group disappears, the others still commit.
func TestGroupCommitSurvivesVanishedDevice(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	os.Mkdir(a, 0o755)
	os.Mkdir(b, 0o755)
	g := &syncGroup{fs: OSFS{}}
	if err := g.wait(a); err != nil {
		t.Fatal(err)
	}
	os.Remove(a)
	if err := g.wait(b); err != nil {
		t.Errorf("commit on b after a vanished: %v", err)
	}
	if err := g.wait(a); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("commit on vanished a: %v, want not exist", err)
	}
}
