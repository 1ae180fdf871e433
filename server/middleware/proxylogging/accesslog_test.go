package proxylogging_test

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"swiftbox/server/middleware/proxylogging"
)

// Lines logged from many requests at once all reach the file, whole and
// once each, by Close; more than the writer's buffers hold in between.
func TestAccessLogKeepsEveryLine(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "access.log")
	l, err := proxylogging.OpenAccessLog(path)
	if err != nil {
		t.Fatal(err)
	}
	const writers, each = 8, 3000
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				l.Write(&proxylogging.AccessEntry{Method: []byte("GET"), Path: []byte(fmt.Sprintf("/w%d/%d", w, i)), Status: 200})
			}
		}()
	}
	wg.Wait()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimSuffix(string(raw), "\n"), "\n")
	seen := map[string]bool{}
	for _, line := range lines {
		f := strings.Split(line, " ")
		if len(f) != 21 || seen[f[4]] {
			t.Fatalf("bad or repeated line %q", line)
		}
		seen[f[4]] = true
	}
	if len(seen) != writers*each {
		t.Errorf("%d lines in the file, want %d", len(seen), writers*each)
	}
}

// A line reaches the file within about a second without a Flush.
func TestAccessLogWritesWithinASecond(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "access.log")
	l, err := proxylogging.OpenAccessLog(path)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	start := time.Now()
	l.Write(&proxylogging.AccessEntry{Method: []byte("HEAD"), Status: 204})
	for {
		if raw, _ := os.ReadFile(path); strings.Contains(string(raw), " HEAD ") {
			break
		}
		if time.Since(start) > 3*time.Second {
			t.Fatal("the line was not written 3 s later")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// flakyWriter fails while broken is set.
type flakyWriter struct {
	mu     sync.Mutex
	broken bool
	lines  int
}

func (w *flakyWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.broken {
		return 0, errors.New("no space left on device")
	}
	w.lines += strings.Count(string(p), "\n")
	return len(p), nil
}

// A log that cannot be written says so once, and once when it can again.
func TestAccessLogReportsWriteFailures(t *testing.T) {
	t.Parallel()
	w := &flakyWriter{broken: true}
	var logs strings.Builder
	l := proxylogging.NewAccessLog(w, nil)
	l.Log = slog.New(slog.NewTextHandler(&logs, nil))
	for range 3 {
		l.Write(&proxylogging.AccessEntry{Status: 200})
		l.Flush()
	}
	w.mu.Lock()
	w.broken = false
	w.mu.Unlock()
	l.Write(&proxylogging.AccessEntry{Status: 200})
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	out := logs.String()
	if strings.Count(out, "writing the access log failed") != 1 || strings.Count(out, "access log works again") != 1 ||
		!strings.Contains(out, "no space left") || w.lines != 1 {
		t.Errorf("%d lines written, logged:\n%s", w.lines, out)
	}
}
