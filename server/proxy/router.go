package proxy

import (
	"github.com/valyala/fasthttp"

	"swiftbox/keystone"
)

// authenticate finds who sent the request from its token (tempauth's
// half that runs before the feature middlewares); front middlewares may
// already have set an identity (S3 signatures, Keystone).
func (p *Proxy) authenticate(next Handler) Handler {
	return func(ctx *fasthttp.RequestCtx) error {
		if RequestIdentity(ctx) == nil {
			if token := headerOr(ctx, "X-Auth-Token", "X-Storage-Token"); token != "" {
				id, err := p.validateToken(ctx, token)
				if err != nil {
					p.log.Error("keystone unavailable", "err", err)
					return Errorf(fasthttp.StatusServiceUnavailable, "")
				}
				if id != nil {
					SetIdentity(ctx, id)
				} else {
					ctx.SetUserValue(keyBadToken, true)
				}
			}
		}
		return next(ctx)
	}
}

// validateToken finds whose token it is: a local (tempauth) token, or one
// Keystone vouches for (with the roles of a valid X-Service-Token added
// as service roles). nil, nil for an unknown token; an error when
// Keystone cannot be asked.
func (p *Proxy) validateToken(ctx *fasthttp.RequestCtx, token string) (*keystone.Identity, error) {
	if id, ok := p.auth.Validate(token); ok || p.ks == nil {
		p.metrics.Auth.ObserveToken("tempauth", ok)
		if ok {
			// A service token's groups count towards require_group only.
			if st := string(ctx.Request.Header.Peek("X-Service-Token")); st != "" {
				if sid, sok := p.auth.Validate(st); sok {
					id = id.WithServiceToken(sid)
				}
			}
		}
		return id, nil
	}
	scope, exp, err := p.ks.Validate(ctx, token)
	if err == nil {
		p.metrics.Auth.ObserveToken("keystone", scope != nil)
	}
	if err != nil || scope == nil {
		return nil, err
	}
	if st := string(ctx.Request.Header.Peek("X-Service-Token")); st != "" {
		svc, _, err := p.ks.Validate(ctx, st)
		if err != nil {
			return nil, err
		}
		if svc != nil {
			cp := *scope
			cp.ServiceRoles = svc.Roles
			scope = &cp
		}
	}
	return p.ks.IdentityFor(scope, exp), nil
}

// ownsAccount reports whether one of the auth systems owns account.
func (p *Proxy) ownsAccount(account string) bool {
	return p.auth.Owns(account) || p.ks != nil && p.ks.Owns(account)
}

// serveSwift is the proxy core's entry: parse the path,
// authorize, then dispatch to the account, container or object controller.
func (p *Proxy) serveSwift(ctx *fasthttp.RequestCtx) error {
	r, err := p.newRequest(ctx)
	if err != nil {
		return err
	}
	if err := p.admitAccount(r); err != nil {
		return err
	}
	if r.Method == fasthttp.MethodOptions {
		// Always allowed (tempauth lets OPTIONS through): CORS preflight.
		p.corsPreflight(r)
		return nil
	}
	if v := r.Ctx.Request.Header.Peek("X-Account-Access-Control"); v != nil {
		// An ACL header must be valid whoever sends it (tempauth).
		if _, _, err := keystone.ParseAccountACL(string(v)); err != nil {
			return &HTTPError{status: fasthttp.StatusBadRequest, ctype: "text/plain; charset=UTF-8",
				body: "X-Account-Access-Control invalid: " + err.Error() + "\n\nInput: " + string(v) + "\n"}
		}
	}
	account, container := r.Account, r.Container
	if confineDenies(ctx, account, container) {
		return UnauthorizedError(account)
	}
	if keyScopeDenies(ctx, container) {
		return Errorf(fasthttp.StatusForbidden, "")
	}
	if origin := ctx.Request.Header.Peek("Origin"); len(origin) > 0 && container != "" {
		defer p.corsResponse(r, string(origin))
	}
	if d := p.Authorize(r); d != keystone.Allow && AuthorizedLevel(ctx) == 0 {
		if r.Object == "" && r.Method != fasthttp.MethodGet && r.Method != fasthttp.MethodHead {
			// Container writes are denied before Swift's CORS handling.
			r.corsSkip = true
		}
		if d == keystone.Unauthorized {
			return UnauthorizedError(account)
		}
		return Errorf(fasthttp.StatusForbidden, "")
	}
	switch {
	case r.Object != "":
		return dispatch(r, resource{get: p.objectGet, put: p.objectPut, post: p.objectPost, delete: p.objectDelete, allow: objectMethods})
	case container != "":
		return dispatch(r, resource{get: p.containerGet, put: p.containerPut, post: p.containerPost, delete: p.containerDelete, allow: containerMethods})
	default:
		// No account PUT or DELETE: allow_account_management is off, as
		// in a default Swift proxy.
		return dispatch(r, resource{get: p.accountGet, post: p.accountPost, allow: accountMethods})
	}
}

// newRequest parses a Swift API request's path and checks its names and
// header lines.
func (p *Proxy) newRequest(ctx *fasthttp.RequestCtx) (*Request, error) {
	version, account, container, object, err := SplitPath(ctx)
	if err != nil {
		return nil, err
	}
	if version != "v1" && version != "v1.0" {
		return nil, Errorf(fasthttp.StatusNotFound, "")
	}
	if account == "" {
		// "/v1" alone names nothing Swift can serve.
		return nil, Errorf(fasthttp.StatusPreconditionFailed, "Bad URL")
	}
	r := &Request{Ctx: ctx, Method: string(ctx.Method()), Version: version,
		Account: account, Container: container, Object: object, bctx: p.reqContext(ctx)}
	if tid, ok := ctx.UserValue(KeyTransID).(string); ok {
		r.TransID = tid
	}
	if err := p.checkNames(r); err != nil {
		return nil, err
	}
	for k, v := range ctx.Request.Header.All() {
		// Swift's servers refuse header lines over max_header_size.
		if len(k)+len(v)+2 > p.limits.MaxHeaderSize {
			return nil, Errorf(fasthttp.StatusBadRequest, "Header Line Too Long")
		}
	}
	return r, nil
}

// admitAccount sets who sent r and refuses a bad token, and an account
// outside this auth system's reseller prefix unless a reseller admin asks.
func (p *Proxy) admitAccount(r *Request) error {
	ctx := r.Ctx
	if ctx.UserValue(keyBadToken) != nil {
		return UnauthorizedError(r.Account)
	}
	r.ID = RequestIdentity(ctx)
	if AuthorizedLevel(ctx) != AuthorizedOwner && !p.ownsAccount(r.Account) {
		// Not an account of this auth system's reseller prefix.
		if r.ID == nil {
			return UnauthorizedError(r.Account)
		}
		if !r.ID.IsResellerAdmin() {
			return Errorf(fasthttp.StatusForbidden, "")
		}
	}
	return nil
}

// checkNames enforces Swift's name length constraints.
func (p *Proxy) checkNames(r *Request) error {
	if n := len(r.Account); n > p.limits.MaxAccountNameLength {
		return Errorf(fasthttp.StatusBadRequest, "Account name length of %d longer than %d", n, p.limits.MaxAccountNameLength)
	}
	if n := len(r.Container); n > p.limits.MaxContainerNameLen {
		return Errorf(fasthttp.StatusBadRequest, "Container name length of %d longer than %d", n, p.limits.MaxContainerNameLen)
	}
	if n := len(r.Object); n > p.limits.MaxObjectNameLength {
		return ConstraintErrorf(fasthttp.StatusBadRequest, "Object name length of %d longer than %d", n, p.limits.MaxObjectNameLength)
	}
	return nil
}

// Authorize decides like tempauth: owners and reseller admins go straight
// through; anyone else needs the container's ACLs or the account's ACL.
func (p *Proxy) Authorize(r *Request) keystone.Decision {
	ar := keystone.Request{Method: r.Method, Account: r.Account, Container: r.Container,
		Object: r.Object, Referrer: r.Header("Referer")}
	owner, reader := p.auth.Owner(r.ID, r.Method, r.Account, r.Container)
	if reader {
		return keystone.Allow
	}
	if AuthorizedLevel(r.Ctx) == AuthorizedOwner || owner {
		r.owner = true
		return keystone.Allow
	}
	if r.Container != "" {
		if info, err := p.ContainerInfo(r.Ctx, r.Account, r.Container); err == nil {
			ar.ReadACL = info.Metadata["X-Container-Read"].Value
			ar.WriteACL = info.Metadata["X-Container-Write"].Value
		}
	}
	if p.ks != nil && p.ks.Owns(r.Account) {
		d, owner := p.ks.Authorize(r.ID, ar)
		r.owner = owner
		return d
	}
	d := p.auth.Authorize(r.ID, ar)
	if d == keystone.Allow || r.ID == nil {
		return d
	}
	// Account ACLs (X-Account-Access-Control), as tempauth checks them last.
	info, err := p.accountInfo(r.Context(), r.Account)
	if err != nil {
		return d
	}
	acl, _, err := keystone.ParseAccountACL(info.Metadata[keystone.AccountACLSysmeta].Value)
	if err != nil {
		return d
	}
	read := r.Method == fasthttp.MethodGet || r.Method == fasthttp.MethodHead
	switch acl.Grant(r.ID.Groups) {
	case keystone.AccountAdmin:
		r.owner = true
		return keystone.Allow
	case keystone.AccountReadWrite:
		if r.Container != "" || read {
			return keystone.Allow
		}
	case keystone.AccountReadOnly:
		if read {
			return keystone.Allow
		}
	}
	return d
}

// IsOwner reports whether the request may see and set owner-only things
// (ACLs, sync keys): tempauth's swift_owner.
func (r *Request) IsOwner() bool { return r.owner }

// AllowOptions answers an OPTIONS request without CORS headers: the methods
// the resource allows.
func AllowOptions(ctx *fasthttp.RequestCtx, allow string) {
	ctx.Response.Header.Set("Allow", allow)
	ctx.Response.Header.SetContentLength(0)
	ctx.SetStatusCode(fasthttp.StatusOK)
}

// NoContent is Swift's 204 for POST and DELETE.
func NoContent(ctx *fasthttp.RequestCtx) {
	ctx.SetStatusCode(fasthttp.StatusNoContent)
	ctx.Response.Header.SetContentType("text/html; charset=UTF-8")
}

// Unauthorized writes UnauthorizedError at once, for a middleware that
// renders a response of its own around it (a custom body, an error page);
// a handler returns UnauthorizedError instead.
func Unauthorized(ctx *fasthttp.RequestCtx, realm string) {
	WriteError(ctx, UnauthorizedError(realm))
}

// resource is what one level of the path (account, container, object)
// serves: a handler per method (nil: not allowed) and its Allow header.
type resource struct {
	get, put, post, delete func(*Request) error
	allow                  string
}

// dispatch runs r's method on res, as Swift's controllers do: GET and
// HEAD share a handler, OPTIONS lists the methods, others get 405.
func dispatch(r *Request, res resource) error {
	var h func(*Request) error
	switch r.Method {
	case fasthttp.MethodGet, fasthttp.MethodHead:
		h = res.get
	case fasthttp.MethodPut:
		h = res.put
	case fasthttp.MethodPost:
		h = res.post
	case fasthttp.MethodDelete:
		h = res.delete
	case fasthttp.MethodOptions:
		AllowOptions(r.Ctx, res.allow)
		return nil
	}
	if h == nil {
		return MethodNotAllowedError(res.allow)
	}
	return h(r)
}
