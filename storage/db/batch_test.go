package db

import (
	"errors"
	"fmt"
	"sync"
	"testing"
)

// TestConcurrentPutsShareTransactions has 64 goroutines update one
// container at once: every update must land, counts must be exact, and
// the updates must have shared commits (group commit), not taken one each.
func TestConcurrentPutsShareTransactions(t *testing.T) {
	s, _ := newTestStore(t, 0)
	const a, c = "AUTH_a", "c"
	mustCreateContainer(t, s, c)
	const workers, each = 64, 20
	before := s.Commits()
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				name := fmt.Sprintf("w%02d/o%02d", w, i)
				err := s.PutObjectRow(dev, 1, a, c, ObjectRow{Name: name, Timestamp: ts(10 + i), Size: int64(w)})
				if err == nil && i%4 == 3 {
					// Overwrite and delete some, concurrently with the rest.
					err = s.PutObjectRow(dev, 1, a, c, ObjectRow{Name: name, Timestamp: ts(100 + i), Deleted: true})
				}
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	ops := workers * (each + each/4)
	n := s.Commits() - before
	t.Logf("%d updates in %d commits", ops, n)
	if n >= uint64(ops)/2 {
		t.Fatalf("%d updates took %d commits: not batched", ops, n)
	}
	info, err := s.ContainerInfo(dev, 1, a, c)
	if err != nil {
		t.Fatal(err)
	}
	var wantBytes int64
	for w := range workers {
		wantBytes += int64(w) * (each - each/4)
	}
	if info.ObjectCount != workers*(each-each/4) || info.BytesUsed != wantBytes {
		t.Fatalf("counts %d/%d, want %d/%d", info.ObjectCount, info.BytesUsed, workers*(each-each/4), wantBytes)
	}
	if err := s.Check(s.FileOf(KindContainers, dev, 1, a, c)); err != nil {
		t.Fatal(err)
	}
}

// TestBatchSoftErrorFailsAlone checks that a call failing with a per-call
// error does not fail the others sharing its transaction.
func TestBatchSoftErrorFailsAlone(t *testing.T) {
	s, _ := newTestStore(t, 0)
	mustCreateContainer(t, s, "c")
	var wg sync.WaitGroup
	results := make([]error, 32)
	for i := range results {
		wg.Go(func() {
			name := fmt.Sprintf("o%02d", i)
			if i%8 == 0 {
				name = ""
			}
			results[i] = s.PutObjectRow(dev, 1, "AUTH_a", "c", ObjectRow{Name: name, Timestamp: ts(5), Size: 1})
		})
	}
	wg.Wait()
	for i, err := range results {
		if (i%8 == 0) != (err != nil) {
			t.Fatalf("call %d: err %v", i, err)
		}
	}
	info, _ := s.ContainerInfo(dev, 1, "AUTH_a", "c")
	if info.ObjectCount != 28 {
		t.Fatalf("count %d", info.ObjectCount)
	}
}

// TestBatchHardErrorRetriesAlone checks that a call failing hard makes its
// batch re-run call by call, so only that call fails.
func TestBatchHardErrorRetriesAlone(t *testing.T) {
	s, _ := newTestStore(t, 0)
	mustCreateContainer(t, s, "c")
	h, err := s.openContainer(dev, 1, "AUTH_a", "c")
	if err != nil {
		t.Fatal(err)
	}
	defer s.release(h)
	boom := errors.New("boom")
	var wg sync.WaitGroup
	results := make([]error, 16)
	for i := range results {
		wg.Go(func() {
			results[i] = h.do(func(c *txCtx) error {
				if i == 3 {
					return boom
				}
				return c.mergeObject(ObjectRow{Name: fmt.Sprint(i), Timestamp: ts(5), Size: 1})
			})
		})
	}
	wg.Wait()
	for i, err := range results {
		if (i == 3) != errors.Is(err, boom) || (i != 3 && err != nil) {
			t.Fatalf("call %d: err %v", i, err)
		}
	}
	info, _ := s.ContainerInfo(dev, 1, "AUTH_a", "c")
	if info.ObjectCount != 15 {
		t.Fatalf("count %d", info.ObjectCount)
	}
}
