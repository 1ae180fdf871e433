package config

import (
	"fmt"
	"net/netip"
	"strings"
)

// LoginThrottleConfig throttles failed logins per client address: the
// tempauth endpoint (/auth/v1.0), the built-in identity endpoint (/v3,
// /v2.0) and S3 signatures. An address with MaxFailures failures within
// Window seconds is refused (429; S3: 503 SlowDown) until the window ends,
// whatever it sends, so a password guesser learns nothing more.
type LoginThrottleConfig struct {
	// MaxFailures is the number of failures an address may make per
	// window (0 turns throttling off).
	MaxFailures int `yaml:"max_failures"`
	// Window is the window's length in seconds.
	Window int `yaml:"window"`
	// Exempt lists addresses or CIDR prefixes never throttled. Loopback by
	// default: a reverse proxy on the box shows every client as 127.0.0.1,
	// and one guesser behind it must not lock everyone out.
	Exempt []string `yaml:"exempt"`
	// ExemptPrefixes is Exempt parsed (by Finish).
	ExemptPrefixes []netip.Prefix `yaml:"-"`
}

func defaultLoginThrottle() LoginThrottleConfig {
	return LoginThrottleConfig{MaxFailures: 10, Window: 60, Exempt: []string{"127.0.0.0/8", "::1/128"}}
}

func (c *Config) finishLoginThrottle() error {
	lt := &c.Auth.LoginThrottle
	if lt.MaxFailures < 0 {
		return fmt.Errorf("config: auth.login_throttle.max_failures must be 0 (off) or more, got %d", lt.MaxFailures)
	}
	if lt.Window <= 0 {
		return fmt.Errorf("config: auth.login_throttle.window must be positive, got %d", lt.Window)
	}
	lt.ExemptPrefixes = nil
	for _, s := range lt.Exempt {
		s = strings.TrimSpace(s)
		p, err := netip.ParsePrefix(s)
		if err != nil {
			a, aerr := netip.ParseAddr(s)
			if aerr != nil {
				return fmt.Errorf("config: auth.login_throttle.exempt %q: want an address or a CIDR prefix", s)
			}
			p = netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen())
		}
		lt.ExemptPrefixes = append(lt.ExemptPrefixes, p.Masked())
	}
	return nil
}
