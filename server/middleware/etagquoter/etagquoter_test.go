package etagquoter_test

import (
	"strings"
	"testing"

	"swiftbox/server/servertest"
)

func TestEtagQuoter(t *testing.T) {
	t.Parallel()
	c := servertest.Start(t, servertest.Options{})
	c.Must(201, "PUT", "/v1/AUTH_test/c", "")
	c.Must(201, "PUT", "/v1/AUTH_test/c/o", "test")
	const bare = "098f6bcd4621d373cade4e832627b4f6"
	etag := func(want string) {
		t.Helper()
		resp, _ := c.Must(200, "HEAD", "/v1/AUTH_test/c/o", "")
		if got := resp.Header.Get("Etag"); got != want {
			t.Fatalf("ETag %s, want %s", got, want)
		}
		resp, _ = c.Must(200, "GET", "/v1/AUTH_test/c/o", "")
		if got := resp.Header.Get("Etag"); got != want {
			t.Fatalf("GET ETag %s, want %s", got, want)
		}
	}
	etag(bare)
	c.Must(204, "POST", "/v1/AUTH_test/c", "", "X-Container-Rfc-Compliant-Etags: t")
	etag(`"` + bare + `"`)
	resp, _ := c.Must(204, "HEAD", "/v1/AUTH_test/c", "")
	if v := resp.Header.Get("X-Container-Rfc-Compliant-Etags"); v != "True" {
		t.Fatalf("container HEAD shows X-Container-Rfc-Compliant-Etags %q, want True", v)
	}
	// The account says yes, the container no longer says: quoted.
	c.Must(204, "POST", "/v1/AUTH_test", "", "X-Account-Rfc-Compliant-Etags: yes")
	c.Must(204, "POST", "/v1/AUTH_test/c", "", "X-Container-Rfc-Compliant-Etags:")
	etag(`"` + bare + `"`)
	// The container's "false" wins over the account.
	c.Must(204, "POST", "/v1/AUTH_test/c", "", "X-Container-Rfc-Compliant-Etags: false")
	etag(bare)
	c.Must(204, "POST", "/v1/AUTH_test/c", "", "X-Remove-Container-Rfc-Compliant-Etags: x")
	c.Must(204, "POST", "/v1/AUTH_test", "", "X-Account-Rfc-Compliant-Etags:")
	etag(bare)
	// Clients cannot set the sysmeta themselves.
	c.Must(204, "POST", "/v1/AUTH_test/c", "", "X-Container-Sysmeta-Rfc-Compliant-Etags: True")
	etag(bare)
	if _, info := c.Must(200, "GET", "/info", ""); !strings.Contains(info, `"etag_quoter":{"enable_by_default":false}`) {
		t.Errorf("/info: %s", info)
	}
}
