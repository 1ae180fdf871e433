package cli_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// freePort returns a loopback port nothing listens on right now.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// scrapeMetrics returns the exposition text and its samples by series.
func scrapeMetrics(t *testing.T, url string) (string, map[string]float64) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("scrape %s: %d %s", url, resp.StatusCode, raw)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(bytes.NewReader(raw))
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err == nil {
			out[line[:i]] = v
		}
	}
	return string(raw), out
}

// obsObjects is how many objects TestObservabilityEndToEnd's load PUTs
// and GETs.
const obsObjects = 5

// obsCluster is TestObservabilityEndToEnd's fixture: a 3-device swiftbox
// with rings on a free port, a metrics listener and an access log.
type obsCluster struct {
	t                 *testing.T
	dir               string
	devices, state    string // the devices directory and its .swiftbox
	port              string // the rings' port, where serve answers recon
	metricsURL        string
	accessLog         string
	s                 *server
	storageURL, token string
	getBytes          int64 // response body bytes the GETs received
}

func newObsCluster(t *testing.T) *obsCluster {
	dir := t.TempDir()
	c := &obsCluster{t: t, dir: dir, devices: filepath.Join(dir, "node"), accessLog: filepath.Join(dir, "access.log")}
	c.state = filepath.Join(c.devices, ".swiftbox")
	for _, d := range []string{"d1", "d2", "d3"} {
		os.MkdirAll(filepath.Join(c.devices, d), 0o755)
	}
	os.MkdirAll(c.state, 0o700)
	// Rings on a free port (the default 6200-6202 may be taken by another
	// server on this machine): serve answers recon there.
	c.port = strconv.Itoa(freePort(t))
	for _, name := range []string{"object", "container", "account"} {
		run(t, false, "ring", "create", name, "--dir", c.state, "--part-power", "6", "--replicas", "3")
		for i, d := range []string{"d1", "d2", "d3"} {
			run(t, false, "ring", "add", name, "--dir", c.state, fmt.Sprintf("r1z%d-127.0.0.1:%s/%s", i+1, c.port, d), "100")
		}
		run(t, false, "ring", "rebalance", name, "--dir", c.state)
	}
	// What a replicator pass leaves in the recon cache, and a quarantined object.
	os.MkdirAll(filepath.Join(c.state, "recon"), 0o755)
	last := float64(time.Now().Add(-90 * time.Second).Unix())
	os.WriteFile(filepath.Join(c.state, "recon", "object.recon"), []byte(fmt.Sprintf(
		`{"object_replication_last": %v, "object_replication_time": 0.5, "replication_last": %v, "replication_time": 0.5, `+
			`"replication_stats": {"attempted": 64, "success": 63, "failure": 1, "hashmatch": 60, "remove": 0, "rsync": 3, "failure_nodes": {}}}`, last, last)), 0o644)
	os.MkdirAll(filepath.Join(c.devices, "d2", "quarantined", "objects", "0123456789abcdef0123456789abcdef"), 0o755)

	c.metricsURL = fmt.Sprintf("http://127.0.0.1:%d/metrics", freePort(t))
	c.s = startServer(t, c.devices, "--metrics-addr", strings.TrimSuffix(strings.TrimPrefix(c.metricsURL, "http://"), "/metrics"),
		"--access-log", c.accessLog, "--user", "test:tester:testing:.admin")
	c.storageURL, c.token = c.s.token(t, "test:tester", "testing")
	return c
}

// do sends a Swift request with the token and fails unless it is
// answered with want; GET bodies add to getBytes.
func (c *obsCluster) do(method, path string, body []byte, want int) {
	c.t.Helper()
	req, _ := http.NewRequest(method, c.storageURL+path, bytes.NewReader(body))
	if body == nil {
		req.Body, req.ContentLength = http.NoBody, 0
	}
	req.Header.Set("X-Auth-Token", c.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	n, _ := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if method == "GET" {
		c.getBytes += n
	}
	if resp.StatusCode != want {
		c.t.Fatalf("%s %s: %d, want %d", method, path, resp.StatusCode, want)
	}
}

// A 3-device swiftbox: /metrics moves by exactly a known load's counts
// and passes promtool; swift-recon (Debian's swift) reports disk usage,
// replication, async pendings, quarantines, load and ring md5s from the
// recon answers at the rings' ip:port; the access log has one
// Swift-format line per request.
func TestObservabilityEndToEnd(t *testing.T) {
	c := newObsCluster(t)
	_, before := scrapeMetrics(t, c.metricsURL)
	total := c.load()
	c.checkLoadMetrics(before, total)
	c.checkRingMD5()
	c.checkSwiftRecon()
	c.checkFailedDevice()
	c.checkAccessLog()
}

// load creates a container and obsObjects objects, GETs each, deletes
// one and GETs it (404). It returns the object bytes PUT.
func (c *obsCluster) load() int {
	total := 0
	c.do("PUT", "/obs", nil, 201)
	for i := 1; i <= obsObjects; i++ {
		c.do("PUT", fmt.Sprintf("/obs/o%d", i), bytes.Repeat([]byte("m"), i*10000), 201)
		total += i * 10000
	}
	for i := 1; i <= obsObjects; i++ {
		c.do("GET", fmt.Sprintf("/obs/o%d", i), nil, 200)
	}
	c.do("DELETE", "/obs/o1", nil, 204)
	c.do("GET", "/obs/o1", nil, 404)
	return total
}

// obsSeries is the request counter of a Swift method and status class.
func obsSeries(method, class string) string {
	return fmt.Sprintf(`swiftbox_http_requests_total{api="swift",method="%s",policy="0",status_class="%s"}`, method, class)
}

// obsBytesSeries is the body byte counter name ("request_body" or
// "response_body") of a Swift method.
func obsBytesSeries(name, method string) string {
	return fmt.Sprintf(`swiftbox_http_%s_bytes_total{api="swift",method="%s",policy="0"}`, name, method)
}

// checkLoadMetrics fails unless /metrics moved from before by exactly
// load's counts (total object bytes PUT), has the device and ring
// gauges, and passes promtool.
func (c *obsCluster) checkLoadMetrics(before map[string]float64, total int) {
	t := c.t
	const n = obsObjects
	want := map[string]float64{
		obsSeries("PUT", "2xx"): 1 + n, obsSeries("GET", "2xx"): n, obsSeries("DELETE", "2xx"): 1, obsSeries("GET", "4xx"): 1,
		obsBytesSeries("request_body", "PUT"): float64(total), `swiftbox_http_request_duration_seconds_count{api="swift",method="PUT",policy="0",status_class="2xx"}`: 1 + n,
	}
	var text string
	var after map[string]float64
	deadline := time.Now().Add(5 * time.Second)
	for {
		text, after = scrapeMetrics(t, c.metricsURL)
		if after[obsSeries("GET", "2xx")]-before[obsSeries("GET", "2xx")] >= n || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	for k, v := range want {
		if d := after[k] - before[k]; d != v {
			t.Errorf("%s moved by %v, want %v", k, d, v)
		}
	}
	// Every GET body was sent (the objects and the 404's small page).
	if d := after[obsBytesSeries("response_body", "GET")] - before[obsBytesSeries("response_body", "GET")]; d != float64(c.getBytes) || c.getBytes <= int64(total) {
		t.Errorf("GET response bytes moved by %v, want %d (objects: %d)", d, c.getBytes, total)
	}
	for _, dev := range []string{"d1", "d2", "d3"} {
		if after[`swiftbox_device_mounted{device="`+dev+`"}`] != 1 || after[`swiftbox_device_capacity_bytes{device="`+dev+`"}`] <= 0 {
			t.Errorf("device %s metrics missing: %v", dev, after[`swiftbox_device_capacity_bytes{device="`+dev+`"}`])
		}
	}
	if after[`swiftbox_ring_part_power{ring="object"}`] != 6 || after[`swiftbox_ring_replicas{ring="object"}`] != 3 {
		t.Errorf("ring metrics: %v %v", after[`swiftbox_ring_part_power{ring="object"}`], after[`swiftbox_ring_replicas{ring="object"}`])
	}
	if path, err := exec.LookPath("promtool"); err == nil {
		cmd := exec.Command(path, "check", "metrics")
		cmd.Stdin = strings.NewReader(text)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("promtool check metrics: %v\n%s", err, out)
		}
	} else {
		t.Log("promtool (Debian prometheus) not installed; exposition not linted")
	}
}

// checkRingMD5: /recon/ringmd5 names the rings in the state dir with
// their md5s.
func (c *obsCluster) checkRingMD5() {
	resp, err := http.Get("http://127.0.0.1:" + c.port + "/recon/ringmd5")
	if err != nil {
		c.t.Fatal(err)
	}
	var sums map[string]string
	json.NewDecoder(resp.Body).Decode(&sums)
	resp.Body.Close()
	for _, name := range []string{"object", "container", "account"} {
		p := filepath.Join(c.state, name+".ring.gz")
		raw, _ := os.ReadFile(p)
		if sum := md5.Sum(raw); sums[p] != hex.EncodeToString(sum[:]) {
			c.t.Errorf("ringmd5 %s = %q, want %x", p, sums[p], sum)
		}
	}
}

// swiftReconWants are lines (or their starts) swift-recon must print for
// newObsCluster's state: its recon cache, quarantine and rings.
var swiftReconWants = []string{
	"Starting reconnaissance on 1 hosts (object)",
	"[async_pending] low: 0, high: 0",
	"[replication_time] low: 0, high: 0, avg: 0.5",
	"[replication_success] low: 63",
	"Oldest completion was",
	"Disk usage: space used:",
	"[quarantined_objects] low: 1, high: 1",
	"[1m_load_avg]",
	"[updater_last_sweep]",
}

// checkSwiftRecon runs Debian's swift-recon, when installed, against the
// recon answers at the rings' ip:port.
func (c *obsCluster) checkSwiftRecon() {
	t := c.t
	if _, err := exec.LookPath("swift-recon"); err != nil {
		t.Log("swift-recon (Debian swift) not installed; skipping")
		return
	}
	args := []string{"--swiftdir", c.state, "-d", "-r", "-q", "-a", "-l", "-u", "--auditor", "--updater", "--expirer", "--sockstat", "-T"}
	// swift-recon hashes /etc/swift/swift.conf whatever --swiftdir
	// says, and fails without one.
	if _, err := os.Stat("/etc/swift/swift.conf"); err == nil {
		args = append(args, "--md5")
	}
	out, err := exec.Command("swift-recon", args...).CombinedOutput()
	o := string(out)
	if err != nil || strings.Contains(o, "Traceback") || strings.Contains(o, "-> http") {
		t.Fatalf("swift-recon: %v\n%s", err, o)
	}
	for _, w := range swiftReconWants {
		if !strings.Contains(o, w) {
			t.Errorf("swift-recon output lacks %q:\n%s", w, o)
		}
	}
	t.Logf("swift-recon %s:\n%s", strings.Join(args, " "), o)
	if slices.Contains(args, "--md5") {
		if !strings.Contains(o, "1/1 hosts matched, 0 error[s] while checking hosts.") {
			t.Errorf("ring md5s do not match:\n%s", o)
		}
	}
}

// checkFailedDevice: a device that disappears (here: replaced by a file,
// so nothing can recreate it as a directory — with mount_check off a
// missing device directory may be recreated by a write) is failed and not
// mounted, and the errors the proxy meets on it are counted against it.
func (c *obsCluster) checkFailedDevice() {
	t := c.t
	if err := os.Rename(filepath.Join(c.devices, "d3"), filepath.Join(c.dir, "d3-gone")); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(c.devices, "d3"), []byte("not a device"), 0o644)
	time.Sleep(600 * time.Millisecond) // the device check cache's TTL
	c.do("PUT", "/obs/after", []byte("x"), 201)
	_, after := scrapeMetrics(t, c.metricsURL)
	if after[`swiftbox_device_failed{device="d3"}`] != 1 || after[`swiftbox_device_mounted{device="d3"}`] != 0 ||
		after[`swiftbox_device_errors_total{device="d3"}`] < 1 || after[`swiftbox_device_errors_total{device="d1"}`] != 0 {
		t.Errorf("failed device d3: failed %v mounted %v errors %v (d1 errors %v)", after[`swiftbox_device_failed{device="d3"}`],
			after[`swiftbox_device_mounted{device="d3"}`], after[`swiftbox_device_errors_total{device="d3"}`], after[`swiftbox_device_errors_total{device="d1"}`])
	}
}

// checkAccessLog stops the server: after a clean stop the access log
// holds one line per request the proxy answered (auth included), in
// Swift's 21 fields.
func (c *obsCluster) checkAccessLog() {
	t := c.t
	const n = obsObjects
	c.s.Stop()
	raw, err := os.ReadFile(c.accessLog)
	if err != nil {
		t.Fatal(err)
	}
	var proxyLines int
	for _, line := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
		f := strings.Split(line, " ")
		if len(f) != 21 {
			t.Fatalf("access log line has %d fields, want 21: %q", len(f), line)
		}
		if strings.HasPrefix(f[4], "/v1/") || strings.HasPrefix(f[4], "/auth/") {
			proxyLines++
		}
	}
	if proxyLines != 2+n+n+3 {
		t.Errorf("%d proxy access log lines, want %d:\n%s", proxyLines, 2+n+n+3, raw)
	}
}

// The access log is buffered but never holds a line longer than about a
// second: after a kill -9 every request answered more than a second
// before is in the file.
func TestAccessLogSurvivesKill(t *testing.T) {
	accessLog := filepath.Join(t.TempDir(), "access.log")
	s := startServer(t, t.TempDir(), "--access-log", accessLog, "--user", "test:tester:testing:.admin")
	c := s.conn(t, "test:tester", "testing")
	ctx := context.Background()
	if err := c.ContainerCreate(ctx, "c", nil); err != nil {
		t.Fatal(err)
	}
	const n = 20
	for i := range n {
		if err := c.ObjectPutString(ctx, "c", fmt.Sprint(i), "x", ""); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(1500 * time.Millisecond)
	s.cmd.Process.Kill()
	<-s.done
	raw, _ := os.ReadFile(accessLog)
	puts := strings.Count(string(raw), " PUT /v1/AUTH_test/c/")
	if puts != n {
		t.Fatalf("after kill -9, %d of %d object PUTs answered 1.5 s earlier are in the access log:\n%s", puts, n, raw)
	}
}
