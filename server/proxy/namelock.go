package proxy

import "sync"

// nameLocks serialises conditional writes to one object name within this
// process, so "If-None-Match: *" is atomic: the existence check and the
// commit of one writer happen before the next writer's check (one
// swiftbox serves the whole cluster, so no other process writes).
type nameLocks struct {
	mu    sync.Mutex
	locks map[string]*nameLock
}

type nameLock struct {
	mu   sync.Mutex
	refs int
}

// lock takes name's lock and returns its release.
func (n *nameLocks) lock(name string) func() {
	n.mu.Lock()
	if n.locks == nil {
		n.locks = map[string]*nameLock{}
	}
	l := n.locks[name]
	if l == nil {
		l = &nameLock{}
		n.locks[name] = l
	}
	l.refs++
	n.mu.Unlock()
	l.mu.Lock()
	return func() {
		l.mu.Unlock()
		n.mu.Lock()
		if l.refs--; l.refs == 0 {
			delete(n.locks, name)
		}
		n.mu.Unlock()
	}
}
