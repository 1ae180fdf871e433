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
// across all users. Once a user failed max_failures times from an address
// within the window (or the address failed max_failures_per_address times
// across all users: password spraying, access key enumeration), logins
// there are throttled until the window ends: one attempt at a time
// (another one meanwhile is refused unchecked: 429, S3 503 SlowDown) and
// each failure answered only after failDelay, so a guesser gets about one
// guess a second however many connections it opens. The right key still
// logs in at once: a client that mistyped, or a test suite probing its
// errors, is slowed, not locked out, and one guesser behind a reverse
// proxy on the box (every client is 127.0.0.1) cannot lock everyone out.
// Every outcome is counted (observe) and every failure logged with its
// address and user. A nil *LoginThrottle records nothing and refuses no
// one.
type LoginThrottle struct {
	max, maxAddr int
	window       time.Duration
	exempt       []netip.Prefix
	log          *slog.Logger
	observe      func(system, result string)
	now          func() time.Time
	delay        time.Duration // failDelay; tests shorten it

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
	// busy is set while a throttled attempt is being checked (until
	// Record, at the latest busyFor later): the one at a time.
	busy time.Time
}

// failDelay is how long a failed login waits for its answer once
// throttled; busyFor bounds an attempt's hold if Record never comes.
const (
	failDelay = time.Second
	busyFor   = failDelay + 2*time.Second
)

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
		exempt: cfg.ExemptPrefixes, log: log, observe: observe, now: time.Now, delay: failDelay,
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
// be refused now, unchecked, and for how long its throttle lasts. While
// throttled, one attempt at a time is let through to be checked; the
// caller must then Record its outcome.
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
	pair, addr := l.pairs[loginPair{k, truncUser(user)}], l.addrs[k]
	pairLeft, addrLeft := pair.left(l.max, l.window, now), addr.left(l.maxAddr, l.window, now)
	left := max(pairLeft, addrLeft)
	refuse := false
	if left > 0 {
		held := (pairLeft > 0 && pair.busy.After(now)) || (addrLeft > 0 && addr.busy.After(now))
		if held {
			refuse = true
		} else {
			if pairLeft > 0 {
				pair.busy = now.Add(busyFor)
			}
			if addrLeft > 0 {
				addr.busy = now.Add(busyFor)
			}
		}
	}
	l.mu.Unlock()
	if !refuse {
		return 0, false
	}
	l.observe(system, "throttled")
	return left, true
}

// Record counts one login by user from ip; a failure is logged and counts
// towards the throttles of (ip, user) and of ip, and, once throttled, is
// answered only failDelay later. Either way the attempt Throttled let
// through is done.
func (l *LoginThrottle) Record(system string, ip net.IP, user string, ok bool) {
	if l == nil {
		return
	}
	user = truncUser(user)
	k, track := l.key(ip)
	if ok {
		l.observe(system, "success")
		if track {
			l.release(k, user)
		}
		return
	}
	l.log.Warn("login failed", "system", system, "client", ip.String(), "user", user)
	if !track {
		l.observe(system, "failure")
		return
	}
	now := l.now()
	l.mu.Lock()
	pair := count(l.pairs, loginPair{k, user}, l.max, l.window, now)
	addr := count(l.addrs, k, l.maxAddr, l.window, now)
	if pair.n == l.max {
		l.log.Warn("login throttled", "system", system, "client", ip.String(), "user", user, "failures", pair.n,
			"for", pair.since.Add(l.window).Sub(now).Round(time.Second))
	}
	if addr.n == l.maxAddr {
		l.log.Warn("login throttled for all users", "system", system, "client", ip.String(), "failures", addr.n,
			"for", addr.since.Add(l.window).Sub(now).Round(time.Second))
	}
	throttled := pair.n > l.max || (l.maxAddr > 0 && addr.n > l.maxAddr)
	l.mu.Unlock()
	if !throttled {
		l.observe(system, "failure")
		return
	}
	l.observe(system, "throttled")
	time.Sleep(l.delay)
	l.release(k, user)
}

// Release ends the attempt Throttled let through for user from ip when
// its outcome is not a login to Record (an S3 request whose signature
// matched: its success is not counted as a login).
func (l *LoginThrottle) Release(ip net.IP, user string) {
	if l == nil {
		return
	}
	if k, ok := l.key(ip); ok {
		l.release(k, truncUser(user))
	}
}

// release ends the attempt Throttled let through for (k, user).
func (l *LoginThrottle) release(k netip.Addr, user string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if f := l.pairs[loginPair{k, user}]; f != nil {
		f.busy = time.Time{}
	}
	if f := l.addrs[k]; f != nil {
		f.busy = time.Time{}
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
