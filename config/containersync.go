package config

import (
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
)

// ContainerSyncConfig configures container sync: the container_sync
// middleware (Swift's [filter:container_sync] with its
// container-sync-realms.conf), the container server's allowed_sync_hosts
// and the container-sync daemon (a goroutine of serve; also
// `swiftbox container-sync --once`).
type ContainerSyncConfig struct {
	// Interval is the number of seconds between daemon passes.
	Interval int `yaml:"interval"`
	// ContainerTime is the most seconds a pass spends on one container;
	// the rest waits for the next pass (Swift's container_time).
	ContainerTime int `yaml:"container_time"`
	// SyncProxy lists HTTP proxies (http://host:port) the daemon sends
	// through, one picked at random per request (Swift's sync_proxy).
	SyncProxy []string `yaml:"sync_proxy"`
	// AllowFullURLs allows X-Container-Sync-To URLs (http://host/v1/a/c);
	// false allows only realm values //realm/cluster/account/container.
	AllowFullURLs bool `yaml:"allow_full_urls"`
	// AllowedSyncHosts are the hosts ("host" or "host:port") a full URL
	// may name; none by default. A loopback, link-local or own address is
	// reached only when listed as an address, never through a name.
	AllowedSyncHosts []string `yaml:"allowed_sync_hosts"`
	// Current is this cluster as //REALM/CLUSTER (marked "current" in /info).
	Current string `yaml:"current"`
	// Realms are container-sync-realms.conf's sections, by realm name.
	Realms map[string]SyncRealm `yaml:"realms"`
}

// SyncRealm is one realm: its keys and its clusters' endpoints
// (cluster_NAME = https://host/v1/ in Swift's file).
type SyncRealm struct {
	Key      string            `yaml:"key"`
	Key2     string            `yaml:"key2"`
	Clusters map[string]string `yaml:"clusters"`
}

func defaultContainerSync() ContainerSyncConfig {
	return ContainerSyncConfig{Interval: 300, ContainerTime: 60, SyncProxy: []string{}, AllowFullURLs: true, AllowedSyncHosts: []string{},
		Realms: map[string]SyncRealm{}}
}

func (c *Config) finishContainerSync() error {
	cs := &c.ContainerSync
	if cs.Interval <= 0 {
		return fmt.Errorf("config: container_sync.interval must be positive, got %d", cs.Interval)
	}
	if cs.ContainerTime <= 0 {
		return fmt.Errorf("config: container_sync.container_time must be positive, got %d", cs.ContainerTime)
	}
	for _, p := range cs.SyncProxy {
		if u, err := url.Parse(p); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("config: container_sync.sync_proxy %q is not an http(s)://host:port URL", p)
		}
	}
	for _, h := range cs.AllowedSyncHosts {
		if !validSyncHost(h) {
			return fmt.Errorf("config: container_sync.allowed_sync_hosts %q: want a host, an address or host:port", h)
		}
	}
	for name, r := range cs.Realms {
		for cn, ep := range r.Clusters {
			if u, err := url.Parse(ep); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				return fmt.Errorf("config: container_sync.realms.%s.clusters.%s %q is not an http(s)://host/v1/ URL", name, cn, ep)
			}
		}
	}
	// Realm and cluster names are case-insensitive (Swift upper-cases them).
	realms := make(map[string]SyncRealm, len(cs.Realms))
	for name, r := range cs.Realms {
		cl := make(map[string]string, len(r.Clusters))
		for cn, ep := range r.Clusters {
			cl[strings.ToUpper(cn)] = ep
		}
		r.Clusters = cl
		realms[strings.ToUpper(name)] = r
	}
	cs.Realms = realms
	return nil
}

// validSyncHost accepts "host", "host:port", "[v6]:port" and bare IPv6.
func validSyncHost(h string) bool {
	h = strings.TrimSpace(h)
	if _, err := netip.ParseAddr(strings.Trim(h, "[]")); err == nil {
		return true
	}
	if host, port, err := net.SplitHostPort(h); err == nil {
		n, perr := strconv.Atoi(port)
		return host != "" && perr == nil && n > 0 && n < 65536 && !strings.ContainsAny(host, "/@?# ")
	}
	return h != "" && !strings.ContainsAny(h, "/@?#: ")
}
