package keystone

import (
	"cmp"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/valyala/fasthttp"
)

// Identity endpoint: a small Keystone v3 (and v2.0) for single boxes, so
// OpenStack clients that insist on Keystone (`swift --auth-version 3`,
// `openstack`, rclone's swift backend with v3 auth) work with no Keystone
// installed. Local user "account:user" is user "user" in project
// "account" of domain Default; the project's object-store endpoint is
// this box's /v1/<reseller prefix><account>. Tokens are tempauth tokens,
// so the Swift API accepts them as they are.

// DefaultDomainID and DefaultDomainName name the one domain local users live in.
const (
	DefaultDomainID   = "default"
	DefaultDomainName = "Default"
	region            = "RegionOne"
)

// IdentityEndpoint serves /v3 and /v2.0 for t's users.
type IdentityEndpoint struct {
	Auth *TempAuth
	// Logins throttles and records failed logins (nil: none).
	Logins *LoginThrottle
	// StorageURL returns the object-store endpoint for account (with its
	// reseller prefix) as seen by the client of ctx.
	StorageURL func(ctx *fasthttp.RequestCtx, account string) string
}

// Middleware answers identity requests and passes the rest on. It has the
// shape of the proxy's Middleware (keystone is below the proxy, so it
// cannot name the type): it writes its own responses, Keystone's JSON
// errors included, and returns next's error.
func (e *IdentityEndpoint) Middleware(next func(*fasthttp.RequestCtx) error) func(*fasthttp.RequestCtx) error {
	return func(ctx *fasthttp.RequestCtx) error {
		path := strings.TrimSuffix(string(ctx.Path()), "/")
		method := string(ctx.Method())
		switch {
		case path == "/v3" && (method == "GET" || method == "HEAD"):
			e.discovery(ctx, "v3")
		case path == "/v2.0" && (method == "GET" || method == "HEAD"):
			e.discovery(ctx, "v2.0")
		case path == "/v3/auth/tokens" && method == "POST":
			e.login(ctx, e.issueV3)
		case path == "/v3/auth/tokens":
			e.tokensV3(ctx, method)
		case path == "/v2.0/tokens":
			if method != "POST" {
				identityError(ctx, fasthttp.StatusMethodNotAllowed, "Method Not Allowed")
				return nil
			}
			e.login(ctx, e.tokensV2)
		default:
			return next(ctx)
		}
		return nil
	}
}

// login runs a token request (a login) unless its user is throttled from
// the client's address, and records its outcome: a 401 is a failed login.
func (e *IdentityEndpoint) login(ctx *fasthttp.RequestCtx, issue func(*fasthttp.RequestCtx)) {
	user := e.loginUser(ctx.PostBody())
	if left, ok := e.Logins.Throttled("identity", ctx.RemoteIP(), user); ok {
		ctx.Response.Header.Set("Retry-After", fmt.Sprint(int(left.Seconds())+1))
		identityError(ctx, fasthttp.StatusTooManyRequests, "Too many failed logins; try again later.")
		return
	}
	issue(ctx)
	switch st := ctx.Response.StatusCode(); {
	case st == fasthttp.StatusUnauthorized:
		e.Logins.Record("identity", ctx.RemoteIP(), user, false)
	case st/100 == 2:
		e.Logins.Record("identity", ctx.RemoteIP(), user, true)
	default:
		e.Logins.Release(ctx.RemoteIP(), user)
	}
}

// loginUser is the user a v3 or v2.0 token request names, as its failures
// are counted and logged: a local user it resolves to as "account:name",
// the name tempauth and S3 know it by, so that the three share its count;
// else "name@domain" (v2.0 users live in the default domain), "id:<id>",
// or "(token)".
func (e *IdentityEndpoint) loginUser(body []byte) string {
	var doc struct {
		Auth struct {
			Identity struct {
				Password struct {
					User struct {
						ID, Name string
						Domain   *v3Domain
					}
				}
				Token struct{ ID string }
			}
			Scope               json.RawMessage
			PasswordCredentials struct{ Username string }
			TenantID            string `json:"tenantId"`
			TenantName          string `json:"tenantName"`
			Token               struct{ ID string }
		}
	}
	json.Unmarshal(body, &doc)
	a := doc.Auth
	var scope v3Scope
	json.Unmarshal(a.Scope, &scope) // "unscoped" or none: no project
	project := cmp.Or(a.TenantID, a.TenantName)
	if p := scope.Project; p != nil {
		project = cmp.Or(p.ID, p.Name)
	}
	local := func(id, name string) (string, bool) {
		if e.Auth == nil {
			return "", false
		}
		u, ok := e.findUser(id, name, project)
		return u.account + ":" + u.name, ok
	}
	switch u := a.Identity.Password.User; {
	case u.ID != "":
		if l, ok := local(u.ID, ""); ok {
			return l
		}
		return "id:" + u.ID
	case u.Name != "":
		if l, ok := local("", u.Name); ok && domainOK(u.Domain) {
			return l
		}
		return u.Name + "@" + loginDomain(u.Domain)
	case a.PasswordCredentials.Username != "":
		if l, ok := local("", a.PasswordCredentials.Username); ok {
			return l
		}
		return a.PasswordCredentials.Username + "@" + DefaultDomainID
	case a.Identity.Token.ID != "" || a.Token.ID != "":
		return "(token)"
	}
	return ""
}

// loginDomain names d one way whichever way the request names it.
func loginDomain(d *v3Domain) string {
	switch {
	case domainOK(d):
		return DefaultDomainID
	case d.ID != "":
		return d.ID
	}
	return "name:" + d.Name
}

func (e *IdentityEndpoint) baseURL(ctx *fasthttp.RequestCtx) string {
	u := e.StorageURL(ctx, "x")
	return strings.TrimSuffix(u, "/v1/x")
}

func writeJSON(ctx *fasthttp.RequestCtx, status int, v any) {
	body, _ := json.Marshal(v)
	ctx.Response.Header.SetContentType("application/json")
	ctx.SetStatusCode(status)
	if string(ctx.Method()) == "HEAD" {
		ctx.Response.Header.SetContentLength(len(body))
		ctx.Response.SkipBody = true
		return
	}
	ctx.SetBody(body)
}

// identityError answers in Keystone's error format.
func identityError(ctx *fasthttp.RequestCtx, status int, msg string) {
	title := fasthttp.StatusMessage(status)
	if status == fasthttp.StatusUnauthorized {
		ctx.Response.Header.Set("Www-Authenticate", `Keystone uri="`+string(ctx.Host())+`"`)
	}
	writeJSON(ctx, status, map[string]any{"error": map[string]any{"code": status, "title": title, "message": msg}})
}

func (e *IdentityEndpoint) versionDoc(ctx *fasthttp.RequestCtx, v string) map[string]any {
	id, mt := "v3.14", "application/vnd.openstack.identity-v3+json"
	if v == "v2.0" {
		id, mt = "v2.0", "application/vnd.openstack.identity-v2.0+json"
	}
	return map[string]any{
		"id": id, "status": "stable", "updated": "2020-04-07T00:00:00Z",
		"links":       []map[string]string{{"rel": "self", "href": e.baseURL(ctx) + "/" + v + "/"}},
		"media-types": []map[string]string{{"base": "application/json", "type": mt}},
	}
}

func (e *IdentityEndpoint) discovery(ctx *fasthttp.RequestCtx, v string) {
	writeJSON(ctx, fasthttp.StatusOK, map[string]any{"version": e.versionDoc(ctx, v)})
}

// v3 request bodies (the parts this endpoint understands).
type v3Domain struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

type v3AuthRequest struct {
	Auth struct {
		Identity struct {
			Methods  []string `json:"methods"`
			Password *struct {
				User struct {
					ID       string    `json:"id"`
					Name     string    `json:"name"`
					Password string    `json:"password"`
					Domain   *v3Domain `json:"domain"`
				} `json:"user"`
			} `json:"password"`
			Token *struct {
				ID string `json:"id"`
			} `json:"token"`
		} `json:"identity"`
		Scope json.RawMessage `json:"scope"`
	} `json:"auth"`
}

type v3Scope struct {
	Project *struct {
		ID     string    `json:"id"`
		Name   string    `json:"name"`
		Domain *v3Domain `json:"domain"`
	} `json:"project"`
	Domain *v3Domain `json:"domain"`
}

// domainOK reports whether d names the default domain (or is absent).
func domainOK(d *v3Domain) bool {
	return d == nil || d.ID == DefaultDomainID || (d.ID == "" && strings.EqualFold(d.Name, DefaultDomainName))
}

// UserID is the Keystone user id of a local user: stable, opaque, and
// distinct for equal names in different accounts.
func UserID(account, name string) string {
	sum := md5.Sum([]byte(account + ":" + name))
	return hex.EncodeToString(sum[:])
}

func (e *IdentityEndpoint) tokensV3(ctx *fasthttp.RequestCtx, method string) {
	switch method {
	case "POST":
		e.issueV3(ctx)
	case "GET", "HEAD":
		if _, ok := e.validate(string(ctx.Request.Header.Peek("X-Auth-Token"))); !ok {
			identityError(ctx, fasthttp.StatusUnauthorized, "The request you have made requires authentication.")
			return
		}
		subject := string(ctx.Request.Header.Peek("X-Subject-Token"))
		id, ok := e.validate(subject)
		if !ok {
			identityError(ctx, fasthttp.StatusNotFound, "Could not find token: "+shortToken(subject)+".")
			return
		}
		ctx.Response.Header.Set("X-Subject-Token", subject)
		writeJSON(ctx, fasthttp.StatusOK, map[string]any{"token": e.tokenBody(ctx, id, []string{"password"}, true)})
	case "DELETE":
		if _, ok := e.validate(string(ctx.Request.Header.Peek("X-Auth-Token"))); !ok {
			identityError(ctx, fasthttp.StatusUnauthorized, "The request you have made requires authentication.")
			return
		}
		subject := string(ctx.Request.Header.Peek("X-Subject-Token"))
		id, ok := e.validate(subject)
		if !ok {
			identityError(ctx, fasthttp.StatusNotFound, "Could not find token: "+shortToken(subject)+".")
			return
		}
		e.Auth.Revoke(subject, id.Expires)
		ctx.SetStatusCode(fasthttp.StatusNoContent)
	default:
		identityError(ctx, fasthttp.StatusMethodNotAllowed, "Method Not Allowed")
	}
}

func shortToken(t string) string {
	if len(t) > 12 {
		return t[:12] + "…"
	}
	return t
}

func (e *IdentityEndpoint) validate(token string) (*Identity, bool) {
	if token == "" {
		return nil, false
	}
	return e.Auth.Validate(token)
}

func (e *IdentityEndpoint) issueV3(ctx *fasthttp.RequestCtx) {
	var req v3AuthRequest
	if err := json.Unmarshal(ctx.PostBody(), &req); err != nil {
		identityError(ctx, fasthttp.StatusBadRequest, "Expecting to find auth in request body: "+err.Error())
		return
	}
	var scope v3Scope
	if len(req.Auth.Scope) > 0 && string(req.Auth.Scope) != `"unscoped"` {
		if err := json.Unmarshal(req.Auth.Scope, &scope); err != nil {
			identityError(ctx, fasthttp.StatusBadRequest, "Invalid scope: "+err.Error())
			return
		}
	}
	project := ""
	if scope.Project != nil {
		if !domainOK(scope.Project.Domain) {
			identityError(ctx, fasthttp.StatusUnauthorized, "The request you have made requires authentication.")
			return
		}
		project = scope.Project.ID
		if project == "" {
			project = scope.Project.Name
		}
		if project == "" {
			identityError(ctx, fasthttp.StatusBadRequest, "Project scope needs an id or a name.")
			return
		}
	} else if scope.Domain != nil && !domainOK(scope.Domain) {
		identityError(ctx, fasthttp.StatusUnauthorized, "The request you have made requires authentication.")
		return
	}
	methods := req.Auth.Identity.Methods
	var user *localUser
	switch {
	case contains(methods, "password") && req.Auth.Identity.Password != nil:
		pu := req.Auth.Identity.Password.User
		if pu.ID == "" && !domainOK(pu.Domain) {
			identityError(ctx, fasthttp.StatusUnauthorized, "The request you have made requires authentication.")
			return
		}
		u, ok := e.findUser(pu.ID, pu.Name, project)
		if !ok {
			identityError(ctx, fasthttp.StatusUnauthorized, "The request you have made requires authentication.")
			return
		}
		token, id, err := e.Auth.Authenticate(u.account+":"+u.name, pu.Password)
		if err != nil {
			identityError(ctx, fasthttp.StatusUnauthorized, "The request you have made requires authentication.")
			return
		}
		user = &localUser{account: u.account, name: u.name, token: token, id: id}
	case contains(methods, "token") && req.Auth.Identity.Token != nil:
		id, ok := e.validate(req.Auth.Identity.Token.ID)
		if !ok {
			identityError(ctx, fasthttp.StatusUnauthorized, "The request you have made requires authentication.")
			return
		}
		acct, name, _ := SplitLocalUserID(id.User)
		user = &localUser{account: acct, name: name, token: req.Auth.Identity.Token.ID, id: id}
	default:
		identityError(ctx, fasthttp.StatusUnauthorized, "The request you have made requires authentication.")
		return
	}
	if project != "" && project != user.account {
		// Local users are members of their own project only.
		identityError(ctx, fasthttp.StatusUnauthorized, "User "+UserID(user.account, user.name)+" has no access to project "+project+".")
		return
	}
	ctx.Response.Header.Set("X-Subject-Token", user.token)
	writeJSON(ctx, fasthttp.StatusCreated, map[string]any{"token": e.tokenBody(ctx, user.id, methods, project != "")})
}

type localUser struct {
	account, name, token string
	id                   *Identity
}

// findUser finds a local user by id, or by name within project (or
// among all projects when unscoped, if the name is unique).
func (e *IdentityEndpoint) findUser(id, name, project string) (localUser, bool) {
	var found []localUser
	for _, u := range e.Auth.Users() {
		switch {
		case id != "" && UserID(u.Account, u.Name) == id:
			return localUser{account: u.Account, name: u.Name}, true
		case id == "" && u.Name == name && (project == "" || project == u.Account):
			found = append(found, localUser{account: u.Account, name: u.Name})
		}
	}
	if len(found) != 1 {
		return localUser{}, false
	}
	return found[0], true
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

// Roles maps tempauth groups to Keystone role names: .admin owns the
// account (admin, swiftoperator), .reseller_admin is ResellerAdmin.
func Roles(id *Identity) []string {
	roles := []string{"member", "reader"}
	if id.IsAdmin() {
		roles = append(roles, "admin", "swiftoperator")
	}
	if id.IsResellerAdmin() {
		roles = append(roles, "ResellerAdmin")
	}
	return roles
}

func (e *IdentityEndpoint) tokenBody(ctx *fasthttp.RequestCtx, id *Identity, methods []string, scoped bool) map[string]any {
	acct, name, _ := SplitLocalUserID(id.User)
	domain := map[string]string{"id": DefaultDomainID, "name": DefaultDomainName}
	tok := map[string]any{
		"methods":    methods,
		"user":       map[string]any{"id": UserID(acct, name), "name": name, "domain": domain, "password_expires_at": nil},
		"audit_ids":  []string{auditID(id)},
		"expires_at": id.Expires.UTC().Format("2006-01-02T15:04:05.000000Z"),
		"issued_at":  time.Now().UTC().Format("2006-01-02T15:04:05.000000Z"),
	}
	if !scoped {
		return tok
	}
	var roles []map[string]string
	for _, r := range Roles(id) {
		roles = append(roles, map[string]string{"id": r, "name": r})
	}
	tok["project"] = map[string]any{"id": acct, "name": acct, "domain": domain}
	tok["is_domain"] = false
	tok["roles"] = roles
	endpoint := func(url string) []map[string]string {
		var out []map[string]string
		for _, iface := range []string{"public", "internal", "admin"} {
			out = append(out, map[string]string{"id": iface, "interface": iface, "region_id": region, "region": region, "url": url})
		}
		return out
	}
	tok["catalog"] = []map[string]any{
		{"id": "object-store", "type": "object-store", "name": "swift", "endpoints": endpoint(e.StorageURL(ctx, id.Account))},
		{"id": "identity", "type": "identity", "name": "keystone", "endpoints": endpoint(e.baseURL(ctx) + "/v3")},
	}
	return tok
}

func auditID(id *Identity) string {
	sum := md5.Sum([]byte(id.User + id.Expires.String()))
	return hex.EncodeToString(sum[:8])
}

// v2.0 request body.
type v2AuthRequest struct {
	Auth struct {
		PasswordCredentials *struct {
			Username string `json:"username"`
			Password string `json:"password"`
		} `json:"passwordCredentials"`
		Token *struct {
			ID string `json:"id"`
		} `json:"token"`
		TenantName string `json:"tenantName"`
		TenantID   string `json:"tenantId"`
	} `json:"auth"`
}

func (e *IdentityEndpoint) tokensV2(ctx *fasthttp.RequestCtx) {
	var req v2AuthRequest
	if err := json.Unmarshal(ctx.PostBody(), &req); err != nil {
		identityError(ctx, fasthttp.StatusBadRequest, "Expecting to find auth in request body: "+err.Error())
		return
	}
	project := req.Auth.TenantID
	if project == "" {
		project = req.Auth.TenantName
	}
	var token string
	var id *Identity
	switch {
	case req.Auth.PasswordCredentials != nil:
		u, ok := e.findUser("", req.Auth.PasswordCredentials.Username, project)
		if !ok {
			identityError(ctx, fasthttp.StatusUnauthorized, "The request you have made requires authentication.")
			return
		}
		var err error
		if token, id, err = e.Auth.Authenticate(u.account+":"+u.name, req.Auth.PasswordCredentials.Password); err != nil {
			identityError(ctx, fasthttp.StatusUnauthorized, "The request you have made requires authentication.")
			return
		}
	case req.Auth.Token != nil:
		var ok bool
		if id, ok = e.validate(req.Auth.Token.ID); !ok {
			identityError(ctx, fasthttp.StatusUnauthorized, "The request you have made requires authentication.")
			return
		}
		token = req.Auth.Token.ID
	default:
		identityError(ctx, fasthttp.StatusBadRequest, "Expecting passwordCredentials or token.")
		return
	}
	acct, name, _ := SplitLocalUserID(id.User)
	if project != "" && project != acct {
		identityError(ctx, fasthttp.StatusUnauthorized, "The request you have made requires authentication.")
		return
	}
	var roles []map[string]string
	for _, r := range Roles(id) {
		roles = append(roles, map[string]string{"name": r})
	}
	url := e.StorageURL(ctx, id.Account)
	access := map[string]any{
		"token": map[string]any{"id": token, "expires": id.Expires.UTC().Format(time.RFC3339),
			"issued_at": time.Now().UTC().Format(time.RFC3339), "tenant": map[string]any{"id": acct, "name": acct, "enabled": true}},
		"user": map[string]any{"id": UserID(acct, name), "name": name, "username": name, "roles": roles},
		"serviceCatalog": []map[string]any{
			{"type": "object-store", "name": "swift", "endpoints": []map[string]string{
				{"region": region, "publicURL": url, "internalURL": url, "adminURL": url}}},
			{"type": "identity", "name": "keystone", "endpoints": []map[string]string{
				{"region": region, "publicURL": e.baseURL(ctx) + "/v2.0", "internalURL": e.baseURL(ctx) + "/v2.0", "adminURL": e.baseURL(ctx) + "/v2.0"}}},
		},
	}
	writeJSON(ctx, fasthttp.StatusOK, map[string]any{"access": access})
}
