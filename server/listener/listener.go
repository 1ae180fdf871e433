// Package listener opens swiftbox's TCP listeners and hardens them against
// slow, idle and flooding clients: accept errors that pass (EMFILE, ENFILE…)
// back off and retry, each listener caps its connections, and every
// connection has a header timeout, a body-idle timeout, a keep-alive idle
// timeout and a write-idle timeout. It also serves TLS when asked.
package listener

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/valyala/fasthttp"
)

// Limits are the per-listener limits; they follow Swift's [DEFAULT]
// options where Swift has one.
type Limits struct {
	// HeaderTimeout bounds a request's header: from the connection's
	// opening (TLS handshake included) or from a request's first byte.
	HeaderTimeout time.Duration
	// ClientTimeout is the longest wait for the next bytes of a request
	// body, or for the client to take response bytes (Swift's
	// client_timeout). It bounds stalls, never a transfer's total time.
	ClientTimeout time.Duration
	// KeepaliveTimeout closes a keep-alive connection idle between requests.
	KeepaliveTimeout time.Duration
	// KeepIdle is the TCP keep-alive idle time (Swift's keep_idle); 0 = off.
	KeepIdle time.Duration
	// MaxClients caps the listener's open connections; more are refused
	// at once (Swift's max_clients). 0 = no cap.
	MaxClients int
}

// Listener is one hardened listener, serving plain HTTP or TLS.
type Listener struct {
	// Name says which listener this is in errors and logs ("API", "S3"…).
	Name  string
	lim   Limits
	guard *guarded
	ln    net.Listener // guard, or TLS over guard
}

// Open listens on addr. tlsConf, when set, makes it a TLS listener; the
// connection cap and the timeouts then hold below TLS, so a stalled
// handshake counts against the header timeout.
func Open(name, addr string, lim Limits, tlsConf *tls.Config, log *slog.Logger) (*Listener, error) {
	lc := net.ListenConfig{KeepAlive: -1}
	if lim.KeepIdle > 0 {
		lc.KeepAliveConfig = net.KeepAliveConfig{Enable: true, Idle: lim.KeepIdle}
	}
	raw, err := lc.Listen(context.Background(), "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("%s listener: cannot listen on %s: %w", name, addr, err)
	}
	g := &guarded{Listener: raw, name: name, lim: lim, log: log, closed: make(chan struct{}), tls: tlsConf != nil}
	l := &Listener{Name: name, lim: lim, guard: g, ln: g}
	if tlsConf != nil {
		l.ln = tls.NewListener(g, tlsConf)
	}
	return l, nil
}

// Addr is the address the listener is bound to.
func (l *Listener) Addr() net.Addr { return l.ln.Addr() }

// Scheme is "https" for a TLS listener, else "http".
func (l *Listener) Scheme() string {
	if l.guard.tls {
		return "https"
	}
	return "http"
}

// Close closes the listener without serving it.
func (l *Listener) Close() error { return l.ln.Close() }

// OpenConns is how many connections are open now.
func (l *Listener) OpenConns() int { return int(l.guard.open.Load()) }

// RefusedConns counts connections refused over the cap.
func (l *Listener) RefusedConns() uint64 { return l.guard.refused.Load() }

// AcceptRetries counts accepts retried after a temporary error.
func (l *Listener) AcceptRetries() uint64 { return l.guard.retries.Load() }

// bodyPhase is the read timeout HeaderReceived hands fasthttp once a
// request's header is in: fasthttp sets it as a deadline, and the
// connection takes any deadline that far ahead as "the header is done,
// time the body by the wait between reads" instead.
const bodyPhase = 1 << 62

// farFuture is how far ahead a deadline must be to mean bodyPhase.
const farFuture = 100 * 365 * 24 * time.Hour

// configure sets srv's timeouts for l: fasthttp's ReadTimeout is the
// header timeout (it arms it when a connection opens and at a request's
// first byte), IdleTimeout the keep-alive one; body and write stalls are
// timed by the connection itself, since fasthttp's own timeouts bound a
// whole transfer and would cut long uploads and downloads.
func (l *Listener) configure(srv *fasthttp.Server) {
	srv.ReadTimeout = l.lim.HeaderTimeout
	srv.IdleTimeout = l.lim.KeepaliveTimeout
	srv.WriteTimeout = 0
	if l.lim.MaxClients > 0 {
		// The cap is the listener's; fasthttp's own limit must never be
		// the one that refuses.
		srv.Concurrency = 2 * l.lim.MaxClients
	}
	prev := srv.HeaderReceived
	srv.HeaderReceived = func(h *fasthttp.RequestHeader) fasthttp.RequestConfig {
		var rc fasthttp.RequestConfig
		if prev != nil {
			rc = prev(h)
		}
		if rc.ReadTimeout == 0 {
			rc.ReadTimeout = bodyPhase
		}
		return rc
	}
}

// Serve runs srv on l until ctx ends, then shuts down gracefully (requests
// in flight get up to 30 s). It returns when srv stops serving, whatever
// the reason: the caller decides whether that was expected.
func (l *Listener) Serve(ctx context.Context, srv *fasthttp.Server) error {
	l.configure(srv)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(l.ln) }()
	select {
	case err := <-errc:
		l.ln.Close()
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := srv.ShutdownWithContext(sctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return nil
}

// guarded is the TCP listener with accept back-off and the connection cap.
type guarded struct {
	net.Listener
	name string
	lim  Limits
	log  *slog.Logger
	tls  bool

	open      atomic.Int64
	refused   atomic.Uint64
	retries   atomic.Uint64
	closed    chan struct{}
	closeOnce sync.Once

	mu         sync.Mutex
	lastWarn   time.Time
	suppressed int
}

// Accept returns the next connection. Temporary accept errors (out of file
// descriptors, out of buffers) are retried after a pause that starts at
// 5 ms and doubles up to 1 s, as net/http does: fasthttp would stop
// accepting for good on them. Connections over the cap are refused.
func (g *guarded) Accept() (net.Conn, error) {
	var delay time.Duration
	for {
		c, err := g.Listener.Accept()
		if err != nil {
			if !temporary(err) {
				return nil, err
			}
			delay = min(max(2*delay, 5*time.Millisecond), time.Second)
			g.retries.Add(1)
			g.warn("accept failed; retrying", "err", err, "retry_in", delay)
			select {
			case <-time.After(delay):
				continue
			case <-g.closed:
				return nil, net.ErrClosed
			}
		}
		delay = 0
		if g.lim.MaxClients > 0 && g.open.Load() >= int64(g.lim.MaxClients) {
			g.refuse(c)
			continue
		}
		g.open.Add(1)
		return newConn(c, g), nil
	}
}

// Close stops accepting; a back-off pause in Accept ends at once.
func (g *guarded) Close() error {
	g.closeOnce.Do(func() { close(g.closed) })
	return g.Listener.Close()
}

// refuse closes a connection over the cap, telling a plain-HTTP client
// why (a TLS client gets no readable answer before its handshake).
func (g *guarded) refuse(c net.Conn) {
	g.refused.Add(1)
	g.warn("connection cap reached; refusing connections", "max_clients", g.lim.MaxClients)
	if !g.tls {
		c.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
		c.Write([]byte("HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\nRetry-After: 1\r\n\r\n"))
	}
	c.Close()
}

// warn logs at most once every 10 s per listener, counting what it skipped.
func (g *guarded) warn(msg string, args ...any) {
	if g.log == nil {
		return
	}
	g.mu.Lock()
	now := time.Now()
	if now.Sub(g.lastWarn) < 10*time.Second {
		g.suppressed++
		g.mu.Unlock()
		return
	}
	n := g.suppressed
	g.lastWarn, g.suppressed = now, 0
	g.mu.Unlock()
	g.log.Warn(g.name+" listener: "+msg, append(args, "addr", g.Addr().String(), "similar_suppressed", n)...)
}

// temporary reports whether an accept error passes by itself: the
// process or system is out of file descriptors or memory, or one pending
// connection failed.
func temporary(err error) bool {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		switch errno {
		case syscall.EMFILE, syscall.ENFILE, syscall.ENOBUFS, syscall.ENOMEM,
			syscall.ECONNABORTED, syscall.ECONNRESET, syscall.EINTR, syscall.EAGAIN,
			syscall.EPROTO, syscall.EPERM, syscall.ETIMEDOUT:
			return true
		}
		return false
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// conn times a connection's stalls. While fasthttp reads a header or waits
// for the next request, its absolute deadlines hold; once a header is in
// (bodyPhase), each read may wait at most ClientTimeout for its bytes, so
// a stalled upload ends while a slow steady one continues. Each write may
// wait at most ClientTimeout for the client to take bytes.
type conn struct {
	net.Conn
	g     *guarded
	idle  time.Duration
	rearm time.Duration // deadlines are moved at most this often

	rmu      sync.Mutex
	bodyMode bool
	rArmed   time.Time

	wmu    sync.Mutex
	wFixed bool // someone set an explicit write deadline
	wArmed time.Time

	closeOnce sync.Once
}

func newConn(c net.Conn, g *guarded) *conn {
	idle := g.lim.ClientTimeout
	return &conn{Conn: c, g: g, idle: idle, rearm: min(time.Second, idle/4)}
}

func (c *conn) Read(p []byte) (int, error) {
	c.rmu.Lock()
	if c.bodyMode && c.idle > 0 {
		if now := time.Now(); now.Sub(c.rArmed) >= c.rearm {
			if err := c.Conn.SetReadDeadline(now.Add(c.idle)); err != nil {
				c.rmu.Unlock()
				return 0, err
			}
			c.rArmed = now
		}
	}
	c.rmu.Unlock()
	return c.Conn.Read(p)
}

func (c *conn) Write(p []byte) (int, error) {
	c.wmu.Lock()
	if !c.wFixed && c.idle > 0 {
		if now := time.Now(); now.Sub(c.wArmed) >= c.rearm {
			if err := c.Conn.SetWriteDeadline(now.Add(c.idle)); err != nil {
				c.wmu.Unlock()
				return 0, err
			}
			c.wArmed = now
		}
	}
	c.wmu.Unlock()
	return c.Conn.Write(p)
}

func (c *conn) SetReadDeadline(t time.Time) error {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	if !t.IsZero() && time.Until(t) > farFuture {
		c.bodyMode, c.rArmed = true, time.Time{} // armed by the next Read
		if c.idle > 0 {
			return nil
		}
		return c.Conn.SetReadDeadline(time.Time{})
	}
	c.bodyMode = false
	return c.Conn.SetReadDeadline(t)
}

func (c *conn) SetWriteDeadline(t time.Time) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.wFixed, c.wArmed = !t.IsZero(), time.Time{}
	return c.Conn.SetWriteDeadline(t)
}

func (c *conn) SetDeadline(t time.Time) error {
	if err := c.SetReadDeadline(t); err != nil {
		return err
	}
	return c.SetWriteDeadline(t)
}

func (c *conn) Close() error {
	c.closeOnce.Do(func() { c.g.open.Add(-1) })
	return c.Conn.Close()
}
