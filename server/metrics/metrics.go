// Package metrics owns swiftbox's Prometheus registry and metric families
// (requests, devices, rings, daemons, Go runtime and process) and serves
// them in the Prometheus exposition format on their own listener.
package metrics

import (
	"context"
	"crypto/subtle"
	"net"
	"runtime"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttpadaptor"
)

// namespace prefixes every swiftbox metric name.
const namespace = "swiftbox"

// Metrics is one registry with every swiftbox family. The methods of its
// parts are safe for concurrent use and accept a nil receiver (doing
// nothing): a zero Metrics, every part nil, records nothing, so code may
// run without metrics.
type Metrics struct {
	Registry *prometheus.Registry

	HTTP        *HTTP
	Devices     *Devices
	Replication *Replication
	Auditor     *Auditor
	Updater     *Updater
	Expirer     *Expirer
	Sync        *ContainerSync
	Rings       *Rings
	Auth        *Auth
	Listeners   *Listeners
}

// Options configures New.
type Options struct {
	// Recon, when set, receives the daemons' statistics in Swift's recon
	// cache format as well.
	Recon ReconSink
	// Version is swiftbox's version, reported by swiftbox_build_info.
	Version string
}

// New creates a registry with all families registered, including the Go
// runtime and process collectors.
func New(o Options) *Metrics {
	reg := prometheus.NewRegistry()
	m := &Metrics{
		Registry:    reg,
		HTTP:        newHTTP(reg),
		Devices:     newDevices(reg),
		Replication: newReplication(reg, o.Recon),
		Auditor:     newAuditor(reg, o.Recon),
		Updater:     newUpdater(reg, o.Recon),
		Expirer:     newExpirer(reg, o.Recon),
		Sync:        newContainerSync(reg),
		Rings:       newRings(reg),
		Auth:        newAuth(reg),
		Listeners:   newListeners(reg),
	}
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Namespace: namespace, Name: "build_info",
			Help:        "Always 1; the labels say which swiftbox and which Swift release it follows.",
			ConstLabels: prometheus.Labels{"version": o.Version, "swift_version": "2.30.1", "goversion": runtime.Version()},
		}, func() float64 { return 1 }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Namespace: namespace, Name: "start_time_seconds",
			Help: "When this swiftbox process started, in seconds since the epoch.",
		}, func() float64 { return float64(startTime.UnixNano()) / 1e9 }),
	)
	return m
}

var startTime = time.Now()

// Handler serves the registry at /metrics (and /). A non-empty
// bearerToken must be presented as "Authorization: Bearer <token>".
func (m *Metrics) Handler(bearerToken string) fasthttp.RequestHandler {
	h := fasthttpadaptor.NewFastHTTPHandler(promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{
		ErrorHandling: promhttp.ContinueOnError,
	}))
	want := []byte("Bearer " + bearerToken)
	return func(ctx *fasthttp.RequestCtx) {
		switch string(ctx.Path()) {
		case "/metrics", "/":
		default:
			ctx.Error("Not Found: metrics are at /metrics", fasthttp.StatusNotFound)
			return
		}
		if bearerToken != "" && subtle.ConstantTimeCompare(ctx.Request.Header.Peek("Authorization"), want) != 1 {
			ctx.Response.Header.Set("WWW-Authenticate", `Bearer realm="swiftbox metrics"`)
			ctx.Error("Unauthorized", fasthttp.StatusUnauthorized)
			return
		}
		h(ctx)
	}
}

// Server is the HTTP server for scrapes. Its 30 s timeouts hold on a plain
// listener (Serve); serve runs it under its listener's timeouts and
// connection cap instead (listener.Serve).
func (m *Metrics) Server(bearerToken string) *fasthttp.Server {
	return &fasthttp.Server{
		Handler:               m.Handler(bearerToken),
		Name:                  "swiftbox-metrics",
		ReadTimeout:           30 * time.Second,
		WriteTimeout:          30 * time.Second,
		IdleTimeout:           2 * time.Minute,
		NoDefaultServerHeader: true,
		CloseOnShutdown:       true,
	}
}

// Serve answers scrapes on a plain ln until ctx ends.
func (m *Metrics) Serve(ctx context.Context, ln net.Listener, bearerToken string) error {
	srv := m.Server(bearerToken)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
		return srv.Shutdown()
	}
}

// WatchDBCommits exports commits, the write transactions the container
// and account databases committed (one may carry many updates: group
// commit), as swiftbox_db_commits_total.
func (m *Metrics) WatchDBCommits(commits func() uint64) {
	m.Registry.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
		Namespace: namespace, Subsystem: "db", Name: "commits_total",
		Help: "Write transactions the container and account databases committed; one may carry many updates (group commit).",
	}, func() float64 { return float64(commits()) }))
}
