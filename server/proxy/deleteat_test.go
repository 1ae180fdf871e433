package proxy_test

import (
	"strconv"
	"testing"
	"time"

	"swiftbox/server/servertest"
)

func TestDeleteAtValidation(t *testing.T) {
	c := servertest.Start(t, servertest.Options{})
	c.Must(201, "PUT", "/v1/AUTH_test/c", "")
	c.Must(400, "PUT", "/v1/AUTH_test/c/o", "x", "X-Delete-At: 1")
	c.Must(400, "PUT", "/v1/AUTH_test/c/o", "x", "X-Delete-At: soon")
	c.Must(400, "PUT", "/v1/AUTH_test/c/o", "x", "X-Delete-After: -1")
	c.Must(201, "PUT", "/v1/AUTH_test/c/o", "x", "X-Delete-After: 100")
	resp, _ := c.Must(200, "HEAD", "/v1/AUTH_test/c/o", "")
	if n, _ := strconv.ParseInt(resp.Header.Get("X-Delete-At"), 10, 64); n < time.Now().Unix()+90 {
		t.Errorf("X-Delete-At %q", resp.Header.Get("X-Delete-At"))
	}
	c.Must(400, "POST", "/v1/AUTH_test/c/o", "", "X-Delete-At: 1")
}
