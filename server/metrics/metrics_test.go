package metrics

import (
	"bytes"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"swiftbox/ring"
	"swiftbox/storage"
)

type memRecon map[string]map[string]any

func (m memRecon) Dump(kind string, e map[string]any) {
	if m[kind] == nil {
		m[kind] = map[string]any{}
	}
	for k, v := range e {
		m[kind][k] = v
	}
}

// populated returns metrics with a sample in every family.
func populated(t *testing.T) (*Metrics, memRecon) {
	dir := t.TempDir()
	for _, d := range []string{"d1", "d2"} {
		os.MkdirAll(filepath.Join(dir, d, "objects", "7", "abc", "0123456789abcdef0123456789abcabc"), 0o755)
	}
	rc := memRecon{}
	m := New(Options{Recon: rc, Version: "v-test"})
	store := storage.NewObjectStore(storage.ObjectStoreConfig{DevicesDir: dir, HashSuffix: "x"})
	m.Devices.SetSource(DeviceSource{Store: store, List: func() []string { return []string{"d1", "d2", "gone"} }})
	m.Devices.Error("d2")
	var devs []ring.Device
	for _, d := range []string{"d1", "d2"} {
		devs = append(devs, ring.Device{Region: 1, IP: "127.0.0.1", Port: 6200, Device: d, Weight: 100})
	}
	b, err := ring.BuildFor(devs, 2, 4)
	if err != nil {
		t.Fatal(err)
	}
	m.Rings.Set("object", b.Ring())
	end := m.HTTP.Begin("swift")
	m.HTTP.Observe(Request{API: "swift", Method: "PUT", Policy: "0", Status: 201, Duration: 3 * time.Millisecond, BytesIn: 10})
	end()
	m.HTTP.Observe(Request{API: "backend", Method: "BREW", Status: 418, Duration: time.Millisecond, BytesOut: 5})
	now := time.Now()
	m.Replication.ObservePass(ReplicationPass{Type: "object", Start: now.Add(-time.Minute), End: now, Attempted: 4, Success: 3, Failure: 1, SuffixHash: 7, SuffixSync: 2, Handoffs: 1})
	m.Replication.ObservePass(ReplicationPass{Type: "container", Start: now.Add(-time.Second), End: now, Attempted: 2, Success: 2})
	m.Auditor.ObserveFile("object", "passed", 1234)
	m.Auditor.ObserveFile("object", "quarantined", 10)
	m.Auditor.ObservePass(AuditPass{Type: "object", Mode: "ALL", Start: now.Add(-time.Hour), End: now, Passes: 1, Quarantined: 1, BytesProcessed: 1244, Complete: true})
	m.Updater.ObservePass(UpdaterPass{Type: "object", Start: now.Add(-time.Second), End: now, Successes: 2, Failures: 1, Backlog: 3})
	m.Expirer.ObservePass(ExpirerPass{Start: now.Add(-time.Second), End: now, Expired: 5})
	m.Sync.ObservePass(ContainerSyncPass{Start: now.Add(-time.Second), End: now, Containers: 3, Synced: 2, Puts: 7, Deletes: 1, Bytes: 700})
	m.Auth.ObserveLogin("tempauth", true)
	m.Auth.ObserveToken("tempauth", false)
	m.Auth.ObserveCache("keystone", true)
	m.Auth.SetCacheEntries("keystone", 3)
	m.Listeners.Add("API", "127.0.0.1:8080", listenerFigures{open: 2, refused: 5, retries: 7})
	return m, rc
}

func scrape(t *testing.T, m *Metrics, token, auth string) (int, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	go m.Serve(ctx, ln, token)
	req, _ := http.NewRequest("GET", "http://"+ln.Addr().String()+"/metrics", nil)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// The exposition has every family, follows Prometheus naming, and passes
// `promtool check metrics` when promtool (Debian's prometheus) is there.
func TestExposition(t *testing.T) {
	m, rc := populated(t)
	code, body := scrape(t, m, "", "")
	if code != 200 {
		t.Fatalf("scrape: %d %s", code, body)
	}
	for _, want := range []string{
		`swiftbox_http_requests_total{api="swift",method="PUT",policy="0",status_class="2xx"} 1`,
		`swiftbox_http_requests_total{api="backend",method="other",policy="",status_class="4xx"} 1`,
		`swiftbox_http_request_duration_seconds_bucket{api="swift",method="PUT",policy="0",status_class="2xx",le="0.005"} 1`,
		`swiftbox_http_request_body_bytes_total{api="swift",method="PUT",policy="0"} 10`,
		`swiftbox_http_requests_in_flight{api="swift"} 0`,
		`swiftbox_device_mounted{device="d1"} 1`,
		`swiftbox_device_failed{device="gone"} 1`,
		`swiftbox_device_mounted{device="gone"} 0`,
		`swiftbox_device_objects_estimate{device="d1"} 1`,
		`swiftbox_device_errors_total{device="d2"} 1`,
		`swiftbox_ring_part_power{ring="object"} 4`,
		`swiftbox_ring_replicas{ring="object"} 2`,
		`swiftbox_ring_balance_percent{ring="object"} 0`,
		`swiftbox_replication_partitions_total{result="failure",type="object"} 1`,
		`swiftbox_replication_suffixes_total{action="synced",type="object"} 2`,
		`swiftbox_replication_last_pass_duration_seconds{type="object"} 60`,
		`swiftbox_replication_handoff_partitions{type="object"} 1`,
		`swiftbox_auditor_files_total{result="quarantined",type="object"} 1`,
		`swiftbox_auditor_bytes_total{type="object"} 1244`,
		`swiftbox_updater_updates_total{result="failure",type="object"} 1`,
		`swiftbox_updater_async_pending{type="object"} 3`,
		`swiftbox_expirer_objects_total{result="success"} 5`,
		`swiftbox_container_sync_rows_total{result="put"} 7`,
		`swiftbox_container_sync_rows_total{result="delete"} 1`,
		`swiftbox_container_sync_containers_total{result="failed"} 1`,
		`swiftbox_container_sync_bytes_total 700`,
		"swiftbox_container_sync_last_pass_timestamp_seconds",
		`swiftbox_auth_logins_total{result="success",system="tempauth"} 1`,
		`swiftbox_auth_token_validations_total{result="invalid",system="tempauth"} 1`,
		`swiftbox_auth_token_cache_requests_total{result="hit",system="keystone"} 1`,
		`swiftbox_auth_token_cache_entries{system="keystone"} 3`,
		"swiftbox_device_capacity_bytes", "swiftbox_device_free_bytes", "swiftbox_device_used_bytes",
		"swiftbox_replication_last_pass_timestamp_seconds", "swiftbox_auditor_last_pass_timestamp_seconds",
		`swiftbox_build_info{goversion="` + runtime.Version() + `",swift_version="2.30.1",version="v-test"} 1`,
		`swiftbox_listener_connections{addr="127.0.0.1:8080",listener="API"} 2`,
		`swiftbox_listener_refused_connections_total{addr="127.0.0.1:8080",listener="API"} 5`,
		`swiftbox_listener_accept_retries_total{addr="127.0.0.1:8080",listener="API"} 7`,
		"go_goroutines", "process_resident_memory_bytes", "swiftbox_start_time_seconds",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("exposition lacks %s", want)
		}
	}
	if rc["object"]["object_replication_time"] != 1.0 || rc["container"]["replication_time"] != 1.0 ||
		rc["object"]["async_pending"] != 3 || rc["object"]["expired_last_pass"] != 5 {
		t.Errorf("recon entries: %v", rc)
	}
	if st, ok := rc["object"]["object_auditor_stats_ALL"].(map[string]any); !ok || st["quarantined"] != 1 || st["bytes_processed"] != int64(1244) {
		t.Errorf("auditor recon: %v", rc["object"])
	}
	PromtoolCheck(t, body)
}

// PromtoolCheck runs `promtool check metrics` on an exposition, skipping
// when promtool is not installed (make test-deps installs it).
func PromtoolCheck(t *testing.T, exposition string) {
	t.Helper()
	path, err := exec.LookPath("promtool")
	if err != nil {
		t.Log("promtool not installed (Debian package prometheus); skipping its check")
		return
	}
	cmd := exec.Command(path, "check", "metrics")
	cmd.Stdin = strings.NewReader(exposition)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Errorf("promtool check metrics: %v\n%s", err, out.String())
	}
}

func TestBearerToken(t *testing.T) {
	m, _ := populated(t)
	if code, _ := scrape(t, m, "s3cret", ""); code != 401 {
		t.Errorf("no token: %d, want 401", code)
	}
	if code, _ := scrape(t, m, "s3cret", "Bearer wrong"); code != 401 {
		t.Errorf("wrong token: %d, want 401", code)
	}
	if code, body := scrape(t, m, "s3cret", "Bearer s3cret"); code != 200 || !strings.Contains(body, "swiftbox_ring_part_power") {
		t.Errorf("right token: %d", code)
	}
}

// A nil *Metrics part is a no-op, so daemons run without metrics.
func TestNilSafe(t *testing.T) {
	var m Metrics
	m.HTTP.Begin("swift")()
	m.HTTP.Observe(Request{})
	m.Replication.ObservePass(ReplicationPass{})
	m.Auditor.ObserveFile("object", "passed", 1)
	m.Auditor.ObservePass(AuditPass{})
	m.Updater.ObservePass(UpdaterPass{})
	m.Expirer.ObservePass(ExpirerPass{})
	m.Sync.ObservePass(ContainerSyncPass{})
	m.Devices.Error("d1")
	m.Rings.Set("object", nil)
	m.Auth.ObserveLogin("tempauth", true)
	m.Auth.ObserveToken("tempauth", true)
	m.Auth.ObserveCache("keystone", false)
	m.Auth.SetCacheEntries("keystone", 1)
	m.Listeners.Add("API", "", listenerFigures{})
}

// listenerFigures are fixed listener figures to expose.
type listenerFigures struct {
	open             int
	refused, retries uint64
}

func (f listenerFigures) OpenConns() int        { return f.open }
func (f listenerFigures) RefusedConns() uint64  { return f.refused }
func (f listenerFigures) AcceptRetries() uint64 { return f.retries }
