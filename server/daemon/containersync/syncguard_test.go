package containersync

import (
	"net/netip"
	"testing"

	"swiftbox/config"
)

func TestSyncGuardDecides(t *testing.T) {
	g := newSyncGuard(config.ContainerSyncConfig{
		AllowedSyncHosts: []string{"127.0.0.1:8080", "Backup.Example.com", "[::1]:7000", "10.0.0.5"},
		Realms:           map[string]config.SyncRealm{"R": {Clusters: map[string]string{"C": "https://peer.example.net/v1/"}}},
		SyncProxy:        []string{"http://127.0.0.1:3128"},
	})
	for _, c := range []struct {
		host, port string
		want       bool
	}{
		{"127.0.0.1", "8080", true},
		{"127.0.0.1", "8081", false}, // another port of a listed address
		{"backup.example.com", "443", true},
		{"BACKUP.example.com", "80", true},
		{"::1", "7000", true},
		{"::1", "7001", false},
		{"[::1]", "7000", true},
		{"peer.example.net", "443", true}, // a realm endpoint
		{"peer.example.net", "80", false},
		{"127.0.0.1", "3128", true}, // a sync proxy
		{"169.254.169.254", "80", false},
		{"localhost", "8080", false},
		{"evil.example.com", "80", false},
	} {
		if got := g.allowsName(c.host, c.port); got != c.want {
			t.Errorf("allowsName(%s, %s) = %v, want %v", c.host, c.port, got, c.want)
		}
	}
	var own netip.Addr
	for _, a := range interfaceAddrs() {
		if !a.IsLoopback() && !a.IsLinkLocalUnicast() {
			own = a
			break
		}
	}
	for _, c := range []struct {
		addr, port string
		want       bool
	}{
		{"127.0.0.1", "8080", true}, // listed as an address
		{"127.0.0.1", "80", false},  // a listed name resolving to loopback
		{"127.0.0.2", "8080", false},
		{"::ffff:127.0.0.1", "8080", true},
		{"::1", "443", false},
		{"169.254.169.254", "80", false},
		{"fe80::1", "80", false},
		{"0.0.0.0", "80", false},
		{"224.0.0.1", "80", false},
		{"10.0.0.5", "22", true},
		{"192.0.2.7", "443", true}, // an ordinary address a listed name resolved to
	} {
		if got := g.allowsAddr(netip.MustParseAddr(c.addr), c.port); got != c.want {
			t.Errorf("allowsAddr(%s, %s) = %v, want %v", c.addr, c.port, got, c.want)
		}
	}
	if own.IsValid() && g.allowsAddr(own, "8080") {
		t.Errorf("this box's own address %s is allowed without being listed", own)
	}
}
