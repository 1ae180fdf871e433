package keystone

import (
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"time"

	"swiftbox/config"
)

// LoginThrottle counts failed logins per client address (the tempauth
// and identity endpoints, S3 signatures) and refuses an address that made
// too many within a window, whatever it sends, until the window ends: a
// password guesser gets a few tries a minute, and the others' logins go
// on. Every outcome is counted (observe) and every failure logged with its
// address and user. A nil *LoginThrottle records nothing and refuses no one.
type LoginThrottle struct {
	max     int
	window  time.Duration
	exempt  []netip.Prefix
	log     *slog.Logger
	observe func(system, result string)
	now     func() time.Time

	mu    sync.Mutex
	addrs map[netip.Addr]*loginFailures
}

type loginFailures struct {
	n     int
	since time.Time // the window's start
}

// maxTrackedAddrs bounds the memory of a flood from many addresses: past
// it, windows that ended are dropped, and if that is not enough the
// oldest half is forgotten.
const maxTrackedAddrs = 1 << 16

// NewLoginThrottle makes the throttle cfg describes; observe (may be
// nil) receives (system, "success"|"failure"|"throttled") per login.
func NewLoginThrottle(cfg config.LoginThrottleConfig, log *slog.Logger, observe func(system, result string)) *LoginThrottle {
	if log == nil {
		log = slog.Default()
	}
	if observe == nil {
		observe = func(string, string) {}
	}
	return &LoginThrottle{max: cfg.MaxFailures, window: time.Duration(cfg.Window) * time.Second, exempt: cfg.ExemptPrefixes,
		log: log, observe: observe, now: time.Now, addrs: map[netip.Addr]*loginFailures{}}
}

// key is the address failures are counted under: IPv4 as it is, IPv6 by
// its /64 (one host usually holds a whole /64). ok is false for an
// address that is never throttled.
func (l *LoginThrottle) key(ip net.IP) (netip.Addr, bool) {
	a, ok := netip.AddrFromSlice(ip)
	if !ok || l.max <= 0 {
		return netip.Addr{}, false
	}
	a = a.Unmap()
	for _, p := range l.exempt {
		if p.Contains(a) {
			return netip.Addr{}, false
		}
	}
	if a.Is6() {
		a = netip.PrefixFrom(a, 64).Masked().Addr()
	}
	return a, true
}

// Throttled reports whether a login from ip is to be refused now, and
// for how long still.
func (l *LoginThrottle) Throttled(system string, ip net.IP) (time.Duration, bool) {
	if l == nil {
		return 0, false
	}
	k, ok := l.key(ip)
	if !ok {
		return 0, false
	}
	now := l.now()
	l.mu.Lock()
	f := l.addrs[k]
	var left time.Duration
	if f != nil {
		left = f.since.Add(l.window).Sub(now)
	}
	l.mu.Unlock()
	if f == nil || f.n < l.max || left <= 0 {
		return 0, false
	}
	l.observe(system, "throttled")
	return left, true
}

// Record counts one login by user from ip; a failure is logged and counts
// towards ip's throttle.
func (l *LoginThrottle) Record(system string, ip net.IP, user string, ok bool) {
	if l == nil {
		return
	}
	if ok {
		l.observe(system, "success")
		return
	}
	l.observe(system, "failure")
	if len(user) > 256 {
		user = user[:256]
	}
	l.log.Warn("login failed", "system", system, "client", ip.String(), "user", user)
	k, track := l.key(ip)
	if !track {
		return
	}
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	f := l.addrs[k]
	if f == nil || now.Sub(f.since) >= l.window {
		if f == nil && len(l.addrs) >= maxTrackedAddrs {
			l.prune(now)
		}
		f = &loginFailures{since: now}
		l.addrs[k] = f
	}
	f.n++
	if f.n == l.max {
		l.log.Warn("login throttled", "system", system, "client", ip.String(), "failures", f.n, "for", f.since.Add(l.window).Sub(now).Round(time.Second))
	}
}

// prune drops ended windows, then, if still full, the older half.
func (l *LoginThrottle) prune(now time.Time) {
	for k, f := range l.addrs {
		if now.Sub(f.since) >= l.window {
			delete(l.addrs, k)
		}
	}
	if len(l.addrs) < maxTrackedAddrs {
		return
	}
	mid := now.Add(-l.window / 2)
	for k, f := range l.addrs {
		if f.since.Before(mid) {
			delete(l.addrs, k)
		}
	}
	if len(l.addrs) >= maxTrackedAddrs {
		clear(l.addrs)
	}
}
