package keystone

import (
	"net/url"
	"strings"
)

// A user id (Identity.User) names one user across every auth system this
// box trusts: S3 bucket and object owners, S3 grants and policy principals
// store it and compare it as a string, so two auth systems must never
// produce the same id for different users.
//
//   - A local (tempauth) user is "account:user", as it always was; local
//     account and user names cannot hold "/" (config.ParseUser).
//   - A Keystone user is "keystone/<project domain id>/<project id>/<user
//     id>", each part path-escaped: ids, not names, because names repeat
//     across domains, and a "/" no local id can contain.
//
// Ids stored before Keystone ids were qualified ("ProjectName:UserName")
// stay readable but now only ever match the local user of that name.

// keystoneUserPrefix starts every Keystone user id.
const keystoneUserPrefix = "keystone/"

// LocalUserID is the user id of local user name of account.
func LocalUserID(account, name string) string { return account + ":" + name }

// KeystoneUserID is the user id of the holder of a Keystone scope.
func KeystoneUserID(s *KeystoneScope) string {
	return keystoneUserPrefix + url.PathEscape(s.ProjectDomainID) + "/" + url.PathEscape(s.ProjectID) + "/" + url.PathEscape(s.UserID)
}

// IsKeystoneUserID reports whether id names a Keystone user.
func IsKeystoneUserID(id string) bool { return strings.HasPrefix(id, keystoneUserPrefix) }

// SplitLocalUserID returns the account and user name of a local user id;
// ok is false for any other id.
func SplitLocalUserID(id string) (account, name string, ok bool) {
	if strings.Contains(id, "/") {
		return "", "", false
	}
	return strings.Cut(id, ":")
}
