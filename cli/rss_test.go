package cli_test

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// sampleRSS polls the process's resident set until the returned func is
// called, which returns the peak in MiB.
func sampleRSS(pid int) func() float64 {
	var mu sync.Mutex
	peak := 0.0
	stop := every(50*time.Millisecond, func() {
		if v := rssMiB(pid); v > 0 {
			mu.Lock()
			peak = max(peak, v)
			mu.Unlock()
		}
	})
	return func() float64 {
		stop()
		mu.Lock()
		defer mu.Unlock()
		return peak
	}
}

// every calls f every d until the returned func is called, which returns
// once f no longer runs.
func every(d time.Duration, f func()) (stop func()) {
	done, finished := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(finished)
		tk := time.NewTicker(d)
		defer tk.Stop()
		for {
			select {
			case <-done:
				return
			case <-tk.C:
				f()
			}
		}
	}()
	return func() { close(done); <-finished }
}

func rssMiB(pid int) float64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 64)
			return kb / 1024
		}
	}
	return 0
}

// cpuSample is a process's CPU time (user+system) at a moment.
type cpuSample struct {
	at  time.Time
	cpu time.Duration
}

// sampleCPU records pid's CPU time every 50 ms until the returned func
// is called, which returns the samples.
func sampleCPU(pid int) func() []cpuSample {
	var mu sync.Mutex
	var samples []cpuSample
	take := func() {
		if c, ok := cpuTime(pid); ok {
			mu.Lock()
			samples = append(samples, cpuSample{time.Now(), c})
			mu.Unlock()
		}
	}
	take()
	stop := every(50*time.Millisecond, take)
	return func() []cpuSample {
		stop()
		take()
		mu.Lock()
		defer mu.Unlock()
		return samples
	}
}

// cpuBetween is the CPU time used from the last sample at or before from
// to the first at or after to (the samples' own resolution).
func cpuBetween(samples []cpuSample, from, to time.Time) time.Duration {
	var a, b *cpuSample
	for i := range samples {
		if !samples[i].at.After(from) {
			a = &samples[i]
		}
		if b == nil && !samples[i].at.Before(to) {
			b = &samples[i]
		}
	}
	if a == nil && len(samples) > 0 {
		a = &samples[0]
	}
	if b == nil && len(samples) > 0 {
		b = &samples[len(samples)-1]
	}
	if a == nil || b == nil {
		return 0
	}
	return b.cpu - a.cpu
}

// cpuTime is pid's user+system CPU time from /proc/PID/stat.
func cpuTime(pid int) (time.Duration, bool) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, false
	}
	// The fields after the command (which may hold spaces) in parentheses.
	_, rest, ok := strings.Cut(string(raw), ") ")
	f := strings.Fields(rest)
	if !ok || len(f) < 13 {
		return 0, false
	}
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	const clockTicks = 100 // USER_HZ on Linux
	return time.Duration(utime+stime) * time.Second / clockTicks, true
}
