// Package servertest runs a whole swiftbox proxy in process for tests: three
// temporary devices, rings over them, the container and account
// databases, tempauth users, and the full pipeline (server.NewProxy) served
// on a loopback port.
package servertest

import (
	"bytes"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"swiftbox/config"
	"swiftbox/keystone"
	"swiftbox/ring"
	"swiftbox/s3compat"
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
	// Config is the config the proxy runs with.
	Config *config.Config
	// Auth is tempauth, over Users.
	Auth *keystone.TempAuth
	// Rings place accounts, containers and objects (hash suffix "test").
	Rings *proxy.Rings
	// S3 is the S3 API when Options.S3 asked for it.
	S3 *s3compat.S3
	// S3URL is the S3 listener's http://127.0.0.1:PORT (Options.S3Listener).
	S3URL string
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
	// Front middlewares go where s3api and keystone sit, before the
	// identity endpoint and the S3 API.
	Front []proxy.Middleware
	// Users are tempauth's users as account:user:key[:groups] (nil =
	// Users).
	Users []string
	// Identity serves the built-in Keystone identity endpoint (/v3,
	// /v2.0) for the local users, as serve does.
	Identity bool
	// S3 serves the S3 API in the front slot, as serve does; the access
	// key of a user is account:user, its secret the user's key. With
	// config keystone.auth_url set, S3 and Swift tokens are also checked
	// with that Keystone.
	S3 bool
	// S3Listener also serves the S3 API alone on a port of its own (serve's
	// --s3-addr): every request there is S3, unsigned ones anonymous
	// requests to s3.anonymous_account's buckets. It implies S3.
	S3Listener bool
	// Metrics receives the proxy's metrics (nil = none).
	Metrics *metrics.Metrics
	// Logging is proxy_logging's (nil = no request logging).
	Logging *proxylogging.Logging
	// WrapBackend wraps the local backend the proxy calls (nil = none),
	// e.g. to watch the calls a request makes.
	WrapBackend func(backend.Backend) backend.Backend
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
	var be backend.Backend = local
	if o.WrapBackend != nil {
		be = o.WrapBackend(local)
	}
	var users []config.User
	if o.Users == nil {
		o.Users = Users
	}
	for _, s := range o.Users {
		u, err := config.ParseUser(s)
		if err != nil {
			t.Fatal(err)
		}
		users = append(users, u)
	}
	auth := keystone.NewTempAuth("AUTH", time.Hour, []byte("0123456789abcdef0123456789abcdef"), users)
	c := &Cluster{t: t, DBs: dbs, Devices: dir, Rings: rings, Auth: auth, Config: cfg}
	front, ks, identity := c.front(o, cfg, auth)
	var info map[string]func() map[string]any
	if c.S3 != nil {
		info = map[string]func() map[string]any{"s3api": c.S3.Info}
	}
	var filters []proxy.Filter
	if o.Logging != nil {
		filters = append(filters, proxylogging.Filter(o.Logging))
	}
	p, err := server.NewProxy(proxy.Options{Config: cfg, HashSuffix: "test", Rings: rings, Backend: be, Auth: auth,
		Front: front, FrontInfo: info, Log: o.Log, Keystone: ks, Metrics: o.Metrics, Filters: filters})
	if err != nil {
		t.Fatal(err)
	}
	if identity != nil {
		identity.StorageURL = p.StorageURL
		identity.Logins = p.Logins()
	}
	if c.S3 != nil {
		c.S3.SetLoginThrottle(p.Logins())
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := proxy.NewHTTPServer(p.Handler(), o.Logging.Expect(proxylogging.APISwift, p.ExpectHandler), "swiftbox-test")
	srv.HeaderReceived = p.HeaderReceived
	go srv.Serve(ln)
	s3srv := c.serveS3(o, p)
	t.Cleanup(func() {
		srv.Shutdown()
		if s3srv != nil {
			s3srv.Shutdown()
		}
		p.Close()
		local.Close()
		dbs.Close()
		objects.Close()
	})
	c.URL, c.Proxy = "http://"+ln.Addr().String(), p
	c.Token = c.Login("test:tester", "testing")
	return c
}

// serveS3 serves the S3 listener o asks for, as serve's --s3-addr.
func (c *Cluster) serveS3(o Options, p *proxy.Proxy) *fasthttp.Server {
	if !o.S3Listener {
		return nil
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		c.t.Fatal(err)
	}
	srv := proxy.NewHTTPServer(p.HandlerWithFront([]proxy.Middleware{c.S3.Handler}), o.Logging.Expect(proxylogging.APIS3, p.ExpectHandler), "swiftbox-test")
	srv.HeaderReceived = p.HeaderReceived
	go srv.Serve(ln)
	c.S3URL = "http://" + ln.Addr().String()
	return srv
}

// front is the front slot o asks for, in serve's order: o.Front, the
// identity endpoint, the S3 API; and the Keystone config keystone.auth_url
// names.
func (c *Cluster) front(o Options, cfg *config.Config, auth *keystone.TempAuth) ([]proxy.Middleware, *keystone.Keystone, *keystone.IdentityEndpoint) {
	front := append([]proxy.Middleware(nil), o.Front...)
	var ks *keystone.Keystone
	if cfg.Keystone.AuthURL != "" {
		ks = keystone.NewKeystone(cfg.Keystone)
	}
	var identity *keystone.IdentityEndpoint
	if o.Identity {
		identity = &keystone.IdentityEndpoint{Auth: auth}
		front = append(front, func(next proxy.Handler) proxy.Handler { return identity.Middleware(next) })
	}
	if o.S3 || o.S3Listener {
		c.S3 = s3compat.New(cfg, auth, o.Log)
		if ks != nil {
			c.S3.SetKeystone(ks)
		}
		front = append(front, c.S3.Middleware)
	}
	return front, ks, identity
}

// Replicas are the paths of the .data file of each replica of object
// a/c/o of storage policy 0, in the order the proxy reads them.
func (c *Cluster) Replicas(a, cont, o string) []string {
	c.t.Helper()
	s := storage.NewObjectStore(storage.ObjectStoreConfig{DevicesDir: c.Devices, HashSuffix: "test"})
	r := c.Rings.Object
	part := r.Partition(ring.HashPath("", "test", a, cont, o))
	var out []string
	for _, n := range r.PrimaryNodes(part) {
		m, _ := filepath.Glob(filepath.Join(s.HashDir(n.Device, part, a, cont, o), "*.data"))
		if len(m) != 1 {
			c.t.Fatalf("replica of %s on %s: %v", o, n.Device, m)
		}
		out = append(out, m[0])
	}
	return out
}

// Get GETs path with the admin token and headers as Do does and returns
// the status, the body and the error met reading it (a response cut
// short shows as io.ErrUnexpectedEOF).
func (c *Cluster) Get(path string, headers ...string) (int, []byte, error) {
	c.t.Helper()
	req, _ := http.NewRequest("GET", c.URL+path, nil)
	req.Header.Set("X-Auth-Token", c.Token)
	for _, h := range headers {
		k, v, _ := strings.Cut(h, ":")
		req.Header.Set(k, strings.TrimSpace(v))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
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

// LogBuffer collects what a logger writes (slog.NewTextHandler(buf, nil)),
// safe for the server's goroutines and the test.
type LogBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *LogBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// String is everything logged so far.
func (l *LogBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Take returns what was logged since the last Take.
func (l *LogBuffer) Take() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := l.b.String()
	l.b.Reset()
	return out
}
