// Package keylock serialises work on one key within this process. One
// swiftbox serves the whole cluster, so no other process writes: a lock
// here is enough to make a check-then-write on one name atomic (the
// proxy's "If-None-Match: *" PUT, the S3 layer's version deletes).
package keylock

import "sync"

// Locks holds one lock per key while anyone holds or waits for it; the
// zero value is ready to use.
type Locks struct {
	mu    sync.Mutex
	locks map[string]*lock
}

type lock struct {
	mu   sync.Mutex
	refs int
}

// Lock takes key's lock and returns its release.
func (k *Locks) Lock(key string) func() {
	k.mu.Lock()
	if k.locks == nil {
		k.locks = map[string]*lock{}
	}
	l := k.locks[key]
	if l == nil {
		l = &lock{}
		k.locks[key] = l
	}
	l.refs++
	k.mu.Unlock()
	l.mu.Lock()
	return func() {
		l.mu.Unlock()
		k.mu.Lock()
		if l.refs--; l.refs == 0 {
			delete(k.locks, key)
		}
		k.mu.Unlock()
	}
}
