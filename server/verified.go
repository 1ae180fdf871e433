package server

import (
	"sync"
	"time"

	"swiftbox/ring"
	"swiftbox/storage/timestamp"
)

// verifiedTTL is how long a replica whose full body matched its ETag on a
// GET is trusted without re-hashing. Hashing every full GET costs a core
// at a few hundred MiB/s; the auditor re-checks every byte on its own
// schedule, and the first GET after this window checks again.
const verifiedTTL = 10 * time.Minute

// verifiedMax bounds the cache; when full it starts over.
const verifiedMax = 100000

// verifiedCache remembers replicas (device, object, timestamp) whose MD5
// was checked while serving them.
type verifiedCache struct {
	mu sync.Mutex
	m  map[string]time.Time
}

func verifiedKey(n *ring.Device, r *sreq, ts timestamp.Timestamp) string {
	return n.Device + "\x00" + r.account + "/" + r.container + "/" + r.object + "\x00" + ts.Internal()
}

func (c *verifiedCache) recent(key string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	t, ok := c.m[key]
	return ok && time.Since(t) < verifiedTTL
}

func (c *verifiedCache) mark(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= verifiedMax {
		c.m = map[string]time.Time{}
	}
	c.m[key] = time.Now()
}
