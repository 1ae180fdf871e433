package keystone

import (
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"time"

	"swiftbox/config"
)

// LoginThrottle counts failed logins (the tempauth and identity
// endpoints, S3 signatures) per client address and user, and per address
// across all users. A user that failed max_failures times from an address
// within the window is refused there (429; S3: 503 SlowDown) until the
// window ends, whatever it sends, so a password guesser learns nothing
// more, while that user's logins from elsewhere and the other users' logins
// from that address go on: one guesser behind a reverse proxy on the box
// (every client is 127.0.0.1) cannot lock everyone out. An address that
// failed max_failures_per_address times across all users (password
// spraying, access key enumeration) is refused for every user. Every
// outcome is counted (observe) and every failure logged with its address
// and user. A nil *LoginThrottle records nothing and refuses no one.
type LoginThrottle struct {
	max, maxAddr int
	window       time.Duration
	exempt       []netip.Prefix
	log          *slog.Logger
	observe      func(system, result string)
	now          func() time.Time

	mu    sync.Mutex
	pairs map[loginPair]*loginFailures
	addrs map[netip.Addr]*loginFailures
}

// loginPair is what a user's failures are counted under.
type loginPair struct {
	addr netip.Addr
	user string
}

type loginFailures struct {
	n     int
	since time.Time // the window's start
}

// maxTracked bounds the memory of a flood from many addresses or users
// (per map): past it, windows that ended are dropped, and if that is not
// enough the oldest half is forgotten.
const maxTracked = 1 << 16

// maxUserLen bounds a user name as logged and as counted.
const maxUserLen = 256

// NewLoginThrottle makes the throttle cfg describes; observe (may be
// nil) receives (system, "success"|"failure"|"throttled") per login.
func NewLoginThrottle(cfg config.LoginThrottleConfig, log *slog.Logger, observe func(system, result string)) *LoginThrottle {
	if log == nil {
		log = slog.Default()
	}
	if observe == nil {
		observe = func(string, string) {}
	}
	return &LoginThrottle{max: cfg.MaxFailures, maxAddr: cfg.AddressLimit(), window: time.Duration(cfg.Window) * time.Second,
		exempt: cfg.ExemptPrefixes, log: log, observe: observe, now: time.Now,
		pairs: map[loginPair]*loginFailures{}, addrs: map[netip.Addr]*loginFailures{}}
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

func truncUser(user string) string {
	if len(user) > maxUserLen {
		return user[:maxUserLen]
	}
	return user
}

// left is how long f still refuses, given its limit; 0 if it does not.
func (f *loginFailures) left(limit int, window time.Duration, now time.Time) time.Duration {
	if f == nil || limit <= 0 || f.n < limit {
		return 0
	}
	return max(f.since.Add(window).Sub(now), 0)
}

// Throttled reports whether a login by user (as the client names it: the
// tempauth user, the identity user, the S3 access key id) from ip is to
// be refused now, and for how long still.
func (l *LoginThrottle) Throttled(system string, ip net.IP, user string) (time.Duration, bool) {
	if l == nil {
		return 0, false
	}
	k, ok := l.key(ip)
	if !ok {
		return 0, false
	}
	now := l.now()
	l.mu.Lock()
	left := max(l.pairs[loginPair{k, truncUser(user)}].left(l.max, l.window, now),
		l.addrs[k].left(l.maxAddr, l.window, now))
	l.mu.Unlock()
	if left <= 0 {
		return 0, false
	}
	l.observe(system, "throttled")
	return left, true
}

// Record counts one login by user from ip; a failure is logged and counts
// towards the throttles of (ip, user) and of ip.
func (l *LoginThrottle) Record(system string, ip net.IP, user string, ok bool) {
	if l == nil {
		return
	}
	if ok {
		l.observe(system, "success")
		return
	}
	l.observe(system, "failure")
	user = truncUser(user)
	l.log.Warn("login failed", "system", system, "client", ip.String(), "user", user)
	k, track := l.key(ip)
	if !track {
		return
	}
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if f := count(l.pairs, loginPair{k, user}, l.max, l.window, now); f.n == l.max {
		l.log.Warn("login throttled", "system", system, "client", ip.String(), "user", user, "failures", f.n,
			"for", f.since.Add(l.window).Sub(now).Round(time.Second))
	}
	if f := count(l.addrs, k, l.maxAddr, l.window, now); f.n == l.maxAddr {
		l.log.Warn("login throttled for all users", "system", system, "client", ip.String(), "failures", f.n,
			"for", f.since.Add(l.window).Sub(now).Round(time.Second))
	}
}

// count adds one failure to m[k], starting a new window if its ended.
func count[K comparable](m map[K]*loginFailures, k K, limit int, window time.Duration, now time.Time) *loginFailures {
	f := m[k]
	if f == nil || now.Sub(f.since) >= window {
		if f == nil && len(m) >= maxTracked {
			prune(m, limit, window, now)
		}
		f = &loginFailures{since: now}
		m[k] = f
	}
	f.n++
	return f
}

// prune drops ended windows, then, if still full, the counts below limit
// (so a flood of fresh failures cannot lift a refusal in force), then the
// older half.
func prune[K comparable](m map[K]*loginFailures, limit int, window time.Duration, now time.Time) {
	for k, f := range m {
		if now.Sub(f.since) >= window {
			delete(m, k)
		}
	}
	if len(m) < maxTracked {
		return
	}
	for k, f := range m {
		if f.n < limit {
			delete(m, k)
		}
	}
	if len(m) < maxTracked {
		return
	}
	mid := now.Add(-window / 2)
	for k, f := range m {
		if f.since.Before(mid) {
			delete(m, k)
		}
	}
	if len(m) >= maxTracked {
		clear(m)
	}
}
