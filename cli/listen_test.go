package cli_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// takenAddr holds a loopback port open (taken) until the test ends.
func takenAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln.Addr().String()
}

// A listener that cannot be opened ends serve at once, non-zero, with an
// error naming the listener and its address — whichever listener it is.
func TestServeExitsWhenAListenerCannotOpen(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		args func(taken string) []string
	}{
		{"API", func(a string) []string { return []string{"--addr", a} }},
		{"S3", func(a string) []string { return []string{"--s3-addr", a} }},
		{"metrics", func(a string) []string { return []string{"--metrics-addr", a} }},
		{"storage-node", func(a string) []string { return []string{"--backend-addr", a} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			taken := takenAddr(t)
			args := append([]string{"serve", "--devices", t.TempDir(), "--addr", "127.0.0.1:0",
				"--metrics-addr", "", "--backend-addr", "", "--access-log", ""}, tc.args(taken)...)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			start := time.Now()
			out, err := exec.CommandContext(ctx, binPath, args...).CombinedOutput()
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() <= 0 {
				t.Fatalf("serve with %s taken: err %v after %v\n%s", taken, err, time.Since(start), out)
			}
			if el := time.Since(start); el > 15*time.Second {
				t.Errorf("serve took %v to give up", el)
			}
			want := tc.name + " listener: cannot listen on " + taken
			if !strings.Contains(string(out), want) || !strings.Contains(string(out), "address already in use") {
				t.Fatalf("output lacks %q:\n%s", want, out)
			}
		})
	}
}

// listenConfig writes a config file with listen options; serve's state
// goes beside it.
func listenConfig(t *testing.T, yaml string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(p, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// noKeepalive is a client that opens a new connection per request.
var noKeepalive = &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 30 * time.Second}

// putGet uploads body as c/o with token and reads it back.
func putGet(t *testing.T, storageURL, token, obj string, body io.Reader, size int64, want []byte) {
	t.Helper()
	req, _ := http.NewRequest("PUT", storageURL+"/c/"+obj, body)
	req.ContentLength = size
	req.Header.Set("X-Auth-Token", token)
	resp, err := noKeepalive.Do(req)
	if err != nil {
		t.Fatalf("PUT %s: %v", obj, err)
	}
	resp.Body.Close()
	if resp.StatusCode != 201 {
		t.Fatalf("PUT %s: %d", obj, resp.StatusCode)
	}
	sum := md5.Sum(want)
	if etag := resp.Header.Get("Etag"); etag != hex.EncodeToString(sum[:]) {
		t.Fatalf("PUT %s: ETag %s", obj, etag)
	}
	req, _ = http.NewRequest("GET", storageURL+"/c/"+obj, nil)
	req.Header.Set("X-Auth-Token", token)
	resp, err = noKeepalive.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", obj, err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !bytes.Equal(got, want) {
		t.Fatalf("GET %s: %d, %d bytes", obj, resp.StatusCode, len(got))
	}
}

func makeContainer(t *testing.T, storageURL, token string) {
	t.Helper()
	req, _ := http.NewRequest("PUT", storageURL+"/c", nil)
	req.Header.Set("X-Auth-Token", token)
	resp, err := noKeepalive.Do(req)
	if err != nil || resp.StatusCode/100 != 2 {
		t.Fatalf("PUT container: %v %v", resp, err)
	}
	resp.Body.Close()
}

// Slow clients against a real serve with a 1 s header timeout and a 2 s
// client timeout: a trickled header (slowloris) is cut at the header
// timeout; a 20 MB upload sent steadily over many of both timeouts is
// stored whole; an upload that stalls is cut after the client timeout.
func TestServeSlowClients(t *testing.T) {
	t.Parallel()
	cfg := listenConfig(t, "listen:\n  header_timeout: 1\n  client_timeout: 2\n")
	s := startServer(t, t.TempDir(), "--config", cfg, "--user", "test:tester:testing:.admin",
		"--metrics-addr", "", "--backend-addr", "", "--access-log", "")
	host := strings.TrimPrefix(s.URL, "http://")
	storageURL, token := s.token(t, "test:tester", "testing")
	makeContainer(t, storageURL, token)

	t.Run("slowloris", func(t *testing.T) {
		t.Parallel()
		c, err := net.Dial("tcp", host)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		start := time.Now()
		fmt.Fprintf(c, "GET /info HTTP/1.1\r\nHost: %s\r\n", host)
		go func() {
			for i := 0; i < 100; i++ {
				time.Sleep(200 * time.Millisecond)
				if _, err := fmt.Fprintf(c, "X-Slow-%d: y\r\n", i); err != nil {
					return
				}
			}
		}()
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		io.Copy(io.Discard, c)
		if el := time.Since(start); el < 800*time.Millisecond || el > 5*time.Second {
			t.Fatalf("trickled header cut after %v, want about the 1 s header timeout", el)
		}
	})

	t.Run("slow steady upload", func(t *testing.T) {
		t.Parallel()
		const size, chunk = 20 << 20, 256 << 10
		data := randBytes(t, size)
		pr, pw := io.Pipe()
		go func() {
			tick := 5 * time.Second / (size / chunk) // 5 s in all
			for off := 0; off < size; off += chunk {
				time.Sleep(tick)
				if _, err := pw.Write(data[off : off+chunk]); err != nil {
					return
				}
			}
			pw.Close()
		}()
		start := time.Now()
		putGet(t, storageURL, token, "slow", pr, size, data)
		if el := time.Since(start); el < 4*time.Second {
			t.Fatalf("the upload took only %v", el)
		}
	})

	t.Run("stalled upload", func(t *testing.T) {
		t.Parallel()
		c, err := net.Dial("tcp", host)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		path := strings.TrimPrefix(storageURL, s.URL) + "/c/stalled"
		fmt.Fprintf(c, "PUT %s HTTP/1.1\r\nHost: %s\r\nX-Auth-Token: %s\r\nContent-Length: %d\r\n\r\n", path, host, token, 10<<20)
		c.Write(make([]byte, 3<<20))
		start := time.Now()
		c.SetReadDeadline(time.Now().Add(15 * time.Second))
		io.Copy(io.Discard, c)
		if el := time.Since(start); el < 1500*time.Millisecond || el > 10*time.Second {
			t.Fatalf("stalled upload cut after %v, want about the 2 s client timeout", el)
		}
	})
}

// flood opens n connections to addr that send nothing, and reports how many
// the server closed within d, and how many it answered with a 503.
func flood(t *testing.T, addr string, n int, d time.Duration) (closed, refused int) {
	t.Helper()
	var conns []net.Conn
	for range n {
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			t.Fatalf("dial %d: %v", len(conns), err)
		}
		conns = append(conns, c)
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, c := range conns {
		wg.Go(func() {
			defer c.Close()
			c.SetReadDeadline(time.Now().Add(d))
			line, _ := bufio.NewReader(c).ReadString('\n')
			_, err := io.Copy(io.Discard, c)
			mu.Lock()
			defer mu.Unlock()
			if err == nil || !errors.Is(err, os.ErrDeadlineExceeded) {
				closed++
			}
			if strings.HasPrefix(line, "HTTP/1.1 503") {
				refused++
			}
		})
	}
	wg.Wait()
	return closed, refused
}

// With only 128 file descriptors, a flood of idle connections neither ends
// the listener (accept's EMFILE is waited out) nor keeps it from serving:
// the idle connections are closed by the header timeout or refused by the
// connection cap, and normal requests succeed right after.
func TestServeFDLimitFlood(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, yaml string
	}{
		// A cap above the descriptors there are: accept runs out of them.
		{"accept back-off", "listen:\n  header_timeout: 1\n  max_clients: 1000\n"},
		// The automatic cap (a quarter of 128) refuses the flood itself.
		{"automatic cap", "listen:\n  header_timeout: 1\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := startServerUnder(t, []string{"sh", "-c", `ulimit -n 128 && exec "$0" "$@"`}, t.TempDir(),
				"--config", listenConfig(t, tc.yaml), "--user", "test:tester:testing:.admin",
				"--metrics-addr", "", "--backend-addr", "", "--access-log", "")
			host := strings.TrimPrefix(s.URL, "http://")
			storageURL, token := s.token(t, "test:tester", "testing")
			makeContainer(t, storageURL, token)
			http.DefaultClient.CloseIdleConnections()

			floodStart := time.Now()
			closed, refused := flood(t, host, 300, 30*time.Second)
			t.Logf("300 idle connections: %d closed by the server, %d refused with 503, all gone after %v", closed, refused, time.Since(floodStart).Round(time.Millisecond))
			if closed != 300 {
				t.Fatalf("the server closed %d of 300 idle connections", closed)
			}
			start := time.Now()
			data := randBytes(t, 100_000)
			putGet(t, storageURL, token, "after-flood", bytes.NewReader(data), int64(len(data)), data)
			el := time.Since(start)
			t.Logf("first PUT+GET after the flood: %v", el.Round(time.Millisecond))
			if el > 5*time.Second {
				t.Errorf("first requests after the flood took %v", el)
			}
			out := s.Output()
			switch tc.name {
			case "accept back-off":
				if !strings.Contains(out, "accept failed; retrying") || !strings.Contains(out, "too many open files") {
					t.Errorf("accept never ran out of descriptors:\n%s", out)
				}
			case "automatic cap":
				if !strings.Contains(out, "at most 32 connections each") || refused == 0 {
					t.Errorf("the cap refused %d connections:\n%s", refused, out)
				}
			}
			if strings.Contains(out, "Permanent error") {
				t.Errorf("fasthttp stopped accepting:\n%s", out)
			}
		})
	}
}

// A TLS certificate that cannot be loaded ends serve before it listens.
func TestServeExitsOnBadTLSCertificate(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	crt, key := filepath.Join(dir, "missing.crt"), filepath.Join(dir, "missing.key")
	out, err := exec.Command(binPath, "serve", "--devices", t.TempDir(), "--addr", "127.0.0.1:0", "--metrics-addr", "",
		"--backend-addr", "", "--tls-cert", crt, "--tls-key", key).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "tls: loading "+crt) {
		t.Fatalf("serve with a missing certificate: %v\n%s", err, out)
	}
}
