package keystone

import (
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"swiftbox/config"
)

// limited reports whether logins by user from ip are throttled now: one
// attempt is let through (and finished as a failure, no delay), a second
// one meanwhile is refused. It returns how long the throttle lasts.
func limited(l *LoginThrottle, system string, ip net.IP, user string) (time.Duration, bool) {
	if _, refused := l.Throttled(system, ip, user); refused {
		return 0, false // already held: not a clean probe
	}
	left, refused := l.Throttled(system, ip, user)
	if refused {
		l.release(mustKey(l, ip), truncUser(user))
	}
	return left, refused
}

func mustKey(l *LoginThrottle, ip net.IP) netip.Addr {
	k, _ := l.key(ip)
	return k
}

func TestLoginThrottle(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	counts := map[string]int{}
	cfg := config.LoginThrottleConfig{MaxFailures: 3, Window: 60, ExemptPrefixes: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}}
	l := NewLoginThrottle(cfg, nil, func(system, result string) {
		mu.Lock()
		counts[system+" "+result]++
		mu.Unlock()
	})
	now := time.Unix(1_700_000_000, 0)
	l.now = func() time.Time { return now }
	l.delay = 0
	bad, other := net.ParseIP("192.0.2.1"), net.ParseIP("192.0.2.2")
	for i := 0; i < 3; i++ {
		if _, ok := l.Throttled("tempauth", bad, "test:tester"); ok {
			t.Fatalf("throttled after %d failures", i)
		}
		l.Record("tempauth", bad, "test:tester", false)
	}
	// The user is refused from that address, on every system.
	if left, ok := limited(l, "s3", bad, "test:tester"); !ok || left != time.Minute {
		t.Fatalf("after 3 failures: throttled %v for %v, want a minute", ok, left)
	}
	// Its other users, and that user from elsewhere, are not.
	if _, ok := limited(l, "tempauth", bad, "test:tester2"); ok {
		t.Fatal("another user from the same address is throttled")
	}
	if _, ok := limited(l, "tempauth", other, "test:tester"); ok {
		t.Fatal("the user from another address is throttled")
	}
	l.Record("tempauth", other, "test:tester", true)
	// Exempt addresses are never throttled; IPv6 counts by /64.
	for i := 0; i < 5; i++ {
		l.Record("tempauth", net.ParseIP("10.1.2.3"), "x", false)
		l.Record("tempauth", net.ParseIP(fmt.Sprintf("2001:db8::%d", i+1)), "x", false)
	}
	if _, ok := limited(l, "tempauth", net.ParseIP("10.1.2.3"), "x"); ok {
		t.Error("an exempt address is throttled")
	}
	if _, ok := limited(l, "tempauth", net.ParseIP("2001:db8::ffff"), "x"); !ok {
		t.Error("failures from one /64 are not counted together")
	}
	now = now.Add(61 * time.Second)
	if _, ok := limited(l, "tempauth", bad, "test:tester"); ok {
		t.Error("still throttled after the window")
	}
	if counts["tempauth failure"] != 11 || counts["tempauth success"] != 1 || counts["s3 throttled"] != 1 || counts["tempauth throttled"] != 3 {
		t.Errorf("counts %v", counts)
	}
	var off *LoginThrottle
	off.Record("s3", bad, "x", false)
	if _, ok := off.Throttled("s3", bad, "x"); ok {
		t.Error("a nil throttle throttles")
	}
}

// Failures across users (spraying) throttle the whole address at
// max_failures_per_address, 5 × max_failures unless set.
func TestLoginThrottlePerAddress(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		perAddr, want int
	}{{0, 15}, {7, 7}} {
		l := NewLoginThrottle(config.LoginThrottleConfig{MaxFailures: 3, MaxFailuresPerAddress: c.perAddr, Window: 60}, nil, nil)
		l.delay = 0
		now := time.Unix(1_700_000_000, 0)
		l.now = func() time.Time { return now }
		sprayer := net.ParseIP("192.0.2.9")
		for i := 0; i < c.want; i++ {
			if _, ok := l.Throttled("s3", sprayer, "fresh"); ok {
				t.Fatalf("per-address %d: throttled after %d failures", c.perAddr, i)
			}
			l.Record("s3", sprayer, fmt.Sprint("user", i), false)
		}
		if left, ok := limited(l, "s3", sprayer, "fresh"); !ok || left != time.Minute {
			t.Errorf("per-address %d: after %d failures across users: throttled %v for %v", c.perAddr, c.want, ok, left)
		}
		if _, ok := limited(l, "s3", net.ParseIP("192.0.2.10"), "fresh"); ok {
			t.Errorf("per-address %d: another address is throttled", c.perAddr)
		}
		now = now.Add(time.Minute)
		if _, ok := limited(l, "s3", sprayer, "fresh"); ok {
			t.Errorf("per-address %d: still throttled after the window", c.perAddr)
		}
	}
}

// A flood of distinct users and addresses stays within maxTracked entries
// and does not lift a refusal in force.
func TestLoginThrottleMemoryBound(t *testing.T) {
	t.Parallel()
	l := NewLoginThrottle(config.LoginThrottleConfig{MaxFailures: 3, Window: 60}, nil, nil)
	l.log = slog.New(slog.DiscardHandler)
	l.delay = 0
	now := time.Unix(1_700_000_000, 0)
	l.now = func() time.Time { return now }
	guesser, sprayer := net.ParseIP("192.0.2.1"), net.ParseIP("192.0.2.2")
	for i := 0; i < 3; i++ {
		l.Record("s3", guesser, "test:tester", false)
	}
	for i := 0; i < 15; i++ {
		l.Record("s3", sprayer, fmt.Sprint("key", i), false)
	}
	for i := 0; i < maxTracked+1000; i++ {
		l.Record("s3", net.IP{0x20, 0x01, 0x0d, 0xb8, byte(i >> 16), byte(i >> 8), byte(i), 0, 0, 0, 0, 0, 0, 0, 0, 1}, fmt.Sprint("key", i), false)
	}
	if len(l.pairs) > maxTracked || len(l.addrs) > maxTracked {
		t.Errorf("%d pairs, %d addresses tracked, bound %d", len(l.pairs), len(l.addrs), maxTracked)
	}
	if _, ok := limited(l, "s3", guesser, "test:tester"); !ok {
		t.Error("a flood lifted a user's refusal")
	}
	if _, ok := limited(l, "s3", sprayer, "other"); !ok {
		t.Error("a flood lifted an address's refusal")
	}
}

// Identity logins count under the local user they name (as tempauth and
// S3 do), else under the name as given.
func TestLoginUser(t *testing.T) {
	t.Parallel()
	e := &IdentityEndpoint{Auth: NewTempAuth("AUTH", time.Hour, []byte("0123456789abcdef0123456789abcdef"), []config.User{
		{Account: "test", Name: "tester", Key: "testing"}, {Account: "test2", Name: "tester", Key: "other"}, {Account: "test", Name: "solo", Key: "x"},
	})}
	v3 := func(user, scope string) string {
		return `{"auth":{"identity":{"methods":["password"],"password":{"user":` + user + `}}` + scope + `}}`
	}
	for body, want := range map[string]string{
		v3(`{"name":"tester","domain":{"id":"default"},"password":"x"}`, `,"scope":{"project":{"name":"test","domain":{"id":"default"}}}`): "test:tester",
		v3(`{"name":"tester","domain":{"name":"Default"},"password":"x"}`, `,"scope":{"project":{"id":"test2"}}`):                          "test2:tester",
		v3(`{"name":"tester","domain":{"id":"default"},"password":"x"}`, ``):                                                               "tester@default",
		v3(`{"name":"solo","domain":{"id":"default"},"password":"x"}`, `,"scope":"unscoped"`):                                              "test:solo",
		v3(`{"name":"tester","domain":{"id":"other"},"password":"x"}`, `,"scope":{"project":{"name":"test"}}`):                             "tester@other",
		v3(`{"name":"nobody","domain":{"name":"Else"},"password":"x"}`, ``):                                                                "nobody@name:Else",
		v3(`{"id":"`+UserID("test", "tester")+`","password":"x"}`, ``):                                                                     "test:tester",
		v3(`{"id":"abc","password":"x"}`, ``):                                                                                              "id:abc",
		`{"auth":{"passwordCredentials":{"username":"tester","password":"x"},"tenantName":"test"}}`:                                        "test:tester",
		`{"auth":{"passwordCredentials":{"username":"ghost","password":"x"},"tenantId":"test"}}`:                                           "ghost@default",
		`{"auth":{"identity":{"methods":["token"],"token":{"id":"t"}}}}`:                                                                   "(token)",
		`not json`: "",
	} {
		if got := e.loginUser([]byte(body)); got != want {
			t.Errorf("%s: %q, want %q", body, got, want)
		}
	}
}

// Once throttled, a user is slowed, not locked out: one attempt at a time
// (another meanwhile is refused unchecked), each failure answered only
// after the delay, and the right key still logs in.
func TestLoginThrottleSlowsNotLocks(t *testing.T) {
	t.Parallel()
	l := NewLoginThrottle(config.LoginThrottleConfig{MaxFailures: 2, Window: 60}, slog.New(slog.DiscardHandler), nil)
	l.delay = 200 * time.Millisecond
	ip := net.ParseIP("192.0.2.7")
	for i := 0; i < 2; i++ {
		l.Record("s3", ip, "k", false)
	}
	if _, refused := l.Throttled("s3", ip, "k"); refused {
		t.Fatal("the first attempt while throttled is refused unchecked")
	}
	if left, refused := l.Throttled("s3", ip, "k"); !refused || left <= 0 {
		t.Fatal("a second attempt while the first is checked is let through")
	}
	start := time.Now()
	l.Record("s3", ip, "k", false)
	if d := time.Since(start); d < l.delay {
		t.Errorf("a throttled failure answered after %v, want at least %v", d, l.delay)
	}
	if _, refused := l.Throttled("s3", ip, "k"); refused {
		t.Fatal("the next attempt after a failure's answer is refused")
	}
	start = time.Now()
	l.Record("s3", ip, "k", true)
	if d := time.Since(start); d >= l.delay {
		t.Errorf("the right key waited %v", d)
	}
	if _, refused := l.Throttled("s3", ip, "k"); refused {
		t.Fatal("an attempt after a success is refused")
	}
	l.Record("s3", ip, "k", true)
}
