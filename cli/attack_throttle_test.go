package cli_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// sourceClient is an HTTP client whose connections come from local
// address ip (any 127.0.0.0/8 address works on loopback).
func sourceClient(ip string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
	return &http.Client{Transport: &http.Transport{DialContext: d.DialContext}}
}

// Failed logins are throttled per client address and user: after
// max_failures the user gets 429 from that address on every login endpoint
// (S3: 503 SlowDown), even with the right key, while its other users and
// other addresses log in as before; failures are logged with address and
// user and counted in the metrics. Tokens expire.
func TestAttackLoginThrottle(t *testing.T) {
	metricsURL := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	s := attackServer(t, `  token_life: 1
  login_throttle: {max_failures: 3, window: 60, exempt: []}
`, "--metrics-addr", metricsURL)
	guesser, bystander := sourceClient("127.0.0.2"), sourceClient("127.0.0.3")
	login := func(c *http.Client, user, key string) (int, string) {
		t.Helper()
		resp := tempauthLogin(t, c, s.AuthURL(), user, key)
		return resp.StatusCode, resp.Header.Get("X-Auth-Token")
	}
	post := func(c *http.Client, path, body string) int {
		t.Helper()
		resp, err := c.Post(s.URL+path, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	_, early := login(bystander, "test:tester", "testing")
	expiresAt := time.Now().Add(2 * time.Second)
	for i := 0; i < 3; i++ {
		if code, _ := login(guesser, "test:tester", fmt.Sprint("guess", i)); code != 401 {
			t.Fatalf("guess %d: %d, want 401", i, code)
		}
	}
	v3 := `{"auth":{"identity":{"methods":["password"],"password":{"user":{"name":"tester","domain":{"id":"default"},"password":"testing"}}},"scope":{"project":{"name":"test","domain":{"id":"default"}}}}}`
	v2 := `{"auth":{"passwordCredentials":{"username":"tester","password":"testing"},"tenantName":"test"}}`
	// Throttled: the guesser's answers for that user come one at a time,
	// each failure a second late; the right key still logs in.
	for _, c := range []struct {
		name string
		want int
		slow bool
		run  func() int
	}{
		{"tempauth-wrong-key-slowed", 401, true, func() int { code, _ := login(guesser, "test:tester", "guess3"); return code }},
		{"tempauth-right-key", 200, false, func() int { code, _ := login(guesser, "test:tester", "testing"); return code }},
		{"v3-right-password", 201, false, func() int { return post(guesser, "/v3/auth/tokens", v3) }},
		{"v2-right-password", 200, false, func() int { return post(guesser, "/v2.0/tokens", v2) }},
		{"guesser-other-user", 200, false, func() int { code, _ := login(guesser, "test:tester2", "testing2"); return code }},
		{"bystander-tempauth", 200, false, func() int { code, _ := login(bystander, "test:tester", "testing"); return code }},
		{"bystander-v3", 201, false, func() int { return post(bystander, "/v3/auth/tokens", v3) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			start := time.Now()
			got := c.run()
			if got != c.want {
				t.Errorf("%d, want %d", got, c.want)
			}
			if d := time.Since(start); c.slow != (d >= 900*time.Millisecond) {
				t.Errorf("answered after %v (slowed: want %v)", d, c.slow)
			}
		})
	}
	t.Run("one-attempt-at-a-time", func(t *testing.T) {
		held := make(chan int)
		go func() { code, _ := login(guesser, "test:tester", "guess4"); held <- code }()
		time.Sleep(300 * time.Millisecond)
		if code, _ := login(guesser, "test:tester", "testing"); code != 429 {
			t.Errorf("a second attempt while a throttled one is checked: %d, want 429", code)
		}
		if code := <-held; code != 401 {
			t.Errorf("the held wrong guess: %d, want 401", code)
		}
	})
	t.Run("s3-signed-from-throttled-address", func(t *testing.T) { throttledS3Signed(t, s, guesser, bystander) })
	t.Run("s3-bad-signatures-throttle", func(t *testing.T) { throttledS3BadSignatures(t, s) })
	t.Run("logged-with-address-and-user", func(t *testing.T) {
		out := s.Output()
		if !strings.Contains(out, "login failed") || !strings.Contains(out, "127.0.0.2") || !strings.Contains(out, "test:tester") {
			t.Errorf("no failure log line with address and user:\n%.2000s", out)
		}
	})
	t.Run("counted", func(t *testing.T) { throttleCounted(t, metricsURL) })
	t.Run("expired-token", func(t *testing.T) {
		time.Sleep(time.Until(expiresAt))
		if code, _, _ := do(t, "GET", s.URL+"/v1/AUTH_test", early, nil, nil); code != 401 {
			t.Errorf("an expired token: %d, want 401", code)
		}
	})
}

// noRetry makes an S3 call answer its first response (the SDK retries
// SlowDown).
func noRetry(o *s3.Options) { o.RetryMaxAttempts = 1 }

// With the default config (max_failures 10, 50 per address, nothing
// exempt) a guesser on 127.0.0.1 is throttled too: after 10 wrong keys for
// a user, that user's logins from there come one at a time (another one
// meanwhile: 429) and each failure is answered a second late, while the
// right key, the address's other users and other addresses log in;
// spraying 50 users throttles the address for all its users.
func TestAttackLoginThrottleDefaults(t *testing.T) {
	t.Parallel()
	s := attackServer(t, "")
	local, other := sourceClient("127.0.0.1"), sourceClient("127.0.0.9")
	login := func(c *http.Client, user, key string) int {
		t.Helper()
		resp := tempauthLogin(t, c, s.AuthURL(), user, key)
		if resp.StatusCode == 429 && resp.Header.Get("Retry-After") == "" {
			t.Error("429 without Retry-After")
		}
		return resp.StatusCode
	}
	s3list := func(c *http.Client, user, key string) string {
		t.Helper()
		_, err := s3ClientAt(t, s.URL, c, user, key).ListBuckets(context.Background(), &s3.ListBucketsInput{}, noRetry)
		if err == nil {
			return "ok"
		}
		return s3Code(err)
	}
	for i := 0; i < 10; i++ {
		if code := login(local, "test:tester", fmt.Sprint("guess", i)); code != 401 {
			t.Fatalf("guess %d: %d, want 401", i, code)
		}
	}
	timed := func(f func() string) (string, bool) {
		start := time.Now()
		got := f()
		return got, time.Since(start) >= 900*time.Millisecond
	}
	oneAtATime := func(name string, wrong func() string, right func() string, refused string) {
		t.Helper()
		c := make(chan string)
		go func() { c <- wrong() }()
		time.Sleep(300 * time.Millisecond)
		if got := right(); got != refused {
			t.Errorf("%s: a second attempt while one is checked: %s, want %s", name, got, refused)
		}
		<-c
	}
	for _, c := range []struct {
		name, want string
		slow       bool
		run        func() string
	}{
		{"wrong-key-slowed", "401", true, func() string { return fmt.Sprint(login(local, "test:tester", "guess10")) }},
		{"right-key-after-10-failures", "200", false, func() string { return fmt.Sprint(login(local, "test:tester", "testing")) }},
		{"s3-right-secret", "ok", false, func() string { return s3list(local, "test:tester", "testing") }},
		{"s3-wrong-secret-slowed", "SignatureDoesNotMatch", true, func() string { return s3list(local, "test:tester", "wrong") }},
		{"other-user-same-address", "200", false, func() string { return fmt.Sprint(login(local, "test:tester2", "testing2")) }},
		{"s3-other-user-same-address", "ok", false, func() string { return s3list(local, "test2:tester3", "testing3") }},
		{"same-user-other-address", "200", false, func() string { return fmt.Sprint(login(other, "test:tester", "testing")) }},
	} {
		got, slow := timed(c.run)
		if got != c.want || slow != c.slow {
			t.Errorf("%s: %s (slowed %v), want %s (slowed %v)", c.name, got, slow, c.want, c.slow)
		}
	}
	oneAtATime("tempauth", func() string { return fmt.Sprint(login(local, "test:tester", "guess11")) },
		func() string { return fmt.Sprint(login(local, "test:tester", "testing")) }, "429")
	oneAtATime("s3", func() string { return s3list(local, "test:tester", "wrong") },
		func() string { return s3list(local, "test:tester", "testing") }, "SlowDown")
	// Spraying: 40 more failures of other users (tempauth users and
	// unknown S3 keys) make more than 50 from 127.0.0.1: then every user's
	// failure from there is slowed and one login at a time goes through.
	for i := 0; i < 40; i++ {
		user := fmt.Sprintf("spray:u%d", i)
		if i%2 == 1 {
			if got := s3list(local, user, "x"); got != "InvalidAccessKeyId" {
				t.Fatalf("sprayed S3 key %d: %s, want InvalidAccessKeyId", i, got)
			}
		} else if code := login(local, user, "x"); code != 401 {
			t.Fatalf("sprayed user %d: %d, want 401", i, code)
		}
	}
	if got, slow := timed(func() string { return fmt.Sprint(login(local, "spray:fresh", "x")) }); got != "401" || !slow {
		t.Errorf("a fresh user's failure from the spraying address: %s (slowed %v), want 401 slowed", got, slow)
	}
	oneAtATime("spraying address", func() string { return fmt.Sprint(login(local, "spray:fresh2", "x")) },
		func() string { return fmt.Sprint(login(local, "test:tester2", "testing2")) }, "429")
	if code := login(local, "test:tester2", "testing2"); code != 200 {
		t.Errorf("the right key from the spraying address, one at a time: %d, want 200", code)
	}
	if code := login(other, "test:tester2", "testing2"); code != 200 {
		t.Errorf("another address: %d, want 200", code)
	}
	out := s.Output()
	for _, want := range []string{"login throttled", "login throttled for all users", "127.0.0.1"} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in the log:\n%.2000s", want, out)
		}
	}
}

// throttledS3Signed: a throttled address still signs in to S3 with the
// right secret; a wrong one is answered a second late.
func throttledS3Signed(t *testing.T, s *server, guesser, bystander *http.Client) {
	if _, err := s3ClientAt(t, s.URL, guesser, "test:tester", "testing").ListBuckets(context.Background(), &s3.ListBucketsInput{}, noRetry); err != nil {
		t.Errorf("S3 with the right secret from a throttled address: %v", err)
	}
	start := time.Now()
	_, err := s3ClientAt(t, s.URL, guesser, "test:tester", "wrong").ListBuckets(context.Background(), &s3.ListBucketsInput{}, noRetry)
	if s3Code(err) != "SignatureDoesNotMatch" || time.Since(start) < 900*time.Millisecond {
		t.Errorf("S3 with a wrong secret from a throttled address: %v after %v, want SignatureDoesNotMatch a second late", err, time.Since(start))
	}
	if _, err := s3ClientAt(t, s.URL, bystander, "test:tester", "testing").ListBuckets(context.Background(), &s3.ListBucketsInput{}); err != nil {
		t.Errorf("S3 from another address: %v", err)
	}
}

// throttledS3BadSignatures: bad S3 signatures throttle like bad keys.
func throttledS3BadSignatures(t *testing.T, s *server) {
	s3guess := sourceClient("127.0.0.4")
	for i := 0; i < 3; i++ {
		_, err := s3ClientAt(t, s.URL, s3guess, "test:tester", "wrong").ListBuckets(context.Background(), &s3.ListBucketsInput{})
		if s3Code(err) != "SignatureDoesNotMatch" {
			t.Fatalf("bad signature %d: %v", i, err)
		}
	}
	held := make(chan string)
	go func() {
		_, err := s3ClientAt(t, s.URL, s3guess, "test:tester", "wrong").ListBuckets(context.Background(), &s3.ListBucketsInput{}, noRetry)
		held <- s3Code(err)
	}()
	time.Sleep(300 * time.Millisecond)
	_, err := s3ClientAt(t, s.URL, s3guess, "test:tester", "testing").ListBuckets(context.Background(), &s3.ListBucketsInput{}, noRetry)
	if s3Code(err) != "SlowDown" {
		t.Errorf("a second attempt while a throttled one is checked: %v, want SlowDown", err)
	}
	if got := <-held; got != "SignatureDoesNotMatch" {
		t.Errorf("the held bad signature: %s", got)
	}
}

// throttleCounted: failures and throttled logins are counted per system.
func throttleCounted(t *testing.T, metricsURL string) {
	_, m := scrapeMetrics(t, "http://"+metricsURL+"/metrics")
	for series, least := range map[string]float64{
		`swiftbox_auth_logins_total{result="failure",system="tempauth"}`:   3,
		`swiftbox_auth_logins_total{result="throttled",system="tempauth"}`: 2,
		`swiftbox_auth_logins_total{result="failure",system="s3"}`:         3,
		`swiftbox_auth_logins_total{result="throttled",system="s3"}`:       2,
		`swiftbox_auth_logins_total{result="success",system="identity"}`:   1,
	} {
		if m[series] < least {
			t.Errorf("%s = %v, want at least %v", series, m[series], least)
		}
	}
}

// tempauthLogin sends a tempauth login for user and key from c; the
// response's body is closed.
func tempauthLogin(t *testing.T, c *http.Client, authURL, user, key string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest("GET", authURL, nil)
	req.Header.Set("X-Auth-User", user)
	req.Header.Set("X-Auth-Key", key)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}
