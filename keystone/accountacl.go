package keystone

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// AccountACLSysmeta is where an account's ACL is stored (Swift's
// X-Account-Sysmeta-Core-Access-Control).
const AccountACLSysmeta = "X-Account-Sysmeta-Core-Access-Control"

// AccountACL is a parsed X-Account-Access-Control: the users and groups
// that administer, write to, or read an account.
type AccountACL struct {
	Admin, ReadWrite, ReadOnly []string
}

var accountACLKeys = map[string]bool{"admin": true, "read-write": true, "read-only": true}

// ParseAccountACL validates an X-Account-Access-Control value as Swift's
// tempauth does and returns it with its stored (normalised JSON) form.
// An empty value clears the ACL.
func ParseAccountACL(value string) (AccountACL, string, error) {
	var acl AccountACL
	if strings.TrimSpace(value) == "" {
		return acl, "", nil
	}
	var raw map[string]any
	if err := json.Unmarshal([]byte(value), &raw); err != nil {
		return acl, "", fmt.Errorf("Syntax error in input (%v)", err)
	}
	if raw == nil {
		return acl, "", fmt.Errorf("Syntax error in input (not a JSON object)")
	}
	clean := map[string][]string{}
	for k, v := range raw {
		if !accountACLKeys[k] {
			return acl, "", fmt.Errorf("Key '%s' not recognized", k)
		}
		list, ok := v.([]any)
		if !ok {
			return acl, "", fmt.Errorf("Value for key '%s' must be a list", k)
		}
		clean[k] = []string{}
		for _, x := range list {
			s, ok := x.(string)
			if !ok {
				return acl, "", fmt.Errorf("Elements of '%s' list must be strings", k)
			}
			clean[k] = append(clean[k], s)
		}
	}
	acl = AccountACL{Admin: clean["admin"], ReadWrite: clean["read-write"], ReadOnly: clean["read-only"]}
	keys := make([]string, 0, len(clean))
	for k := range clean {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		kv, _ := json.Marshal(k)
		vv, _ := json.Marshal(clean[k])
		b.Write(kv)
		b.WriteByte(':')
		b.Write(vv)
	}
	b.WriteByte('}')
	if len(keys) == 0 {
		return acl, "", nil // {} clears the ACL
	}
	return acl, b.String(), nil
}

// AccountAccess is what an account ACL grants a request.
type AccountAccess int

const (
	// NoAccountAccess: the ACL grants nothing.
	NoAccountAccess AccountAccess = iota
	// AccountReadOnly: GET and HEAD anywhere in the account.
	AccountReadOnly
	// AccountReadWrite: also writes to containers and objects.
	AccountReadWrite
	// AccountAdmin: everything an owner may do.
	AccountAdmin
)

// Grant is what the ACL gives an identity with groups.
func (acl AccountACL) Grant(groups []string) AccountAccess {
	has := func(list []string) bool {
		for _, x := range list {
			for _, g := range groups {
				if x == g {
					return true
				}
			}
		}
		return false
	}
	switch {
	case has(acl.Admin):
		return AccountAdmin
	case has(acl.ReadWrite):
		return AccountReadWrite
	case has(acl.ReadOnly):
		return AccountReadOnly
	}
	return NoAccountAccess
}
