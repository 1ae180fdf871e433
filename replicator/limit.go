// Package replicator keeps every replica of objects, containers and
// accounts in place and current, as Swift's replicators do: per partition
// it compares each local replica with its peers (suffix hashes for
// objects, row change logs for databases), pushes what a peer lacks, and
// moves handoff partitions home.
package replicator

import (
	"context"
	"sync"
	"time"

	"swiftbox/storage"
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
	if l == nil {
		return
	}
	l.waitWith(n, l.sleep)
}

func (l *RateLimiter) waitWith(n int, sleep func(time.Duration)) {
	if n <= 0 {
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
		sleep(d)
	}
}

// Bind returns a Limiter whose waits end early when ctx ends, so a paced
// pass stops promptly at shutdown. nil when l is nil (unlimited).
func (l *RateLimiter) Bind(ctx context.Context) storage.Limiter {
	if l == nil {
		return nil
	}
	return boundLimiter{l, ctx}
}

type boundLimiter struct {
	l   *RateLimiter
	ctx context.Context
}

func (b boundLimiter) Wait(n int) {
	if b.ctx.Err() != nil {
		return
	}
	b.l.waitWith(n, func(d time.Duration) {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
		case <-b.ctx.Done():
		}
	})
}
