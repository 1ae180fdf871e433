package keystone

import (
	"slices"
	"testing"
	"time"
)

func TestParseContainerACL(t *testing.T) {
	tests := []struct {
		in        string
		referrers []string
		listings  bool
		groups    []string
	}{
		{in: ""},
		{in: " , ,,"},
		{in: ".r:*", referrers: []string{"*"}},
		{in: ".r:example.com", referrers: []string{"example.com"}},
		{in: ".r:.example.com", referrers: []string{".example.com"}},
		{in: ".r:-bad.com", referrers: []string{"-bad.com"}},
		{in: ".ref:a.com,.referer:b.com,.referrer:c.com", referrers: []string{"a.com", "b.com", "c.com"}},
		{in: ".referrer : *", referrers: []string{"*"}},
		{in: ".r: example.com ", referrers: []string{"example.com"}},
		{in: ".referrer:"},
		{in: ".r:"},
		{in: ".r:-"},
		{in: ".r"},
		{in: ".rlistings", listings: true},
		{in: ".r:*,.rlistings", referrers: []string{"*"}, listings: true},
		{in: ".r:*, .rlistings ", referrers: []string{"*"}, listings: true},
		{in: ".unknown:x,.other"},
		{in: "acct", groups: []string{"acct"}},
		{in: "acct:user", groups: []string{"acct:user"}},
		{in: " acct , acct:user ,,readers", groups: []string{"acct", "acct:user", "readers"}},
		{in: "bob,,,sue", groups: []string{"bob", "sue"}},
		{in: ".r:*,.r:-.thief.com,bobs_account,sues_account:sue", referrers: []string{"*", "-.thief.com"},
			groups: []string{"bobs_account", "sues_account:sue"}},
	}
	for _, tc := range tests {
		got := ParseContainerACL(tc.in)
		if !slices.Equal(got.Referrers, tc.referrers) || got.Listings != tc.listings || !slices.Equal(got.Groups, tc.groups) {
			t.Errorf("ParseContainerACL(%q) = %+v; want Referrers %q Listings %v Groups %q",
				tc.in, got, tc.referrers, tc.listings, tc.groups)
		}
	}
}

// The cases follow Swift's test_acl.py test_referrer_allowed; rules are the
// .r: values as ParseContainerACL stores them.
func TestReferrerAllowed(t *testing.T) {
	tests := []struct {
		referrer string
		rules    []string
		want     bool
		skip     string
	}{
		{referrer: "http://host/", rules: nil, want: false},
		{referrer: "", rules: []string{"*"}, want: true},
		{referrer: "www.example.com", rules: []string{"*"}, want: true},
		{referrer: "", rules: []string{"specific.host"}, want: false},
		{referrer: "http://www.example.com/index.html", rules: []string{".example.com"}, want: true},
		{referrer: "http://user@www.example.com/index.html", rules: []string{".example.com"}, want: true},
		{referrer: "http://user:pass@www.example.com/index.html", rules: []string{".example.com"}, want: true},
		{referrer: "http://www.example.com:8080/index.html", rules: []string{".example.com"}, want: true},
		{referrer: "http://user:pass@www.example.com:8080", rules: []string{".example.com"}, want: true},
		{referrer: "https://www.example.com", rules: []string{".example.com"}, want: true},
		{referrer: "http://example.com/", rules: []string{".example.com"}, want: false},
		{referrer: "http://badexample.com/", rules: []string{".example.com"}, want: false},
		{referrer: "http://example.com/", rules: []string{"example.com"}, want: true},
		{referrer: "http://www.example.com/", rules: []string{"example.com"}, want: false},
		{referrer: "http://example.com.evil.org/", rules: []string{"example.com"}, want: false},
		{referrer: "http://thief.example.com", rules: []string{".example.com", "-thief.example.com"}, want: false},
		{referrer: "http://good.example.com", rules: []string{".example.com", "-thief.example.com"}, want: true},
		{referrer: "http://thief.example.com", rules: []string{"*", "-thief.example.com"}, want: false},
		{referrer: "http://www.thief.com", rules: []string{"*", "-.thief.com"}, want: false},
		{referrer: "http://www.example.com", rules: []string{".other.com", "www.example.com"}, want: true},
		{referrer: "http://www.example.com", rules: []string{"-.example.com", "www.example.com"}, want: true},
		{referrer: "http://www.example.com", rules: []string{"www.example.com", "-.example.com"}, want: false},
		{referrer: "http://bad.com/", rules: []string{"-bad.com"}, want: false},
		{referrer: "http://good.com/", rules: []string{"-bad.com"}, want: false},
		// Relative references carry no host.
		{referrer: "www.example.com", rules: []string{".example.com"}, want: false},
		{referrer: "../index.html", rules: []string{".example.com"}, want: false},
		{referrer: "", rules: []string{"*", "-bad.com"}, want: true},
		// Cases where swiftbox once differed from Swift's referrer_allowed.
		{referrer: "http://a.com/", rules: []string{"*", "-*"}, want: true},
		{referrer: "http://WWW.Example.COM/", rules: []string{"www.example.com"}, want: true},
		{referrer: "", rules: []string{"unknown"}, want: true},
	}
	for _, tc := range tests {
		t.Run(tc.referrer+"|"+joinRules(tc.rules), func(t *testing.T) {
			if tc.skip != "" {
				t.Skip(tc.skip)
			}
			acl := ContainerACL{Referrers: tc.rules}
			if got := acl.ReferrerAllowed(tc.referrer); got != tc.want {
				t.Errorf("ReferrerAllowed(%q) with %q = %v, want %v", tc.referrer, tc.rules, got, tc.want)
			}
		})
	}
}

func joinRules(r []string) string {
	s := ""
	for i, x := range r {
		if i > 0 {
			s += ","
		}
		s += x
	}
	return s
}

func TestParsedACLReferrers(t *testing.T) {
	tests := []struct {
		acl, referrer string
		want          bool
		skip          string
	}{
		{acl: ".r:*", referrer: "", want: true},
		{acl: ".r:*", referrer: "http://anything.org/x", want: true},
		{acl: "acct,acct:user", referrer: "http://anything.org/x", want: false},
		{acl: ".r:*,.r:-bad.com", referrer: "http://bad.com/page", want: false},
		{acl: ".r:.example.com,.r:-thief.example.com", referrer: "http://thief.example.com/", want: false},
		{acl: ".r:.example.com,.r:-thief.example.com", referrer: "http://www.example.com/", want: true},
		{acl: ".referrer:", referrer: "", want: false},
		{acl: ".r:*.example.com", referrer: "http://www.example.com/", want: true},
		{acl: ".r:- bad.com,.r:*", referrer: "http://bad.com/", want: true},
		{acl: ".r:*,.r:- bad.com", referrer: "http://bad.com/", want: false},
	}
	for _, tc := range tests {
		t.Run(tc.acl+"|"+tc.referrer, func(t *testing.T) {
			if tc.skip != "" {
				t.Skip(tc.skip)
			}
			if got := ParseContainerACL(tc.acl).ReferrerAllowed(tc.referrer); got != tc.want {
				t.Errorf("ACL %q, referrer %q: allowed = %v, want %v", tc.acl, tc.referrer, got, tc.want)
			}
		})
	}
}

func TestGroupMatch(t *testing.T) {
	tests := []struct {
		acl    string
		groups []string
		want   bool
	}{
		{"acct", []string{"acct", "acct:user"}, true},
		{"acct:user", []string{"acct", "acct:user"}, true},
		{"acct:other", []string{"acct", "acct:user"}, false},
		{"readers", []string{"acct", "acct:user", "readers"}, true},
		{".r:*", []string{"acct", "acct:user"}, false},
		{"", []string{"acct"}, false},
		{"acct", nil, false},
		{"ACCT", []string{"acct"}, false},
	}
	for _, tc := range tests {
		if got := ParseContainerACL(tc.acl).GroupMatch(tc.groups); got != tc.want {
			t.Errorf("ACL %q GroupMatch(%q) = %v, want %v", tc.acl, tc.groups, got, tc.want)
		}
	}
}

// authorizeCases are TestAuthorize's: who (a user of testUsers, "" for
// anonymous) makes which request, and tempauth's decision.
var authorizeCases = []struct {
	name string
	user string
	r    Request
	want Decision
	skip string
}{
	// Reseller admins may do anything anywhere.
	{"reseller GET other account", "root:boss", Request{Method: "GET", Account: "AUTH_acct"}, Allow, ""},
	{"reseller POST other account", "root:boss", Request{Method: "POST", Account: "AUTH_x"}, Allow, ""},
	{"reseller PUT container", "root:boss", Request{Method: "PUT", Account: "AUTH_acct", Container: "c"}, Allow, ""},
	{"reseller DELETE object", "root:boss", Request{Method: "DELETE", Account: "AUTH_acct", Container: "c", Object: "o"}, Allow, ""},

	// Account admins own their account and nothing else.
	{"admin GET own account", "acct:admin", Request{Method: "GET", Account: "AUTH_acct"}, Allow, ""},
	{"admin POST own account", "acct:admin", Request{Method: "POST", Account: "AUTH_acct"}, Allow, ""},
	{"admin PUT own container", "acct:admin", Request{Method: "PUT", Account: "AUTH_acct", Container: "c"}, Allow, ""},
	{"admin PUT own object", "acct:admin", Request{Method: "PUT", Account: "AUTH_acct", Container: "c", Object: "o"}, Allow, ""},
	{"admin DELETE own object", "acct:admin", Request{Method: "DELETE", Account: "AUTH_acct", Container: "c", Object: "o"}, Allow, ""},
	{"admin GET other account", "acct:admin", Request{Method: "GET", Account: "AUTH_other"}, Forbidden, ""},
	{"admin PUT other container", "acct:admin", Request{Method: "PUT", Account: "AUTH_other", Container: "c"}, Forbidden, ""},
	{"admin GET other object", "acct:admin", Request{Method: "GET", Account: "AUTH_other", Container: "c", Object: "o"}, Forbidden, ""},
	{"admin of acct vs account named acct", "acct:admin", Request{Method: "GET", Account: "acct"}, Forbidden, ""},
	{"admin GET other public object", "acct:admin",
		Request{Method: "GET", Account: "AUTH_other", Container: "c", Object: "o", ReadACL: ".r:*"}, Allow, ""},

	// Anonymous requests and referrer ACLs.
	{"anon GET account", "", Request{Method: "GET", Account: "AUTH_acct"}, Unauthorized, ""},
	{"anon GET object no ACL", "", Request{Method: "GET", Account: "AUTH_acct", Container: "c", Object: "o"}, Unauthorized, ""},
	{"anon GET container no ACL", "", Request{Method: "GET", Account: "AUTH_acct", Container: "c"}, Unauthorized, ""},
	{"anon GET public object", "",
		Request{Method: "GET", Account: "AUTH_acct", Container: "c", Object: "o", ReadACL: ".r:*"}, Allow, ""},
	{"anon HEAD public object", "",
		Request{Method: "HEAD", Account: "AUTH_acct", Container: "c", Object: "o", ReadACL: ".r:*"}, Allow, ""},
	{"anon list public container without .rlistings", "",
		Request{Method: "GET", Account: "AUTH_acct", Container: "c", ReadACL: ".r:*"}, Unauthorized, ""},
	{"anon list public container with .rlistings", "",
		Request{Method: "GET", Account: "AUTH_acct", Container: "c", ReadACL: ".r:*,.rlistings"}, Allow, ""},
	{"anon HEAD public container with .rlistings", "",
		Request{Method: "HEAD", Account: "AUTH_acct", Container: "c", ReadACL: ".r:*,.rlistings"}, Allow, ""},
	{"anon .rlistings without referrer rule", "",
		Request{Method: "GET", Account: "AUTH_acct", Container: "c", ReadACL: ".rlistings"}, Unauthorized, ""},
	{"anon PUT object in public container", "",
		Request{Method: "PUT", Account: "AUTH_acct", Container: "c", Object: "o", ReadACL: ".r:*"}, Unauthorized, ""},
	{"anon PUT object with referrer write ACL", "",
		Request{Method: "PUT", Account: "AUTH_acct", Container: "c", Object: "o", WriteACL: ".r:*"}, Unauthorized, ""},
	{"anon GET object allowed referrer", "",
		Request{Method: "GET", Account: "AUTH_acct", Container: "c", Object: "o", ReadACL: ".r:.example.com",
			Referrer: "http://www.example.com/page"}, Allow, ""},
	{"anon GET object other referrer", "",
		Request{Method: "GET", Account: "AUTH_acct", Container: "c", Object: "o", ReadACL: ".r:.example.com",
			Referrer: "http://www.evil.com/page"}, Unauthorized, ""},
	{"anon GET object denied referrer", "",
		Request{Method: "GET", Account: "AUTH_acct", Container: "c", Object: "o", ReadACL: ".r:*,.r:-evil.com",
			Referrer: "http://evil.com/"}, Unauthorized, ""},
	{"anon GET object group ACL", "",
		Request{Method: "GET", Account: "AUTH_acct", Container: "c", Object: "o", ReadACL: "acct,acct:user"}, Unauthorized, ""},
	{"anon OPTIONS object", "", Request{Method: "OPTIONS", Account: "AUTH_acct", Container: "c", Object: "o"}, Allow, ""},

	// Authenticated non-admins need the container ACLs.
	{"user GET own account", "acct:user", Request{Method: "GET", Account: "AUTH_acct"}, Forbidden, ""},
	{"user GET container no ACL", "acct:user", Request{Method: "GET", Account: "AUTH_acct", Container: "c"}, Forbidden, ""},
	{"user GET object no ACL", "acct:user", Request{Method: "GET", Account: "AUTH_other", Container: "c", Object: "o"}, Forbidden, ""},
	{"user in read ACL lists", "acct:user",
		Request{Method: "GET", Account: "AUTH_other", Container: "c", ReadACL: "acct:user"}, Allow, ""},
	{"user in read ACL GETs", "acct:user",
		Request{Method: "GET", Account: "AUTH_other", Container: "c", Object: "o", ReadACL: "acct:user"}, Allow, ""},
	{"user in read ACL HEADs", "acct:user",
		Request{Method: "HEAD", Account: "AUTH_other", Container: "c", Object: "o", ReadACL: "acct:user"}, Allow, ""},
	{"account in read ACL", "acct:plain",
		Request{Method: "GET", Account: "AUTH_other", Container: "c", Object: "o", ReadACL: "acct"}, Allow, ""},
	{"group in read ACL", "acct:user",
		Request{Method: "GET", Account: "AUTH_other", Container: "c", Object: "o", ReadACL: "readers"}, Allow, ""},
	{"group not held", "acct:plain",
		Request{Method: "GET", Account: "AUTH_other", Container: "c", Object: "o", ReadACL: "readers"}, Forbidden, ""},
	{"other user in read ACL", "acct:plain",
		Request{Method: "GET", Account: "AUTH_other", Container: "c", Object: "o", ReadACL: "acct:user"}, Forbidden, ""},
	{"storage account name in ACL", "acct:user",
		Request{Method: "GET", Account: "AUTH_other", Container: "c", Object: "o", ReadACL: "AUTH_acct"}, Forbidden, ""},
	{"read ACL does not grant PUT", "acct:user",
		Request{Method: "PUT", Account: "AUTH_other", Container: "c", Object: "o", ReadACL: "acct:user"}, Forbidden, ""},
	{"read ACL does not grant DELETE", "acct:user",
		Request{Method: "DELETE", Account: "AUTH_other", Container: "c", Object: "o", ReadACL: "acct:user"}, Forbidden, ""},
	{"write ACL grants PUT", "acct:user",
		Request{Method: "PUT", Account: "AUTH_other", Container: "c", Object: "o", WriteACL: "acct:user"}, Allow, ""},
	{"write ACL grants POST", "acct:user",
		Request{Method: "POST", Account: "AUTH_other", Container: "c", Object: "o", WriteACL: "acct"}, Allow, ""},
	{"write ACL grants DELETE", "acct:user",
		Request{Method: "DELETE", Account: "AUTH_other", Container: "c", Object: "o", WriteACL: "writers"}, Allow, ""},
	{"write ACL does not grant GET", "acct:user",
		Request{Method: "GET", Account: "AUTH_other", Container: "c", Object: "o", WriteACL: "acct:user"}, Forbidden, ""},
	{"write ACL does not grant container PUT", "acct:user",
		Request{Method: "PUT", Account: "AUTH_other", Container: "c", WriteACL: "acct:user"}, Forbidden, ""},
	{"write ACL does not grant container POST", "acct:user",
		Request{Method: "POST", Account: "AUTH_other", Container: "c", WriteACL: "acct:user"}, Forbidden, ""},
	{"write ACL does not grant container DELETE", "acct:user",
		Request{Method: "DELETE", Account: "AUTH_other", Container: "c", WriteACL: "acct:user"}, Forbidden, ""},
	{"user GET public object", "acct:user",
		Request{Method: "GET", Account: "AUTH_other", Container: "c", Object: "o", ReadACL: ".r:*"}, Allow, ""},
	{"user list public container without .rlistings", "acct:user",
		Request{Method: "GET", Account: "AUTH_other", Container: "c", ReadACL: ".r:*"}, Forbidden, ""},
}

func TestAuthorize(t *testing.T) {
	ta := NewTempAuth("AUTH", time.Hour, testSecret, testUsers)
	for _, tc := range authorizeCases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.skip != "" {
				t.Skip(tc.skip)
			}
			var id *Identity // anonymous
			if tc.user != "" {
				var ok bool
				if id, _, ok = ta.Lookup(tc.user); !ok {
					t.Fatalf("no user %s", tc.user)
				}
			}
			if got := ta.Authorize(id, tc.r); got != tc.want {
				t.Errorf("Authorize(%v, %+v) = %v, want %v", id, tc.r, got, tc.want)
			}
		})
	}
}
