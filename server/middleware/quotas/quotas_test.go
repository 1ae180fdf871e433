package quotas_test

import (
	"strings"
	"testing"
	"time"

	"swiftbox/server/servertest"
)

const quotaExceeded = "Upload exceeds quota."

func TestContainerQuotas(t *testing.T) {
	t.Parallel()
	c := servertest.Start(t, servertest.Options{})
	c.Must(400, "PUT", "/v1/AUTH_test/q", "", "X-Container-Meta-Quota-Bytes: ten")
	c.Must(400, "POST", "/v1/AUTH_test/q", "", "X-Container-Meta-Quota-Count: -1")
	c.Must(201, "PUT", "/v1/AUTH_test/q", "", "X-Container-Meta-Quota-Bytes: 10", "X-Container-Write: test:tester2")
	c.Must(201, "PUT", "/v1/AUTH_test/q/a", "12345")
	_, body := c.Must(413, "PUT", "/v1/AUTH_test/q/b", "123456")
	if body != quotaExceeded {
		t.Errorf("413 body %q", body)
	}
	c.Must(201, "PUT", "/v1/AUTH_test/q/b", "12345")
	// Users who may not write at all are refused as such, not with 413.
	c.Must(401, "PUT", "/v1/AUTH_test/q/c", "1", "X-Auth-Token:")
	tok3 := c.Login("test2:tester3", "testing3")
	c.Must(403, "PUT", "/v1/AUTH_test/q/c", "1", "X-Auth-Token: "+tok3)
	tok2 := c.Login("test:tester2", "testing2")
	c.Must(413, "PUT", "/v1/AUTH_test/q/c", "1", "X-Auth-Token: "+tok2)

	// Object count quota.
	c.Must(201, "PUT", "/v1/AUTH_test/n", "", "X-Container-Meta-Quota-Count: 1")
	c.Must(201, "PUT", "/v1/AUTH_test/n/1", "x")
	c.Must(413, "PUT", "/v1/AUTH_test/n/2", "x")
	c.Must(204, "POST", "/v1/AUTH_test/n", "", "X-Remove-Container-Meta-Quota-Count: x")
	c.Must(201, "PUT", "/v1/AUTH_test/n/2", "x")

	_, info := c.Must(200, "GET", "/info", "")
	if !strings.Contains(info, `"container_quotas":{}`) || !strings.Contains(info, `"account_quotas":{}`) {
		t.Errorf("info %s", info)
	}
}

func TestAccountQuotas(t *testing.T) {
	t.Parallel()
	c := servertest.Start(t, servertest.Options{Users: append(servertest.Users, "reseller:admin:secret:.reseller_admin")})
	// Only reseller admins set account quotas; account admins may not.
	c.Must(403, "POST", "/v1/AUTH_test", "", "X-Account-Meta-Quota-Bytes: 10")
	c.Must(403, "POST", "/v1/AUTH_test", "", "X-Remove-Account-Meta-Quota-Bytes: x")
	radmin := "X-Auth-Token: " + c.Login("reseller:admin", "secret")
	c.Must(400, "POST", "/v1/AUTH_test", "", radmin, "X-Account-Meta-Quota-Bytes: lots")
	c.Must(204, "POST", "/v1/AUTH_test", "", radmin, "X-Account-Meta-Quota-Bytes: 10")
	c.Must(201, "PUT", "/v1/AUTH_test/c", "")
	c.Must(201, "PUT", "/v1/AUTH_test/c/a", "12345678")
	// The account's bytes used arrive with the account updater's flush.
	deadline := time.Now().Add(5 * time.Second)
	for resp, _ := c.Must(204, "HEAD", "/v1/AUTH_test", ""); resp.Header.Get("X-Account-Bytes-Used") != "8"; resp, _ = c.Must(204, "HEAD", "/v1/AUTH_test", "") {
		if time.Now().After(deadline) {
			t.Fatalf("account bytes used: %v", resp.Header)
		}
		time.Sleep(10 * time.Millisecond)
	}
	_, body := c.Must(413, "PUT", "/v1/AUTH_test/c/b", "12345")
	if body != quotaExceeded {
		t.Errorf("413 body %q", body)
	}
	c.Must(201, "PUT", "/v1/AUTH_test/c/b", "12")
	// Metadata updates are not uploads.
	c.Must(204, "POST", "/v1/AUTH_test/c", "", "X-Container-Meta-X: y")
	c.Must(204, "POST", "/v1/AUTH_test", "", radmin, "X-Remove-Account-Meta-Quota-Bytes: x")
	c.Must(201, "PUT", "/v1/AUTH_test/c/d", "12345678")
}
