package cli

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/valyala/fasthttp"
	"golang.org/x/sync/errgroup"
	"golang.org/x/sys/unix"

	"swiftbox/config"
	"swiftbox/server/listener"
	"swiftbox/server/metrics"
)

// listenerSet is every listener serve runs. They are opened first (a taken
// port ends serve before anything else starts) and served together by run:
// one that stops serving ends them all, and serve exits with its error.
type listenerSet struct {
	lim   listener.Limits
	certs *listener.Certs // nil = no TLS
	log   *slog.Logger
	items []servedListener
	open  []*listener.Listener
	// stats, when set, reports the served listeners as metrics.
	stats *metrics.Listeners
}

type servedListener struct {
	l   *listener.Listener
	srv *fasthttp.Server
}

func newListenerSet(cfg *config.Config, certs *listener.Certs, log *slog.Logger) *listenerSet {
	l := cfg.Listen
	return &listenerSet{certs: certs, log: log, lim: listener.Limits{
		HeaderTimeout:    config.Seconds(l.HeaderTimeout),
		ClientTimeout:    config.Seconds(l.ClientTimeout),
		KeepaliveTimeout: config.Seconds(l.KeepaliveTimeout),
		KeepIdle:         config.Seconds(l.KeepIdle),
		MaxClients:       maxClients(l.MaxClients),
	}}
}

// maxClients resolves max_clients: 0 is a quarter of the open-files limit
// (each connection may hold a few object or database files too), between
// 8 and 4096.
func maxClients(set int) int {
	if set > 0 {
		return set
	}
	var r unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &r); err != nil || r.Cur == unix.RLIM_INFINITY {
		return 4096
	}
	return int(min(max(r.Cur/4, 8), 4096))
}

// listen opens a listener; withTLS makes it serve TLS when serve does.
func (s *listenerSet) listen(name, addr string, withTLS bool) (*listener.Listener, error) {
	var tc *listener.Certs
	if withTLS {
		tc = s.certs
	}
	l, err := listener.Open(name, addr, s.lim, tlsConfig(tc), s.log)
	if err != nil {
		return nil, err
	}
	s.open = append(s.open, l)
	return l, nil
}

func tlsConfig(c *listener.Certs) *tls.Config {
	if c == nil {
		return nil
	}
	return c.Config()
}

// serve registers srv to be served on l by run.
func (s *listenerSet) serve(l *listener.Listener, srv *fasthttp.Server) {
	s.items = append(s.items, servedListener{l, srv})
}

// close closes every listener; those already served by run are closed.
func (s *listenerSet) close() {
	for _, l := range s.open {
		l.Close()
	}
}

// run serves every registered listener until ctx ends (nil) or one stops
// serving (an error naming it); the others then shut down.
func (s *listenerSet) run(ctx context.Context) error {
	g, gctx := errgroup.WithContext(ctx)
	for _, it := range s.items {
		s.stats.Add(it.l.Name, it.l.Addr().String(), it.l)
		g.Go(func() error {
			err := it.l.Serve(gctx, it.srv)
			if gctx.Err() != nil {
				return err
			}
			if err == nil {
				err = errors.New("it stopped accepting connections")
			}
			return fmt.Errorf("%s listener on %s stopped serving: %w", it.l.Name, it.l.Addr(), err)
		})
	}
	return g.Wait()
}

// setupTLS loads or makes the certificate when TLS is configured (nil when
// not) and reloads it on SIGHUP until ctx ends.
func setupTLS(ctx context.Context, cfg *config.Config, say func(string, ...any), log *slog.Logger) (*listener.Certs, error) {
	t := cfg.TLS
	var certs *listener.Certs
	switch {
	case t.SelfSigned:
		var hosts []string
		for _, a := range []string{cfg.Bind, cfg.S3.Addr, cfg.Metrics.Addr} {
			if h, _, err := net.SplitHostPort(a); err == nil && h != "" {
				hosts = append(hosts, h)
			}
		}
		c, created, missing, err := listener.SelfSigned(cfg.StateDir, listener.BoxNames(hosts...))
		if err != nil {
			return nil, err
		}
		verb := "using"
		if created {
			verb = "created"
		}
		say("TLS: %s self-signed certificate %s, SHA-256 fingerprint %s", verb, c.CertFile, c.Fingerprint())
		say("  give clients this file as their CA: swift --os-cacert %[1]s, aws --ca-bundle %[1]s, rclone --ca-cert %[1]s, curl --cacert %[1]s", c.CertFile)
		if len(missing) > 0 {
			log.Warn("TLS: the self-signed certificate does not cover some of this box's names; remove its folder and restart to make a new one",
				"names", strings.Join(missing, ","), "dir", cfg.StateDir+"/tls")
		}
		certs = c
	case t.CertFile != "":
		c, err := listener.LoadCerts(t.CertFile, t.KeyFile)
		if err != nil {
			return nil, err
		}
		say("TLS: certificate %s, SHA-256 fingerprint %s (reloaded on SIGHUP)", c.CertFile, c.Fingerprint())
		if fi, err := os.Stat(t.KeyFile); err == nil && fi.Mode().Perm()&0o077 != 0 {
			log.Warn("TLS: the private key is readable by other users; chmod 600 it", "key", t.KeyFile, "mode", fi.Mode().Perm().String())
		}
		certs = c
	default:
		return nil, nil
	}
	onHangup(ctx, func() {
		if err := certs.Reload(); err != nil {
			log.Error("TLS: reloading the certificate; the previous one stays in use", "err", err)
		} else {
			log.Info("TLS: certificate reloaded", "cert", certs.CertFile, "sha256", certs.Fingerprint())
		}
	})
	return certs, nil
}

// onHangup runs f on every SIGHUP until ctx ends (an operator's "reload":
// the access log reopened after rotation, the TLS certificate re-read).
func onHangup(ctx context.Context, f func()) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	go func() {
		defer signal.Stop(hup)
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				f()
			}
		}
	}()
}
