package containersync

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"

	"swiftbox/config"
)

// Where the container-sync daemon may connect. Any account owner chooses
// X-Container-Sync-To, so the daemon would otherwise send PUTs and DELETEs
// with bodies of the owner's choosing to any address this box can reach
// (its own listeners, 127.0.0.1 services, cloud metadata at
// 169.254.169.254). It connects only to what the operator listed:
// allowed_sync_hosts (host or host:port; none by default), the realms'
// cluster endpoints and the sync proxies. A name is checked when
// X-Container-Sync-To is set and before each pass; the address it
// resolves to is checked again as the connection is made, so a name that
// later resolves to a loopback, link-local or this box's own address (DNS
// rebinding) is refused unless that address itself is listed. Redirects
// are not followed.

// errSyncHostNotAllowed is a connection the sync guard refused.
var errSyncHostNotAllowed = errors.New("container sync: host not allowed")

// syncHost is one allowed destination: a host name or address, and a
// port ("" allows every port).
type syncHost struct {
	host string
	addr netip.Addr // valid when host is an IP address
	port string
}

// syncGuard holds the destinations of one configuration.
type syncGuard struct {
	hosts []syncHost
	// ownAddrs lists this box's interface addresses (tests replace it).
	ownAddrs func() []netip.Addr
}

// parseSyncHost reads "host", "host:port", "[v6]:port" or a bare IPv6
// address; defPort is used when a URL's scheme implies the port.
func parseSyncHost(s, defPort string) (syncHost, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	h := syncHost{host: s, port: defPort}
	if a, err := netip.ParseAddr(strings.Trim(s, "[]")); err == nil {
		h.host, h.addr = a.Unmap().String(), a.Unmap()
		return h, nil
	}
	if host, port, err := net.SplitHostPort(s); err == nil {
		h.host, h.port = host, port
		if a, err := netip.ParseAddr(host); err == nil {
			h.host, h.addr = a.Unmap().String(), a.Unmap()
		}
	}
	if h.host == "" || strings.ContainsAny(h.host, "/@?# ") {
		return h, fmt.Errorf("%q is not a host or host:port", s)
	}
	return h, nil
}

// newSyncGuard collects the destinations cs lists.
func newSyncGuard(cs config.ContainerSyncConfig) *syncGuard {
	g := &syncGuard{ownAddrs: interfaceAddrs}
	for _, s := range cs.AllowedSyncHosts {
		if h, err := parseSyncHost(s, ""); err == nil {
			g.hosts = append(g.hosts, h)
		}
	}
	endpoint := func(raw string) {
		if u, err := url.Parse(raw); err == nil && u.Host != "" {
			if h, err := parseSyncHost(u.Host, schemePort(u)); err == nil {
				g.hosts = append(g.hosts, h)
			}
		}
	}
	for _, r := range cs.Realms {
		for _, ep := range r.Clusters {
			endpoint(ep)
		}
	}
	for _, p := range cs.SyncProxy {
		endpoint(p)
	}
	return g
}

// schemePort is u's port, or its scheme's default.
func schemePort(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	if strings.EqualFold(u.Scheme, "https") {
		return "443"
	}
	return "80"
}

// allowsName reports whether host:port is listed (by name or address).
func (g *syncGuard) allowsName(host, port string) bool {
	h, err := parseSyncHost(host, "")
	if err != nil {
		return false
	}
	for _, e := range g.hosts {
		if e.host == h.host && (e.port == "" || e.port == port) {
			return true
		}
	}
	return false
}

// allowsAddr decides an address a listed name resolved to: loopback,
// link-local, unspecified, multicast and this box's own addresses only
// when that address itself is listed.
func (g *syncGuard) allowsAddr(a netip.Addr, port string) bool {
	a = a.Unmap()
	if !g.internal(a) {
		return true
	}
	for _, e := range g.hosts {
		if e.addr.IsValid() && e.addr == a && (e.port == "" || e.port == port) {
			return true
		}
	}
	return false
}

func (g *syncGuard) internal(a netip.Addr) bool {
	if a.IsLoopback() || a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() || a.IsInterfaceLocalMulticast() ||
		a.IsMulticast() || a.IsUnspecified() {
		return true
	}
	for _, own := range g.ownAddrs() {
		if own == a {
			return true
		}
	}
	return false
}

func interfaceAddrs() []netip.Addr {
	addrs, _ := net.InterfaceAddrs()
	out := make([]netip.Addr, 0, len(addrs))
	for _, a := range addrs {
		if p, err := netip.ParsePrefix(a.String()); err == nil {
			out = append(out, p.Addr().Unmap())
		}
	}
	return out
}

// allowsURL checks a sync target URL by name (set time and each pass).
func (g *syncGuard) allowsURL(u *url.URL) bool { return g.allowsName(u.Hostname(), schemePort(u)) }

// dialContext connects to addr if its name is listed and the address the
// name resolves to passes allowsAddr (checked in the dialer's Control
// hook, on the very address connected to).
func (g *syncGuard) dialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	if !g.allowsName(host, port) {
		return nil, fmt.Errorf("%w: %s", errSyncHostNotAllowed, addr)
	}
	d := net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second,
		Control: func(_, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil || !g.allowsAddr(ap.Addr(), port) {
				return fmt.Errorf("%w: %s resolves to %s", errSyncHostNotAllowed, host, address)
			}
			return nil
		}}
	return d.DialContext(ctx, network, addr)
}
