package keystone

import "testing"

func TestParseAccountACL(t *testing.T) {
	for _, c := range []struct {
		in, stored string
		bad        bool
	}{
		{in: "", stored: ""},
		{in: "{}", stored: ""},
		{in: `{"read-only":["a:b"],"admin":["x"]}`, stored: `{"admin":["x"],"read-only":["a:b"]}`},
		{in: `{"read-write": []}`, stored: `{"read-write":[]}`},
		{in: `{"bogus":["a"]}`, bad: true},
		{in: `{"admin":"a"}`, bad: true},
		{in: `{"admin":[1]}`, bad: true},
		{in: `["admin"]`, bad: true},
		{in: `not json`, bad: true},
		{in: `null`, bad: true},
	} {
		_, stored, err := ParseAccountACL(c.in)
		if (err != nil) != c.bad || (!c.bad && stored != c.stored) {
			t.Errorf("%q: stored %q err %v", c.in, stored, err)
		}
	}
}

func TestAccountACLGrant(t *testing.T) {
	acl, _, _ := ParseAccountACL(`{"admin":["boss"],"read-write":["test2:tester2"],"read-only":["test2"]}`)
	for groups, want := range map[string]AccountAccess{
		"boss":          AccountAdmin,
		"test2:tester2": AccountReadWrite,
		"test2":         AccountReadOnly,
		"nobody":        NoAccountAccess,
	} {
		if got := acl.Grant([]string{groups}); got != want {
			t.Errorf("%s: %v, want %v", groups, got, want)
		}
	}
	// The highest grant wins.
	if got := acl.Grant([]string{"test2", "boss"}); got != AccountAdmin {
		t.Errorf("admin and reader: %v", got)
	}
}
