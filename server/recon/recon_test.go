package recon

import (
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"swiftbox/server/metrics"
	"swiftbox/server/proxy"
)

func TestCacheDumpMerges(t *testing.T) {
	c := &Cache{Dir: t.TempDir()}
	c.Dump("object", map[string]any{"async_pending": 3, "stats": map[string]any{"a": 1, "b": 2}})
	c.Dump("object", map[string]any{"object_updater_sweep": 1.5, "stats": map[string]any{"b": 5, "a": map[string]any{}}})
	m, err := c.Load("object")
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(m)
	if string(raw) != `{"async_pending":3,"object_updater_sweep":1.5,"stats":{"b":5}}` {
		t.Errorf("object.recon = %s", raw)
	}
	if _, err := os.Stat(filepath.Join(c.Dir, ObjectFile)); err != nil {
		t.Error(err)
	}
}

// serve runs h on a loopback port and returns a GET helper for it.
func serve(t *testing.T, h *Handler) func(path string) (int, string) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &fasthttp.Server{Handler: proxy.Serve(h.Middleware(func(ctx *fasthttp.RequestCtx) error { ctx.SetStatusCode(418); return nil }))}
	go srv.Serve(ln)
	t.Cleanup(func() { ln.Close() })
	return func(path string) (int, string) {
		t.Helper()
		resp, err := http.Get("http://" + ln.Addr().String() + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
}

// The answers have the shapes swift-recon reads.
func TestHandler(t *testing.T) {
	dir := t.TempDir()
	swiftDir := filepath.Join(dir, ".swiftbox")
	for _, p := range []string{"d1/quarantined/objects/h1", "d1/quarantined/objects/h2", "d2/quarantined/containers/c1", "d3", ".swiftbox"} {
		os.MkdirAll(filepath.Join(dir, p), 0o755)
	}
	os.WriteFile(filepath.Join(swiftDir, "swift.conf"), []byte("[swift-hash]\nswift_hash_path_suffix = x\n"), 0o600)
	os.WriteFile(filepath.Join(swiftDir, "object.ring.gz"), []byte("ring"), 0o600)
	cache := &Cache{Dir: filepath.Join(swiftDir, "recon")}
	cache.Dump("object", map[string]any{"async_pending": 2, "async_pending_last": 5.5})
	h := &Handler{Devices: dir, SwiftDir: swiftDir, Cache: cache, Version: "test",
		CheckDevice: func(d string) error {
			if d == "d3" {
				return errors.New("storage: device unavailable: d3: not a mount point")
			}
			return nil
		}}
	get := serve(t, h)
	for path, want := range map[string]string{
		"/recon/async":               `{"async_pending":2,"async_pending_last":5.5}`,
		"/recon/quarantined":         `{"accounts":0,"containers":1,"objects":2,"policies":{"0":{"objects":2}}}`,
		"/recon/unmounted":           `[{"device":"d3","mounted":false}]`,
		"/recon/ringmd5":             `{"` + swiftDir + `/object.ring.gz":"` + md5File(filepath.Join(swiftDir, "object.ring.gz")).(string) + `"}`,
		"/recon/replication/account": `{"replication_last":null,"replication_stats":null,"replication_time":null}`,
		"/recon/version":             `{"swiftbox_version":"test","version":"2.30.1"}`,
		"/recon/relinker":            `{"devices":null,"workers":null}`,
	} {
		code, body := get(path)
		if code != 200 || body != want {
			t.Errorf("GET %s: %d %s, want %s", path, code, body, want)
		}
	}
	code, body := get("/recon/diskusage")
	var du []map[string]any
	if err := json.Unmarshal([]byte(body), &du); code != 200 || err != nil || len(du) != 3 ||
		du[0]["mounted"] != true || du[0]["size"].(float64) <= 0 || du[2]["mounted"] != false {
		t.Errorf("diskusage: %d %s", code, body)
	}
	code, body = get("/recon/swiftconfmd5")
	var sc map[string]any
	if json.Unmarshal([]byte(body), &sc); code != 200 || sc[DefaultSwiftConf] == nil || sc[DefaultSwiftConf] != sc[filepath.Join(swiftDir, "swift.conf")] {
		t.Errorf("swiftconfmd5: %s", body)
	}
	for _, p := range []string{"/recon/load", "/recon/mem", "/recon/mounted", "/recon/sockstat", "/recon/time", "/recon/devices",
		"/recon/auditor/object", "/recon/updater/object", "/recon/expirer/object", "/recon/replication/object", "/recon/driveaudit"} {
		if code, body := get(p); code != 200 || !json.Valid([]byte(body)) {
			t.Errorf("GET %s: %d %s", p, code, body)
		}
	}
	if code, body := get("/recon/nonsense"); code != 404 || body != "Invalid path: /recon/nonsense" {
		t.Errorf("unknown check: %d %s", code, body)
	}
	if code, _ := get("/other"); code != 418 {
		t.Errorf("non-recon path not passed on: %d", code)
	}
}

// What the daemons report through server/metrics lands in the recon
// cache files and comes back out of /recon as swift-recon reads it.
func TestDaemonPassesReachRecon(t *testing.T) {
	dir := t.TempDir()
	cache := &Cache{Dir: filepath.Join(dir, "recon")}
	m := metrics.New(metrics.Options{Recon: cache})
	end := time.Unix(1700000000, 0)
	m.Replication.ObservePass(metrics.ReplicationPass{Type: "object", Start: end.Add(-3 * time.Minute), End: end, Attempted: 8, Success: 7, Failure: 1})
	m.Replication.ObservePass(metrics.ReplicationPass{Type: "container", Start: end.Add(-2 * time.Second), End: end, Attempted: 2, Success: 2})
	m.Auditor.ObservePass(metrics.AuditPass{Type: "object", Mode: "ZBF", Start: end.Add(-time.Hour), AuditTime: time.Minute, Passes: 5, Quarantined: 1, BytesProcessed: 0})
	m.Auditor.ObservePass(metrics.AuditPass{Type: "account", Start: end.Add(-time.Hour), End: end, Passes: 3, Complete: true})
	m.Updater.ObservePass(metrics.UpdaterPass{Type: "object", Start: end.Add(-time.Second), End: end, Backlog: 4})
	m.Expirer.ObservePass(metrics.ExpirerPass{Start: end.Add(-2 * time.Second), End: end, Expired: 9})
	get := serve(t, &Handler{Devices: dir, SwiftDir: dir, Cache: cache})
	for path, want := range map[string]string{
		"/recon/replication/object": `{"object_replication_last":1700000000,"object_replication_time":3,"replication_last":1700000000,` +
			`"replication_stats":{"attempted":8,"failure":1,"failure_nodes":{},"hashmatch":0,"remove":0,"rsync":0,"start":1699999820,` +
			`"success":7,"suffix_count":0,"suffix_hash":0,"suffix_sync":0},"replication_time":3}`,
		"/recon/replication/container": `{"replication_last":1700000000,"replication_stats":{"attempted":2,"failure":0,"failure_nodes":{},` +
			`"hashmatch":0,"no_change":0,"remove":0,"rsync":0,"start":1699999998,"success":2},"replication_time":2}`,
		"/recon/auditor/object": `{"object_auditor_stats_ALL":null,"object_auditor_stats_ZBF":{"audit_time":60,"bytes_processed":0,` +
			`"errors":0,"passes":5,"quarantined":1,"start_time":1699996400}}`,
		"/recon/auditor/account": `{"account_auditor_pass_completed":3600,"account_audits_failed":0,"account_audits_passed":3,"account_audits_since":1699996400}`,
		"/recon/async":           `{"async_pending":4,"async_pending_last":1700000000}`,
		"/recon/updater/object":  `{"object_updater_sweep":1}`,
		"/recon/expirer/object":  `{"expired_last_pass":9,"object_expiration_pass":2}`,
	} {
		if code, body := get(path); code != 200 || body != want {
			t.Errorf("GET %s:\n got %d %s\nwant %s", path, code, body, want)
		}
	}
}
