package keystone

import (
	"fmt"
	"net/url"
	"strings"
)

// ContainerACL is a parsed X-Container-Read or X-Container-Write value.
type ContainerACL struct {
	// Referrers are ".r:" entries; a leading "-" denies.
	Referrers []string
	// Listings is set by ".rlistings".
	Listings bool
	// Groups are every other entry: account, account:user, or a group name.
	Groups []string
}

// ParseContainerACL parses Swift's comma-separated ACL syntax
// (swift.common.middleware.acl.parse_acl).
func ParseContainerACL(s string) ContainerACL {
	var acl ContainerACL
	for _, v := range strings.Split(s, ",") {
		v = strings.TrimSpace(v)
		if v == "" {
			continue
		}
		if !strings.HasPrefix(v, ".") {
			acl.Groups = append(acl.Groups, v)
			continue
		}
		name, val, _ := strings.Cut(v, ":")
		switch strings.TrimSpace(name) {
		case ".r", ".ref", ".referer", ".referrer":
			// Values are normally stored cleaned (CleanACL); accept raw ones too.
			val = strings.TrimSpace(val)
			deny := strings.HasPrefix(val, "-")
			if deny {
				val = strings.TrimSpace(val[1:])
			}
			if val != "*" && strings.HasPrefix(val, "*") {
				val = strings.TrimSpace(val[1:])
			}
			if val == "" || val == "." {
				continue
			}
			if deny {
				val = "-" + val
			}
			acl.Referrers = append(acl.Referrers, strings.ToLower(val))
		case ".rlistings":
			acl.Listings = true
		}
	}
	return acl
}

// ReferrerAllowed is Swift's referrer_allowed: rules apply in order, the
// last matching one wins; "*" matches any host but a denial ("-…") names
// a host or ".domain" only.
func (acl ContainerACL) ReferrerAllowed(referrer string) bool {
	host := ""
	if referrer != "" {
		if u, err := url.Parse(referrer); err == nil {
			host = strings.ToLower(u.Hostname())
		}
	}
	if host == "" {
		host = "unknown"
	}
	matches := func(m string) bool {
		return m == host || (strings.HasPrefix(m, ".") && strings.HasSuffix(host, m))
	}
	allow := false
	for _, mhost := range acl.Referrers {
		if deny, ok := strings.CutPrefix(mhost, "-"); ok {
			if matches(deny) {
				allow = false
			}
		} else if mhost == "*" || matches(mhost) {
			allow = true
		}
	}
	return allow
}

// CleanACL normalises an X-Container-Read/-Write value as Swift's
// clean_acl does ("*.example.com" → ".example.com", "- bad" → "-bad"),
// rejecting referrer rules in write ACLs and unknown designators.
func CleanACL(name, value string) (string, error) {
	var out []string
	for _, raw := range strings.Split(value, ",") {
		raw = strings.TrimSpace(raw)
		if raw == "" {
			continue
		}
		first, second, ok := strings.Cut(raw, ":")
		first, second = strings.TrimSpace(first), strings.TrimSpace(second)
		if !ok || first == "" || !strings.HasPrefix(first, ".") {
			out = append(out, raw)
			continue
		}
		switch first {
		case ".r", ".ref", ".referer", ".referrer":
			if strings.Contains(strings.ToLower(name), "write") {
				return "", fmt.Errorf("Referrers not allowed in write ACL: '%s'", raw)
			}
			negate := false
			if strings.HasPrefix(second, "-") {
				negate = true
				second = strings.TrimSpace(second[1:])
			}
			if second != "" && second != "*" && strings.HasPrefix(second, "*") {
				second = strings.TrimSpace(second[1:])
			}
			if second == "" || second == "." {
				return "", fmt.Errorf("No host/domain value after referrer designation in ACL: '%s'", raw)
			}
			if negate {
				second = "-" + second
			}
			out = append(out, ".r:"+second)
		default:
			return "", fmt.Errorf("Unknown designator '%s' in ACL: '%s'", first, raw)
		}
	}
	return strings.Join(out, ","), nil
}

// GroupMatch reports whether any of groups is named in the ACL.
func (acl ContainerACL) GroupMatch(groups []string) bool {
	for _, g := range acl.Groups {
		for _, h := range groups {
			if g == h {
				return true
			}
		}
	}
	return false
}
