package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sort"
	"strconv"
	"strings"
	"syscall"

	"swiftbox/config"
	"swiftbox/ring"
	"swiftbox/server/metrics"
	"swiftbox/server/middleware/proxylogging"
	"swiftbox/server/proxy"
	"swiftbox/server/recon"
	"swiftbox/storage"
)

// observability is what serve runs so an operator can see inside it: the
// /metrics listener, the storage-node listeners answering recon, the
// recon cache, and the access log.
type observability struct {
	metrics *metrics.Metrics
	recon   *recon.Cache
	logging *proxylogging.Logging
	access  *proxylogging.AccessLog
}

func (o *observability) close() {
	if o.access != nil {
		o.access.Close()
	}
}

// startObservability opens the access log and the metrics and
// storage-node listeners, which listeners.run then serves.
func startObservability(ctx context.Context, cfg *config.Config, objects *storage.ObjectStore, devs []string,
	rings *proxy.Rings, log *slog.Logger, listeners *listenerSet) (*observability, error) {
	o := &observability{recon: &recon.Cache{Dir: cfg.ReconCachePath, Log: log}}
	o.metrics = metrics.New(metrics.Options{Recon: o.recon, Version: Version})
	o.metrics.Devices.SetSource(metrics.DeviceSource{Store: objects, List: func() []string { return devs }})
	o.metrics.Rings.Set("object", rings.Object)
	for i, r := range rings.Policies {
		o.metrics.Rings.Set(ring.PolicyString("object", i), r)
	}
	o.metrics.Rings.Set("container", rings.Container)
	o.metrics.Rings.Set("account", rings.Account)
	o.logging = &proxylogging.Logging{Metrics: o.metrics.HTTP}
	if p := cfg.AccessLog.Path; p != "" {
		al, err := proxylogging.OpenAccessLog(p)
		if err != nil {
			return nil, err
		}
		al.Headers = cfg.AccessLog.Headers
		al.RevealSensitivePrefix = cfg.AccessLog.RevealSensitivePrefix
		al.Log = log.With("component", "proxy_logging")
		o.access, o.logging.Access = al, al
		onHangup(ctx, func() {
			if err := al.Reopen(); err != nil {
				log.Error("reopening the access log", "path", p, "err", err)
			}
		})
	}

	if addr := cfg.Metrics.Addr; addr != "" {
		ln, err := listeners.listen("metrics", addr, true)
		switch {
		case err != nil && addr == config.DefaultMetricsAddr && errors.Is(err, syscall.EADDRINUSE):
			log.Warn("default address in use; serving without /metrics (set metrics.addr or --metrics-addr)", "component", "metrics", "addr", addr)
		case err != nil:
			o.close()
			return nil, err
		default:
			log.Info("serving Prometheus metrics", "url", ln.Scheme()+"://"+displayAddr(ln.Addr())+"/metrics")
			listeners.serve(ln, o.metrics.Server(cfg.Metrics.BearerToken))
		}
	}

	addrs, auto := backendAddrs(cfg.BackendAddr, rings, devs)
	types := portTypes(rings)
	rh := &recon.Handler{Devices: cfg.Devices, SwiftDir: cfg.StateDir, Cache: o.recon, CheckDevice: objects.CheckDevice, Version: Version}
	h := proxy.StorageNodeHandler(func(port int) string { return types[port] }, nil,
		o.logging.Middleware(proxylogging.APIBackend), rh.Middleware)
	for _, addr := range addrs {
		// Swift's backend API is plain HTTP, as Swift's tools expect.
		ln, err := listeners.listen("storage-node", addr, false)
		if err != nil {
			if auto {
				log.Warn("storage-node listener: address unavailable; recon is not answered there", "addr", addr, "err", err)
				continue
			}
			o.close()
			return nil, fmt.Errorf("backend_addr: %w", err)
		}
		log.Info("serving the storage-node API (recon)", "addr", ln.Addr().String())
		listeners.serve(ln, proxy.NewHTTPServer(h, nil, "swiftbox-storage"))
	}
	return o, nil
}

// backendAddrs resolves backend_addr: "auto" is every distinct ip:port of
// this node's devices in the rings whose IP belongs to this host.
func backendAddrs(setting string, rings *proxy.Rings, devs []string) (addrs []string, auto bool) {
	if setting != "auto" {
		for _, a := range strings.Split(setting, ",") {
			if a = strings.TrimSpace(a); a != "" {
				addrs = append(addrs, a)
			}
		}
		return addrs, false
	}
	local := map[string]bool{}
	if ifaddrs, err := net.InterfaceAddrs(); err == nil {
		for _, a := range ifaddrs {
			if ipn, ok := a.(*net.IPNet); ok {
				local[ipn.IP.String()] = true
			}
		}
	}
	mine := map[string]bool{}
	for _, d := range devs {
		mine[d] = true
	}
	seen := map[string]bool{}
	all := []*ring.Ring{rings.Object, rings.Container, rings.Account}
	for _, r := range rings.Policies {
		all = append(all, r)
	}
	for _, rg := range all {
		for _, d := range rg.Devices() {
			ip := net.ParseIP(d.IP)
			if ip == nil || !mine[d.Device] || !(local[ip.String()] || ip.IsLoopback()) {
				continue
			}
			a := net.JoinHostPort(ip.String(), strconv.Itoa(d.Port))
			if !seen[a] {
				seen[a] = true
				addrs = append(addrs, a)
			}
		}
	}
	sort.Strings(addrs)
	return addrs, true
}

// portTypes maps each ring device port to its server type, for OPTIONS.
func portTypes(rings *proxy.Rings) map[int]string {
	out := map[int]string{}
	for _, rg := range rings.Policies {
		for _, d := range rg.Devices() {
			out[d.Port] = "object"
		}
	}
	for name, rg := range map[string]*ring.Ring{"object": rings.Object, "container": rings.Container, "account": rings.Account} {
		for _, d := range rg.Devices() {
			out[d.Port] = name
		}
	}
	return out
}
