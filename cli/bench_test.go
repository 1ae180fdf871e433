//go:build bench

package cli_test

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestBench is `make bench`: swiftbox under objbench, PUT and GET of each
// size at concurrency 16, through its Swift API and its S3 API in the same
// run (S3/Swift ratio per load; the S3 layer should cost under 10%), with
// the server's peak RSS per load.
//
//	BENCH_DEVICES        directory of the devices [a temporary one]
//	BENCH_DEVICES_COUNT  devices d1…dN made there: 3 gives 3 replicas, 1 gives
//	                     1 replica [3; 1 with COMPARE_MINIO=1]
//	BENCH_APIS           swiftbox APIs to load: swift, s3 or both [swift,s3]
//	BENCH_OPS            objbench ops to run: put, get or both [put,get]
//	BENCH_DURATION, BENCH_SIZES, BENCH_CONCURRENCY, BENCH_OUT
//	BENCH_ROUNDS         loads of each target per op and size, alternating
//	                     between the targets (in reverse order every other
//	                     round); the mean ratios are printed [1]
//	BENCH_ACCESS_LOG=1   keep serve's access log on (stdout) [off]
//	BENCH_ACCESS_LOG=compare  a second swiftbox beside the first, its access
//	                     log on (to a file), loaded right after it on each
//	                     load: ratio with/without the access log
//	COMPARE_SWIFT=1      the same Swift loads against a Swift all-in-one
//	                     (SWIFT_AUTH [http://127.0.0.1:8080/auth/v1.0],
//	                     SWIFT_USER, SWIFT_KEY): ratio swiftbox/Swift
//	COMPARE_MINIO=1      the same S3 loads against MinIO (MINIO_BIN, required)
//	                     serving one drive, MINIO_DIR [beside BENCH_DEVICES, so
//	                     on the same filesystem]: ratio swiftbox/MinIO
func TestBench(t *testing.T) {
	objbench := buildObjbench(t)
	compareSwift := os.Getenv("COMPARE_SWIFT") == "1"
	compareMinio := os.Getenv("COMPARE_MINIO") == "1"
	devices := os.Getenv("BENCH_DEVICES")
	if devices == "" {
		devices = filepath.Join(t.TempDir(), "node")
	}
	ndev, err := strconv.Atoi(envOr("BENCH_DEVICES_COUNT", map[bool]string{false: "3", true: "1"}[compareMinio]))
	if err != nil || ndev < 1 {
		t.Fatalf("BENCH_DEVICES_COUNT: %v", err)
	}
	for i := 1; i <= ndev; i++ {
		os.MkdirAll(filepath.Join(devices, fmt.Sprintf("d%d", i)), 0o755)
	}
	accessLog := "" // off: MinIO logs no line per request either
	if os.Getenv("BENCH_ACCESS_LOG") == "1" {
		accessLog = "-"
	}
	compareLog := os.Getenv("BENCH_ACCESS_LOG") == "compare"
	s := startServer(t, devices, "--user", "bench:bench:bench:.admin", "--log-level", "warn", "--access-log", accessLog)
	var logged *server // the same server with its access log on (compare)
	if compareLog {
		logged = startLoggedServer(t, ndev)
	}
	replicas := "?"
	if m := regexp.MustCompile(`(\d+) replicas\)`).FindStringSubmatch(s.Output()); m != nil {
		replicas = m[1]
	}
	duration := envOr("BENCH_DURATION", "15s")
	sizes := strings.Split(envOr("BENCH_SIZES", "4KiB,1MiB,64MiB"), ",")
	concurrency := envOr("BENCH_CONCURRENCY", "16")

	var targets []benchTarget
	for _, api := range strings.Split(envOr("BENCH_APIS", "swift,s3"), ",") {
		if api != "swift" && api != "s3" {
			t.Fatalf("BENCH_APIS: unknown API %q (swift, s3)", api)
		}
		targets = append(targets, apiTarget(api, "", s))
		if logged != nil {
			targets = append(targets, apiTarget(api, "+log", logged))
		}
	}
	if compareSwift {
		targets = append(targets, benchTarget{name: "saio", vs: "swift", args: []string{"-proto", "swift",
			"-auth", envOr("SWIFT_AUTH", "http://127.0.0.1:8080/auth/v1.0"),
			"-user", envOr("SWIFT_USER", "test:tester"), "-key", envOr("SWIFT_KEY", "testing")}})
	}
	minioNote := ""
	if compareMinio {
		m := startMinio(t, devices)
		targets = append(targets, benchTarget{name: "minio", vs: "s3", pid: m.pid,
			args: []string{"-proto", "s3", "-endpoint", m.url, "-access-key", minioUser, "-secret-key", minioPassword}})
		minioNote = fmt.Sprintf("MinIO %s: one drive (%s), no erasure coding\n", m.version, m.dir)
	}
	for i := range targets {
		switch targets[i].name {
		case "s3":
			targets[i].vs = "swift"
		case "swift+log", "s3+log":
			targets[i].vs = strings.TrimSuffix(targets[i].name, "+log")
		}
	}

	rounds, err := strconv.Atoi(envOr("BENCH_ROUNDS", "1"))
	if err != nil || rounds < 1 {
		t.Fatalf("BENCH_ROUNDS: %v", err)
	}
	var rows []benchRow
	ratios := &ratioSet{byKey: map[string][]float64{}}
	for _, size := range sizes {
		for _, op := range strings.Split(envOr("BENCH_OPS", "put,get"), ",") {
			for round := range rounds {
				rows = append(rows, loadRound(t, objbench, targets, op, size, duration, concurrency, round%2 == 1, ratios)...)
			}
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\nswiftbox: %d device(s) in %s, %s replica(s), concurrency %s, %s per load\n", ndev, devices, replicas, concurrency, duration)
	b.WriteString(minioNote)
	b.WriteString(benchTable(rows, ratios, rounds))
	fmt.Print(b.String())
	if out := os.Getenv("BENCH_OUT"); out != "" {
		os.WriteFile(out, []byte(b.String()), 0o644)
	}
}

// benchTarget is one endpoint under load: objbench's connection flags,
// the pid whose RSS is sampled (0 = none), and the target its ratio is
// taken against.
type benchTarget struct {
	name string
	args []string
	pid  int
	vs   string
}

type benchRow struct {
	op, size, api string
	res           result
	rssMiB        float64
	srvUS         float64 // the server's CPU per operation, µs
	ratio         string
}

// ratioSet collects each round's ratio of a pair of targets.
type ratioSet struct {
	byKey map[string][]float64 // by "op size a/b"
	keys  []string             // in the order first seen
}

func (rs *ratioSet) add(k string, r float64) {
	if rs.byKey[k] == nil {
		rs.keys = append(rs.keys, k)
	}
	rs.byKey[k] = append(rs.byKey[k], r)
}

// loadRound loads each target in turn with op and size, a row each, in
// reverse order when reverse is set (so that no target always follows
// another), and then takes the ratios.
func loadRound(t *testing.T, objbench string, targets []benchTarget, op, size, duration, concurrency string, reverse bool, ratios *ratioSet) []benchRow {
	rows := make([]benchRow, len(targets))
	for n := range targets {
		i := n
		if reverse {
			i = len(targets) - 1 - n
		}
		tg := targets[i]
		r := benchRow{op: op, size: size, api: tg.name}
		var stop func() float64
		var cpu func() []cpuSample
		if tg.pid != 0 {
			stop, cpu = sampleRSS(tg.pid), sampleCPU(tg.pid)
		}
		r.res = runObjbench(t, objbench, tg.args, op, size, duration, concurrency)
		if stop != nil {
			r.rssMiB = stop()
			// The server's CPU in objbench's timed phase, per operation:
			// what the load costs it, however busy the machine is.
			end := time.Now().Add(-time.Duration(r.res.CleanupS * float64(time.Second)))
			used := cpuBetween(cpu(), end.Add(-time.Duration(r.res.ElapsedS*float64(time.Second))), end)
			if r.res.Count > 0 {
				r.srvUS = used.Seconds() * 1e6 / float64(r.res.Count)
			}
		}
		rows[i] = r
	}
	got := map[string]benchRow{}
	for _, r := range rows {
		got[r.api] = r
	}
	for i, tg := range targets {
		r := &rows[i]
		base, ok := got[tg.vs]
		// A ratio of this API against the one it is measured by
		// (S3 against Swift, Swift against SAIO, S3 against MinIO).
		switch {
		case !ok:
		case tg.name == "saio" || tg.name == "minio":
			if r.res.OpsPerS > 0 {
				r.ratio = fmt.Sprintf("%s/%s %.2fx", tg.vs, tg.name, base.res.OpsPerS/r.res.OpsPerS)
			}
		case base.res.OpsPerS > 0:
			x := r.res.OpsPerS / base.res.OpsPerS
			r.ratio = fmt.Sprintf("%s/%s %.2fx", tg.name, tg.vs, x)
			if x < 0.9 {
				r.ratio += " (<0.90)"
			}
			ratios.add(fmt.Sprintf("%-4s %-6s %s/%s ops/s", op, size, tg.name, tg.vs), x)
			if base.srvUS > 0 && r.srvUS > 0 {
				ratios.add(fmt.Sprintf("%-4s %-6s %s/%s srv CPU/op", op, size, tg.name, tg.vs), r.srvUS/base.srvUS)
			}
		}
	}
	return rows
}

// benchTable is the rows as a table, then the rounds' mean ratios.
func benchTable(rows []benchRow, ratios *ratioSet, rounds int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%-4s %-6s %-9s %10s %10s %9s %9s %9s %8s %10s  %s\n", "op", "size", "api", "ops/s", "MiB/s", "p50 ms", "p99 ms", "RSS MiB", "cli CPU", "srv µs/op", "ratio")
	for _, r := range rows {
		rss, srv := "-", "-"
		if r.rssMiB > 0 {
			rss = fmt.Sprintf("%.1f", r.rssMiB)
		}
		if r.srvUS > 0 {
			srv = fmt.Sprintf("%.0f", r.srvUS)
		}
		fmt.Fprintf(&b, "%-4s %-6s %-9s %10.1f %10.2f %9.2f %9.2f %9s %8.2f %10s  %s\n", r.op, r.size, r.api, r.res.OpsPerS, r.res.MiBPerS,
			r.res.Latency.P50, r.res.Latency.P99, rss, r.res.ClientCores, srv, r.ratio)
	}
	if rounds > 1 {
		fmt.Fprintf(&b, "geometric mean of %d rounds' ratios:\n", rounds)
		for _, k := range ratios.keys {
			fmt.Fprintf(&b, "%s %.3fx %s\n", k, geomean(ratios.byKey[k]), fmtRatios(ratios.byKey[k]))
		}
	}
	return b.String()
}

func geomean(xs []float64) float64 {
	sum := 0.0
	for _, x := range xs {
		sum += math.Log(x)
	}
	return math.Exp(sum / float64(len(xs)))
}

func fmtRatios(xs []float64) string {
	var parts []string
	for _, x := range xs {
		parts = append(parts, fmt.Sprintf("%.2f", x))
	}
	return "(" + strings.Join(parts, " ") + ")"
}

// startLoggedServer starts a bench server on ndev devices of its own
// with its access log on, in a file.
func startLoggedServer(t *testing.T, ndev int) *server {
	dir := filepath.Join(t.TempDir(), "node")
	for i := 1; i <= ndev; i++ {
		os.MkdirAll(filepath.Join(dir, fmt.Sprintf("d%d", i)), 0o755)
	}
	return startServer(t, dir, "--user", "bench:bench:bench:.admin", "--log-level", "warn",
		"--access-log", filepath.Join(t.TempDir(), "access.log"))
}

// apiTarget loads s through api ("swift" or "s3"), named api+suffix.
func apiTarget(api, suffix string, s *server) benchTarget {
	if api == "swift" {
		return benchTarget{name: api + suffix, pid: s.cmd.Process.Pid,
			args: []string{"-proto", "swift", "-auth", s.AuthURL(), "-user", "bench:bench", "-key", "bench"}}
	}
	return benchTarget{name: api + suffix, pid: s.cmd.Process.Pid,
		args: []string{"-proto", "s3", "-endpoint", s.URL, "-access-key", "bench:bench", "-secret-key", "bench"}}
}

type result struct {
	OpsPerS float64 `json:"ops_per_s"`
	MiBPerS float64 `json:"mib_per_s"`
	Errors  int     `json:"errors"`
	Latency struct {
		P50 float64 `json:"p50"`
		P99 float64 `json:"p99"`
	} `json:"latency_ms"`
	ClientCores float64 `json:"-"` // CPU objbench itself kept busy: not the server's
	Count       int64   `json:"count"`
	// The timed phase's length and what came after it (objbench's cleanup).
	ElapsedS, CleanupS float64 `json:"-"`
}

func envOr(k, d string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return d
}

func buildObjbench(t *testing.T) string {
	src := envOr("OBJBENCH_DIR", "../../shared/bench/objbench")
	abs, _ := filepath.Abs(src)
	bin := filepath.Join(t.TempDir(), "objbench")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Dir = abs
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building objbench in %s: %v\n%s", abs, err, out)
	}
	return bin
}

func runObjbench(t *testing.T, bin string, target []string, op, size, duration, concurrency string) result {
	args := append(append([]string{}, target...), "-op", op, "-size", size, "-concurrency", concurrency,
		"-duration", duration, "-json", "-q")
	cmd := exec.Command(bin, args...)
	out, err := cmd.Output()
	if err != nil {
		t.Errorf("objbench %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	var doc struct {
		Ops       []result `json:"ops"`
		ClientCPU struct {
			Cores float64 `json:"cores"`
		} `json:"client_cpu"`
		ElapsedS float64 `json:"elapsed_s"`
		CleanupS float64 `json:"cleanup_s"`
	}
	if err := json.Unmarshal(out, &doc); err != nil || len(doc.Ops) == 0 {
		t.Errorf("objbench output: %v\n%s", err, out)
		return result{}
	}
	r := doc.Ops[0]
	r.ClientCores = doc.ClientCPU.Cores
	r.ElapsedS, r.CleanupS = doc.ElapsedS, doc.CleanupS
	return r
}

const (
	minioUser     = "benchadmin"
	minioPassword = "benchsecret"
)

type minioServer struct {
	url, dir, version string
	pid               int
}

// startMinio runs MINIO_BIN serving one drive beside devices (MINIO_DIR
// overrides), on a free loopback port, until the test ends.
func startMinio(t *testing.T, devices string) *minioServer {
	t.Helper()
	bin := os.Getenv("MINIO_BIN")
	if bin == "" {
		t.Fatal("COMPARE_MINIO=1 needs MINIO_BIN, a minio binary")
	}
	dir := os.Getenv("MINIO_DIR")
	if dir == "" {
		dir = filepath.Clean(devices) + "-minio"
		if _, err := os.Stat(dir); err == nil {
			t.Fatalf("%s exists: remove it or set MINIO_DIR", dir)
		}
		t.Cleanup(func() { os.RemoveAll(dir) })
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	ver, _ := exec.Command(bin, "--version").Output()
	addr, console := fmt.Sprintf("127.0.0.1:%d", freePort(t)), fmt.Sprintf("127.0.0.1:%d", freePort(t))
	cmd := exec.Command(bin, "server", dir, "--address", addr, "--console-address", console, "--quiet")
	// MINIO_CI_CD: a drive on the root filesystem is allowed.
	cmd.Env = append(os.Environ(), "MINIO_ROOT_USER="+minioUser, "MINIO_ROOT_PASSWORD="+minioPassword,
		"MINIO_BROWSER=off", "MINIO_UPDATE=off", "MINIO_CI_CD=1")
	logf, err := os.Create(filepath.Join(t.TempDir(), "minio.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", bin, err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		logf.Close()
	})
	url := "http://" + addr
	for deadline := time.Now().Add(60 * time.Second); ; {
		resp, err := http.Get(url + "/minio/health/live")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		select {
		case <-done:
			log, _ := os.ReadFile(logf.Name())
			t.Fatalf("minio exited:\n%s", log)
		default:
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(logf.Name())
			t.Fatalf("minio did not start:\n%s", log)
		}
		time.Sleep(200 * time.Millisecond)
	}
	v := strings.Fields(string(ver))
	version := "?"
	if len(v) >= 3 {
		version = v[2]
	}
	return &minioServer{url: url, dir: dir, version: version, pid: cmd.Process.Pid}
}
