package storage

import (
	"sync"
	"time"
)

// defaultDeviceCacheTTL bounds how long a good device check or a
// free-space reading is reused: a failing disk or a full one is noticed
// within it, and a busy device is not stat'ed and statfs'ed on every write.
const defaultDeviceCacheTTL = 500 * time.Millisecond

type deviceCache struct {
	mu sync.Mutex
	ok map[string]time.Time
	fs map[string]cachedStatfs
}

type cachedStatfs struct {
	at time.Time
	st FSStats
}

func (c *deviceCache) recentlyOK(device string, now time.Time, ttl time.Duration) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	t, ok := c.ok[device]
	return ok && now.Sub(t) < ttl
}

func (c *deviceCache) markOK(device string, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ok == nil {
		c.ok = map[string]time.Time{}
	}
	c.ok[device] = now
}

// forget drops what is cached about device (after an error on it).
func (c *deviceCache) forget(device string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.ok, device)
	delete(c.fs, device)
}

// statfs returns the device's free space, from cache when fresh.
func (c *deviceCache) statfs(fs FS, device, path string, now time.Time, ttl time.Duration) (FSStats, error) {
	c.mu.Lock()
	e, ok := c.fs[device]
	c.mu.Unlock()
	if ok && now.Sub(e.at) < ttl {
		return e.st, nil
	}
	st, err := fs.Statfs(path)
	if err != nil {
		return st, err
	}
	c.mu.Lock()
	if c.fs == nil {
		c.fs = map[string]cachedStatfs{}
	}
	c.fs[device] = cachedStatfs{at: now, st: st}
	c.mu.Unlock()
	return st, nil
}
