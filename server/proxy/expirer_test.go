package proxy

import (
	"strconv"
	"testing"
	"time"
)

func TestDeleteAtValidation(t *testing.T) {
	c := startTestCluster(t)
	c.must(201, "PUT", "/v1/AUTH_test/c", "")
	c.must(400, "PUT", "/v1/AUTH_test/c/o", "x", "X-Delete-At: 1")
	c.must(400, "PUT", "/v1/AUTH_test/c/o", "x", "X-Delete-At: soon")
	c.must(400, "PUT", "/v1/AUTH_test/c/o", "x", "X-Delete-After: -1")
	c.must(201, "PUT", "/v1/AUTH_test/c/o", "x", "X-Delete-After: 100")
	resp, _ := c.must(200, "HEAD", "/v1/AUTH_test/c/o", "")
	if n, _ := strconv.ParseInt(resp.Header.Get("X-Delete-At"), 10, 64); n < time.Now().Unix()+90 {
		t.Errorf("X-Delete-At %q", resp.Header.Get("X-Delete-At"))
	}
	c.must(400, "POST", "/v1/AUTH_test/c/o", "", "X-Delete-At: 1")
}

// Task container names match Swift's get_expirer_container (golden value
// from Python: md5("/AUTH_test/c/gone" + "test") % 100 off the day).
func TestExpirerContainerName(t *testing.T) {
	c := startTestCluster(t)
	if got := c.Proxy.expirerContainer(1795626000, "AUTH_test", "c", "gone"); got != "1795564763" {
		t.Fatalf("expirer container %s", got)
	}
	if got := expiryTaskName(1795626000, "AUTH_test", "c", "o/x"); got != "1795626000-AUTH_test/c/o/x" {
		t.Fatalf("task name %s", got)
	}
}
