package proxylogging

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"time"
)

// AccessLog writes one line per request in Swift's proxy-logging format
// (its default log_msg_template) to a file or stdout. A request only
// appends its line to a buffer in memory; a writer goroutine writes the
// buffer out every second, sooner once it holds flushAt bytes, and on
// Flush, Reopen and Close. No line is dropped: past maxPending bytes (the
// disk stalls) requests wait for the writer.
type AccessLog struct {
	mu      sync.Mutex
	pending []byte     // lines not yet handed to the writer
	space   *sync.Cond // on mu: pending shrank
	closed  bool

	wmu    sync.Mutex // held while writing out: orders the writes
	w      io.Writer
	closer io.Closer
	spare  []byte // the buffer the last write out emptied (under wmu)
	path   string // the file, for Reopen ("" when not a file)
	failed bool   // the last write out failed (under wmu)

	kick chan struct{}
	stop chan struct{}
	done chan struct{}
	// RevealSensitivePrefix is how many characters of a token are logged
	// before "..." (Swift's reveal_sensitive_prefix).
	RevealSensitivePrefix int
	// Headers logs the request headers (Swift's access_log_headers).
	Headers bool
	// Log, if set, is told when writing out starts and stops failing.
	Log *slog.Logger
}

const (
	// flushAt wakes the writer before its second is up, so a busy
	// server writes in blocks of about this size.
	flushAt = 64 << 10
	// maxPending bounds the memory the lines may hold while the writer
	// is stuck.
	maxPending = 8 << 20
	// flushEvery is the longest a line waits in memory: after a crash
	// every request answered longer ago is in the file.
	flushEvery = time.Second
)

// OpenAccessLog opens path for appending ("-" = stdout).
func OpenAccessLog(path string) (*AccessLog, error) {
	if path == "-" {
		return NewAccessLog(os.Stdout, nil), nil
	}
	f, err := openLogFile(path)
	if err != nil {
		return nil, err
	}
	l := NewAccessLog(f, f)
	l.path = path
	return l, nil
}

func openLogFile(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		return nil, fmt.Errorf("access log: %w", err)
	}
	return f, nil
}

// NewAccessLog logs to w; closer (may be nil) is closed by Close.
func NewAccessLog(w io.Writer, closer io.Closer) *AccessLog {
	l := &AccessLog{w: w, closer: closer, RevealSensitivePrefix: 16,
		kick: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	l.space = sync.NewCond(&l.mu)
	go l.writer()
	return l
}

func (l *AccessLog) writer() {
	defer close(l.done)
	t := time.NewTicker(flushEvery)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-t.C:
		case <-l.kick:
		}
		l.Flush()
	}
}

// Write logs e as one line.
func (l *AccessLog) Write(e *AccessEntry) {
	if l == nil {
		return
	}
	b := getBuf()
	*b = AppendLine((*b)[:0], e, l.RevealSensitivePrefix)
	l.append(*b)
	putBuf(b)
}

// append queues whole lines for the writer.
func (l *AccessLog) append(lines []byte) {
	l.mu.Lock()
	for len(l.pending) >= maxPending && !l.closed {
		l.space.Wait()
	}
	if l.closed {
		// Served after Close (it waits for nothing in flight): written
		// straight through rather than lost.
		l.mu.Unlock()
		l.wmu.Lock()
		l.w.Write(lines)
		l.wmu.Unlock()
		return
	}
	l.pending = append(l.pending, lines...)
	if len(l.pending) >= flushAt {
		select {
		case l.kick <- struct{}{}:
		default:
		}
	}
	l.mu.Unlock()
}

// Flush writes out the lines logged so far.
func (l *AccessLog) Flush() error {
	l.wmu.Lock()
	defer l.wmu.Unlock()
	return l.flushLocked()
}

// flushLocked swaps the pending lines for the spare buffer, so requests
// go on appending while the lines are written.
func (l *AccessLog) flushLocked() error {
	l.mu.Lock()
	buf := l.pending
	l.pending = l.spare[:0]
	l.space.Broadcast()
	l.mu.Unlock()
	var err error
	if len(buf) > 0 {
		_, err = l.w.Write(buf)
		l.noteFailure(err, len(buf))
	}
	if cap(buf) > 4*flushAt {
		buf = nil // a burst's buffer is not kept for good
	}
	l.spare = buf[:0]
	return err
}

// noteFailure logs the first of a run of failed writes out, and the
// first success after it.
func (l *AccessLog) noteFailure(err error, n int) {
	switch {
	case l.Log == nil || (err != nil) == l.failed:
	case err != nil:
		l.Log.Error("writing the access log failed: lines are lost until it works again", "path", l.path, "bytes", n, "err", err)
	default:
		l.Log.Info("writing the access log works again", "path", l.path)
	}
	l.failed = err != nil
}

// Reopen writes out the lines logged so far and reopens the log file, so
// logrotate can move it away and signal serve (SIGHUP). A log on stdout
// is left as it is.
func (l *AccessLog) Reopen() error {
	if l == nil || l.path == "" {
		return nil
	}
	f, err := openLogFile(l.path)
	if err != nil {
		return err
	}
	l.wmu.Lock()
	defer l.wmu.Unlock()
	l.flushLocked()
	old := l.closer
	l.w, l.closer = f, f
	if old != nil {
		return old.Close()
	}
	return nil
}

// Close writes out every line logged and closes the log. Lines logged
// after it are written straight to the log's writer.
func (l *AccessLog) Close() error {
	close(l.stop)
	<-l.done
	l.wmu.Lock()
	defer l.wmu.Unlock()
	err := l.flushLocked()
	l.mu.Lock()
	l.closed = true
	l.space.Broadcast()
	l.mu.Unlock()
	if err2 := l.flushLocked(); err == nil {
		err = err2
	}
	if l.closer != nil {
		if cerr := l.closer.Close(); err == nil {
			err = cerr
		}
	}
	return err
}

// bufPool holds the buffers lines are built in.
var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

func getBuf() *[]byte { return bufPool.Get().(*[]byte) }

func putBuf(b *[]byte) {
	if cap(*b) <= 64<<10 {
		bufPool.Put(b)
	}
}
