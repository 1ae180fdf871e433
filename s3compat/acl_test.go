package s3compat

import (
	"strings"
	"testing"

	"github.com/valyala/fasthttp"
)

func aclReq(headers map[string]string) *req {
	ctx := &fasthttp.RequestCtx{}
	for k, v := range headers {
		ctx.Request.Header.Set(k, v)
	}
	return &req{s: &S3{}, ctx: ctx}
}

func grantList(a *s3ACL) string {
	if a == nil {
		return "<nil>"
	}
	var parts []string
	for _, g := range a.Grants {
		parts = append(parts, g.Permission+":"+g.Grantee)
	}
	return a.Owner + "|" + strings.Join(parts, ",")
}

func TestHeaderACL(t *testing.T) {
	for _, tc := range []struct {
		name    string
		headers map[string]string
		want    string // grantList, or the error code
	}{
		{"none", nil, "<nil>"},
		{"private", map[string]string{"X-Amz-Acl": "private"}, "o|FULL_CONTROL:o"},
		{"public-read", map[string]string{"X-Amz-Acl": "public-read"}, "o|READ:AllUsers,FULL_CONTROL:o"},
		{"public-read-write", map[string]string{"X-Amz-Acl": "public-read-write"}, "o|READ:AllUsers,WRITE:AllUsers,FULL_CONTROL:o"},
		{"authenticated-read", map[string]string{"X-Amz-Acl": "authenticated-read"}, "o|READ:AuthenticatedUsers,FULL_CONTROL:o"},
		{"bucket-owner-read", map[string]string{"X-Amz-Acl": "bucket-owner-read"}, "o|READ:b,FULL_CONTROL:o"},
		{"bucket-owner-full-control", map[string]string{"X-Amz-Acl": "bucket-owner-full-control"}, "o|FULL_CONTROL:o,FULL_CONTROL:b"},
		{"unknown canned", map[string]string{"X-Amz-Acl": "everyone"}, "InvalidArgument"},
		{"grants in permission order", map[string]string{
			"X-Amz-Grant-Full-Control": `id="u2"`,
			"X-Amz-Grant-Read":         `id="u1", uri="http://acs.amazonaws.com/groups/global/AllUsers"`,
		}, "o|READ:u1,READ:AllUsers,FULL_CONTROL:u2"},
		{"canned and grants", map[string]string{"X-Amz-Acl": "private", "X-Amz-Grant-Read": `id="u1"`}, "InvalidRequest"},
		{"email", map[string]string{"X-Amz-Grant-Read": `emailAddress="a@b.c"`}, "UnresolvableGrantByEmailAddress"},
		{"bad group", map[string]string{"X-Amz-Grant-Read": `uri="http://example.com/g"`}, "InvalidArgument"},
		{"bad form", map[string]string{"X-Amz-Grant-Write": `u1`}, "InvalidArgument"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, e := aclReq(tc.headers).headerACL("o", "b")
			got := grantList(a)
			if e != nil {
				got = e.Code
			}
			if got != tc.want {
				t.Fatalf("got %s, want %s", got, tc.want)
			}
		})
	}
}

func TestBodyACL(t *testing.T) {
	const head = `<AccessControlPolicy xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Owner><ID>o</ID></Owner><AccessControlList>`
	const tail = `</AccessControlList></AccessControlPolicy>`
	user := func(id, perm string) string {
		return `<Grant><Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="CanonicalUser"><ID>` + id + `</ID></Grantee><Permission>` + perm + `</Permission></Grant>`
	}
	group := func(uri, perm string) string {
		return `<Grant><Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="Group"><URI>` + uri + `</URI></Grantee><Permission>` + perm + `</Permission></Grant>`
	}
	for _, tc := range []struct {
		name, body, want string
	}{
		{"owner only", head + user("o", "FULL_CONTROL") + tail, "o|FULL_CONTROL:o"},
		{"groups and users", head + user("o", "FULL_CONTROL") + group("http://acs.amazonaws.com/groups/global/AllUsers", "READ") +
			group("http://acs.amazonaws.com/groups/s3/LogDelivery", "WRITE") + user("u", "READ_ACP") + tail,
			"o|FULL_CONTROL:o,READ:AllUsers,WRITE:LogDelivery,READ_ACP:u"},
		{"no grants", head + tail, "o|"},
		{"not XML", "<AccessControlPolicy", "MalformedACLError"},
		{"wrong root", "<Policy/>", "MalformedACLError"},
		{"bad permission", head + user("u", "EVERYTHING") + tail, "MalformedACLError"},
		{"user without ID", head + user("", "READ") + tail, "MalformedACLError"},
		{"unknown type", head + strings.Replace(user("u", "READ"), "CanonicalUser", "Robot", 1) + tail, "MalformedACLError"},
		{"unknown group", head + group("http://example.com/g", "READ") + tail, "InvalidArgument"},
		{"another owner", strings.Replace(head, "<ID>o</ID>", "<ID>x</ID>", 1) + tail, "AccessDenied"},
		{"email", head + `<Grant><Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="AmazonCustomerByEmail"><EmailAddress>a@b</EmailAddress></Grantee><Permission>READ</Permission></Grant>` + tail,
			"UnresolvableGrantByEmailAddress"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, e := aclReq(nil).bodyACL([]byte(tc.body), "o")
			got := grantList(a)
			if e != nil {
				got = e.Code
			}
			if got != tc.want {
				t.Fatalf("got %s, want %s", got, tc.want)
			}
		})
	}
}

func TestACLAllows(t *testing.T) {
	a := &s3ACL{Owner: "o", Grants: []aclGrant{{"READ", "AllUsers"}, {"WRITE", "AuthenticatedUsers"}, {"FULL_CONTROL", "u"}, {"READ_ACP", "v"}}}
	for _, tc := range []struct {
		user, perm string
		want       bool
	}{
		{"o", "WRITE_ACP", true},
		{"", "READ", true},
		{"", "WRITE", false},
		{"x", "WRITE", true},
		{"u", "WRITE_ACP", true},
		{"v", "READ_ACP", true},
		{"v", "WRITE_ACP", false},
		{"x", "READ_ACP", false},
	} {
		if got := a.allows(tc.user, tc.perm); got != tc.want {
			t.Errorf("allows(%q, %s) = %v", tc.user, tc.perm, got)
		}
	}
	if (*s3ACL)(nil).allows("o", "READ") {
		t.Error("a nil ACL allows")
	}
	if d := decodeACL(a.encode()); grantList(d) != grantList(a) {
		t.Errorf("round trip: %s", grantList(d))
	}
	if decodeACL(`{"Owner":"o","Grant":[{"Permission":"READ","Grantee":"AllUsers"}]}`).Grants[0].Grantee != "AllUsers" {
		t.Error("s3api's encoding not read")
	}
}

func TestValidVersionID(t *testing.T) {
	for v, want := range map[string]bool{"null": true, "1700000000.12345": true, "1700000000.12345_0000000000000001": true,
		"": false, "abc": false, "Null": false} {
		if got := validVersionID(v); got != want {
			t.Errorf("validVersionID(%q) = %v", v, got)
		}
	}
	if q := versionQuery("1700000000.12345", true); q != "version-id=1700000000.12345" {
		t.Errorf("versionQuery: %s", q)
	}
	if q := versionQuery("", false); q != "" {
		t.Errorf("versionQuery without a version: %s", q)
	}
}
