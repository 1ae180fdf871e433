package storage

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
)

// Concurrent commits share flushes: fewer syncfs calls than commits, and
// every commit survives a crash right after it returned.
func TestGroupCommitSharesFlushes(t *testing.T) {
	ffs := NewFaultFS(nil)
	s := newStore(t, ffs)
	var flushes atomic.Int64
	ffs.Inject = func(op Op, path string) error {
		if op == OpSyncfs {
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
