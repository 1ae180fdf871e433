package keystone

import (
	"bytes"
	"container/list"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"swiftbox/config"
)

// KeystoneScope is what a Keystone token says about its holder.
type KeystoneScope struct {
	UserID, UserName, UserDomainID          string
	ProjectID, ProjectName, ProjectDomainID string
	// Roles are lower-cased, as keystoneauth compares them.
	Roles []string
	// ServiceRoles are the roles of a valid X-Service-Token.
	ServiceRoles []string
}

// Keystone validates tokens against a Keystone v3 server and authorizes
// requests on its accounts with Swift's keystoneauth rules.
type Keystone struct {
	cfg    config.KeystoneConfig
	client *http.Client

	mu      sync.Mutex
	service string    // the service user's token
	svcExp  time.Time // and its expiry
	cache   map[string]*list.Element
	lru     list.List // of *cacheEntry, most recent first
}

type cacheEntry struct {
	token string
	scope *KeystoneScope // nil: Keystone said the token is invalid
	exp   time.Time      // token expiry
	until time.Time      // trust the entry until then
}

// ErrKeystoneUnavailable: Keystone could not be asked (the request gets
// 503-like treatment from the caller, never a silent allow).
var ErrKeystoneUnavailable = errors.New("keystone: server unavailable")

// NewKeystone returns a validator for cfg (cfg.AuthURL must be set).
func NewKeystone(cfg config.KeystoneConfig) *Keystone {
	return &Keystone{cfg: cfg, client: &http.Client{Timeout: 10 * time.Second}, cache: map[string]*list.Element{}}
}

// Prefixes are the reseller prefixes Keystone owns.
func (k *Keystone) Prefixes() []string {
	var out []string
	for _, a := range k.cfg.Accounts {
		out = append(out, a.Prefix)
	}
	return out
}

// Owns reports whether account has one of Keystone's prefixes.
func (k *Keystone) Owns(account string) bool { return k.rules(account) != nil }

func (k *Keystone) rules(account string) *config.KeystonePrefix {
	for i, a := range k.cfg.Accounts {
		if strings.HasPrefix(account, a.Prefix) {
			return &k.cfg.Accounts[i]
		}
	}
	return nil
}

// CachedTokens is the number of tokens in the cache (for metrics).
func (k *Keystone) CachedTokens() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return len(k.cache)
}

// Validate returns the scope of token, from the cache or from Keystone.
// An invalid, expired or revoked token is (nil, nil).
func (k *Keystone) Validate(ctx context.Context, token string) (*KeystoneScope, time.Time, error) {
	now := time.Now()
	k.mu.Lock()
	if el, ok := k.cache[token]; ok {
		e := el.Value.(*cacheEntry)
		if now.Before(e.until) && (e.scope == nil || now.Before(e.exp)) {
			k.lru.MoveToFront(el)
			k.mu.Unlock()
			return e.scope, e.exp, nil
		}
		k.lru.Remove(el)
		delete(k.cache, token)
	}
	k.mu.Unlock()
	scope, exp, err := k.ask(ctx, token)
	if err != nil {
		return nil, time.Time{}, err
	}
	until := now.Add(time.Duration(k.cfg.TokenCacheTime) * time.Second)
	if scope == nil {
		until = now.Add(10 * time.Second) // a short negative cache
	} else if exp.Before(until) {
		until = exp
	}
	k.mu.Lock()
	k.cache[token] = k.lru.PushFront(&cacheEntry{token: token, scope: scope, exp: exp, until: until})
	for len(k.cache) > k.cfg.TokenCacheSize {
		last := k.lru.Back()
		k.lru.Remove(last)
		delete(k.cache, last.Value.(*cacheEntry).token)
	}
	k.mu.Unlock()
	return scope, exp, nil
}

// tokenDoc is the part of Keystone's token document we use.
type tokenDoc struct {
	Token struct {
		ExpiresAt string `json:"expires_at"`
		User      struct {
			ID, Name string
			Domain   struct{ ID string }
		}
		Project *struct {
			ID, Name string
			Domain   struct{ ID string }
		}
		Roles []struct{ Name string }
	}
}

// scope is what a token document says about its holder.
func (doc *tokenDoc) scope() *KeystoneScope {
	s := &KeystoneScope{UserID: doc.Token.User.ID, UserName: doc.Token.User.Name, UserDomainID: doc.Token.User.Domain.ID}
	if p := doc.Token.Project; p != nil {
		s.ProjectID, s.ProjectName, s.ProjectDomainID = p.ID, p.Name, p.Domain.ID
	}
	for _, r := range doc.Token.Roles {
		s.Roles = append(s.Roles, strings.ToLower(r.Name))
	}
	return s
}

// ask validates token with Keystone (GET /v3/auth/tokens).
func (k *Keystone) ask(ctx context.Context, token string) (*KeystoneScope, time.Time, error) {
	for attempt := 0; attempt < 2; attempt++ {
		svc, err := k.serviceToken(ctx, attempt > 0)
		if err != nil {
			return nil, time.Time{}, err
		}
		req, _ := http.NewRequestWithContext(ctx, "GET", strings.TrimSuffix(k.cfg.AuthURL, "/")+"/auth/tokens", nil)
		req.Header.Set("X-Auth-Token", svc)
		req.Header.Set("X-Subject-Token", token)
		resp, err := k.client.Do(req)
		if err != nil {
			return nil, time.Time{}, fmt.Errorf("%w: %v", ErrKeystoneUnavailable, err)
		}
		var doc tokenDoc
		derr := json.NewDecoder(resp.Body).Decode(&doc)
		resp.Body.Close()
		switch {
		case resp.StatusCode == http.StatusUnauthorized && attempt == 0:
			continue // our service token expired: get a new one
		case resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusUnauthorized:
			return nil, time.Time{}, nil
		case resp.StatusCode != http.StatusOK || derr != nil:
			return nil, time.Time{}, fmt.Errorf("%w: validating a token: %s", ErrKeystoneUnavailable, resp.Status)
		}
		exp, err := time.Parse(time.RFC3339Nano, doc.Token.ExpiresAt)
		if err != nil || time.Now().After(exp) {
			return nil, time.Time{}, nil
		}
		return doc.scope(), exp, nil
	}
	return nil, time.Time{}, fmt.Errorf("%w: service credentials rejected", ErrKeystoneUnavailable)
}

// serviceToken returns the service user's token, fetching a new one when
// it is missing, about to expire, or renew is set.
func (k *Keystone) serviceToken(ctx context.Context, renew bool) (string, error) {
	k.mu.Lock()
	if !renew && k.service != "" && time.Until(k.svcExp) > time.Minute {
		t := k.service
		k.mu.Unlock()
		return t, nil
	}
	k.mu.Unlock()
	body, _ := json.Marshal(map[string]any{"auth": map[string]any{
		"identity": map[string]any{"methods": []string{"password"}, "password": map[string]any{"user": map[string]any{
			"name": k.cfg.Username, "password": k.cfg.Password, "domain": map[string]string{"id": k.cfg.UserDomainID}}}},
		"scope": map[string]any{"project": map[string]any{"name": k.cfg.ProjectName, "domain": map[string]string{"id": k.cfg.ProjectDomainID}}},
	}})
	req, _ := http.NewRequestWithContext(ctx, "POST", strings.TrimSuffix(k.cfg.AuthURL, "/")+"/auth/tokens", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := k.client.Do(req)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrKeystoneUnavailable, err)
	}
	defer resp.Body.Close()
	var doc tokenDoc
	if resp.StatusCode != http.StatusCreated || json.NewDecoder(resp.Body).Decode(&doc) != nil {
		return "", fmt.Errorf("%w: service user %s could not authenticate: %s", ErrKeystoneUnavailable, k.cfg.Username, resp.Status)
	}
	exp, _ := time.Parse(time.RFC3339Nano, doc.Token.ExpiresAt)
	k.mu.Lock()
	k.service, k.svcExp = resp.Header.Get("X-Subject-Token"), exp
	t := k.service
	k.mu.Unlock()
	return t, nil
}

// IdentityFor makes the request identity of a Keystone scope: its user id
// is qualified by project domain, project id and user id (never the names
// a local "account:user" could repeat); account is the project's account
// under the first prefix; ResellerAdmin holders get the .reseller_admin
// group so quota and account checks see them.
func (k *Keystone) IdentityFor(s *KeystoneScope, exp time.Time) *Identity {
	id := &Identity{User: KeystoneUserID(s), Keystone: s, Expires: exp}
	if len(k.cfg.Accounts) > 0 && s.ProjectID != "" {
		id.Account = k.cfg.Accounts[0].Prefix + s.ProjectID
	}
	if hasRole(s.Roles, k.cfg.ResellerAdminRole) {
		id.Groups = append(id.Groups, GroupResellerAdmin)
	}
	return id
}

func hasRole(roles []string, want ...string) bool {
	for _, r := range roles {
		for _, w := range want {
			if r == strings.ToLower(w) {
				return true
			}
		}
	}
	return false
}

// Authorize decides a request on one of Keystone's accounts exactly as
// Swift's keystoneauth does; owner reports swift_owner (may see and set
// ACLs). id is nil for anonymous requests; a local (tempauth) identity
// has no Keystone scope and gets only what anonymous users get, but 403
// instead of 401.
func (k *Keystone) Authorize(id *Identity, r Request) (d Decision, owner bool) {
	if r.Method == "OPTIONS" {
		return Allow, false
	}
	acl := r.WriteACL
	read := r.Method == "GET" || r.Method == "HEAD"
	if read {
		acl = r.ReadACL
	}
	if r.Container == "" {
		acl = ""
	}
	parsed := ParseContainerACL(acl)
	listings := parsed.Listings
	unconfirmed := func() (bool, bool) { // (decided, allowed)
		if parsed.ReferrerAllowed(r.Referrer) && len(parsed.Referrers) > 0 {
			return true, r.Object != "" || listings
		}
		return false, false
	}
	denied := Unauthorized
	if id != nil {
		denied = Forbidden
	}
	if id == nil || id.Keystone == nil {
		if ok, allowed := unconfirmed(); ok && allowed {
			return Allow, false
		}
		return denied, false
	}
	s := id.Keystone
	if hasRole(s.Roles, k.cfg.ResellerAdminRole) {
		return Allow, true
	}
	if read && hasRole(s.Roles, k.cfg.SystemReaderRoles...) {
		return Allow, false
	}
	if r.Container == "" && r.Object == "" && r.Method == "DELETE" {
		return Forbidden, false
	}
	if len(parsed.Groups) > 0 && k.crossTenant(s, parsed.Groups, r.Account) {
		return Allow, false
	}
	decided, allowed := unconfirmed()
	if decided && allowed {
		return Allow, false
	}
	rules := k.rules(r.Account)
	if rules == nil || r.Account != rules.Prefix+s.ProjectID {
		return Forbidden, false
	}
	if hasRole(s.Roles, rules.OperatorRoles...) && (len(rules.ServiceRoles) == 0 || hasRole(s.ServiceRoles, rules.ServiceRoles...)) {
		return Allow, true
	}
	if read && hasRole(s.Roles, rules.ProjectReaderRoles...) {
		return Allow, false
	}
	if decided {
		return Forbidden, false
	}
	for _, g := range parsed.Groups {
		if hasRole(s.Roles, g) {
			return Allow, false
		}
	}
	return Forbidden, false
}

// crossTenant matches "project:user" ACL entries by id, '*' and — in
// the default domain — by name (keystoneauth's _authorize_cross_tenant).
func (k *Keystone) crossTenant(s *KeystoneScope, groups []string, account string) bool {
	tenants := []string{s.ProjectID, "*"}
	users := []string{s.UserID, "*"}
	if k.namesAllowed(s) {
		tenants = append(tenants, s.ProjectName)
		users = append(users, s.UserName)
	}
	for _, g := range groups {
		t, u, ok := strings.Cut(g, ":")
		if !ok {
			continue
		}
		for _, tt := range tenants {
			for _, uu := range users {
				if t == tt && u == uu {
					return true
				}
			}
		}
	}
	return false
}

func (k *Keystone) namesAllowed(s *KeystoneScope) bool {
	return (s.UserDomainID == "" || s.UserDomainID == k.cfg.DefaultDomainID) &&
		(s.ProjectDomainID == "" || s.ProjectDomainID == k.cfg.DefaultDomainID)
}

// S3Token asks Keystone whether signature is the right signature of
// stringToSign for the EC2 credential access (Swift's s3token: POST
// /v3/s3tokens). Keystone computes it with the credential's secret, which
// never leaves Keystone. A wrong signature or unknown key is (nil, nil).
func (k *Keystone) S3Token(ctx context.Context, access, stringToSign, signature string) (*KeystoneScope, time.Time, error) {
	body, _ := json.Marshal(map[string]any{"credentials": map[string]string{
		"access": access, "token": base64.URLEncoding.EncodeToString([]byte(stringToSign)), "signature": signature}})
	var resp *http.Response
	for attempt := 0; attempt < 2; attempt++ {
		// Keystone lets only services and admins validate S3 credentials.
		svc, err := k.serviceToken(ctx, attempt > 0)
		if err != nil {
			return nil, time.Time{}, err
		}
		req, _ := http.NewRequestWithContext(ctx, "POST", strings.TrimSuffix(k.cfg.AuthURL, "/")+"/s3tokens", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Auth-Token", svc)
		if resp, err = k.client.Do(req); err != nil {
			return nil, time.Time{}, fmt.Errorf("%w: %v", ErrKeystoneUnavailable, err)
		}
		if resp.StatusCode != http.StatusForbidden || attempt > 0 {
			break
		}
		resp.Body.Close() // perhaps our service token expired: renew once
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden || resp.StatusCode == http.StatusNotFound {
		return nil, time.Time{}, nil
	}
	var doc tokenDoc
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&doc) != nil {
		return nil, time.Time{}, fmt.Errorf("%w: s3tokens: %s", ErrKeystoneUnavailable, resp.Status)
	}
	exp, err := time.Parse(time.RFC3339Nano, doc.Token.ExpiresAt)
	if err != nil {
		exp = time.Now().Add(time.Hour)
	}
	return doc.scope(), exp, nil
}

// EC2Secret fetches the secret of an EC2 credential of userID with the
// service user's token (GET /v3/users/{id}/credentials/OS-EC2/{access}),
// for what Keystone cannot check for us: the chunk signatures of
// aws-chunked uploads. "" if Keystone will not say.
func (k *Keystone) EC2Secret(ctx context.Context, userID, access string) (string, error) {
	svc, err := k.serviceToken(ctx, false)
	if err != nil {
		return "", err
	}
	req, _ := http.NewRequestWithContext(ctx, "GET", strings.TrimSuffix(k.cfg.AuthURL, "/")+"/users/"+userID+"/credentials/OS-EC2/"+access, nil)
	req.Header.Set("X-Auth-Token", svc)
	resp, err := k.client.Do(req)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrKeystoneUnavailable, err)
	}
	defer resp.Body.Close()
	var doc struct{ Credential struct{ Secret string } }
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&doc) != nil {
		return "", nil
	}
	return doc.Credential.Secret, nil
}
