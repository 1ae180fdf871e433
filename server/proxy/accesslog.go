package proxy

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"swiftbox/server/pyfmt"
)

// AccessLog writes one line per request in Swift's proxy-logging format
// (its default log_msg_template) to a file or stdout. Lines are buffered
// and flushed every second and on Close.
type AccessLog struct {
	mu     sync.Mutex
	w      *bufio.Writer
	closer io.Closer
	path   string // the file, for Reopen ("" when not a file)
	stop   chan struct{}
	done   chan struct{}
	// RevealSensitivePrefix is how many characters of a token are logged
	// before "..." (Swift's reveal_sensitive_prefix).
	RevealSensitivePrefix int
	// Headers logs the request headers (Swift's access_log_headers).
	Headers bool
}

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

// Reopen flushes and reopens the log file, so logrotate can move it away
// and signal serve (SIGHUP). A log on stdout is left as it is.
func (l *AccessLog) Reopen() error {
	if l == nil || l.path == "" {
		return nil
	}
	f, err := openLogFile(l.path)
	if err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.w.Flush()
	old := l.closer
	l.w.Reset(f)
	l.closer = f
	if old != nil {
		return old.Close()
	}
	return nil
}

// NewAccessLog logs to w; closer (may be nil) is closed by Close.
func NewAccessLog(w io.Writer, closer io.Closer) *AccessLog {
	l := &AccessLog{w: bufio.NewWriterSize(w, 64<<10), closer: closer, stop: make(chan struct{}), done: make(chan struct{}),
		RevealSensitivePrefix: 16}
	go l.flusher()
	return l
}

func (l *AccessLog) flusher() {
	defer close(l.done)
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-t.C:
			l.Flush()
		}
	}
}

// Flush writes out buffered lines.
func (l *AccessLog) Flush() {
	l.mu.Lock()
	l.w.Flush()
	l.mu.Unlock()
}

// Close flushes and closes the log.
func (l *AccessLog) Close() error {
	close(l.stop)
	<-l.done
	l.mu.Lock()
	defer l.mu.Unlock()
	err := l.w.Flush()
	if l.closer != nil {
		if cerr := l.closer.Close(); err == nil {
			err = cerr
		}
	}
	return err
}

// AccessEntry is what one access log line says, in Swift's field order.
type AccessEntry struct {
	ClientIP, RemoteAddr  string
	Method, Path          string // Path is Swift's path_qs: quoted path and query
	Protocol              string
	Status                int
	Referer, UserAgent    string
	AuthToken             string // as sent; obscured when written
	BytesRecvd, BytesSent int64
	ClientEtag, TransID   string
	Headers               string // "Name: value" lines, when header logging is on
	Source, LogInfo       string
	Start, End            time.Time
	PolicyIndex           string
}

// Write logs e as one line.
func (l *AccessLog) Write(e *AccessEntry) {
	if l == nil {
		return
	}
	line := FormatAccessLine(e, l.RevealSensitivePrefix)
	l.mu.Lock()
	l.w.WriteString(line)
	l.w.WriteByte('\n')
	l.mu.Unlock()
}

// FormatAccessLine renders e with Swift's default log_msg_template:
// every field is URL-quoted (safe ":/{}"), empty or zero fields are "-",
// the token keeps its first reveal characters followed by "...".
func FormatAccessLine(e *AccessEntry, reveal int) string {
	token := e.AuthToken
	if reveal >= 0 && len(token) > reveal {
		token = token[:reveal] + "..."
	}
	num := func(n int64) string {
		if n == 0 {
			return ""
		}
		return strconv.FormatInt(n, 10)
	}
	fields := []string{
		e.ClientIP, e.RemoteAddr, e.End.UTC().Format("02/Jan/2006/15/04/05"),
		e.Method, e.Path, e.Protocol, strconv.Itoa(e.Status), e.Referer, e.UserAgent,
		token, num(e.BytesRecvd), num(e.BytesSent), e.ClientEtag, e.TransID, e.Headers,
		fmt.Sprintf("%.4f", e.End.Sub(e.Start).Seconds()), e.Source, e.LogInfo,
		unixNanoString(e.Start), unixNanoString(e.End), e.PolicyIndex,
	}
	var b strings.Builder
	for i, f := range fields {
		if i > 0 {
			b.WriteByte(' ')
		}
		if f == "" {
			b.WriteByte('-')
			continue
		}
		b.WriteString(pyfmt.QuoteSafe(f, ":/{}"))
	}
	return b.String()
}

// unixNanoString is Swift's StrFormatTime: "%.9f" seconds since the epoch.
func unixNanoString(t time.Time) string {
	ns := t.UnixNano()
	return fmt.Sprintf("%d.%09d", ns/1e9, ns%1e9)
}
