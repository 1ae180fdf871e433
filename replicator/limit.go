// Package replicator keeps every replica of objects, containers and
// accounts in place and current, as Swift's replicators do: per partition
// it compares each local replica with its peers (suffix hashes for
// objects, row change logs for databases), pushes what a peer lacks, and
// moves handoff partitions home.
package replicator

import (
	"sync"
	"time"
)

// RateLimiter paces work to a rate per second, shared by the goroutines
// of a pass (Swift's ratelimit_sleep). A zero rate is unlimited.
type RateLimiter struct {
	mu    sync.Mutex
	rate  float64
	next  time.Time
	sleep func(time.Duration)
}

// NewRateLimiter returns a limiter of perSecond units; nil if perSecond <= 0.
func NewRateLimiter(perSecond float64) *RateLimiter {
	if perSecond <= 0 {
		return nil
	}
	return &RateLimiter{rate: perSecond, sleep: time.Sleep}
}

// Wait blocks until n more units fit under the rate. Safe on a nil limiter.
func (l *RateLimiter) Wait(n int) {
	if l == nil || n <= 0 {
		return
	}
	l.mu.Lock()
	now := time.Now()
	if l.next.Before(now) {
		l.next = now
	}
	at := l.next
	l.next = l.next.Add(time.Duration(float64(n) / l.rate * float64(time.Second)))
	l.mu.Unlock()
	if d := time.Until(at); d > 0 {
		l.sleep(d)
	}
}
