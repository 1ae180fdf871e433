// Package keystone authenticates Swift and S3 requests: tempauth-style local
// users with signed tokens, container ACLs, reseller prefixes and admins.
package keystone

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"slices"
	"strings"
	"sync"
	"time"

	"swiftbox/config"
)

// Group names with special meaning, as in Swift's tempauth.
const (
	GroupAdmin         = ".admin"
	GroupResellerAdmin = ".reseller_admin"
	// GroupResellerReader may read (GET/HEAD) every account.
	GroupResellerReader = ".reseller_reader"
)

// ErrBadCredentials is returned for an unknown user or a wrong key.
var ErrBadCredentials = errors.New("invalid credentials")

// Identity is who a valid token or key belongs to.
type Identity struct {
	// User is the user's id, unique across auth systems (principal.go):
	// "account:user" for local users.
	User string
	// Account is the storage account the user owns, e.g. "AUTH_test".
	Account string
	// Groups holds the user's groups plus "account" and "account:user",
	// which container ACLs match against (as tempauth's groups do).
	Groups []string
	// Expires is when the token stops being valid.
	Expires time.Time
	// Keystone is the scope of a Keystone token; nil for local users.
	Keystone *KeystoneScope
	// ServiceGroups are the groups of a valid X-Service-Token. They count
	// only towards a prefix's require_group, never as the user's own: a
	// service passing its token along lends the request no other right of
	// its own (its account, .admin, .reseller_admin).
	ServiceGroups []string
}

// IsAdmin reports whether the identity owns its account (.admin).
func (id *Identity) IsAdmin() bool { return id.hasGroup(GroupAdmin) }

// IsResellerAdmin reports whether the identity may act on every account.
func (id *Identity) IsResellerAdmin() bool { return id.hasGroup(GroupResellerAdmin) }

// HasGroup reports whether g is one of the identity's groups.
func (id *Identity) HasGroup(g string) bool { return id.hasGroup(g) }

// WithServiceToken returns a copy of id that also holds the groups of a
// valid service token's identity svc (see ServiceGroups).
func (id *Identity) WithServiceToken(svc *Identity) *Identity {
	cp := *id
	cp.ServiceGroups = slices.Clone(svc.Groups)
	return &cp
}

func (id *Identity) hasGroup(g string) bool {
	for _, x := range id.Groups {
		if x == g {
			return true
		}
	}
	return false
}

// TempAuth holds local users and issues and checks their tokens. Tokens are
// self-contained (user, expiry, HMAC), so they survive a restart of serve
// and need no shared store; changing a user's key revokes its tokens.
type TempAuth struct {
	prefix   string   // e.g. "AUTH_": tokens and storage URLs use the first
	prefixes []string // every reseller prefix, e.g. AUTH_, SERVICE_
	// requireGroup maps a prefix to the group whose member must also
	// present a token (X-Service-Token) for owner access (Swift's
	// <PREFIX>_require_group).
	requireGroup map[string]string
	life         time.Duration
	secret       []byte

	// refresh, when set, re-reads the users if their file changed; a
	// login that finds no such user or key calls it once before failing,
	// so a user `swiftbox user` just added logs in at once.
	refresh func()

	mu      sync.RWMutex
	users   map[string]config.User  // by "account:user"
	revoked map[string]time.Time    // revoked token → its expiry
	s3keys  map[string]config.S3Key // by access key
}

// NewTempAuth makes a TempAuth for users with accounts "<resellerPrefix>_<account>".
// resellerPrefix may list several prefixes ("AUTH, SERVICE"), as Swift's
// reseller_prefix does; users' tokens carry the first. secret signs
// tokens; keep it stable across restarts.
func NewTempAuth(resellerPrefix string, tokenLife time.Duration, secret []byte, users []config.User) *TempAuth {
	var prefixes []string
	for _, p := range strings.Split(resellerPrefix, ",") {
		if p = strings.TrimSpace(p); p != "" {
			prefixes = append(prefixes, NormalizePrefix(p))
		}
	}
	if len(prefixes) == 0 {
		prefixes = []string{""}
	}
	t := &TempAuth{prefix: prefixes[0], prefixes: prefixes, life: tokenLife, secret: secret, users: map[string]config.User{}}
	for _, u := range users {
		t.users[u.Account+":"+u.Name] = u
	}
	return t
}

// NormalizePrefix returns p with a trailing "_" as Swift's tempauth does.
func NormalizePrefix(p string) string {
	if p != "" && !strings.HasSuffix(p, "_") {
		p += "_"
	}
	return p
}

// Prefix is the (first) reseller prefix including its "_".
func (t *TempAuth) Prefix() string { return t.prefix }

// SetRequireGroups sets, per reseller prefix, the group a second token
// (X-Service-Token) must belong to for owner access to that prefix's
// accounts; keys are prefixes with or without "_".
func (t *TempAuth) SetRequireGroups(m map[string]string) {
	t.requireGroup = map[string]string{}
	for p, g := range m {
		t.requireGroup[NormalizePrefix(p)] = g
	}
}

// accountPrefix is the reseller prefix of account, or false.
func (t *TempAuth) accountPrefix(account string) (string, bool) {
	for _, p := range t.prefixes {
		if strings.HasPrefix(account, p) {
			return p, true
		}
	}
	return "", false
}

// Owns reports whether account has one of the reseller prefixes.
func (t *TempAuth) Owns(account string) bool {
	_, ok := t.accountPrefix(account)
	return ok
}

// Owner decides tempauth's owner (swift_owner) cases for id on account:
// reseller admins on any account of ours (not the bare prefix or a
// "."-account), members of the account group (.admin users hold one per
// prefix) for anything but an account PUT/DELETE, provided the prefix's
// require_group is among their groups or a service token's. reader
// is set for a .reseller_reader's GET/HEAD.
func (t *TempAuth) Owner(id *Identity, method, account, container string) (owner, reader bool) {
	// A Keystone identity owns nothing of the local users' accounts, its
	// ResellerAdmin role included: each auth system rules its own prefixes.
	if id == nil || id.Keystone != nil || !t.Owns(account) {
		return false, false
	}
	bare := false
	for _, p := range t.prefixes {
		if account == p {
			bare = true
		}
	}
	if id.IsResellerAdmin() && !bare && !strings.HasPrefix(account, ".") {
		return true, false
	}
	if id.HasGroup(GroupResellerReader) && !bare && !strings.HasPrefix(account, ".") && (method == "GET" || method == "HEAD") {
		return false, true
	}
	if id.HasGroup(account) && (method != "DELETE" && method != "PUT" || container != "") {
		p, _ := t.accountPrefix(account)
		if g := t.requireGroup[p]; g == "" || id.HasGroup(g) || slices.Contains(id.ServiceGroups, g) {
			return true, false
		}
	}
	return false, false
}

// Users returns a copy of the configured users.
func (t *TempAuth) Users() []config.User {
	t.mu.RLock()
	defer t.mu.RUnlock()
	out := make([]config.User, 0, len(t.users))
	for _, u := range t.users {
		out = append(out, u)
	}
	return out
}

// SetRefresh sets the function a failing lookup calls once to pick up
// users changed on disk (see refresh); set it before serving.
func (t *TempAuth) SetRefresh(f func()) { t.refresh = f }

// Authenticate checks user ("account:user") and key and returns a new token.
func (t *TempAuth) Authenticate(user, key string) (token string, id *Identity, err error) {
	match := func() (config.User, bool) {
		t.mu.RLock()
		u, ok := t.users[user]
		t.mu.RUnlock()
		return u, ok && subtle.ConstantTimeCompare([]byte(u.Key), []byte(key)) == 1
	}
	u, ok := match()
	if !ok && t.refresh != nil {
		t.refresh()
		u, ok = match()
	}
	if !ok {
		return "", nil, ErrBadCredentials
	}
	exp := time.Now().Add(t.life).Truncate(time.Second)
	return t.sign(user, u.Key, exp), t.identity(u, exp), nil
}

// Validate returns the identity of a token this TempAuth issued, or false.
func (t *TempAuth) Validate(token string) (*Identity, bool) {
	rest, ok := strings.CutPrefix(token, t.prefix+"tk")
	if !ok || len(rest) < 64+16 {
		return nil, false
	}
	userHex := rest[64+16:]
	raw, err := hex.DecodeString(userHex)
	if err != nil {
		return nil, false
	}
	user := string(raw)
	expRaw, err := hex.DecodeString(rest[64 : 64+16])
	if err != nil {
		return nil, false
	}
	exp := time.Unix(int64(binary.BigEndian.Uint64(expRaw)), 0)
	if time.Now().After(exp) {
		return nil, false
	}
	t.mu.RLock()
	u, found := t.users[user]
	_, revoked := t.revoked[token]
	t.mu.RUnlock()
	if !found || revoked {
		return nil, false
	}
	if subtle.ConstantTimeCompare([]byte(t.sign(user, u.Key, exp)), []byte(token)) != 1 {
		return nil, false
	}
	return t.identity(u, exp), true
}

// sign makes "<prefix>tk" + hex(hmac) + hex(expiry) + hex(user).
func (t *TempAuth) sign(user, key string, exp time.Time) string {
	var e [8]byte
	binary.BigEndian.PutUint64(e[:], uint64(exp.Unix()))
	m := hmac.New(sha256.New, t.secret)
	m.Write([]byte(user))
	m.Write([]byte{0})
	m.Write([]byte(key))
	m.Write(e[:])
	return t.prefix + "tk" + hex.EncodeToString(m.Sum(nil)) + hex.EncodeToString(e[:]) + hex.EncodeToString([]byte(user))
}

func (t *TempAuth) identity(u config.User, exp time.Time) *Identity {
	groups := append([]string{u.Account, u.Account + ":" + u.Name}, u.Groups...)
	if slices.Contains(u.Groups, GroupAdmin) {
		// An account admin's groups name its account under every prefix
		// (Swift's _get_user_groups), which is what makes it the owner.
		for _, p := range t.prefixes {
			groups = append(groups, p+u.Account)
		}
	}
	return &Identity{
		User:    LocalUserID(u.Account, u.Name),
		Account: t.prefix + u.Account,
		Groups:  groups,
		Expires: exp,
	}
}

// Lookup returns the identity of a user by "account:user" without a key
// check; for S3 signatures, which prove the key themselves.
func (t *TempAuth) Lookup(user string) (*Identity, string, bool) {
	t.mu.RLock()
	u, ok := t.users[user]
	t.mu.RUnlock()
	if !ok {
		return nil, "", false
	}
	return t.identity(u, time.Now().Add(t.life)), u.Key, true
}

// Revoke makes token invalid until it expires (Keystone's DELETE
// /v3/auth/tokens). Revocations last until a restart; changing the
// user's key revokes all of its tokens for good.
func (t *TempAuth) Revoke(token string, exp time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.revoked == nil {
		t.revoked = map[string]time.Time{}
	}
	now := time.Now()
	for k, x := range t.revoked {
		if now.After(x) {
			delete(t.revoked, k)
		}
	}
	t.revoked[token] = exp
}

// SetUsers replaces the users (after `swiftbox user` changed them); tokens
// of removed users, or of users whose key changed, stop validating.
func (t *TempAuth) SetUsers(users []config.User) {
	m := make(map[string]config.User, len(users))
	for _, u := range users {
		m[u.Account+":"+u.Name] = u
	}
	t.mu.Lock()
	t.users = m
	t.mu.Unlock()
}

// SetS3Keys replaces the S3 access keys of local users.
func (t *TempAuth) SetS3Keys(keys []config.S3Key) {
	m := make(map[string]config.S3Key, len(keys))
	for _, k := range keys {
		m[k.AccessKey] = k
	}
	t.mu.Lock()
	t.s3keys = m
	t.mu.Unlock()
}

// LookupS3 finds the secret and identity for an S3 access key: a key made
// with `swiftbox user key create` (with its bucket restrictions), or
// "account:user" whose secret is the user's own key. ok is false for an
// unknown key or a key whose user is gone.
func (t *TempAuth) LookupS3(access string) (id *Identity, secret string, key config.S3Key, ok bool) {
	if id, secret, key, ok = t.lookupS3(access); !ok && t.refresh != nil {
		t.refresh()
		id, secret, key, ok = t.lookupS3(access)
	}
	return id, secret, key, ok
}

func (t *TempAuth) lookupS3(access string) (id *Identity, secret string, key config.S3Key, ok bool) {
	t.mu.RLock()
	k, found := t.s3keys[access]
	t.mu.RUnlock()
	if !found {
		id, secret, ok = t.Lookup(access)
		return id, secret, config.S3Key{AccessKey: access, SecretKey: secret, User: access}, ok
	}
	id, _, ok = t.Lookup(k.User)
	return id, k.SecretKey, k, ok
}
