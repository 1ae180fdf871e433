package keystone

import (
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
			val = strings.TrimSpace(val)
			if val != "" && val != "-" {
				acl.Referrers = append(acl.Referrers, val)
			}
		case ".rlistings":
			acl.Listings = true
		}
	}
	return acl
}

// ReferrerAllowed is Swift's referrer_allowed: the last matching rule wins.
func (acl ContainerACL) ReferrerAllowed(referrer string) bool {
	host := ""
	if referrer != "" {
		if u, err := url.Parse(referrer); err == nil {
			host = u.Hostname()
		}
	}
	allow := false
	for _, mhost := range acl.Referrers {
		deny := strings.HasPrefix(mhost, "-")
		if deny {
			mhost = mhost[1:]
		}
		matched := mhost == "*" || mhost == host ||
			(strings.HasPrefix(mhost, ".") && strings.HasSuffix(host, mhost))
		if matched {
			allow = !deny
		}
	}
	return allow
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
