package keylock

import (
	"sync"
	"testing"
)

// One key's holders run one at a time, other keys do not wait, and a
// released key leaves nothing behind.
func TestLocks(t *testing.T) {
	var l Locks
	var wg sync.WaitGroup
	inside := map[string]int{}
	var mu sync.Mutex
	for i := 0; i < 50; i++ {
		key := []string{"a", "b"}[i%2]
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer l.Lock(key)()
			mu.Lock()
			inside[key]++
			n := inside[key]
			mu.Unlock()
			if n != 1 {
				t.Errorf("%d holders of %s", n, key)
			}
			mu.Lock()
			inside[key]--
			mu.Unlock()
		}()
	}
	wg.Wait()
	// b is free while a is held.
	release := l.Lock("a")
	l.Lock("b")()
	release()
	if len(l.locks) != 0 {
		t.Errorf("locks left: %v", l.locks)
	}
}
