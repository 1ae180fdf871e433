//go:build bench

package cli_test

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestBench is `make bench`: swiftbox with 3 devices and 3 replicas under
// objbench, PUT and GET of each size at concurrency 16, with the server's
// peak RSS per load. With COMPARE_SWIFT=1 the same loads also run against
// a Swift all-in-one (SWIFT_AUTH, default http://127.0.0.1:8080/auth/v1.0)
// in the same run, and ratios swiftbox/Swift are printed.
func TestBench(t *testing.T) {
	objbench := buildObjbench(t)
	devices := os.Getenv("BENCH_DEVICES")
	if devices == "" {
		devices = t.TempDir()
	}
	for _, d := range []string{"d1", "d2", "d3"} {
		os.MkdirAll(filepath.Join(devices, d), 0o755)
	}
	s := startServer(t, devices, "--user", "bench:bench:bench:.admin", "--log-level", "warn")
	duration := envOr("BENCH_DURATION", "15s")
	sizes := strings.Split(envOr("BENCH_SIZES", "4KiB,1MiB,64MiB"), ",")
	compare := os.Getenv("COMPARE_SWIFT") == "1"
	swiftAuth := envOr("SWIFT_AUTH", "http://127.0.0.1:8080/auth/v1.0")

	type row struct {
		op, size         string
		sb, sw           result
		rssMiB           float64
		swiftRan, failed bool
	}
	var rows []row
	for _, size := range sizes {
		for _, op := range []string{"put", "get"} {
			r := row{op: op, size: size}
			stop := sampleRSS(s.cmd.Process.Pid)
			r.sb = runObjbench(t, objbench, s.AuthURL(), "bench:bench", "bench", op, size, duration)
			r.rssMiB = stop()
			if compare {
				r.sw = runObjbench(t, objbench, swiftAuth, envOr("SWIFT_USER", "test:tester"), envOr("SWIFT_KEY", "testing"), op, size, duration)
				r.swiftRan = true
			}
			rows = append(rows, r)
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\nswiftbox: 3 devices (%s), 3 replicas, concurrency 16, %s per load\n", devices, duration)
	fmt.Fprintf(&b, "%-4s %-6s %10s %10s %9s %9s %9s", "op", "size", "ops/s", "MiB/s", "p50 ms", "p99 ms", "RSS MiB")
	if compare {
		fmt.Fprintf(&b, " %10s %10s %8s", "swift op/s", "swift MiB/s", "ratio")
	}
	b.WriteString("\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "%-4s %-6s %10.1f %10.2f %9.2f %9.2f %9.1f", r.op, r.size, r.sb.OpsPerS, r.sb.MiBPerS,
			r.sb.Latency.P50, r.sb.Latency.P99, r.rssMiB)
		if r.swiftRan {
			ratio := 0.0
			if r.sw.OpsPerS > 0 {
				ratio = r.sb.OpsPerS / r.sw.OpsPerS
			}
			fmt.Fprintf(&b, " %10.1f %10.2f %7.2fx", r.sw.OpsPerS, r.sw.MiBPerS, ratio)
		}
		b.WriteString("\n")
	}
	fmt.Print(b.String())
	if out := os.Getenv("BENCH_OUT"); out != "" {
		os.WriteFile(out, []byte(b.String()), 0o644)
	}
}

type result struct {
	OpsPerS float64 `json:"ops_per_s"`
	MiBPerS float64 `json:"mib_per_s"`
	Errors  int     `json:"errors"`
	Latency struct {
		P50 float64 `json:"p50"`
		P99 float64 `json:"p99"`
	} `json:"latency_ms"`
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

func runObjbench(t *testing.T, bin, auth, user, key, op, size, duration string) result {
	cmd := exec.Command(bin, "-proto", "swift", "-auth", auth, "-user", user, "-key", key, "-op", op,
		"-size", size, "-concurrency", "16", "-duration", duration, "-json", "-q")
	out, err := cmd.Output()
	if err != nil {
		t.Errorf("objbench %s %s against %s: %v\n%s", op, size, auth, err, out)
	}
	var doc struct {
		Ops []result `json:"ops"`
	}
	if err := json.Unmarshal(out, &doc); err != nil || len(doc.Ops) == 0 {
		t.Errorf("objbench output: %v\n%s", err, out)
		return result{}
	}
	return doc.Ops[0]
}
