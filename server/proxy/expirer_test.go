package proxy

import "testing"

// Task container names match Swift's get_expirer_container (golden value
// from Python: md5("/AUTH_test/c/gone" + "test") % 100 off the day).
func TestExpirerContainerName(t *testing.T) {
	p := &Proxy{hashSuffix: "test"}
	if got := p.expirerContainer(1795626000, "AUTH_test", "c", "gone"); got != "1795564763" {
		t.Fatalf("expirer container %s", got)
	}
	if got := expiryTaskName(1795626000, "AUTH_test", "c", "o/x"); got != "1795626000-AUTH_test/c/o/x" {
		t.Fatalf("task name %s", got)
	}
}
