package ratelimit_test

import (
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"swiftbox/config"
	"swiftbox/server/servertest"
)

func TestRateLimitMiddleware(t *testing.T) {
	t.Parallel()
	c := servertest.Start(t, servertest.Options{Configure: func(cfg *config.Config) {
		cfg.RateLimit.AccountRatelimit = 1
		cfg.RateLimit.MaxSleepTimeSeconds = 0.5
		cfg.RateLimit.RateBufferSeconds = 0
		cfg.RateLimit.AccountBlacklist = []string{"AUTH_bad"}
	}})
	do := func(method, path string) (int, string, string) {
		req, _ := http.NewRequest(method, c.URL+path, nil)
		req.Header.Set("X-Auth-Token", c.Token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return resp.StatusCode, resp.Status, string(b)
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
	if !slices.Contains(codes, 498) {
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
	_, b := c.Must(200, "GET", "/info", "")
	if !strings.Contains(b, `"ratelimit":{"account_ratelimit":1.0,"container_listing_ratelimits":[],"container_ratelimits":[],"max_sleep_time_seconds":0.5}`) {
		t.Errorf("info %s", b)
	}
}
