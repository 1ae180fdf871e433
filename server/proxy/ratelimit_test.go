package proxy

import (
	"errors"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestMaxRate(t *testing.T) {
	lines := rateLines(map[int]float64{100: 100, 200: 50, 1000: 10})
	for size, want := range map[int64]float64{0: 0, 50: 0, 100: 100, 150: 75, 200: 50, 600: 30, 1000: 10, 5000: 10} {
		if got := maxRate(lines, size); math.Abs(got-want) > 1e-9 {
			t.Errorf("maxRate(%d) = %v, want %v", size, got, want)
		}
	}
}

func TestRateClock(t *testing.T) {
	var rc rateClock
	now := time.Unix(1700000000, 0)
	// 10/s: the first requests go at once (buffer), then each waits its turn.
	var total time.Duration
	for i := 0; i < 20; i++ {
		d, err := rc.sleepFor("k", 10, 1000, 5, 60, now)
		if err != nil {
			t.Fatal(err)
		}
		total += d
	}
	if total == 0 || total > 20*time.Second {
		t.Errorf("total sleep %v", total)
	}
	// A tiny max sleep is hit at once by a backlog.
	var err error
	for i := 0; i < 100 && err == nil; i++ {
		_, err = rc.sleepFor("k2", 1, 1000, 5, 2, now)
	}
	if !errors.Is(err, errMaxSleep) {
		t.Errorf("max sleep not hit: %v", err)
	}
}

func TestRateLimitMiddleware(t *testing.T) {
	c := startTestCluster(t)
	c.Proxy.cfg.RateLimit.AccountRatelimit = 1
	c.Proxy.cfg.RateLimit.MaxSleepTimeSeconds = 0.5
	c.Proxy.cfg.RateLimit.RateBufferSeconds = 0
	c.Proxy.cfg.RateLimit.AccountBlacklist = []string{"AUTH_bad"}
	srv := startHandler(t, c.Proxy.Handler())
	do := func(method, path string) (int, string, string) {
		req, _ := http.NewRequest(method, srv+path, nil)
		req.Header.Set("X-Auth-Token", c.Token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b := new(strings.Builder)
		buf := make([]byte, 512)
		n, _ := resp.Body.Read(buf)
		b.Write(buf[:n])
		return resp.StatusCode, resp.Status, b.String()
	}
	// Container PUTs at 1/s with no burst: the second in a row is refused.
	codes := []int{}
	for i := 0; i < 3; i++ {
		code, status, body := do("PUT", "/v1/AUTH_test/c"+string(rune('a'+i)))
		codes = append(codes, code)
		if code == 498 && (status != "498 Rate Limited" || body != "Slow down") {
			t.Errorf("498 answer: %q %q", status, body)
		}
	}
	if codes[0] != 201 {
		t.Errorf("codes %v", codes)
	}
	if !containsInt(codes, 498) {
		t.Errorf("no 498 among %v", codes)
	}
	// Reads are not limited.
	for i := 0; i < 5; i++ {
		if code, _, _ := do("GET", "/v1/AUTH_test"); code != 200 {
			t.Errorf("GET %d", code)
		}
	}
	if code, status, body := do("GET", "/v1/AUTH_bad"); code != 497 || status != "497 Blacklisted" || body != "Your account has been blacklisted" {
		t.Errorf("blacklist: %d %q %q", code, status, body)
	}
	_, b := c.must(200, "GET", "/info", "")
	if !strings.Contains(b, `"ratelimit":{"account_ratelimit":1.0,"container_listing_ratelimits":[],"container_ratelimits":[],"max_sleep_time_seconds":0.5}`) {
		t.Errorf("info %s", b)
	}
}

func containsInt(list []int, x int) bool {
	for _, v := range list {
		if v == x {
			return true
		}
	}
	return false
}
