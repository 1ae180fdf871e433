package keystone

import (
	"testing"
	"time"

	"swiftbox/config"
)

// A Keystone user named like a local user ("test:tester": project test,
// user tester, in any domain) gets an id no local user can have, and
// distinct Keystone scopes never share one.
func TestUserIDsUniqueAcrossAuthSystems(t *testing.T) {
	ta := NewTempAuth("AUTH", time.Hour, []byte("0123456789abcdef0123456789abcdef"), []config.User{
		{Account: "test", Name: "tester", Key: "testing"},
	})
	local, _, _ := ta.Lookup("test:tester")
	ks := NewKeystone(config.KeystoneConfig{Accounts: []config.KeystonePrefix{{Prefix: "KEY_"}}, ResellerAdminRole: "ResellerAdmin"})
	scopes := []*KeystoneScope{
		{UserID: "u1", UserName: "tester", UserDomainID: "default", ProjectID: "p1", ProjectName: "test", ProjectDomainID: "default"},
		{UserID: "u2", UserName: "tester", UserDomainID: "other", ProjectID: "p2", ProjectName: "test", ProjectDomainID: "other"},
		// Ids holding the separator cannot make one id out of two.
		{UserID: "b/c", ProjectID: "a", ProjectDomainID: "d"},
		{UserID: "c", ProjectID: "a/b", ProjectDomainID: "d"},
	}
	// Nor does a Keystone ResellerAdmin own local accounts.
	admin := ks.IdentityFor(&KeystoneScope{UserID: "a", ProjectID: "p", Roles: []string{"reselleradmin"}}, time.Now().Add(time.Hour))
	if !admin.IsResellerAdmin() {
		t.Fatal("ResellerAdmin role lost")
	}
	if owner, _ := ta.Owner(admin, "GET", "AUTH_test", "c"); owner {
		t.Error("a Keystone ResellerAdmin owns local account AUTH_test")
	}
	seen := map[string]bool{local.User: true}
	if local.User != "test:tester" {
		t.Fatalf("local user id changed: %q (stored owners and grants name it)", local.User)
	}
	for _, s := range scopes {
		id := ks.IdentityFor(s, time.Now().Add(time.Hour))
		if seen[id.User] {
			t.Errorf("scope %+v: user id %q is not unique", s, id.User)
		}
		seen[id.User] = true
		if !IsKeystoneUserID(id.User) {
			t.Errorf("%q is not recognised as a Keystone id", id.User)
		}
		if _, _, ok := SplitLocalUserID(id.User); ok {
			t.Errorf("%q parses as a local user id", id.User)
		}
	}
}
