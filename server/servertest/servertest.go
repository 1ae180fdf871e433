// Package servertest runs a whole swiftbox proxy in process for tests: three
// temporary devices, rings over them, the container and account
// databases, tempauth users, and the full pipeline (server.NewProxy) served
// on a loopback port.
package servertest

import (
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"swiftbox/config"
	"swiftbox/keystone"
	"swiftbox/ring"
	"swiftbox/server"
	"swiftbox/server/backend"
	"swiftbox/server/metrics"
	"swiftbox/server/middleware/proxylogging"
	"swiftbox/server/proxy"
	"swiftbox/storage"
	"swiftbox/storage/db"
)

// Cluster is a running in-process proxy.
type Cluster struct {
	t     testing.TB
	URL   string // http://127.0.0.1:PORT
	Proxy *proxy.Proxy
	Token string    // of test:tester (.admin of AUTH_test)
	DBs   *db.Store // the container and account databases on d1..d3
	// Devices is the directory holding d1..d3.
	Devices string
}

// Options change the cluster Start serves; the zero value is the default.
type Options struct {
	// Dir holds the devices d1..d3 (created if missing); "" = a temporary one.
	Dir string
	// FS is the object store's file system (nil = the real one).
	FS storage.FS
	// Log is the proxy's logger (nil = slog's default).
	Log *slog.Logger
	// Configure changes the config before it is finished (storage
	// policies are each given a ring).
	Configure func(*config.Config)
	// Front middlewares go where s3api and keystone sit.
	Front []proxy.Middleware
	// Metrics receives the proxy's metrics (nil = none).
	Metrics *metrics.Metrics
	// Logging is proxy_logging's (nil = no request logging).
	Logging *proxylogging.Logging
}

// Users are tempauth's: test:tester/testing (.admin), test:tester2/testing2
// (no groups), test2:tester3/testing3 (.admin).
var Users = []string{"test:tester:testing:.admin", "test:tester2:testing2", "test2:tester3:testing3:.admin"}

// Start serves a fresh cluster until the test ends.
func Start(t testing.TB, o Options) *Cluster {
	t.Helper()
	dir := o.Dir
	if dir == "" {
		dir = t.TempDir()
	}
	var devs []ring.Device
	for _, d := range []string{"d1", "d2", "d3"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
		devs = append(devs, ring.Device{Region: 1, IP: "127.0.0.1", Port: 6200, Device: d, Weight: 100})
	}
	newRing := func() *ring.Ring {
		b, err := ring.BuildFor(devs, 3, 6)
		if err != nil {
			t.Fatal(err)
		}
		return b.Ring()
	}
	rings := &proxy.Rings{Object: newRing(), Container: newRing(), Account: newRing(), Policies: map[int]*ring.Ring{}}
	cfg := config.Default()
	cfg.Devices = dir
	cfg.MountCheck = false
	if o.Configure != nil {
		o.Configure(cfg)
	}
	if err := cfg.Finish(); err != nil {
		t.Fatal(err)
	}
	for _, pol := range cfg.Policies {
		if pol.Index != 0 {
			rings.Policies[pol.Index] = newRing()
		}
	}
	objects := storage.NewObjectStore(storage.ObjectStoreConfig{DevicesDir: dir, HashPrefix: "", HashSuffix: "test",
		ReclaimAge: time.Duration(cfg.ReclaimAge) * time.Second, FS: o.FS})
	dbs := db.Open(db.Config{DevicesDir: dir, HashSuffix: "test"})
	local := backend.NewLocal(objects, dbs, nil)
	var users []config.User
	for _, s := range Users {
		u, err := config.ParseUser(s)
		if err != nil {
			t.Fatal(err)
		}
		users = append(users, u)
	}
	auth := keystone.NewTempAuth("AUTH", time.Hour, []byte("0123456789abcdef0123456789abcdef"), users)
	var filters []proxy.Filter
	if o.Logging != nil {
		filters = append(filters, proxylogging.Filter(o.Logging))
	}
	p, err := server.NewProxy(proxy.Options{Config: cfg, HashSuffix: "test", Rings: rings, Backend: local, Auth: auth, Front: o.Front, Log: o.Log,
		Metrics: o.Metrics, Filters: filters})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := proxy.NewHTTPServer(p.Handler(), o.Logging.Expect(proxylogging.APISwift, p.ExpectHandler), "swiftbox-test")
	srv.HeaderReceived = p.HeaderReceived
	go srv.Serve(ln)
	t.Cleanup(func() {
		srv.Shutdown()
		p.Close()
		local.Close()
		dbs.Close()
		objects.Close()
	})
	c := &Cluster{t: t, URL: "http://" + ln.Addr().String(), Proxy: p, DBs: dbs, Devices: dir}
	c.Token = c.Login("test:tester", "testing")
	return c
}

// Login returns a token for user (account:user) and key.
func (c *Cluster) Login(user, key string) string {
	c.t.Helper()
	req, _ := http.NewRequest("GET", c.URL+"/auth/v1.0", nil)
	req.Header.Set("X-Auth-User", user)
	req.Header.Set("X-Auth-Key", key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	resp.Body.Close()
	tok := resp.Header.Get("X-Auth-Token")
	if tok == "" {
		c.t.Fatalf("login %s: %s", user, resp.Status)
	}
	return tok
}

// Do sends method path (under the server, e.g. "/v1/AUTH_test/c") with
// headers as "Name: value" strings and body, with the admin token unless
// a header sets X-Auth-Token (an empty value sends none). It returns the
// response with its body read.
func (c *Cluster) Do(method, path, body string, headers ...string) (*http.Response, string) {
	c.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, c.URL+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("X-Auth-Token", c.Token)
	for _, h := range headers {
		k, v, _ := strings.Cut(h, ":")
		req.Header.Set(k, strings.TrimSpace(v))
	}
	if req.Header.Get("X-Auth-Token") == "" {
		req.Header.Del("X-Auth-Token")
	}
	if method == "PUT" && rd == nil {
		req.ContentLength = 0
		req.Body = http.NoBody
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(b)
}

// Must is Do that fails the test unless the status is want.
func (c *Cluster) Must(want int, method, path, body string, headers ...string) (*http.Response, string) {
	c.t.Helper()
	resp, b := c.Do(method, path, body, headers...)
	if resp.StatusCode != want {
		c.t.Fatalf("%s %s: %d %s, want %d", method, path, resp.StatusCode, b, want)
	}
	return resp, b
}
