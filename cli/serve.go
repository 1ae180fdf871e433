package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"swiftbox/server"

	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"

	"swiftbox/config"
	"swiftbox/keystone"
	"swiftbox/ring"
	"swiftbox/s3compat"
	"swiftbox/server/backend"
	"swiftbox/server/daemon/updater"
	"swiftbox/server/listener"
	"swiftbox/server/middleware/proxylogging"
	"swiftbox/server/proxy"
	"swiftbox/storage"
)

func init() {
	var (
		cfgFile  string
		devices  string
		addr     string
		users    []string
		logLevel string
		metrics  string
		backend  string
		access   string
		s3Addr   string
		cpuProf  string
		tlsCert  string
		tlsKey   string
		tlsSelf  bool
	)
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the Swift API over the devices under --devices",
		Long: `Serve runs a whole Swift cluster on this box: every subdirectory of --devices
is a device. On first start it creates device directories (when there are
none), builds rings, generates the hash path suffix and an admin user, and
keeps them in <devices>/.swiftbox (or beside --config) so a restart comes back
to the same cluster.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(cmd, cfgFile, devices)
			if err != nil {
				return err
			}
			if cmd.Flags().Changed("addr") {
				cfg.Bind = addr
			}
			if cmd.Flags().Changed("s3-addr") {
				cfg.S3.Addr = s3Addr
			}
			if cmd.Flags().Changed("log-level") {
				cfg.LogLevel = logLevel
			}
			if cmd.Flags().Changed("metrics-addr") {
				cfg.Metrics.Addr = metrics
			}
			if cmd.Flags().Changed("backend-addr") {
				cfg.BackendAddr = backend
			}
			if cmd.Flags().Changed("access-log") {
				cfg.AccessLog.Path = access
			}
			if cmd.Flags().Changed("tls-cert") || cmd.Flags().Changed("tls-key") {
				cfg.TLS.CertFile, cfg.TLS.KeyFile, cfg.TLS.SelfSigned = tlsCert, tlsKey, false
			}
			if cmd.Flags().Changed("tls-self-signed") {
				cfg.TLS.SelfSigned = tlsSelf
			}
			cfg.Auth.Users = append(cfg.Auth.Users, users...)
			if err := cfg.Finish(); err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			if cpuProf != "" {
				done, err := startCPUProfile(cpuProf)
				if err != nil {
					return err
				}
				defer done()
			}
			return runServe(ctx, cfg, cmd.OutOrStdout())
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfgFile, "config", "", "config file (YAML; see config.yaml.example)")
	f.StringVar(&devices, "devices", "/srv/node", "directory whose subdirectories are devices")
	f.StringVar(&addr, "addr", ":8080", "API listen address HOST:PORT")
	f.StringArrayVar(&users, "user", nil, "tempauth user account:user:key[:group,…] (repeatable)")
	f.StringVar(&s3Addr, "s3-addr", "", "extra listener HOST:PORT for the S3 API (S3 is also served on --addr)")
	f.StringVar(&logLevel, "log-level", "info", "debug, info, warn or error")
	f.StringVar(&metrics, "metrics-addr", config.DefaultMetricsAddr, `Prometheus /metrics listen address HOST:PORT ("" = off)`)
	f.StringVar(&backend, "backend-addr", "auto", `storage-node (recon) listeners: auto (the rings' ip:port of this node's devices), HOST:PORT[,…] or "" (off)`)
	f.StringVar(&access, "access-log", "-", `access log file ("-" = stdout, "" = off)`)
	f.StringVar(&tlsCert, "tls-cert", "", "serve the API, S3 and metrics listeners over TLS with this PEM certificate (chain); reloaded on SIGHUP")
	f.StringVar(&tlsKey, "tls-key", "", "the PEM private key of --tls-cert")
	f.BoolVar(&tlsSelf, "tls-self-signed", false, "serve TLS with a self-signed certificate for this box's names, made once and kept in the state dir")
	f.StringVar(&cpuProf, "cpuprofile", "", "write a Go CPU profile to this file until shutdown (for `go tool pprof`)")
	f.MarkHidden("cpuprofile")
	rootCmd.AddCommand(cmd)
}

// loadConfig reads --config (if any) and applies --devices over it.
func loadConfig(cmd *cobra.Command, file, devices string) (*config.Config, error) {
	cfg := config.Default()
	if file != "" {
		var err error
		if cfg, err = config.Load(file); err != nil {
			return nil, err
		}
	}
	if cmd.Flags().Changed("devices") || file == "" {
		cfg.Devices = devices
	}
	return cfg, nil
}

func newLogger(level, format string, w io.Writer) *slog.Logger {
	var l slog.Level
	l.UnmarshalText([]byte(level))
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: l}))
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l}))
}

// runServe wires storage, rings, auth and the proxy, and serves until ctx ends.
func runServe(ctx context.Context, cfg *config.Config, out io.Writer) error {
	// Cancelled before each deferred wait below, so what it waits for
	// stops on an early error (a listener failing) too, not only on SIGTERM.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	log := newLogger(cfg.LogLevel, cfg.LogFormat, os.Stderr)
	say := func(format string, args ...any) { fmt.Fprintf(out, "swiftbox: "+format+"\n", args...) }

	devs, made, err := discoverDevices(cfg.Devices, log)
	if err != nil {
		return err
	}
	if len(made) > 0 {
		say("no devices in %s: created %s (one replica each; mount real disks there for real redundancy)",
			cfg.Devices, strings.Join(made, ", "))
	}
	st, created, err := config.LoadState(cfg.StateDir, devicesHoldData(cfg.Devices, devs))
	if err != nil {
		return err
	}
	unlock, err := lockState(cfg.StateDir)
	if err != nil {
		return err
	}
	defer unlock()
	for _, c := range created {
		say("generated %s", c)
	}
	certs, err := setupTLS(ctx, cfg, say, log)
	if err != nil {
		return err
	}
	listeners := newListenerSet(cfg, certs, log)
	defer listeners.close()
	ln, err := listeners.listen("API", cfg.Bind, true)
	if err != nil {
		return err
	}
	var s3ln *listener.Listener
	if cfg.S3.Addr != "" {
		if s3ln, err = listeners.listen("S3", cfg.S3.Addr, true); err != nil {
			return err
		}
	}
	if err := writeSwiftConfPolicies(cfg, st); err != nil {
		return err
	}
	rings, err := loadOrBuildRings(cfg, devs, say)
	if err != nil {
		return err
	}

	auth, err := startTempAuth(ctx, cfg, st, out, say)
	if err != nil {
		return err
	}

	nd := openNode(cfg, log, st.HashPrefix, st.HashSuffix, rings, devs)
	defer nd.close() // writes out noted suffix invalidations
	objects := nd.objects
	if err := recoverDevices(cfg, objects, devs, log); err != nil {
		return err
	}
	defer os.Remove(filepath.Join(cfg.StateDir, runningMarker))

	obs, err := startObservability(ctx, cfg, objects, devs, rings, log, listeners)
	if err != nil {
		return err
	}
	defer obs.close()

	local := backend.NewLocal(objects, nd.dbs, log)
	defer local.Close()
	// The daemon commands' control endpoint gets its own updater (no
	// minimum age: a pass on request applies everything).
	nd.serving = true
	ctlUpd := &updater.Updater{Objects: objects, Devices: nd.objectDevices, Log: log.With("component", "updater")}
	px, s3api, err := newServeProxy(ctx, cfg, st, rings, local, auth, nd, ctlUpd, obs, say, log)
	if err != nil {
		return err
	}
	defer px.Close()

	daemons := startServeDaemons(ctx, cfg, nd, px.Cluster(), devs, obs, log)
	defer func() { cancel(); daemons.Wait() }()

	url := ln.Scheme() + "://" + displayAddr(ln.Addr())
	announceAdmin(out, say, st, url)
	addrPath, err := writeAddrFile(cfg, url, certs)
	if err != nil {
		return err
	}
	defer os.Remove(addrPath)
	sayPolicies(cfg, say)
	say("serving the Swift API on %s (devices %s, %d replicas)", url, cfg.Devices, rings.Object.ReplicaCount())
	serveAPIs(cfg, listeners, ln, s3ln, px, s3api, obs, url, say)
	err = listeners.run(ctx)
	say("shut down")
	return err
}

// serveAPIs serves the Swift API (and the S3 API on its own listener when
// configured) on the listeners.
func serveAPIs(cfg *config.Config, listeners *listenerSet, ln, s3ln *listener.Listener, px *proxy.Proxy, s3api *s3compat.S3,
	obs *observability, url string, say func(string, ...any)) {
	srv := proxy.NewHTTPServer(px.Handler(), obs.logging.Expect(proxylogging.APISwift, px.ExpectHandler), "swiftbox")
	srv.HeaderReceived = px.HeaderReceived
	listeners.serve(ln, srv)
	if s3ln != nil {
		say("serving the S3 API on %s://%s", s3ln.Scheme(), displayAddr(s3ln.Addr()))
		s3srv := proxy.NewHTTPServer(px.HandlerWithFront([]proxy.Middleware{s3api.Handler}), obs.logging.Expect(proxylogging.APIS3, px.ExpectHandler), "swiftbox")
		s3srv.HeaderReceived = px.HeaderReceived
		listeners.serve(s3ln, s3srv)
	}
	say("S3 API: endpoint %s, region %s, access key = account:user, secret = its key", url, cfg.S3.Location)
	say("listeners: header timeout %s, client timeout %s, keep-alive timeout %s, at most %d connections each",
		config.Seconds(cfg.Listen.HeaderTimeout), config.Seconds(cfg.Listen.ClientTimeout),
		config.Seconds(cfg.Listen.KeepaliveTimeout), listeners.lim.MaxClients)
	listeners.stats = obs.metrics.Listeners
}

// writeSwiftConfPolicies writes the configured storage policies to
// swift.conf; without storage_policies swift.conf stays as it was (Swift
// implies the same Policy-0).
func writeSwiftConfPolicies(cfg *config.Config, st *config.State) error {
	var confPolicies config.Policies
	if len(cfg.StoragePolicies) > 0 {
		confPolicies = cfg.Policies
	}
	return st.WritePolicies(confPolicies)
}

// startServeDaemons replays the container updates journalled before a
// crash (or while a container replica was unavailable), then starts every
// daemon of serve: the node's replicators and auditors, the updater, the
// expirer and container sync. Each works with ctx and is waited for at
// shutdown, before the proxy, backend and node they use are closed.
func startServeDaemons(ctx context.Context, cfg *config.Config, nd *node, cluster *proxy.Cluster, devs []string,
	obs *observability, log *slog.Logger) *sync.WaitGroup {
	// Pending updates are applied before serving, then every 30 s.
	upd := &updater.Updater{Cluster: cluster, Objects: nd.objects, Devices: func() []string { return devs },
		Log: log.With("component", "updater"), Metrics: obs.metrics.Updater}
	if n := upd.ReplayJournals(ctx); n > 0 {
		log.Info("replayed journalled container updates", "updates", n)
	}
	if st := upd.ApplyPending(ctx); st.Applied+st.Failed+st.Unreadable > 0 {
		log.Info("applied pending container updates", "applied", st.Applied, "failed", st.Failed, "unreadable", st.Unreadable)
	}
	upd.MinAge = 10 * time.Second
	nd.metrics = obs.metrics
	obs.metrics.WatchDBCommits(nd.dbs.Commits)
	daemons := startDaemons(ctx, nd)
	daemons.Go(func() { upd.Run(ctx, 30*time.Second) })
	daemons.Go(func() { nd.expirer(cluster).Run(ctx, time.Duration(cfg.Expirer.Interval)*time.Second) })
	daemons.Go(func() {
		nd.containerSyncer(cluster).Run(ctx, time.Duration(cfg.ContainerSync.Interval)*time.Second)
	})
	return daemons
}

// startTempAuth builds tempauth over the config's users and the state
// dir's (an admin is generated when there are none), and keeps it in step
// with users.yaml.
func startTempAuth(ctx context.Context, cfg *config.Config, st *config.State, out io.Writer, say func(string, ...any)) (*keystone.TempAuth, error) {
	var static, userList []config.User
	for _, s := range cfg.Auth.Users {
		u, _ := config.ParseUser(s)
		static = append(static, u)
	}
	userList = append(slices.Clone(static), st.Generated...)
	if len(userList) == 0 {
		u, err := st.GenerateAdmin()
		if err != nil {
			return nil, err
		}
		say("created admin user %s:%s and stored it in %s", u.Account, u.Name, filepath.Join(cfg.StateDir, "users.yaml"))
		userList = append(userList, u)
	}
	auth := keystone.NewTempAuth(cfg.Auth.ResellerPrefix, cfg.TokenLifetime(), st.Secret, userList)
	auth.SetRequireGroups(cfg.Auth.RequireGroup)
	watchUsers(ctx, cfg.StateDir, static, auth, out)
	return auth, nil
}

// newServeProxy builds the proxy with serve's front (the daemon commands'
// control endpoint, the built-in identity endpoint, the S3 API) and
// Keystone when configured.
func newServeProxy(ctx context.Context, cfg *config.Config, st *config.State, rings *proxy.Rings, local *backend.Local,
	auth *keystone.TempAuth, nd *node, ctlUpd *updater.Updater, obs *observability, say func(string, ...any), log *slog.Logger) (*proxy.Proxy, *s3compat.S3, error) {
	// The built-in identity endpoint (Keystone v3/v2.0 for local users).
	identity := &keystone.IdentityEndpoint{Auth: auth}
	var ks *keystone.Keystone
	if cfg.Keystone.AuthURL != "" {
		ks = keystone.NewKeystone(cfg.Keystone)
		say("validating Keystone tokens with %s for accounts %s", cfg.Keystone.AuthURL, strings.Join(ks.Prefixes(), ", "))
	}
	s3api := s3compat.New(cfg, auth, log)
	if ks != nil {
		s3api.SetKeystone(ks)
	}
	px, err := server.NewProxy(proxy.Options{
		Config: cfg, HashPrefix: st.HashPrefix, HashSuffix: st.HashSuffix, Rings: rings,
		Backend: backend.Observed(local, func(_ context.Context, c backend.Call) {
			if c.Err != nil {
				obs.metrics.Devices.ObserveError(c.Node.Device, c.Err)
			}
		}),
		Auth: auth, Log: log, Metrics: obs.metrics, Keystone: ks, Filters: []proxy.Filter{proxylogging.Filter(obs.logging)},
		FrontInfo: map[string]func() map[string]any{"s3api": s3api.Info},
		Front:     []proxy.Middleware{controlMiddleware(nd, ctlUpd, st.Secret, ctx), func(next proxy.Handler) proxy.Handler { return identity.Middleware(next) }, s3api.Middleware},
	})
	if err != nil {
		return nil, nil, err
	}
	ctlUpd.Cluster = px.Cluster()
	identity.StorageURL = px.StorageURL
	identity.Logins = px.Logins()
	s3api.SetLoginThrottle(px.Logins())
	return px, s3api, nil
}

// announceAdmin prints the credentials of the admin serve generated.
func announceAdmin(out io.Writer, say func(string, ...any), st *config.State, url string) {
	for _, u := range st.Generated {
		if u.Account+":"+u.Name != "admin:admin" {
			continue // only the admin serve generated; `swiftbox user` prints its own
		}
		say("admin credentials: user %s:%s key %s", u.Account, u.Name, u.Key)
		fmt.Fprintf(out, "  swift -A %s/auth/v1.0 -U %s:%s -K %s stat\n", url, u.Account, u.Name, u.Key)
		fmt.Fprintf(out, "  curl -i -H 'X-Auth-User: %s:%s' -H 'X-Auth-Key: %s' %s/auth/v1.0\n", u.Account, u.Name, u.Key, url)
	}
}

// writeAddrFile records where serve listens (and the certificate the
// daemon commands pin) in the state dir; the caller removes it.
func writeAddrFile(cfg *config.Config, url string, certs *listener.Certs) (string, error) {
	addrPath := filepath.Join(cfg.StateDir, addrFile)
	addrText := url + "\n"
	if certs != nil {
		addrText += certs.CertFile + "\n" // what the daemon commands pin
	}
	if err := os.WriteFile(addrPath, []byte(addrText), 0o600); err != nil {
		return "", fmt.Errorf("state dir: %w", err)
	}
	return addrPath, nil
}

// sayPolicies names the storage policies when there are several.
func sayPolicies(cfg *config.Config, say func(string, ...any)) {
	if len(cfg.Policies) > 1 {
		var names []string
		for _, p := range cfg.Policies {
			n := fmt.Sprintf("%s (%d", p.Name, p.Index)
			if p.Default {
				n += ", default"
			}
			if p.Deprecated {
				n += ", deprecated"
			}
			names = append(names, n+")")
		}
		say("storage policies: %s", strings.Join(names, ", "))
	}
}

// displayAddr turns a wildcard listen address into one a client can use.
func displayAddr(a net.Addr) string {
	host, port, _ := net.SplitHostPort(a.String())
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}

// discoverDevices lists the device directories under dir, creating d1..d3
// when there are none.
func discoverDevices(dir string, log *slog.Logger) (devs, made []string, err error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, nil, fmt.Errorf("devices: %w", err)
	}
	if devs, err = listDevices(dir, log); err != nil || len(devs) > 0 {
		return devs, nil, err
	}
	for _, d := range []string{"d1", "d2", "d3"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil && !errors.Is(err, os.ErrExist) {
			return nil, nil, fmt.Errorf("devices: %w", err)
		}
		made = append(made, d)
	}
	devs, err = listDevices(dir, log)
	return devs, made, err
}

// listDevices lists the device directories under dir (storage.ListDevices),
// warning once per process about each directory skipped (lost+found).
func listDevices(dir string, log *slog.Logger) ([]string, error) {
	devs, skipped, err := storage.ListDevices(dir)
	for _, d := range skipped {
		if _, seen := skippedDevices.LoadOrStore(filepath.Join(dir, d), true); !seen {
			log.Warn("not a device: skipped", "dir", filepath.Join(dir, d))
		}
	}
	return devs, err
}

// skippedDevices are the directories listDevices has warned about.
var skippedDevices sync.Map

// devicesHoldData reports whether any device already has Swift data.
func devicesHoldData(dir string, devs []string) bool {
	for _, d := range devs {
		for _, sub := range []string{"objects", "containers", "accounts"} {
			if _, err := os.Stat(filepath.Join(dir, d, sub)); err == nil {
				return true
			}
		}
	}
	return false
}

// ringPorts are Swift's default storage-server ports, recorded in the rings
// so Swift's tools and a later multi-node setup see familiar values.
var ringPorts = map[string]int{"object": 6200, "container": 6201, "account": 6202}

// ringNames are the rings of cfg: container, account and one object ring
// per storage policy (object, object-N).
func ringNames(cfg *config.Config) []string {
	names := []string{"container", "account"}
	for _, p := range cfg.Policies {
		names = append(names, p.RingName())
	}
	return names
}

// collectRings sorts loaded rings by name into Rings.
func collectRings(cfg *config.Config, out map[string]*ring.Ring) *proxy.Rings {
	rs := &proxy.Rings{Object: out["object"], Container: out["container"], Account: out["account"], Policies: map[int]*ring.Ring{}}
	for _, p := range cfg.Policies {
		if p.Index != 0 {
			rs.Policies[p.Index] = out[p.RingName()]
		}
	}
	return rs
}

// loadOrBuildRings loads the rings from the state dir, building default
// ones from devs for any that are missing (a new storage policy's
// object-N ring too).
func loadOrBuildRings(cfg *config.Config, devs []string, say func(string, ...any)) (*proxy.Rings, error) {
	out := map[string]*ring.Ring{}
	for _, name := range ringNames(cfg) {
		path := filepath.Join(cfg.StateDir, name+".ring.gz")
		r, err := ring.Load(path)
		if err == nil {
			out[name] = r
			continue
		}
		if !errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("%s ring: %w", name, err)
		}
		var ds []ring.Device
		for _, d := range devs {
			ds = append(ds, ring.Device{Region: 1, IP: "127.0.0.1", Port: ringPorts[strings.SplitN(name, "-", 2)[0]], Device: d, Weight: 100})
		}
		b, err := ring.BuildFor(ds, cfg.Replicas, uint(cfg.PartPower))
		if err != nil {
			return nil, fmt.Errorf("%s ring: %w", name, err)
		}
		if err := b.Save(filepath.Join(cfg.StateDir, name+ring.BuilderSuffix)); err != nil {
			return nil, err
		}
		r = b.Ring()
		if err := r.Save(path); err != nil {
			return nil, err
		}
		say("built %s ring: %d devices, %d replicas, part power %d (%s)", name, len(ds), r.ReplicaCount(), r.PartPower(), path)
		out[name] = r
	}
	known := map[string]bool{}
	for _, d := range out["object"].Devices() {
		known[d.Device] = true
	}
	for _, d := range devs {
		if !known[d] {
			say("device %s is not in the object ring; add it with: swiftbox ring add object --dir %s --device %s … && swiftbox ring rebalance object --dir %s",
				d, cfg.StateDir, d, cfg.StateDir)
		}
	}
	return collectRings(cfg, out), nil
}

// runningMarker exists in the state dir while serve runs; finding it at
// start means the last run did not shut down cleanly.
const runningMarker = "running"

// recoverDevices prepares devices for serving: temp files of interrupted
// uploads are removed (nothing is writing yet), and after an unclean
// shutdown every suffix hash is invalidated so replication re-checks all
// of them (hashes.invalid appends are not fsynced on their own).
func recoverDevices(cfg *config.Config, objects *storage.ObjectStore, devs []string, log *slog.Logger) error {
	marker := filepath.Join(cfg.StateDir, runningMarker)
	_, err := os.Stat(marker)
	unclean := err == nil
	for _, d := range devs {
		for _, pi := range cfg.Policies.Indexes() {
			s := objects.Policy(pi)
			if n, err := s.CleanupTmp(d, 0); err != nil {
				log.Warn("cleaning temp files", "device", d, "policy", pi, "err", err)
			} else if n > 0 {
				log.Info("removed temp files of interrupted uploads", "device", d, "policy", pi, "files", n)
			}
			if unclean {
				if err := s.InvalidateAllHashes(d); err != nil {
					log.Warn("invalidating suffix hashes", "device", d, "policy", pi, "err", err)
				}
			}
		}
	}
	if unclean {
		log.Warn("previous run did not shut down cleanly; suffix hashes invalidated for a full replication check")
	}
	f, err := os.Create(marker)
	if err != nil {
		return fmt.Errorf("state dir: %w", err)
	}
	return f.Close()
}

// errServeRunning: a serve holds the state dir's lock.
var errServeRunning = errors.New("another swiftbox is already serving these devices")

// lockState takes an exclusive lock on the state dir for as long as serve
// runs: two servers over the same devices would wait on each other's
// database locks and race on the same files.
func lockState(dir string) (func(), error) {
	path := filepath.Join(dir, "serve.lock")
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("state dir: %w", err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w (lock %s held); stop it first", errServeRunning, path)
		}
		return nil, fmt.Errorf("locking %s: %w", path, err)
	}
	return func() { f.Close() }, nil
}

// startCPUProfile profiles the process into path; done stops and flushes.
func startCPUProfile(path string) (done func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("cpuprofile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("cpuprofile: %w", err)
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}
