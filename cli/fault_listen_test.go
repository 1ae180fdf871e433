package cli_test

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// shortTimeouts are listener timeouts (config/listen.go) short enough for
// the scenario to see them act.
const shortTimeouts = "listen:\n  header_timeout: 2\n  client_timeout: 3\n  keepalive_timeout: 3\n"

// configAccepted reports whether the binary takes configYAML (a daemon
// command loads and validates it before anything else), and if not why.
func configAccepted(t *testing.T, configYAML string) (bool, string) {
	dir := t.TempDir()
	f := filepath.Join(dir, "config.yaml")
	os.WriteFile(f, []byte(configYAML), 0o600)
	out, _ := exec.Command(binPath, "replicator", "--once", "--config", f, "--devices", dir).CombinedOutput()
	if strings.Contains(string(out), "config") && !strings.Contains(string(out), "swift.conf") {
		return false, strings.TrimSpace(string(out))
	}
	return true, ""
}

// heldConn is a connection a misbehaving client keeps open; cut is when
// the server closed it (zero while open).
type heldConn struct {
	kind string
	conn net.Conn
	mu   sync.Mutex
	cut  time.Duration
}

// hold opens a connection, sends first, and keeps it open, recording when
// the server ends it. trickle, if set, is sent every second after.
func hold(t *testing.T, addr, kind, first, trickle string, start time.Time) *heldConn {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	h := &heldConn{kind: kind, conn: conn}
	conn.Write([]byte(first))
	go func() {
		r := bufio.NewReader(conn)
		if kind == "idle keep-alive" { // one whole response first
			if resp, err := http.ReadResponse(r, nil); err == nil {
				resp.Body.Close()
			}
		}
		buf := make([]byte, 4096)
		for {
			if _, err := r.Read(buf); err != nil {
				h.mu.Lock()
				h.cut = time.Since(start)
				h.mu.Unlock()
				return
			}
		}
	}()
	if trickle != "" {
		go func() {
			for {
				time.Sleep(time.Second)
				if _, err := conn.Write([]byte(trickle)); err != nil {
					return
				}
			}
		}()
	}
	return h
}

func (h *heldConn) cutAfter() time.Duration {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.cut
}

// Slowloris headers, stalled headers, stalled uploads and idle
// keep-alives: the listener's timeouts cut each of them, and normal
// clients are served meanwhile with bounded latency.
func testFaultSlowClients(t *testing.T) {
	cfg, limit := shortTimeouts, 15*time.Second
	ok, why := configAccepted(t, cfg)
	if !ok { // no listener options in this build: the defaults must cut them
		t.Logf("listener timeouts not configurable (%s); waiting for the defaults", why)
		cfg, limit = "", faultPick(10*time.Second, 130*time.Second)
	}
	dev := t.TempDir()
	s := startFaultServer(t, dev, cfg)
	c := newFclient(t, s, 30*time.Second)
	body := make([]byte, 4096)
	if st, _, _, err := c.do("PUT", "/slow", nil, nil); err != nil || st/100 != 2 {
		t.Fatalf("PUT container: %d %v", st, err)
	}
	if st, _, _, err := c.do("PUT", objPath("slow", "o"), nil, body); err != nil || st != 201 {
		t.Fatalf("PUT object: %d %v", st, err)
	}
	n := faultPick(15, 60)
	start := time.Now()
	held := holdMisbehaving(t, s, c, n, start)
	// Normal clients meanwhile.
	normal := startNormalGets(c, len(body))
	for time.Since(start) < limit && len(stillOpen(held)) > 0 {
		time.Sleep(250 * time.Millisecond)
	}
	lat, failures := normal.stop()
	left := stillOpen(held)
	cuts := lastCuts(held)
	for _, h := range held {
		h.conn.Close()
	}
	row := faultRow{Scenario: "slow-clients", Rounds: 1, Acked: len(lat)}
	var problems []string
	if len(left) > 0 {
		problems = append(problems, fmt.Sprintf("connections still open after %v: %v", limit, left))
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	var p99, worst time.Duration
	if len(lat) > 0 {
		p99, worst = lat[len(lat)*99/100], lat[len(lat)-1]
	}
	if failures > 0 || len(lat) == 0 || worst > 2*time.Second {
		problems = append(problems, fmt.Sprintf("normal clients: %d failed, %d served, slowest %v", failures, len(lat), worst))
	}
	t.Logf("%d misbehaving connections (%d of each kind); last cut per kind (0 = never) %v; normal GETs: %d, p99 %v, slowest %v",
		len(held), n, cuts, len(lat), p99, worst)
	reportFault(t, row, problems)
}

// holdMisbehaving opens n connections of each misbehaving kind to s.
func holdMisbehaving(t *testing.T, s *server, c *fclient, n int, start time.Time) []*heldConn {
	u, _ := url.Parse(s.URL)
	su, _ := url.Parse(c.base)
	var held []*heldConn
	for i := 0; i < n; i++ {
		held = append(held,
			hold(t, u.Host, "slowloris header", "GET /info HTTP/1.1\r\nHost: a\r\n", "X-Slow: 1\r\n", start),
			hold(t, u.Host, "stalled header", "GET /info HTTP/1.1\r\nHo", "", start),
			hold(t, u.Host, "stalled upload", fmt.Sprintf("PUT %s/slow/up%d HTTP/1.1\r\nHost: a\r\nX-Auth-Token: %s\r\nContent-Length: 1048576\r\n\r\n%s",
				su.Path, i, c.token, strings.Repeat("x", 1024)), "", start),
			hold(t, u.Host, "idle keep-alive", "GET /info HTTP/1.1\r\nHost: a\r\n\r\n", "", start))
	}
	return held
}

// stillOpen counts the held connections not cut yet, by kind.
func stillOpen(held []*heldConn) map[string]int {
	out := map[string]int{}
	for _, h := range held {
		if h.cutAfter() == 0 {
			out[h.kind]++
		}
	}
	return out
}

// lastCuts is the last cut of each kind (0 = one never cut).
func lastCuts(held []*heldConn) map[string]time.Duration {
	cuts := map[string]time.Duration{}
	never := map[string]bool{}
	for _, h := range held {
		d := h.cutAfter()
		never[h.kind] = never[h.kind] || d == 0
		if never[h.kind] {
			cuts[h.kind] = 0
		} else if d > cuts[h.kind] {
			cuts[h.kind] = d.Round(10 * time.Millisecond)
		}
	}
	return cuts
}

// normalGets are two well-behaved clients GETting slow/o in a loop.
type normalGets struct {
	mu       sync.Mutex
	lat      []time.Duration // of the GETs served right
	failures int
	done     chan struct{}
	wg       sync.WaitGroup
}

// startNormalGets starts the clients; slow/o is size bytes.
func startNormalGets(c *fclient, size int) *normalGets {
	g := &normalGets{done: make(chan struct{})}
	for w := 0; w < 2; w++ {
		g.wg.Add(1)
		go func() {
			defer g.wg.Done()
			nc := &fclient{base: c.base, token: c.token, hc: &http.Client{Timeout: 10 * time.Second}}
			for {
				select {
				case <-g.done:
					return
				default:
				}
				t0 := time.Now()
				st, _, got, err := nc.do("GET", objPath("slow", "o"), nil, nil)
				d := time.Since(t0)
				g.mu.Lock()
				if err != nil || st != 200 || len(got) != size {
					g.failures++
				} else {
					g.lat = append(g.lat, d)
				}
				g.mu.Unlock()
				time.Sleep(20 * time.Millisecond)
			}
		}()
	}
	return g
}

// stop stops the clients and returns the latencies of the GETs served
// right and the number that failed.
func (g *normalGets) stop() ([]time.Duration, int) {
	close(g.done)
	g.wg.Wait()
	return g.lat, g.failures
}

// serve under a low open-files limit: connections opened until the limit
// and released again; the server serves again at once, every time, and
// never stops accepting for good.
func testFaultFDExhaustion(t *testing.T) {
	dev := t.TempDir()
	s := startFaultServerWith(t, "ulimit -n 256", dev, "")
	c := newFclient(t, s, 5*time.Second)
	if st, _, _, err := c.do("PUT", "/fd", nil, nil); err != nil || st/100 != 2 {
		t.Fatalf("PUT container: %d %v", st, err)
	}
	body := []byte("served again")
	if st, _, _, err := c.do("PUT", objPath("fd", "o"), nil, body); err != nil || st != 201 {
		t.Fatalf("PUT object: %d %v", st, err)
	}
	u, _ := url.Parse(s.URL)
	rounds := faultPick(2, 5)
	row := faultRow{Scenario: "fd-exhaustion", Rounds: rounds}
	var problems []string
	var recover []time.Duration
	row.Rounds = 0
	for r := 0; r < rounds; r++ {
		row.Rounds++
		var conns []net.Conn
		for i := 0; i < 600; i++ {
			conn, err := net.DialTimeout("tcp", u.Host, time.Second)
			if err != nil {
				break
			}
			conn.Write([]byte("GET /info HTTP/1.1\r\nHost: a\r\n"))
			conns = append(conns, conn)
		}
		time.Sleep(time.Second) // the server meets its limit
		for _, conn := range conns {
			conn.Close()
		}
		t0 := time.Now()
		served := false
		for time.Since(t0) < 10*time.Second {
			nc := &fclient{base: c.base, token: c.token, hc: &http.Client{Timeout: time.Second}}
			if st, _, got, err := nc.do("GET", objPath("fd", "o"), nil, nil); err == nil && st == 200 && string(got) == string(body) {
				served = true
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		d := time.Since(t0)
		recover = append(recover, d.Round(time.Millisecond))
		select {
		case <-s.done:
			problems = append(problems, fmt.Sprintf("round %d: serve exited after %d connections:\n%s", r+1, len(conns), lastLines(s.Output(), 5)))
			reportFault(t, row, problems)
			return
		default:
		}
		if !served {
			problems = append(problems, fmt.Sprintf("round %d: not serving 10 s after %d connections were released", r+1, len(conns)))
			break
		}
		row.Acked++
		if d > 3*time.Second {
			problems = append(problems, fmt.Sprintf("round %d: serving again only %v after the connections were released", r+1, d.Round(time.Millisecond)))
		}
	}
	t.Logf("ulimit -n 256, 600 connections a round: serving again after %v", recover)
	reportFault(t, row, problems)
}

// lastLines is the last n lines of s.
func lastLines(s string, n int) string {
	l := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(l) > n {
		l = l[len(l)-n:]
	}
	return strings.Join(l, "\n")
}
