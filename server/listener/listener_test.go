package listener

import (
	"bufio"
	"context"
	"crypto/md5"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

// upload answers with the MD5 of the streamed request body.
func upload(ctx *fasthttp.RequestCtx) {
	h := md5.New()
	if _, err := io.Copy(h, ctx.RequestBodyStream()); err != nil {
		ctx.SetStatusCode(499)
		return
	}
	ctx.SetBodyString(hex.EncodeToString(h.Sum(nil)))
}

func newServer() *fasthttp.Server {
	return &fasthttp.Server{Handler: upload, StreamRequestBody: true, MaxRequestBodySize: 1 << 20}
}

// serve opens a listener with lim on loopback and serves a streaming
// upload handler on it until the test ends.
func serve(t *testing.T, lim Limits, tc *tls.Config) *Listener {
	t.Helper()
	l, err := Open("test", "127.0.0.1:0", lim, tc, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- l.Serve(ctx, newServer()) }()
	t.Cleanup(func() { cancel(); <-done })
	return l
}

// closedWithin reports whether the server closes c within d (reading
// whatever it sends first, such as a 408).
func closedWithin(c net.Conn, d time.Duration) bool {
	c.SetReadDeadline(time.Now().Add(d))
	_, err := io.Copy(io.Discard, c)
	return err == nil || !errors.Is(err, os.ErrDeadlineExceeded)
}

var testLimits = Limits{HeaderTimeout: 500 * time.Millisecond, ClientTimeout: time.Second, KeepaliveTimeout: time.Second, MaxClients: 100}

// A client trickling its header (slowloris) is cut at the header timeout
// however steadily it trickles.
func TestSlowHeaderClosed(t *testing.T) {
	t.Parallel()
	l := serve(t, testLimits, nil)
	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	start := time.Now()
	c.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n"))
	go func() {
		for i := 0; i < 40; i++ {
			time.Sleep(100 * time.Millisecond)
			if _, err := fmt.Fprintf(c, "X-%d: y\r\n", i); err != nil {
				return
			}
		}
	}()
	if !closedWithin(c, 3*time.Second) {
		t.Fatal("a trickled header was not cut")
	}
	if el := time.Since(start); el < 400*time.Millisecond || el > 3*time.Second {
		t.Fatalf("cut after %v, want about the 500ms header timeout", el)
	}
}

// An upload sent slowly but steadily for many header and client timeouts
// completes; one that stalls is cut after the client timeout.
func TestSlowBodyContinuesStalledBodyEnds(t *testing.T) {
	t.Parallel()
	l := serve(t, testLimits, nil)
	const size, chunk = 1 << 20 * 3, 64 << 10
	body := strings.Repeat("z", size)
	pr, pw := io.Pipe()
	go func() {
		for off := 0; off < size; off += chunk {
			time.Sleep(3500 * time.Millisecond / (size / chunk)) // 3.5 s in all
			pw.Write([]byte(body[off : off+chunk]))
		}
		pw.Close()
	}()
	req, _ := http.NewRequest("PUT", "http://"+l.Addr().String()+"/o", pr)
	req.ContentLength = size
	start := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	sum := md5.Sum([]byte(body))
	if resp.StatusCode != 200 || string(got) != hex.EncodeToString(sum[:]) {
		t.Fatalf("slow upload: %d %s", resp.StatusCode, got)
	}
	if el := time.Since(start); el < 3*time.Second {
		t.Fatalf("the upload took %v: not slower than the timeouts", el)
	}

	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "PUT /o HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n", size)
	c.Write([]byte(body[:2<<20])) // more than fasthttp buffers: the handler streams, then waits
	start = time.Now()
	if !closedWithin(c, 4*time.Second) {
		t.Fatal("a stalled upload was not cut")
	}
	if el := time.Since(start); el < 700*time.Millisecond {
		t.Fatalf("stalled upload cut after %v, before the 1s client timeout", el)
	}
}

// An idle keep-alive connection is closed after the keep-alive timeout.
func TestKeepaliveIdleClosed(t *testing.T) {
	t.Parallel()
	lim := testLimits
	lim.KeepaliveTimeout = 700 * time.Millisecond
	lim.HeaderTimeout = 5 * time.Second
	l := serve(t, lim, nil)
	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte("PUT / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\nz"))
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("request: %v %v", resp, err)
	}
	io.Copy(io.Discard, resp.Body)
	start := time.Now()
	c.SetReadDeadline(time.Now().Add(4 * time.Second))
	if _, err := br.ReadByte(); !errors.Is(err, io.EOF) {
		t.Fatalf("idle keep-alive connection: %v, want closed", err)
	}
	if el := time.Since(start); el < 500*time.Millisecond || el > 3*time.Second {
		t.Fatalf("closed after %v, want about 700ms", el)
	}
}

// Connections over the cap are refused at once with a 503; once the
// holders go, new clients are served.
func TestConnectionCap(t *testing.T) {
	t.Parallel()
	lim := testLimits
	lim.MaxClients = 4
	lim.HeaderTimeout = 10 * time.Second
	l := serve(t, lim, nil)
	var held []net.Conn
	for range 4 {
		c, err := net.Dial("tcp", l.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, c)
	}
	for deadline := time.Now().Add(3 * time.Second); l.OpenConns() < 4 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(3 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	c.Close()
	if !strings.HasPrefix(line, "HTTP/1.1 503") || l.RefusedConns() != 1 {
		t.Fatalf("over the cap: %q %v, want a 503; %d refused", line, err, l.RefusedConns())
	}
	for _, h := range held {
		h.Close()
	}
	for deadline := time.Now().Add(3 * time.Second); l.OpenConns() > 0 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	resp, err := http.Post("http://"+l.Addr().String()+"/", "text/plain", strings.NewReader("a"))
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("after the holders left: %v %v", resp, err)
	}
	resp.Body.Close()
}

// flaky fails its first accepts with errno, as accept4 does when the
// process is out of file descriptors.
type flaky struct {
	net.Listener
	fails int
	errno syscall.Errno
}

func (f *flaky) Accept() (net.Conn, error) {
	if f.fails > 0 {
		f.fails--
		return nil, &net.OpError{Op: "accept", Net: "tcp", Err: os.NewSyscallError("accept4", f.errno)}
	}
	return f.Listener.Accept()
}

// EMFILE and ENFILE from accept are waited out; fasthttp alone stops
// serving for good on them.
func TestAcceptBacksOffOnFDExhaustion(t *testing.T) {
	t.Parallel()
	for _, errno := range []syscall.Errno{syscall.EMFILE, syscall.ENFILE} {
		raw, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		g := &guarded{Listener: &flaky{Listener: raw, fails: 6, errno: errno}, name: "test", lim: testLimits, closed: make(chan struct{})}
		l := &Listener{Name: "test", lim: testLimits, guard: g, ln: g}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- l.Serve(ctx, newServer()) }()
		start := time.Now()
		resp, err := http.Post("http://"+raw.Addr().String()+"/", "text/plain", strings.NewReader("a"))
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("%v: request: %v %v", errno, resp, err)
		}
		resp.Body.Close()
		// 5+10+20+40+80+160 ms of pauses.
		if el := time.Since(start); el < 300*time.Millisecond {
			t.Errorf("%v: served after %v: no back-off", errno, el)
		}
		if n := l.AcceptRetries(); n != 6 {
			t.Errorf("%v: %d accept retries counted, want 6", errno, n)
		}
		select {
		case err := <-done:
			t.Fatalf("%v: Serve returned %v", errno, err)
		default:
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatalf("%v: shutdown: %v", errno, err)
		}
	}
}

// A permanent accept error ends Serve, so serve can exit.
func TestPermanentAcceptErrorEndsServe(t *testing.T) {
	t.Parallel()
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	g := &guarded{Listener: &flaky{Listener: raw, fails: 1, errno: syscall.EINVAL}, name: "test", lim: testLimits, closed: make(chan struct{})}
	l := &Listener{Name: "test", lim: testLimits, guard: g, ln: g}
	done := make(chan error, 1)
	go func() { done <- l.Serve(context.Background(), newServer()) }()
	select {
	case err := <-done:
		if !errors.Is(err, syscall.EINVAL) {
			t.Fatalf("Serve: %v, want EINVAL", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve kept running after a permanent accept error")
	}
}

// The self-signed certificate is made once (key 0600 in a 0700 folder),
// reused, covers the names asked for, and serves TLS to a client that
// trusts it as its CA; Reload swaps in a replaced pair for new handshakes.
func TestSelfSignedAndReload(t *testing.T) {
	t.Parallel()
	state := t.TempDir()
	c, created, _, err := SelfSigned(state, []string{"localhost", "127.0.0.1", "box.example"})
	if err != nil || !created {
		t.Fatalf("SelfSigned: %v %v", created, err)
	}
	for path, want := range map[string]os.FileMode{filepath.Join(state, "tls"): 0o700 | os.ModeDir, c.KeyFile: 0o600} {
		if fi, err := os.Stat(path); err != nil || fi.Mode() != want {
			t.Errorf("%s: %v %v, want %v", path, fi.Mode(), err, want)
		}
	}
	os.Chmod(c.KeyFile, 0o644)
	os.Chmod(filepath.Join(state, "tls"), 0o755)
	again, created, missing, err := SelfSigned(state, []string{"localhost", "other.example"})
	if err != nil || created || again.Fingerprint() != c.Fingerprint() {
		t.Fatalf("second SelfSigned: created %v, %v; fingerprints %s %s", created, err, again.Fingerprint(), c.Fingerprint())
	}
	if len(missing) != 1 || missing[0] != "other.example" {
		t.Errorf("missing names: %v", missing)
	}
	for path, want := range map[string]os.FileMode{filepath.Join(state, "tls"): 0o700 | os.ModeDir, c.KeyFile: 0o600} {
		if fi, err := os.Stat(path); err != nil || fi.Mode() != want {
			t.Errorf("after reuse %s: %v %v, want %v", path, fi.Mode(), err, want)
		}
	}

	l := serve(t, testLimits, c.Config())
	if l.Scheme() != "https" {
		t.Fatalf("scheme %s", l.Scheme())
	}
	peer := func() string {
		t.Helper()
		pool := x509.NewCertPool()
		raw, _ := os.ReadFile(c.CertFile)
		pool.AppendCertsFromPEM(raw)
		hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
		resp, err := hc.Post("https://localhost:"+portOf(l)+"/", "text/plain", strings.NewReader("a"))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != 200 || resp.TLS.NegotiatedProtocol != "" && resp.TLS.NegotiatedProtocol != "http/1.1" {
			t.Fatalf("%d %q", resp.StatusCode, resp.TLS.NegotiatedProtocol)
		}
		return Fingerprint(resp.TLS.PeerCertificates[0].Raw)
	}
	first := peer()
	if first != c.Fingerprint() {
		t.Fatalf("served %s, want %s", first, c.Fingerprint())
	}
	certPEM, keyPEM, err := makeSelfSigned([]string{"localhost"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(c.CertFile, certPEM, 0o644)
	os.WriteFile(c.KeyFile, keyPEM, 0o600)
	if err := c.Reload(); err != nil {
		t.Fatal(err)
	}
	if second := peer(); second == first || second != c.Fingerprint() {
		t.Fatalf("after Reload served %s (before %s)", second, first)
	}
	os.WriteFile(c.KeyFile, []byte("garbage"), 0o600)
	if err := c.Reload(); err == nil {
		t.Fatal("Reload of a broken key succeeded")
	}
	if got := peer(); got != c.Fingerprint() {
		t.Fatal("a failed Reload changed the certificate")
	}
}

func portOf(l *Listener) string {
	_, p, _ := net.SplitHostPort(l.Addr().String())
	return p
}

// Over TLS the same limits hold below the TLS layer: a client that never
// finishes its handshake is cut at the header timeout, and a slow steady
// upload still completes.
func TestTLSStalledHandshakeAndSlowUpload(t *testing.T) {
	t.Parallel()
	c, _, _, err := SelfSigned(t.TempDir(), []string{"127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	l := serve(t, testLimits, c.Config())
	raw, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	start := time.Now()
	if !closedWithin(raw, 3*time.Second) {
		t.Fatal("a silent TLS client was not cut")
	}
	if el := time.Since(start); el < 400*time.Millisecond {
		t.Fatalf("cut after %v, before the header timeout", el)
	}

	pool := x509.NewCertPool()
	pem, _ := os.ReadFile(c.CertFile)
	pool.AppendCertsFromPEM(pem)
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	const size, chunk = 1 << 20, 32 << 10
	body := strings.Repeat("t", size)
	pr, pw := io.Pipe()
	go func() {
		for off := 0; off < size; off += chunk {
			time.Sleep(2500 * time.Millisecond / (size / chunk))
			pw.Write([]byte(body[off : off+chunk]))
		}
		pw.Close()
	}()
	req, _ := http.NewRequest("PUT", "https://127.0.0.1:"+portOf(l)+"/o", pr)
	req.ContentLength = size
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	sum := md5.Sum([]byte(body))
	if resp.StatusCode != 200 || string(got) != hex.EncodeToString(sum[:]) {
		t.Fatalf("slow TLS upload: %d %s", resp.StatusCode, got)
	}
}

// Why the connection times bodies itself: fasthttp's ReadTimeout is one
// deadline from a request's first byte, never moved while the handler
// streams the body (StreamRequestBody), so on its own it cuts any upload
// longer than it, however steady.
func TestFasthttpReadTimeoutCutsStreamedUploads(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := newServer()
	srv.ReadTimeout = 500 * time.Millisecond
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Shutdown() })
	const size, chunk = 3 << 20, 64 << 10
	pr, pw := io.Pipe()
	go func() {
		defer pw.Close()
		for off := 0; off < size; off += chunk {
			time.Sleep(1500 * time.Millisecond / (size / chunk))
			if _, err := pw.Write(make([]byte, chunk)); err != nil {
				return
			}
		}
	}()
	req, _ := http.NewRequest("PUT", "http://"+ln.Addr().String()+"/o", pr)
	req.ContentLength = size
	resp, err := http.DefaultClient.Do(req)
	if err == nil {
		resp.Body.Close()
		if resp.StatusCode == 200 {
			t.Fatal("fasthttp's ReadTimeout no longer cuts a long streamed upload: the listener's body timing may be simplified")
		}
	}
}

// A client that stops reading a large response is dropped after the client
// timeout: the write waiting for it fails, and its connection is closed.
func TestStalledReaderDropped(t *testing.T) {
	t.Parallel()
	l, err := Open("test", "127.0.0.1:0", testLimits, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) {
		ctx.SetBodyStream(io.LimitReader(zeros{}, 1<<30), 1<<30)
	}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- l.Serve(ctx, srv) }()
	t.Cleanup(func() { cancel(); <-done })
	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.(*net.TCPConn).SetReadBuffer(64 << 10)
	c.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
	for deadline := time.Now().Add(3 * time.Second); l.OpenConns() == 0 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	start := time.Now()
	for deadline := time.Now().Add(10 * time.Second); l.OpenConns() > 0; {
		if time.Now().After(deadline) {
			t.Fatal("a client that stopped reading still holds its connection")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if el := time.Since(start); el < 700*time.Millisecond {
		t.Fatalf("dropped after %v, before the 1 s client timeout", el)
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }
