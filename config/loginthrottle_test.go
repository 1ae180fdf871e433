package config

import (
	"net/netip"
	"os"
	"path/filepath"
	"testing"
)

func TestLoginThrottleConfig(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	load := func(body string) (*Config, error) {
		p := filepath.Join(dir, "c.yaml")
		os.WriteFile(p, []byte("devices: "+dir+"\nauth:\n  login_throttle:\n"+body), 0o644)
		c, err := Load(p)
		if err == nil {
			err = c.Finish()
		}
		return c, err
	}
	for _, body := range []string{"    max_failures: -1\n", "    max_failures_per_address: -1\n", "    window: 0\n", "    exempt: [nope]\n"} {
		if _, err := load(body); err == nil {
			t.Errorf("%q: want an error", body)
		}
	}
	// Defaults: 10 per user, 5 × that per address, nothing exempt.
	c, err := load("    window: 60\n")
	if lt := c.Auth.LoginThrottle; err != nil || lt.MaxFailures != 10 || lt.AddressLimit() != 50 || len(lt.ExemptPrefixes) != 0 {
		t.Fatalf("defaults: %+v (limit %d) %v", lt, lt.AddressLimit(), err)
	}
	c, err = load("    max_failures: 4\n    exempt: [127.0.0.1, \"::1\", 10.0.0.0/8]\n")
	if lt := c.Auth.LoginThrottle; err != nil || lt.AddressLimit() != 20 || len(lt.ExemptPrefixes) != 3 ||
		lt.ExemptPrefixes[0] != netip.MustParsePrefix("127.0.0.1/32") || lt.ExemptPrefixes[1] != netip.MustParsePrefix("::1/128") {
		t.Errorf("max_failures 4: %+v (limit %d) %v", lt, lt.AddressLimit(), err)
	}
	c, err = load("    max_failures_per_address: 7\n")
	if err != nil || c.Auth.LoginThrottle.AddressLimit() != 7 {
		t.Errorf("max_failures_per_address 7: %d %v", c.Auth.LoginThrottle.AddressLimit(), err)
	}
}
