package ratelimit

import (
	"context"
	"errors"
	"math"
	"testing"
	"time"
)

func TestMaxRate(t *testing.T) {
	lines := rateLines(map[int]float64{100: 100, 200: 50, 1000: 10})
	for size, want := range map[int64]float64{0: 0, 50: 0, 100: 100, 150: 75, 200: 50, 600: 30, 1000: 10, 5000: 10} {
		if got := maxRate(lines, size); math.Abs(got-want) > 1e-9 {
			t.Errorf("maxRate(%d) = %v, want %v", size, got, want)
		}
	}
}

func TestRateClock(t *testing.T) {
	var rc rateClock
	now := time.Unix(1700000000, 0)
	// 10/s: the first requests go at once (buffer), then each waits its turn.
	var total time.Duration
	for i := 0; i < 20; i++ {
		d, err := rc.sleepFor("k", 10, 1000, 5, 60, now)
		if err != nil {
			t.Fatal(err)
		}
		total += d
	}
	if total == 0 || total > 20*time.Second {
		t.Errorf("total sleep %v", total)
	}
	// A tiny max sleep is hit at once by a backlog.
	var err error
	for i := 0; i < 100 && err == nil; i++ {
		_, err = rc.sleepFor("k2", 1, 1000, 5, 2, now)
	}
	if !errors.Is(err, errMaxSleep) {
		t.Errorf("max sleep not hit: %v", err)
	}
}

// A wait ends with the request's context (a shutdown), not after it.
func TestSleepEndsWithContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	start := time.Now()
	if err := sleep(ctx, time.Hour); !errors.Is(err, context.Canceled) {
		t.Errorf("sleep: %v", err)
	}
	if time.Since(start) > time.Second {
		t.Errorf("slept %v", time.Since(start))
	}
	if err := sleep(context.Background(), time.Millisecond); err != nil {
		t.Errorf("sleep: %v", err)
	}
}
