package cli_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ncw/swift/v2"
)

// binPath is the swiftbox binary built once for all tests in this package.
var binPath string

func TestMain(m *testing.M) {
	// SWIFTBOX_BIN runs the tests against a binary built elsewhere (e.g.
	// the fault scenarios against another branch's build).
	if bin := os.Getenv("SWIFTBOX_BIN"); bin != "" {
		binPath = bin
		os.Exit(m.Run())
	}
	dir, err := os.MkdirTemp("", "swiftbox-bin")
	if err != nil {
		panic(err)
	}
	binPath = filepath.Join(dir, "swiftbox")
	// Built without -race even under `go test -race`: the 1 GiB streaming
	// tests need the real speed; package tests cover races in-process.
	build := exec.Command("go", "build", "-o", binPath, "swiftbox")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building swiftbox:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// server is one running `swiftbox serve` on a loopback port.
type server struct {
	t       *testing.T
	Devices string
	URL     string // http://127.0.0.1:PORT
	cmd     *exec.Cmd
	mu      sync.Mutex
	out     strings.Builder
	done    chan struct{}
	args    []string
	wrap    []string // command the binary runs under (e.g. sh -c 'ulimit …; exec "$0" "$@"')
	env     []string // added to the environment of the next start
}

var servingRE = regexp.MustCompile(`serving the Swift API on (https?://\S+)`)

// startServer runs swiftbox serve over devices with extra args, waiting
// until it listens. The server is killed at test cleanup.
func startServer(t *testing.T, devices string, extra ...string) *server {
	t.Helper()
	return startServerUnder(t, nil, devices, extra...)
}

// startServerUnder is startServer with the binary run by the command wrap.
func startServerUnder(t *testing.T, wrap []string, devices string, extra ...string) *server {
	t.Helper()
	s := &server{t: t, Devices: devices, args: extra, wrap: wrap}
	s.start()
	t.Cleanup(func() {
		s.Stop()
		if t.Failed() {
			out := s.Output()
			if len(out) > 8000 {
				out = "…" + out[len(out)-8000:]
			}
			t.Logf("server output:\n%s", out)
		}
	})
	return s
}

func (s *server) start() {
	t := s.t
	t.Helper()
	args := []string{"serve", "--addr", "127.0.0.1:0"}
	if s.Devices != "" { // "" = the devices of a --config file
		args = append(args, "--devices", s.Devices)
	}
	args = append(args, s.args...)
	s.cmd = exec.Command(binPath, args...)
	if len(s.wrap) > 0 {
		s.cmd = exec.Command(s.wrap[0], append(append(s.wrap[1:], binPath), args...)...)
	}
	if len(s.env) > 0 {
		s.cmd.Env = append(os.Environ(), s.env...)
	}
	pr, pw := io.Pipe()
	s.cmd.Stdout = pw
	s.cmd.Stderr = pw
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s.done = make(chan struct{})
	urlc := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			s.mu.Lock()
			s.out.WriteString(line + "\n")
			s.mu.Unlock()
			if m := servingRE.FindStringSubmatch(line); m != nil {
				select {
				case urlc <- m[1]:
				default:
				}
			}
		}
	}()
	go func() { s.cmd.Wait(); pw.Close(); close(s.done) }()
	select {
	case s.URL = <-urlc:
	case <-s.done:
		t.Fatalf("swiftbox exited before serving:\n%s", s.Output())
	case <-time.After(60 * time.Second):
		t.Fatalf("swiftbox did not start:\n%s", s.Output())
	}
}

// Output is everything the server printed so far.
func (s *server) Output() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.out.String()
}

// Stop sends SIGTERM and waits for a clean exit.
func (s *server) Stop() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	select {
	case <-s.done:
		return
	default:
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(30 * time.Second):
		s.cmd.Process.Kill()
		<-s.done
		s.t.Errorf("swiftbox did not stop on SIGTERM:\n%s", s.Output())
	}
}

// Restart stops the server and starts it again over the same devices.
func (s *server) Restart() {
	s.Stop()
	s.start()
}

// AuthURL is the tempauth v1.0 endpoint.
func (s *server) AuthURL() string { return s.URL + "/auth/v1.0" }

// token authenticates user/key with auth v1.0.
func (s *server) token(t *testing.T, user, key string) (storageURL, token string) {
	t.Helper()
	req, _ := http.NewRequest("GET", s.AuthURL(), nil)
	req.Header.Set("X-Auth-User", user)
	req.Header.Set("X-Auth-Key", key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("auth %s: %d", user, resp.StatusCode)
	}
	return resp.Header.Get("X-Storage-Url"), resp.Header.Get("X-Auth-Token")
}

// conn returns an authenticated ncw/swift connection.
func (s *server) conn(t *testing.T, user, key string) *swift.Connection {
	t.Helper()
	c := &swift.Connection{UserName: user, ApiKey: key, AuthUrl: s.AuthURL(), Timeout: 5 * time.Minute}
	if err := c.Authenticate(context.Background()); err != nil {
		t.Fatalf("authenticate: %v\n%s", err, s.Output())
	}
	return c
}
