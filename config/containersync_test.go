package config

import "testing"

func TestAllowedSyncHostsValidated(t *testing.T) {
	if hosts := Default().ContainerSync.AllowedSyncHosts; len(hosts) != 0 {
		t.Fatalf("allowed_sync_hosts defaults to %v, want none", hosts)
	}
	for _, c := range []struct {
		hosts []string
		ok    bool
	}{
		{[]string{"127.0.0.1", "backup.lan:8080", "[::1]:7000", "::1", "10.0.0.7:8080"}, true},
		{[]string{"http://backup.lan/"}, false},
		{[]string{"backup.lan:0"}, false},
		{[]string{"backup.lan:x"}, false},
		{[]string{""}, false},
	} {
		cfg := Default()
		cfg.Devices = t.TempDir()
		cfg.ContainerSync.AllowedSyncHosts = c.hosts
		if err := cfg.Finish(); (err == nil) != c.ok {
			t.Errorf("%q: %v, want ok=%v", c.hosts, err, c.ok)
		}
	}
}
