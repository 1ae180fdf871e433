package proxy

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
	"swiftbox/server/backend"
	"swiftbox/storage"
	"swiftbox/storage/db"
)

// testCluster is an in-process proxy over three temporary devices, served
// on a loopback port: the middlewares' tests drive it with net/http.
type testCluster struct {
	t     *testing.T
	URL   string // http://127.0.0.1:PORT
	Proxy *Proxy
	Token string    // of test:tester (.admin of AUTH_test)
	DBs   *db.Store // the container and account databases on d1..d3
	// Devices is the directory holding d1..d3.
	Devices string
}

// startTestCluster serves a fresh cluster; front middlewares go where
// s3api and keystone sit. Users: test:tester/testing (.admin),
// test:tester2/testing2 (no groups), test2:tester3/testing3 (.admin).
func startTestCluster(t *testing.T, front ...Middleware) *testCluster {
	t.Helper()
	return startConfiguredCluster(t, nil, front...)
}

// startConfiguredCluster is startTestCluster with configure applied to
// the config before it is finished (e.g. storage policies, each given a
// ring).
func startConfiguredCluster(t *testing.T, configure func(*config.Config), front ...Middleware) *testCluster {
	t.Helper()
	return startClusterOn(t, t.TempDir(), nil, nil, configure, front...)
}

// startClusterOn is startConfiguredCluster over the devices in dir
// (d1..d3 are created if missing), with the object store on fs and the
// proxy logging to log (nil = defaults).
func startClusterOn(t *testing.T, dir string, fs storage.FS, log *slog.Logger, configure func(*config.Config), front ...Middleware) *testCluster {
	t.Helper()
	var devs []ring.Device
	for _, d := range []string{"d1", "d2", "d3"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
		devs = append(devs, ring.Device{Region: 1, IP: "127.0.0.1", Port: 6200, Device: d, Weight: 100})
	}
	rings := &Rings{}
	for _, r := range []**ring.Ring{&rings.Object, &rings.Container, &rings.Account} {
		b, err := ring.BuildFor(devs, 3, 6)
		if err != nil {
			t.Fatal(err)
		}
		*r = b.Ring()
	}
	cfg := config.Default()
	cfg.Devices = dir
	cfg.MountCheck = false
	if configure != nil {
		configure(cfg)
	}
	if err := cfg.Finish(); err != nil {
		t.Fatal(err)
	}
	rings.Policies = map[int]*ring.Ring{}
	for _, pol := range cfg.Policies {
		if pol.Index != 0 {
			b, err := ring.BuildFor(devs, 3, 6)
			if err != nil {
				t.Fatal(err)
			}
			rings.Policies[pol.Index] = b.Ring()
		}
	}
	objects := storage.NewObjectStore(storage.ObjectStoreConfig{DevicesDir: dir, HashPrefix: "", HashSuffix: "test",
		ReclaimAge: time.Duration(cfg.ReclaimAge) * time.Second, FS: fs})
	dbs := db.Open(db.Config{DevicesDir: dir, HashSuffix: "test"})
	local := backend.NewLocal(objects, dbs, nil)
	users := []config.User{}
	for _, s := range []string{"test:tester:testing:.admin", "test:tester2:testing2", "test2:tester3:testing3:.admin"} {
		u, err := config.ParseUser(s)
		if err != nil {
			t.Fatal(err)
		}
		users = append(users, u)
	}
	auth := keystone.NewTempAuth("AUTH", time.Hour, []byte("0123456789abcdef0123456789abcdef"), users)
	p, err := NewProxy(Options{Config: cfg, HashSuffix: "test", Rings: rings, Backend: local, Auth: auth, Front: front, Log: log, Filters: assembled})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := NewHTTPServer(p.Handler(), p.ExpectHandler, "swiftbox-test")
	srv.HeaderReceived = p.HeaderReceived
	go srv.Serve(ln)
	t.Cleanup(func() {
		srv.Shutdown()
		p.Close()
		local.Close()
		dbs.Close()
		objects.Close()
	})
	c := &testCluster{t: t, URL: "http://" + ln.Addr().String(), Proxy: p, DBs: dbs, Devices: dir}
	c.Token = c.login("test:tester", "testing")
	return c
}

// login returns a token for user (account:user) and key.
func (c *testCluster) login(user, key string) string {
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

// do sends method path (under the server, e.g. "/v1/AUTH_test/c") with
// headers as "Name: value" strings and body, with the admin token unless
// a header sets X-Auth-Token (an empty value sends none). It returns the
// response with its body read.
func (c *testCluster) do(method, path, body string, headers ...string) (*http.Response, string) {
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

// must is do that fails the test unless the status is want.
func (c *testCluster) must(want int, method, path, body string, headers ...string) (*http.Response, string) {
	c.t.Helper()
	resp, b := c.do(method, path, body, headers...)
	if resp.StatusCode != want {
		c.t.Fatalf("%s %s: %d %s, want %d", method, path, resp.StatusCode, b, want)
	}
	return resp, b
}
