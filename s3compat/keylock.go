package s3compat

import "sync"

// keyLocks serialises the deletes of one key within this process:
// deleting a version and bringing the previous one back is several Swift
// requests (object_versioning's link, the version, the restore), and
// concurrent deletes of one key's versions must not leave the key linked
// to a version another one just removed. One swiftbox serves the whole
// cluster, so no other process deletes.
type keyLocks struct {
	mu    sync.Mutex
	locks map[string]*keyLock
}

type keyLock struct {
	mu   sync.Mutex
	refs int
}

// lock takes name's lock and returns its release.
func (k *keyLocks) lock(name string) func() {
	k.mu.Lock()
	if k.locks == nil {
		k.locks = map[string]*keyLock{}
	}
	l := k.locks[name]
	if l == nil {
		l = &keyLock{}
		k.locks[name] = l
	}
	l.refs++
	k.mu.Unlock()
	l.mu.Lock()
	return func() {
		l.mu.Unlock()
		k.mu.Lock()
		if l.refs--; l.refs == 0 {
			delete(k.locks, name)
		}
		k.mu.Unlock()
	}
}
