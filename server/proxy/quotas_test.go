package proxy

import (
	"strings"
	"testing"
	"time"

	"swiftbox/config"
	"swiftbox/keystone"
)

func TestContainerQuotas(t *testing.T) {
	c := startTestCluster(t)
	c.must(400, "PUT", "/v1/AUTH_test/q", "", "X-Container-Meta-Quota-Bytes: ten")
	c.must(400, "POST", "/v1/AUTH_test/q", "", "X-Container-Meta-Quota-Count: -1")
	c.must(201, "PUT", "/v1/AUTH_test/q", "", "X-Container-Meta-Quota-Bytes: 10", "X-Container-Write: test:tester2")
	c.must(201, "PUT", "/v1/AUTH_test/q/a", "12345")
	_, body := c.must(413, "PUT", "/v1/AUTH_test/q/b", "123456")
	if body != quotaExceeded {
		t.Errorf("413 body %q", body)
	}
	c.must(201, "PUT", "/v1/AUTH_test/q/b", "12345")
	// Users who may not write at all are refused as such, not with 413.
	c.must(401, "PUT", "/v1/AUTH_test/q/c", "1", "X-Auth-Token:")
	tok3 := c.login("test2:tester3", "testing3")
	c.must(403, "PUT", "/v1/AUTH_test/q/c", "1", "X-Auth-Token: "+tok3)
	tok2 := c.login("test:tester2", "testing2")
	c.must(413, "PUT", "/v1/AUTH_test/q/c", "1", "X-Auth-Token: "+tok2)

	// Object count quota.
	c.must(201, "PUT", "/v1/AUTH_test/n", "", "X-Container-Meta-Quota-Count: 1")
	c.must(201, "PUT", "/v1/AUTH_test/n/1", "x")
	c.must(413, "PUT", "/v1/AUTH_test/n/2", "x")
	c.must(204, "POST", "/v1/AUTH_test/n", "", "X-Remove-Container-Meta-Quota-Count: x")
	c.must(201, "PUT", "/v1/AUTH_test/n/2", "x")

	_, info := c.must(200, "GET", "/info", "")
	if !strings.Contains(info, `"container_quotas":{}`) || !strings.Contains(info, `"account_quotas":{}`) {
		t.Errorf("info %s", info)
	}
}

func TestAccountQuotas(t *testing.T) {
	c := startTestCluster(t)
	// Only reseller admins set account quotas; account admins may not.
	c.must(403, "POST", "/v1/AUTH_test", "", "X-Account-Meta-Quota-Bytes: 10")
	c.must(403, "POST", "/v1/AUTH_test", "", "X-Remove-Account-Meta-Quota-Bytes: x")
	var users []config.User
	for _, s := range []string{"test:tester:testing:.admin", "reseller:admin:secret:.reseller_admin"} {
		u, _ := config.ParseUser(s)
		users = append(users, u)
	}
	c.Proxy.auth = keystone.NewTempAuth("AUTH", time.Hour, []byte("0123456789abcdef0123456789abcdef"), users)
	c.Token = c.login("test:tester", "testing")
	radmin := "X-Auth-Token: " + c.login("reseller:admin", "secret")
	c.must(400, "POST", "/v1/AUTH_test", "", radmin, "X-Account-Meta-Quota-Bytes: lots")
	c.must(204, "POST", "/v1/AUTH_test", "", radmin, "X-Account-Meta-Quota-Bytes: 10")
	c.must(201, "PUT", "/v1/AUTH_test/c", "")
	c.must(201, "PUT", "/v1/AUTH_test/c/a", "12345678")
	c.Proxy.acct.flush()
	_, body := c.must(413, "PUT", "/v1/AUTH_test/c/b", "12345")
	if body != quotaExceeded {
		t.Errorf("413 body %q", body)
	}
	c.must(201, "PUT", "/v1/AUTH_test/c/b", "12")
	// Metadata updates are not uploads.
	c.must(204, "POST", "/v1/AUTH_test/c", "", "X-Container-Meta-X: y")
	c.must(204, "POST", "/v1/AUTH_test", "", radmin, "X-Remove-Account-Meta-Quota-Bytes: x")
	c.must(201, "PUT", "/v1/AUTH_test/c/d", "12345678")
}
