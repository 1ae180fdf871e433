package proxy

import (
	"bytes"
	"io"
	"net/url"
	"slices"
	"strings"

	"github.com/valyala/fasthttp"

	"swiftbox/keystone"
	"swiftbox/server/pyfmt"
)

// User values a request carries into its subrequests, as Swift's
// make_subrequest copies the WSGI environ (identity, authorization
// override, transaction id).
const (
	keyIdentity   = "swiftbox.identity"
	keyAuthorized = "swiftbox.authorized"
	keyInternal   = "swiftbox.internal"
	keyBadToken   = "swiftbox.bad_token"
)

var inheritedKeys = []string{KeyTransID, keyIdentity, keyAuthorized, keyConfine}

// SetIdentity authenticates ctx as id: the proxy core skips token checks
// and authorizes the request (and its subrequests) for id. Front
// middlewares that authenticate by other means (S3 signatures, Keystone)
// call it.
func SetIdentity(ctx *fasthttp.RequestCtx, id *keystone.Identity) { ctx.SetUserValue(keyIdentity, id) }

// RequestIdentity is who ctx was authenticated as, or nil.
func RequestIdentity(ctx *fasthttp.RequestCtx) *keystone.Identity {
	id, _ := ctx.UserValue(keyIdentity).(*keystone.Identity)
	return id
}

// Authorization levels a middleware may grant a request outright.
const (
	// AuthorizedRequest lets the request through without ACL checks, as
	// tempurl and formpost do for the one object they sign.
	AuthorizedRequest = 1
	// AuthorizedOwner also makes it the account owner (swift_owner):
	// for the daemons and the middlewares' own bookkeeping.
	AuthorizedOwner = 2
)

// SetAuthorized grants ctx (and its subrequests) level.
func SetAuthorized(ctx *fasthttp.RequestCtx, level int) { ctx.SetUserValue(keyAuthorized, level) }

func AuthorizedLevel(ctx *fasthttp.RequestCtx) int {
	l, _ := ctx.UserValue(keyAuthorized).(int)
	if l != 0 {
		if s := scopeOf(ctx); s != nil && !s.covers(ctx) {
			return 0
		}
	}
	return l
}

// keyGrantScope limits what the S3 layer lets a request (and its
// subrequests) reach. Its grant part limits the level a request was
// granted (for an ACL grant or a bucket policy on one bucket) to that
// bucket's containers: a symlink, DLO or SLO of it reaching elsewhere is
// judged by the caller's own rights, as Swift judges link targets. Its
// key part is an access key's buckets (swiftbox user key create
// --bucket): no container outside them is reached at all, link targets
// included, whatever rights the caller has there.
const keyGrantScope = "swiftbox.grant_scope"

func init() { inheritedKeys = append(inheritedKeys, keyGrantScope) }

// The S3 layer names the containers of a bucket (its own, its segments
// and versions containers): the core only checks membership.
type grantScope struct {
	account    string   // the grant's account ("" and no containers: no grant limit)
	containers []string // the grant's bucket's containers
	keyOnly    []string // the containers of the access key's buckets (nil: any)
}

// covers says whether ctx's path is in the grant's bucket.
func (s *grantScope) covers(ctx *fasthttp.RequestCtx) bool {
	if s.account == "" && s.containers == nil {
		return true
	}
	_, a, c, _, err := SplitPath(ctx)
	return err == nil && a == s.account && slices.Contains(s.containers, c)
}

// keyDenies says whether container is outside the access key's buckets.
// Account requests (listings) stay possible: the S3 layer filters them.
func (s *grantScope) keyDenies(container string) bool {
	if s == nil || s.keyOnly == nil || container == "" {
		return false
	}
	return !slices.Contains(s.keyOnly, container)
}

func scopeOf(ctx *fasthttp.RequestCtx) *grantScope {
	s, _ := ctx.UserValue(keyGrantScope).(*grantScope)
	return s
}

func setScope(ctx *fasthttp.RequestCtx, s grantScope) {
	if s.account == "" && s.containers == nil && s.keyOnly == nil {
		ctx.SetUserValue(keyGrantScope, nil)
		return
	}
	ctx.SetUserValue(keyGrantScope, &s)
}

// SetGrantScope limits what SetAuthorized granted ctx (and its
// subrequests) to containers of account (a bucket's); "" and nil lift
// the limit. The access key's part stays.
func SetGrantScope(ctx *fasthttp.RequestCtx, account string, containers []string) {
	s := grantScope{account: account, containers: containers}
	if old := scopeOf(ctx); old != nil {
		s.keyOnly = old.keyOnly
	}
	setScope(ctx, s)
}

// GrantScope is ctx's grant scope, if any.
func GrantScope(ctx *fasthttp.RequestCtx) (account string, containers []string) {
	if s := scopeOf(ctx); s != nil {
		return s.account, s.containers
	}
	return "", nil
}

// SetKeyScope limits ctx and every subrequest it makes (symlink, DLO
// and SLO targets, copies) to containers, those of an access key's
// buckets; nil lifts the limit.
func SetKeyScope(ctx *fasthttp.RequestCtx, containers []string) {
	var s grantScope
	if old := scopeOf(ctx); old != nil {
		s = *old
	}
	s.keyOnly = containers
	setScope(ctx, s)
}

// keyScopeDenies reports whether ctx reaches a container outside its
// access key's buckets.
func keyScopeDenies(ctx *fasthttp.RequestCtx, container string) bool {
	return scopeOf(ctx).keyDenies(container)
}

// withoutGrant is scope v (a keyGrantScope value) with its grant part
// lifted and its key part kept: pre-authed bookkeeping is not held to a
// grant, but never leaves the key's buckets.
func withoutGrant(v any) any {
	s, _ := v.(*grantScope)
	if s == nil || s.keyOnly == nil {
		return nil
	}
	return &grantScope{keyOnly: s.keyOnly}
}

// IsInternal reports whether ctx is a subrequest (no raw header bytes to
// look at: its headers were set by code, not parsed from a client).
func IsInternal(ctx *fasthttp.RequestCtx) bool { return ctx.UserValue(keyInternal) != nil }

// Subrequest runs an internal request through next, the rest of the
// pipeline after the calling middleware, and returns its response. uri is
// the escaped path with an optional query ("/v1/AUTH_a/c/o?symlink=get").
// prep sets headers and the body (Request.SetBodyStream). The subrequest
// carries parent's identity, authorization and transaction id.
//
// The caller owns the response: read Body() or BodyStream(), then call
// CloseBodyStream so file handles are released.
func Subrequest(parent *fasthttp.RequestCtx, next Handler, method, uri string, prep func(req *fasthttp.Request)) *fasthttp.Response {
	sub := new(fasthttp.RequestCtx)
	sub.Init(&fasthttp.Request{}, parent.RemoteAddr(), nil)
	sub.Request.Header.SetMethod(method)
	sub.Request.SetRequestURI(uri)
	sub.Request.Header.SetHostBytes(parent.Host())
	sub.Request.Header.SetContentLength(0)
	for _, k := range inheritedKeys {
		if v := parent.UserValue(k); v != nil {
			sub.SetUserValue(k, v)
		}
	}
	sub.SetUserValue(keyInternal, true)
	if ref := parent.Request.Header.Referer(); len(ref) > 0 { // Referer(): no key normalising, safe from concurrent subrequests
		// make_subrequest keeps the referrer: .r: ACLs judge it.
		sub.Request.Header.SetBytesV("Referer", ref)
	}
	if prep != nil {
		prep(&sub.Request)
	}
	if err := next(sub); err != nil {
		WriteError(sub, err)
	}
	return &sub.Response
}

// PreAuthed runs a subrequest as the account owner (Swift's
// make_pre_authed_request): the caller was authorized already.
// Nor is it held to a temp URL's or an S3 grant's scope (Swift's
// pre-authed requests replace swift.authorize); an access key's buckets
// still hold.
func PreAuthed(parent *fasthttp.RequestCtx, next Handler, method, uri string, prep func(req *fasthttp.Request)) *fasthttp.Response {
	old, scope, grant := parent.UserValue(keyAuthorized), parent.UserValue(keyConfine), parent.UserValue(keyGrantScope)
	parent.SetUserValue(keyAuthorized, AuthorizedOwner)
	parent.SetUserValue(keyConfine, nil)
	parent.SetUserValue(keyGrantScope, withoutGrant(grant))
	defer func() {
		parent.SetUserValue(keyAuthorized, old)
		parent.SetUserValue(keyConfine, scope)
		parent.SetUserValue(keyGrantScope, grant)
	}()
	return Subrequest(parent, next, method, uri, prep)
}

// CloseResponse releases a subrequest's response (its body stream).
func CloseResponse(resp *fasthttp.Response) {
	resp.CloseBodyStream()
	resp.ResetBody()
}

// CopyRequestHeaders copies a client request's headers to a subrequest,
// all but those describing the body.
func CopyRequestHeaders(dst, src *fasthttp.Request) {
	for k, v := range src.Header.All() {
		switch strings.ToLower(string(k)) {
		case "content-length", "transfer-encoding", "host":
			continue
		}
		dst.Header.SetBytesKV(k, v)
	}
}

// AdoptResponse makes a subrequest's response ctx's own, body stream
// included; the transaction id headers stay.
func AdoptResponse(ctx *fasthttp.RequestCtx, sub *fasthttp.Response) {
	tid := string(ctx.Response.Header.Peek("X-Trans-Id"))
	rid := string(ctx.Response.Header.Peek("X-Openstack-Request-Id"))
	ctx.Response.CloseBodyStream()
	ctx.Response.ResetBody()
	sub.Header.CopyTo(&ctx.Response.Header)
	if tid != "" {
		ctx.Response.Header.Set("X-Trans-Id", tid)
		ctx.Response.Header.Set("X-Openstack-Request-Id", rid)
	}
	n := sub.Header.ContentLength()
	switch {
	case sub.SkipBody:
		ctx.Response.SkipBody = true
		ctx.Response.Header.SetContentLength(n)
	case sub.BodyStream() != nil:
		SetBodyStream(ctx, sub.BodyStream(), n)
	default:
		ctx.Response.SetBody(sub.Body())
	}
}

// SplitURI splits an escaped path "/v1/a/c/o" (an optional query goes)
// that a middleware built or a response named, reserved names included.
func SplitURI(uri string) (version, account, container, object string, err error) {
	if i := strings.IndexByte(uri, '?'); i >= 0 {
		uri = uri[:i]
	}
	path, err := url.PathUnescape(strings.TrimPrefix(uri, "/"))
	if err != nil {
		return "", "", "", "", err
	}
	parts := append(strings.SplitN(path, "/", 4), "", "", "")
	if parts[1] == "" {
		return "", "", "", "", Errorf(fasthttp.StatusBadRequest, "bad path")
	}
	return parts[0], parts[1], parts[2], parts[3], nil
}

// ResponseBody is resp's body as a reader: its stream, or the bytes it holds.
func ResponseBody(resp *fasthttp.Response) io.Reader {
	if s := resp.BodyStream(); s != nil {
		return s
	}
	return bytes.NewReader(resp.Body())
}

// ObjectURI is the escaped request URI of an object (or container when
// obj is "") for subrequests.
func ObjectURI(version, account, container, obj string) string {
	u := "/" + version + "/" + pyfmt.Quote(account) + "/" + pyfmt.Quote(container)
	if obj != "" {
		u += "/" + pyfmt.Quote(obj)
	}
	return u
}

// Relay sends resp, a subrequest's response, as ctx's response (the
// transaction id headers of ctx stay). ctx owns resp's body stream after.
func Relay(ctx *fasthttp.RequestCtx, resp *fasthttp.Response) {
	ctx.Response.SetStatusCode(resp.StatusCode())
	for k, v := range resp.Header.All() {
		if bytes.EqualFold(k, []byte("Content-Length")) || bytes.EqualFold(k, []byte("X-Trans-Id")) {
			continue
		}
		ctx.Response.Header.SetBytesKV(k, v)
	}
	if s := resp.BodyStream(); s != nil {
		SetBodyStream(ctx, s, resp.Header.ContentLength())
		return
	}
	ctx.Response.SetBody(resp.Body())
	if resp.SkipBody {
		ctx.Response.Header.SetContentLength(resp.Header.ContentLength())
		ctx.Response.SkipBody = true
	}
}

// Detach returns a request context that carries ctx's request (headers,
// URI, user values, client address) and takes over its body stream, for
// work that goes on in a SetBodyStreamWriter after the handler returned:
// the server goes on using ctx itself then, so that work must not touch
// it (fasthttp reuses and even writes into a RequestCtx's header on reads).
func Detach(ctx *fasthttp.RequestCtx) *fasthttp.RequestCtx {
	d := new(fasthttp.RequestCtx)
	d.Init(&fasthttp.Request{}, ctx.RemoteAddr(), nil)
	ctx.Request.Header.CopyTo(&d.Request.Header)
	ctx.VisitUserValuesAll(func(k, v any) { d.SetUserValue(k, v) })
	d.SetUserValue(keyDetached, true)
	if s := ctx.RequestBodyStream(); s != nil {
		d.Request.SetBodyStream(s, ctx.Request.Header.ContentLength())
	} else {
		d.Request.SetBody(ctx.PostBody())
	}
	return d
}
