package keystone

import (
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"swiftbox/config"
)

func TestLoginThrottle(t *testing.T) {
	var mu sync.Mutex
	counts := map[string]int{}
	cfg := config.LoginThrottleConfig{MaxFailures: 3, Window: 60, ExemptPrefixes: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}
	l := NewLoginThrottle(cfg, nil, func(system, result string) {
		mu.Lock()
		counts[system+" "+result]++
		mu.Unlock()
	})
	now := time.Unix(1_700_000_000, 0)
	l.now = func() time.Time { return now }
	bad, other := net.ParseIP("192.0.2.1"), net.ParseIP("192.0.2.2")
	for i := 0; i < 3; i++ {
		if _, ok := l.Throttled("tempauth", bad); ok {
			t.Fatalf("throttled after %d failures", i)
		}
		l.Record("tempauth", bad, "test:tester", false)
	}
	if left, ok := l.Throttled("s3", bad); !ok || left != time.Minute {
		t.Fatalf("after 3 failures: throttled %v for %v, want a minute", ok, left)
	}
	if _, ok := l.Throttled("tempauth", other); ok {
		t.Fatal("another address is throttled")
	}
	l.Record("tempauth", other, "test:tester", true)
	// Loopback is exempt; IPv6 counts by /64.
	for i := 0; i < 5; i++ {
		l.Record("tempauth", net.ParseIP("127.0.0.1"), "x", false)
		l.Record("tempauth", net.ParseIP(fmt2("2001:db8::", i)), "x", false)
	}
	if _, ok := l.Throttled("tempauth", net.ParseIP("127.0.0.1")); ok {
		t.Error("an exempt address is throttled")
	}
	if _, ok := l.Throttled("tempauth", net.ParseIP("2001:db8::ffff")); !ok {
		t.Error("failures from one /64 are not counted together")
	}
	now = now.Add(61 * time.Second)
	if _, ok := l.Throttled("tempauth", bad); ok {
		t.Error("still throttled after the window")
	}
	if counts["tempauth failure"] != 13 || counts["tempauth success"] != 1 || counts["s3 throttled"] != 1 || counts["tempauth throttled"] != 1 {
		t.Errorf("counts %v", counts)
	}
	var off *LoginThrottle
	off.Record("s3", bad, "x", false)
	if _, ok := off.Throttled("s3", bad); ok {
		t.Error("a nil throttle throttles")
	}
}

func fmt2(prefix string, i int) string { return prefix + string(rune('1'+i)) }
