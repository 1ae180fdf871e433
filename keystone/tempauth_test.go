package keystone

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"swiftbox/config"
)

var testUsers = []config.User{
	{Account: "acct", Name: "admin", Key: "adminkey", Groups: []string{GroupAdmin}},
	{Account: "acct", Name: "user", Key: "userkey", Groups: []string{"readers", "writers"}},
	{Account: "acct", Name: "plain", Key: "plainkey"},
	{Account: "root", Name: "boss", Key: "bosskey", Groups: []string{GroupResellerAdmin}},
}

var testSecret = []byte("s3cret")

func newTestAuth(t *testing.T) *TempAuth {
	t.Helper()
	return NewTempAuth("AUTH", time.Hour, testSecret, testUsers)
}

func TestNormalizePrefix(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"AUTH", "AUTH_"},
		{"AUTH_", "AUTH_"},
		{"SB", "SB_"},
		{"_", "_"},
		{"A__", "A__"},
	}
	for _, tc := range tests {
		if got := NormalizePrefix(tc.in); got != tc.want {
			t.Errorf("NormalizePrefix(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	if got := NewTempAuth("AUTH", time.Hour, testSecret, nil).Prefix(); got != "AUTH_" {
		t.Errorf("Prefix() = %q, want AUTH_", got)
	}
}

func TestAuthenticate(t *testing.T) {
	ta := newTestAuth(t)
	tests := []struct {
		name            string
		user, key       string
		wantErr         error
		wantAccount     string
		wantGroups      []string
		admin, reseller bool
	}{
		{name: "admin", user: "acct:admin", key: "adminkey", wantAccount: "AUTH_acct",
			wantGroups: []string{"acct", "acct:admin", GroupAdmin, "AUTH_acct"}, admin: true},
		{name: "user with groups", user: "acct:user", key: "userkey", wantAccount: "AUTH_acct",
			wantGroups: []string{"acct", "acct:user", "readers", "writers"}},
		{name: "user without groups", user: "acct:plain", key: "plainkey", wantAccount: "AUTH_acct",
			wantGroups: []string{"acct", "acct:plain"}},
		{name: "reseller admin", user: "root:boss", key: "bosskey", wantAccount: "AUTH_root",
			wantGroups: []string{"root", "root:boss", GroupResellerAdmin}, reseller: true},
		{name: "wrong key", user: "acct:user", key: "adminkey", wantErr: ErrBadCredentials},
		{name: "key prefix", user: "acct:user", key: "user", wantErr: ErrBadCredentials},
		{name: "key with suffix", user: "acct:user", key: "userkeyx", wantErr: ErrBadCredentials},
		{name: "empty key", user: "acct:user", key: "", wantErr: ErrBadCredentials},
		{name: "unknown user", user: "acct:nobody", key: "userkey", wantErr: ErrBadCredentials},
		{name: "unknown account", user: "other:user", key: "userkey", wantErr: ErrBadCredentials},
		{name: "bare user name", user: "user", key: "userkey", wantErr: ErrBadCredentials},
		{name: "storage account as user", user: "AUTH_acct:user", key: "userkey", wantErr: ErrBadCredentials},
		{name: "empty", wantErr: ErrBadCredentials},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := time.Now()
			tok, id, err := ta.Authenticate(tc.user, tc.key)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) || tok != "" || id != nil {
					t.Fatalf("Authenticate = %q, %v, %v; want error %v", tok, id, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Authenticate: %v", err)
			}
			if !strings.HasPrefix(tok, "AUTH_tk") {
				t.Errorf("token %q lacks AUTH_tk prefix", tok)
			}
			for name, got := range map[string]*Identity{"Authenticate": id, "Validate": mustValidate(t, ta, tok)} {
				if got.User != tc.user || got.Account != tc.wantAccount {
					t.Errorf("%s: User, Account = %q, %q; want %q, %q", name, got.User, got.Account, tc.user, tc.wantAccount)
				}
				if !slices.Equal(got.Groups, tc.wantGroups) {
					t.Errorf("%s: Groups = %q, want %q", name, got.Groups, tc.wantGroups)
				}
				if got.IsAdmin() != tc.admin || got.IsResellerAdmin() != tc.reseller {
					t.Errorf("%s: IsAdmin, IsResellerAdmin = %v, %v; want %v, %v", name,
						got.IsAdmin(), got.IsResellerAdmin(), tc.admin, tc.reseller)
				}
				// Expiry is truncated to the second, so allow one second of slack.
				if lo, hi := before.Add(time.Hour-time.Second), time.Now().Add(time.Hour); got.Expires.Before(lo) || got.Expires.After(hi) {
					t.Errorf("%s: Expires = %v, want within [%v, %v]", name, got.Expires, lo, hi)
				}
			}
		})
	}
}

func mustValidate(t *testing.T, ta *TempAuth, tok string) *Identity {
	t.Helper()
	id, ok := ta.Validate(tok)
	if !ok || id == nil {
		t.Fatalf("Validate(%q) = %v, %v; want a valid identity", tok, id, ok)
	}
	return id
}

// tokenParts splits "<prefix>tk" + hmac(64 hex) + expiry(16 hex) + user(hex).
func tokenParts(t *testing.T, prefix, tok string) (mac, exp, user string) {
	t.Helper()
	rest, ok := strings.CutPrefix(tok, prefix+"tk")
	if !ok || len(rest) < 80 {
		t.Fatalf("token %q does not have the documented shape", tok)
	}
	return rest[:64], rest[64:80], rest[80:]
}

func hexExpiry(ts time.Time) string {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(ts.Unix()))
	return hex.EncodeToString(b[:])
}

// flipHex replaces the hex digit at i with a different one.
func flipHex(s string, i int) string {
	c := byte('0')
	if s[i] == '0' {
		c = '1'
	}
	return s[:i] + string(c) + s[i+1:]
}

func TestValidateRejectsTamperedTokens(t *testing.T) {
	ta := newTestAuth(t)
	tok, _, err := ta.Authenticate("acct:user", "userkey")
	if err != nil {
		t.Fatal(err)
	}
	mac, exp, user := tokenParts(t, "AUTH_", tok)
	if got := "AUTH_tk" + mac + exp + user; got != tok {
		t.Fatalf("reassembled token %q != %q", got, tok)
	}
	exptime := time.Unix(int64(binary.BigEndian.Uint64(must(hex.DecodeString(exp)))), 0)
	other, _, err := ta.Authenticate("acct:plain", "plainkey")
	if err != nil {
		t.Fatal(err)
	}
	omac, _, ouser := tokenParts(t, "AUTH_", other)

	tests := []struct{ name, token string }{
		{"empty", ""},
		{"prefix only", "AUTH_tk"},
		{"no tk", "AUTH_" + mac + exp + user},
		{"other prefix", "SB_tk" + mac + exp + user},
		{"lowercase prefix", "auth_tk" + mac + exp + user},
		{"hmac first digit", "AUTH_tk" + flipHex(mac, 0) + exp + user},
		{"hmac last digit", "AUTH_tk" + flipHex(mac, 63) + exp + user},
		{"hmac uppercase", "AUTH_tk" + strings.ToUpper(mac) + exp + user},
		{"hmac of other user", "AUTH_tk" + omac + exp + user},
		{"hmac truncated", "AUTH_tk" + mac[:62] + exp + user},
		{"expiry extended", "AUTH_tk" + mac + hexExpiry(exptime.Add(time.Hour)) + user},
		{"expiry plus one second", "AUTH_tk" + mac + hexExpiry(exptime.Add(time.Second)) + user},
		{"expiry not hex", "AUTH_tk" + mac + "zz" + exp[2:] + user},
		{"expiry max", "AUTH_tk" + mac + "7fffffffffffffff" + user},
		{"user swapped", "AUTH_tk" + mac + exp + ouser},
		{"user uppercase hex", "AUTH_tk" + mac + exp + strings.ToUpper(user)},
		{"user odd hex", "AUTH_tk" + mac + exp + user[:len(user)-1]},
		{"user not hex", "AUTH_tk" + mac + exp + "acct:user"},
		{"user empty", "AUTH_tk" + mac + exp},
		{"user extra byte", "AUTH_tk" + mac + exp + user + "00"},
		{"user of admin", "AUTH_tk" + mac + exp + hex.EncodeToString([]byte("acct:admin"))},
		{"trailing space", tok + " "},
		{"leading space", " " + tok},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if id, ok := ta.Validate(tc.token); ok || id != nil {
				t.Errorf("Validate(%q) = %+v, %v; want invalid", tc.token, id, ok)
			}
		})
	}
	// The untouched tokens still validate.
	mustValidate(t, ta, tok)
	mustValidate(t, ta, other)
}

func TestValidateAcrossInstances(t *testing.T) {
	ta := newTestAuth(t)
	tok, _, err := ta.Authenticate("acct:user", "userkey")
	if err != nil {
		t.Fatal(err)
	}
	changed := slices.Clone(testUsers)
	changed[1].Key = "newkey"
	tests := []struct {
		name  string
		auth  *TempAuth
		valid bool
	}{
		{"same instance", ta, true},
		{"restart with same secret and key", NewTempAuth("AUTH", time.Hour, testSecret, testUsers), true},
		{"prefix given with underscore", NewTempAuth("AUTH_", time.Hour, testSecret, testUsers), true},
		{"other token life", NewTempAuth("AUTH", time.Minute, testSecret, testUsers), true},
		{"other secret", NewTempAuth("AUTH", time.Hour, []byte("other"), testUsers), false},
		{"empty secret", NewTempAuth("AUTH", time.Hour, nil, testUsers), false},
		{"key changed", NewTempAuth("AUTH", time.Hour, testSecret, changed), false},
		{"user removed", NewTempAuth("AUTH", time.Hour, testSecret, testUsers[:1]), false},
		{"other reseller prefix", NewTempAuth("SB", time.Hour, testSecret, testUsers), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			id, ok := tc.auth.Validate(tok)
			if ok != tc.valid {
				t.Fatalf("Validate = %+v, %v; want valid=%v", id, ok, tc.valid)
			}
			if ok && (id.User != "acct:user" || id.Account != "AUTH_acct") {
				t.Errorf("identity = %+v", id)
			}
		})
	}
}

func TestValidateExpiry(t *testing.T) {
	ta := newTestAuth(t)
	u := testUsers[1]
	tests := []struct {
		name  string
		exp   time.Time
		valid bool
	}{
		{"an hour ahead", time.Now().Add(time.Hour), true},
		{"a minute ahead", time.Now().Add(time.Minute), true},
		{"a second ago", time.Now().Add(-time.Second), false},
		{"a day ago", time.Now().Add(-24 * time.Hour), false},
		{"epoch", time.Unix(0, 0), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tok := ta.sign("acct:user", u.Key, tc.exp)
			id, ok := ta.Validate(tok)
			if ok != tc.valid {
				t.Fatalf("Validate = %+v, %v; want valid=%v", id, ok, tc.valid)
			}
			if ok && id.Expires.Unix() != tc.exp.Unix() {
				t.Errorf("Expires = %v, want %v", id.Expires, tc.exp)
			}
		})
	}

	// A token issued with a lifetime already over never validates.
	past := NewTempAuth("AUTH", -time.Second, testSecret, testUsers)
	tok, _, err := past.Authenticate("acct:user", "userkey")
	if err != nil {
		t.Fatal(err)
	}
	if id, ok := past.Validate(tok); ok {
		t.Errorf("expired token validated: %+v", id)
	}
}

func TestLookup(t *testing.T) {
	ta := newTestAuth(t)
	tests := []struct {
		user, wantKey, wantAccount string
		found                      bool
		admin                      bool
	}{
		{"acct:admin", "adminkey", "AUTH_acct", true, true},
		{"acct:user", "userkey", "AUTH_acct", true, false},
		{"root:boss", "bosskey", "AUTH_root", true, false},
		{"acct:nobody", "", "", false, false},
		{"acct", "", "", false, false},
		{"", "", "", false, false},
	}
	for _, tc := range tests {
		id, key, ok := ta.Lookup(tc.user)
		if ok != tc.found || key != tc.wantKey {
			t.Errorf("Lookup(%q) = _, %q, %v; want %q, %v", tc.user, key, ok, tc.wantKey, tc.found)
			continue
		}
		if !ok {
			if id != nil {
				t.Errorf("Lookup(%q) identity = %+v, want nil", tc.user, id)
			}
			continue
		}
		if id.User != tc.user || id.Account != tc.wantAccount || id.IsAdmin() != tc.admin {
			t.Errorf("Lookup(%q) identity = %+v", tc.user, id)
		}
		if !id.Expires.After(time.Now()) {
			t.Errorf("Lookup(%q) Expires = %v, want in the future", tc.user, id.Expires)
		}
	}
}

func TestUsersReturnsAll(t *testing.T) {
	got := newTestAuth(t).Users()
	names := make([]string, 0, len(got))
	for _, u := range got {
		names = append(names, u.Account+":"+u.Name)
	}
	slices.Sort(names)
	want := []string{"acct:admin", "acct:plain", "acct:user", "root:boss"}
	if !slices.Equal(names, want) {
		t.Errorf("Users() = %q, want %q", names, want)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// Several reseller prefixes and require_group, as Swift's functional
// suite configures tempauth ("AUTH, SERVICE", SERVICE_require_group =
// service): an admin owns its account under both prefixes, but SERVICE_
// accounts only together with a service user's token.
func TestServicePrefixRequireGroup(t *testing.T) {
	ta := NewTempAuth("AUTH, SERVICE", time.Hour, []byte("0123456789abcdef0123456789abcdef"), []config.User{
		{Account: "test", Name: "tester", Key: "testing", Groups: []string{GroupAdmin}},
		{Account: "test5", Name: "tester5", Key: "testing5", Groups: []string{"service"}},
		{Account: "test6", Name: "tester6", Key: "testing6", Groups: []string{GroupResellerReader}},
		{Account: "test7", Name: "plain", Key: "k"},
		{Account: "root", Name: "boss", Key: "k", Groups: []string{GroupResellerAdmin}},
		{Account: "test5", Name: "admin5", Key: "k", Groups: []string{GroupAdmin}},
	})
	ta.SetRequireGroups(map[string]string{"SERVICE": "service"})
	plain, _, _ := ta.Lookup("test7:plain")
	boss, _, _ := ta.Lookup("root:boss")
	admin5, _, _ := ta.Lookup("test5:admin5")
	user, _, _ := ta.Lookup("test:tester")
	svc, _, _ := ta.Lookup("test5:tester5")
	reader, _, _ := ta.Lookup("test6:tester6")
	for _, c := range []struct {
		id              *Identity
		method, account string
		owner, read     bool
	}{
		{user, "GET", "AUTH_test", true, false},
		{user, "PUT", "AUTH_test", false, false}, // no account management
		{user, "GET", "SERVICE_test", false, false},
		{user.WithServiceToken(svc), "GET", "SERVICE_test", true, false},
		// A service token satisfies require_group and nothing else: not
		// the service user's account, nor a reseller admin's reach.
		{plain.WithServiceToken(svc), "GET", "SERVICE_test", false, false},
		{plain.WithServiceToken(svc), "GET", "AUTH_test5", false, false},
		{plain.WithServiceToken(boss), "GET", "AUTH_test", false, false},
		{plain.WithServiceToken(admin5), "GET", "AUTH_test5", false, false},
		{svc, "GET", "SERVICE_test", false, false},
		{svc, "GET", "SERVICE_test5", false, false},
		{user, "GET", "test", false, false}, // not one of our prefixes
		{reader, "HEAD", "AUTH_test", false, true},
		{reader, "POST", "AUTH_test", false, false},
	} {
		owner, read := ta.Owner(c.id, c.method, c.account, "")
		if owner != c.owner || read != c.read {
			t.Errorf("%s %s %s: owner %v reader %v, want %v %v", c.id.User, c.method, c.account, owner, read, c.owner, c.read)
		}
	}
	if !ta.Owns("SERVICE_x") || ta.Owns("OTHER_x") || ta.Prefix() != "AUTH_" {
		t.Error("prefixes")
	}
}
