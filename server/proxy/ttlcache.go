package proxy

import (
	"sync"
	"time"
)

// TTLCache keeps values a few seconds, as Swift keeps account and
// container info in memcache: a middleware that reads info on every
// request holds one and forgets what requests through this proxy change.
type TTLCache[V any] struct {
	ttl time.Duration
	mu  sync.Mutex
	m   map[string]ttlEntry[V]
}

type ttlEntry[V any] struct {
	v       V
	expires time.Time
}

// ttlCacheMax bounds a cache: past it, it starts again empty.
const ttlCacheMax = 10000

// NewTTLCache keeps each value ttl.
func NewTTLCache[V any](ttl time.Duration) *TTLCache[V] { return &TTLCache[V]{ttl: ttl} }

// Get is key's value unless it expired.
func (c *TTLCache[V]) Get(key string) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[key]
	if !ok || time.Now().After(e.expires) {
		var zero V
		return zero, false
	}
	return e.v, true
}

// Put keeps v for key.
func (c *TTLCache[V]) Put(key string, v V) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) > ttlCacheMax {
		c.m = map[string]ttlEntry[V]{}
	}
	c.m[key] = ttlEntry[V]{v, time.Now().Add(c.ttl)}
}

// Forget drops key.
func (c *TTLCache[V]) Forget(key string) {
	c.mu.Lock()
	delete(c.m, key)
	c.mu.Unlock()
}
