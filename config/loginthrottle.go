package config

import (
	"fmt"
	"net/netip"
	"strings"
)

// LoginThrottleConfig throttles failed logins per client address and
// user: the tempauth endpoint (/auth/v1.0), the built-in identity endpoint
// (/v3, /v2.0) and S3 signatures. A user with MaxFailures failures from an
// address within Window seconds is throttled there until the window ends
// (one attempt at a time, each failure answered a second late; see
// keystone.LoginThrottle); an address with MaxFailuresPerAddress failures
// across all users is throttled for every user.
type LoginThrottleConfig struct {
	// MaxFailures is the number of failures a user may make from one
	// address per window (0 turns throttling off).
	MaxFailures int `yaml:"max_failures"`
	// MaxFailuresPerAddress is the number of failures an address may make
	// per window across all users (password spraying, access key
	// enumeration); 0 means 5 × MaxFailures.
	MaxFailuresPerAddress int `yaml:"max_failures_per_address"`
	// Window is the window's length in seconds.
	Window int `yaml:"window"`
	// Exempt lists addresses or CIDR prefixes never throttled; none by
	// default.
	Exempt []string `yaml:"exempt"`
	// ExemptPrefixes is Exempt parsed (by Finish).
	ExemptPrefixes []netip.Prefix `yaml:"-"`
}

func defaultLoginThrottle() LoginThrottleConfig {
	return LoginThrottleConfig{MaxFailures: 10, Window: 60, Exempt: []string{}}
}

// AddressLimit is the per-address limit in effect: MaxFailuresPerAddress,
// or 5 × MaxFailures if that is 0.
func (c LoginThrottleConfig) AddressLimit() int {
	if c.MaxFailuresPerAddress > 0 {
		return c.MaxFailuresPerAddress
	}
	return 5 * c.MaxFailures
}

func (c *Config) finishLoginThrottle() error {
	lt := &c.Auth.LoginThrottle
	if lt.MaxFailures < 0 {
		return fmt.Errorf("config: auth.login_throttle.max_failures must be 0 (off) or more, got %d", lt.MaxFailures)
	}
	if lt.MaxFailuresPerAddress < 0 {
		return fmt.Errorf("config: auth.login_throttle.max_failures_per_address must be 0 (5 × max_failures) or more, got %d", lt.MaxFailuresPerAddress)
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
