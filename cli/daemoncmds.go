package cli

import (
	"context"
	"crypto/subtle"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"swiftbox/server"

	"github.com/spf13/cobra"
	"github.com/valyala/fasthttp"

	"swiftbox/config"
	"swiftbox/replicator"
	"swiftbox/ring"
	"swiftbox/server/backend"
	"swiftbox/server/daemon/updater"
	"swiftbox/server/listener"
	"swiftbox/server/proxy"
	"swiftbox/storage/db"
)

// A daemon pass, by name, run once; it returns a one-line summary per part.
type daemonPass func(ctx context.Context, n *node, upd *updater.Updater, args []string) []string

var daemonPasses = map[string]daemonPass{
	"replicator": func(ctx context.Context, n *node, _ *updater.Updater, _ []string) []string {
		out := []string{passLine("object replicator", n.objectReplicator().RunOnce(ctx))}
		for _, k := range []string{db.KindContainers, db.KindAccounts} {
			out = append(out, passLine(strings.TrimSuffix(k, "s")+" replicator", n.dbReplicator(k).RunOnce(ctx)))
		}
		return out
	},
	"auditor": func(ctx context.Context, n *node, _ *updater.Updater, _ []string) []string {
		a := n.objectAuditor()
		var out []string
		for _, zbf := range []bool{true, false} {
			st := a.RunOnce(ctx, zbf)
			name := "object auditor (all)"
			if zbf {
				name = "object auditor (zero-byte)"
			}
			out = append(out, fmt.Sprintf("%s: %d objects, %d bytes checked, %d quarantined, %d errors in %s",
				name, st.Files, st.Bytes, st.Quarantined, st.Errors, st.Duration().Round(time.Millisecond)))
		}
		for _, k := range []string{db.KindContainers, db.KindAccounts} {
			st := n.dbAuditor(k).RunOnce(ctx)
			out = append(out, fmt.Sprintf("%s auditor: %d databases checked, %d quarantined, %d corrupt kept as last replica, %d errors in %s",
				strings.TrimSuffix(k, "s"), st.Files, st.Quarantined, st.Kept, st.Errors, st.Duration().Round(time.Millisecond)))
		}
		return out
	},
	"updater": func(ctx context.Context, n *node, upd *updater.Updater, _ []string) []string {
		start := time.Now()
		replayed := 0
		if !n.serving {
			replayed = upd.ReplayJournals(ctx) // serve replays them at start
		}
		st := upd.RunOnce(ctx)
		return []string{fmt.Sprintf("object updater: %d journalled updates replayed, %d async_pendings applied, %d failed (kept), %d unreadable, %d listing rows reconciled in %s",
			replayed, st.Applied, st.Failed, st.Unreadable, st.Reconciled, time.Since(start).Round(time.Millisecond))}
	},
}

func passLine(name string, st replicator.PassStats) string {
	return fmt.Sprintf("%s: %d partitions (%d handoffs), %d suffixes checked, %d synced, %d files / %d bytes pushed, %d handoffs removed, %d failures, %d remote peers skipped in %s",
		name, st.Partitions, st.Handoffs, st.SuffixesChecked, st.SuffixesSynced, st.Files, st.Bytes, st.Removed,
		st.Failures, st.Remote, st.Duration().Round(time.Millisecond))
}

func init() {
	const alone = `

serve runs this daemon itself. Run alone it works on the devices and state
that serve uses; with --once it makes one pass and prints a summary. When a
serve is running on the same devices, --once asks that serve to make the
pass (its databases are open there) and prints the summary it returns.`
	for _, d := range []struct{ name, short string }{
		{"replicator", "Replicate objects, containers and accounts between this box's devices"},
		{"auditor", "Check every object and database, quarantining corrupt ones"},
		{"updater", "Apply pending container updates (async_pending files and the update journal)"},
	} {
		addDaemonCommand(d.name, d.short, d.short+"."+alone)
	}
}

// addDaemonCommand adds `swiftbox NAME [--once] [--devices D] [--config F]`
// running the daemon pass of that name (daemonPasses).
func addDaemonCommand(name, short, long string) {
	var cfgFile, devices string
	var once bool
	cmd := &cobra.Command{
		Use:   name,
		Short: short,
		Long:  long,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := toolConfig(cmd, cfgFile, devices)
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return runDaemonCmd(ctx, cfg, name, once, cmd.OutOrStdout())
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfgFile, "config", "", "config file (as for serve)")
	f.StringVar(&devices, "devices", "/srv/node", "directory whose subdirectories are devices")
	f.BoolVar(&once, "once", false, "make one pass and exit")
	rootCmd.AddCommand(cmd)
}

// runDaemonCmd runs daemon name alone (or through a running serve).
func runDaemonCmd(ctx context.Context, cfg *config.Config, name string, once bool, out io.Writer, args ...string) error {
	prefix, suffix, err := config.ReadHashPath(cfg.StateDir)
	if err != nil {
		return err
	}
	unlock, err := lockState(cfg.StateDir)
	if errors.Is(err, errServeRunning) {
		if !once {
			return fmt.Errorf("swiftbox serve is running on %s and runs the %s itself; use --once to ask it for a pass now", cfg.Devices, name)
		}
		return askServe(ctx, cfg, name, out, args)
	}
	if err != nil {
		return err
	}
	defer unlock()
	log := newLogger(cfg.LogLevel, cfg.LogFormat, os.Stderr)
	rings, err := loadRings(cfg)
	if err != nil {
		return err
	}
	dirs, err := listDevices(cfg.Devices, log)
	if err != nil {
		return err
	}
	n := openNode(cfg, log, prefix, suffix, rings, dirs)
	defer n.close()
	local := backend.NewLocal(n.objects, n.dbs, log)
	defer local.Close()
	px, err := server.NewProxy(proxy.Options{Config: cfg, HashPrefix: prefix, HashSuffix: suffix, Rings: rings, Backend: local, Log: log})
	if err != nil {
		return err
	}
	defer px.Close()
	upd := &updater.Updater{Cluster: px.Cluster(), Objects: n.objects, Devices: n.objectDevices, Log: log.With("component", "updater")}
	interval := time.Duration(cfg.Replicator.Interval) * time.Second
	switch name {
	case "auditor":
		interval = time.Duration(cfg.Auditor.Interval) * time.Second
	case "expirer":
		interval = time.Duration(cfg.Expirer.Interval) * time.Second
	case "container-sync":
		interval = time.Duration(cfg.ContainerSync.Interval) * time.Second
	}
	for {
		for _, line := range daemonPasses[name](ctx, n, upd, args) {
			fmt.Fprintln(out, line)
		}
		if once {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(interval):
		}
	}
}

// loadRings loads the rings serve built; the daemons never build any.
func loadRings(cfg *config.Config) (*proxy.Rings, error) {
	out := map[string]*ring.Ring{}
	for _, name := range ringNames(cfg) {
		r, err := ring.Load(filepath.Join(cfg.StateDir, name+".ring.gz"))
		if err != nil {
			return nil, fmt.Errorf("%s ring: %w (run `swiftbox serve` once to build the rings, or `swiftbox ring`)", name, err)
		}
		out[name] = r
	}
	return collectRings(cfg, out), nil
}

// Control endpoint: a running serve makes a daemon pass on request of the
// daemon commands on the same box. It listens on the API port, answers
// loopback clients only, and wants the state dir's auth secret (readable
// by the serve user alone).
const (
	controlPath   = "/_swiftbox/run/"
	controlHeader = "X-Swiftbox-Control"
	addrFile      = "serve.addr"
)

// controlMiddleware serves controlPath for serve.
func controlMiddleware(n *node, upd *updater.Updater, secret []byte, ctx context.Context) proxy.Middleware {
	return func(next proxy.Handler) proxy.Handler {
		return func(rc *fasthttp.RequestCtx) error {
			path := string(rc.Path())
			if !strings.HasPrefix(path, controlPath) {
				return next(rc)
			}
			ip, _, _ := net.SplitHostPort(rc.RemoteAddr().String())
			if pip := net.ParseIP(ip); pip == nil || !pip.IsLoopback() ||
				subtle.ConstantTimeCompare(rc.Request.Header.Peek(controlHeader), secret) != 1 || string(rc.Method()) != "POST" {
				// A bare status: the client is swiftbox's own askServe.
				rc.SetStatusCode(fasthttp.StatusForbidden)
				return nil
			}
			pass, ok := daemonPasses[strings.TrimPrefix(path, controlPath)]
			if !ok {
				rc.SetStatusCode(fasthttp.StatusNotFound)
				return nil
			}
			var args []string
			for _, v := range rc.QueryArgs().PeekMulti("arg") {
				args = append(args, string(v))
			}
			body, _ := json.Marshal(pass(ctx, n, upd, args))
			rc.Response.Header.SetContentType("application/json")
			rc.SetBody(body)
			return nil
		}
	}
}

// askServe has the running serve make the pass and prints its summary.
func askServe(ctx context.Context, cfg *config.Config, name string, out io.Writer, args []string) error {
	raw, err := os.ReadFile(filepath.Join(cfg.StateDir, addrFile))
	if err != nil {
		return fmt.Errorf("swiftbox serve is running but its address is unknown (%v)", err)
	}
	secret, err := os.ReadFile(filepath.Join(cfg.StateDir, "auth.secret"))
	if err != nil {
		return err
	}
	// serve.addr: the URL, and under TLS the certificate file serve
	// presents, which this client pins (whatever names it was made for).
	addrLines := strings.Split(strings.TrimSpace(string(raw)), "\n")
	client := http.DefaultClient
	if len(addrLines) > 1 {
		certFile := strings.TrimSpace(addrLines[1])
		client = &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{
			InsecureSkipVerify: true, // replaced by the pin below
			VerifyConnection: func(cs tls.ConnectionState) error {
				if len(cs.PeerCertificates) == 0 || !listener.SameCert(certFile, cs.PeerCertificates[0].Raw) {
					return fmt.Errorf("the running serve's certificate is not the one in %s", certFile)
				}
				return nil
			},
		}}}
	}
	q := url.Values{"arg": args}
	req, _ := http.NewRequestWithContext(ctx, "POST", strings.TrimSpace(addrLines[0])+controlPath+name+"?"+q.Encode(), nil)
	req.Header.Set(controlHeader, strings.TrimSpace(string(secret)))
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("asking the running serve for a %s pass: %w", name, err)
	}
	defer resp.Body.Close()
	var lines []string
	if resp.StatusCode != 200 || json.NewDecoder(resp.Body).Decode(&lines) != nil {
		return fmt.Errorf("asking the running serve for a %s pass: %s", name, resp.Status)
	}
	fmt.Fprintf(out, "(pass made by the running serve)\n")
	for _, l := range lines {
		fmt.Fprintln(out, l)
	}
	return nil
}
