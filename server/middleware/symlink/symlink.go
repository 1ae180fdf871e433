// Package symlink is Swift's symlink middleware: a zero-byte object
// whose sysmeta names its target; GET/HEAD follow it (up to symloop_max
// links), ?symlink=get shows the link itself, and a static link
// (X-Symlink-Target-Etag) pins the target's etag and size.
package symlink

import (
	"errors"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"

	"github.com/valyala/fasthttp"

	"swiftbox/server/proxy"
	"swiftbox/server/pyfmt"
)

const (
	// TargetHeader is a link's target ("<container>/<object>", escaped) as
	// clients set it and see it with ?symlink=get.
	TargetHeader  = "X-Symlink-Target"
	targetAccount = "X-Symlink-Target-Account"
	targetEtag    = "X-Symlink-Target-Etag"
	targetBytes   = "X-Symlink-Target-Bytes"

	sysTarget        = "X-Object-Sysmeta-Symlink-Target"
	sysTargetAccount = "X-Object-Sysmeta-Symlink-Target-Account"
	sysTargetEtag    = "X-Object-Sysmeta-Symlink-Target-Etag"
	sysTargetBytes   = "X-Object-Sysmeta-Symlink-Target-Bytes"
	sysLoopExtend    = "X-Object-Sysmeta-Symloop-Extend"
	sysAllowReserved = "X-Object-Sysmeta-Allow-Reserved-Names"

	sysmetaPrefix = "X-Object-Sysmeta-"
	overrideEtag  = "X-Object-Sysmeta-Container-Update-Override-Etag"
	md5OfEmpty    = "d41d8cd98f00b204e9800998ecf8427e"
)

var headerPairs = [][2]string{
	{TargetHeader, sysTarget}, {targetAccount, sysTargetAccount},
	{targetEtag, sysTargetEtag}, {targetBytes, sysTargetBytes},
}

// Filter is the symlink filter of the pipeline.
func Filter() proxy.Filter { return proxy.Filter{Name: "symlink", New: New} }

// New builds the middleware (the last before the proxy core); it shows
// links' parameters in container listings.
func New(env *proxy.Env) (proxy.Middleware, error) {
	symloopMax := env.Config.Symlink.SymloopMax
	env.RegisterInfo("symlink", func() map[string]any {
		return map[string]any{"symloop_max": symloopMax, "static_links": true}
	})
	env.RegisterListingRow(listingRow)
	return func(next proxy.Handler) proxy.Handler {
		return func(ctx *fasthttp.RequestCtx) error {
			_, _, _, object, err := proxy.SplitPath(ctx)
			if err != nil || object == "" {
				return next(ctx)
			}
			switch m := string(ctx.Method()); {
			case m == fasthttp.MethodGet || m == fasthttp.MethodHead:
				if string(ctx.QueryArgs().Peek("symlink")) == "get" {
					if err := next(ctx); err != nil {
						return err
					}
					showLink(&ctx.Response.Header)
					return nil
				}
				err = getHead(ctx, next, symloopMax)
			case m == fasthttp.MethodPut && ctx.Request.Header.Peek(TargetHeader) != nil:
				err = put(ctx, next, symloopMax)
			case m == fasthttp.MethodPost:
				err = post(ctx, next)
			default:
				return next(ctx)
			}
			var le *locatedError
			if errors.As(err, &le) {
				// Sent with the error: the pipeline writes only status and body.
				ctx.Response.Header.Set("Content-Location", le.location)
			}
			return err
		}
	}, nil
}

// showLink turns a link's sysmeta into the client headers ?symlink=get shows.
func showLink(h *fasthttp.ResponseHeader) {
	for _, pair := range headerPairs {
		if v := h.Peek(pair[1]); v != nil {
			h.Set(pair[0], string(v))
			h.Del(pair[1])
		}
	}
}

// plainError is a Swift HTTPException with a text/plain body.
func plainError(status int, body string) error {
	return proxy.ErrorWithType(status, "text/plain", body)
}

// follower walks a chain of links, counting hops as Swift's
// SymlinkObjectContext does.
type follower struct {
	loops      int
	lastTarget string
}

// targetPath is the escaped path a link in resp points to; account is the
// link's own (unescaped) account.
func targetPath(resp *fasthttp.ResponseHeader, version, account string) string {
	acct := string(resp.Peek(sysTargetAccount))
	if acct == "" {
		acct = pyfmt.Quote(account)
	}
	return "/" + version + "/" + acct + "/" + strings.TrimLeft(string(resp.Peek(sysTarget)), "/")
}

func getHead(ctx *fasthttp.RequestCtx, next proxy.Handler, symloopMax int) error {
	ign := "X-Backend-Ignore-Range-If-Metadata-Present"
	if v := ctx.Request.Header.Peek(ign); len(v) > 0 {
		ctx.Request.Header.Set(ign, string(v)+","+sysTarget)
	} else {
		ctx.Request.Header.Set(ign, sysTarget)
	}
	f := &follower{}
	if err := next(ctx); err != nil {
		return err
	}
	resp := &ctx.Response
	var owned *fasthttp.Response // the current hop's subrequest response
	targetEtag := ""
	cur := string(ctx.Request.Header.RequestURI())
	for {
		h := &resp.Header
		if h.Peek(sysTarget) == nil {
			break
		}
		linkEtag := string(h.Peek(sysTargetEtag))
		found := linkEtag
		if found == "" {
			found = string(h.Peek("Etag"))
		}
		if targetEtag != "" && targetEtag != found {
			proxy.CloseResponse(resp)
			return conflict("X-Symlink-Target-Etag headers do not match", f.lastTarget)
		}
		if f.loops >= symloopMax {
			proxy.CloseResponse(resp)
			return plainError(fasthttp.StatusConflict, fmt.Sprintf("Too many levels of symbolic links, maximum allowed is %d", symloopMax))
		}
		version, account, _, _, _ := proxy.SplitURI(cur)
		target := targetPath(h, version, account)
		f.lastTarget = target
		if !pyfmt.True(string(h.Peek(sysLoopExtend))) {
			f.loops++
		}
		allowReserved := h.Peek(sysAllowReserved) != nil && len(h.Peek(sysAllowReserved)) > 0
		proxy.CloseResponse(resp)
		targetEtag = linkEtag
		sub := proxy.Subrequest
		if allowReserved {
			// A version link: the hidden version is read as the owner
			// (make_pre_authed_request), the link itself was authorized.
			sub = proxy.PreAuthed
		}
		owned = sub(ctx, next, string(ctx.Method()), target, func(req *fasthttp.Request) {
			proxy.CopyRequestHeaders(req, &ctx.Request)
			req.Header.Del("X-Backend-Storage-Policy-Index")
			if allowReserved {
				req.Header.Set("X-Backend-Allow-Reserved-Names", "true")
			}
		})
		resp = owned
		cur = target
	}
	if final := normalizeEtag(string(resp.Header.Peek("Etag"))); final != "" && targetEtag != "" && targetEtag != final {
		proxy.CloseResponse(resp)
		return conflict(fmt.Sprintf("Object Etag %s does not match X-Symlink-Target-Etag header %s", pyfmt.Repr(final), pyfmt.Repr(targetEtag)), f.lastTarget)
	}
	if owned != nil {
		proxy.AdoptResponse(ctx, owned)
	}
	if f.lastTarget != "" {
		ctx.Response.Header.Set("Content-Location", f.lastTarget)
	}
	return nil
}

func conflict(body, location string) error {
	return &locatedError{error: plainError(fasthttp.StatusConflict, body), location: location}
}

// locatedError is an error response that names the link target
// (Content-Location) it is about.
type locatedError struct {
	error
	location string
}

func (e *locatedError) Unwrap() error { return e.error }

// normalizeEtag drops surrounding quotes (swob's normalize_etag).
func normalizeEtag(v string) string {
	if len(v) >= 2 && strings.HasPrefix(v, `"`) && strings.HasSuffix(v, `"`) {
		return v[1 : len(v)-1]
	}
	return v
}

const pathError = "X-Symlink-Target header must be of the form <container name>/<object name>"

// symlinkPut validates a link PUT and turns its headers into the sysmeta
// and listing etag Swift stores.
func put(ctx *fasthttp.RequestCtx, next proxy.Handler, symloopMax int) error {
	hasBody := false
	if n := ctx.Request.Header.ContentLength(); n > 0 {
		hasBody = true
	} else if n < 0 {
		var b [1]byte
		if s := ctx.RequestBodyStream(); s != nil {
			k, _ := io.ReadFull(s, b[:])
			hasBody = k > 0
		} else {
			hasBody = len(ctx.PostBody()) > 0
		}
	}
	if hasBody {
		return plainError(fasthttp.StatusBadRequest, "Symlink requests require a zero byte body")
	}
	h := &ctx.Request.Header
	raw, _ := url.PathUnescape(string(h.Peek(TargetHeader)))
	if strings.HasPrefix(raw, "/") {
		return plainError(fasthttp.StatusPreconditionFailed, pathError)
	}
	tc, to, ok := strings.Cut(raw, "/")
	if !ok || tc == "" || to == "" {
		return proxy.Errorf(fasthttp.StatusPreconditionFailed, pathError)
	}
	h.Set(TargetHeader, pyfmt.Quote(tc+"/"+to))
	version, reqAcct, reqCont, reqObj, _ := proxy.SplitPath(ctx)
	acct := reqAcct
	if v := h.Peek(targetAccount); v != nil {
		a, _ := url.PathUnescape(string(v))
		if a == "" {
			return proxy.Errorf(fasthttp.StatusPreconditionFailed, "Account name cannot be empty")
		}
		if strings.Contains(a, "/") {
			return proxy.Errorf(fasthttp.StatusPreconditionFailed, "Account name cannot contain slashes")
		}
		h.Set(targetAccount, pyfmt.Quote(a))
		acct = a
	}
	if acct == reqAcct && tc == reqCont && to == reqObj {
		return plainError(fasthttp.StatusBadRequest, "Symlink cannot target itself")
	}
	etag := normalizeEtag(string(h.Peek(targetEtag)))
	if strings.ContainsAny(etag, ";\"\\") {
		return plainError(fasthttp.StatusBadRequest, "Bad X-Symlink-Target-Etag format")
	}
	if etag == "" && len(h.Peek("Content-Type")) == 0 {
		h.Set("Content-Type", "application/symlink")
	}
	if etag != "" {
		if err := staticLinkSysmeta(ctx, next, "/"+version+"/"+pyfmt.Quote(acct)+"/"+pyfmt.Quote(tc+"/"+to), etag, symloopMax); err != nil {
			return err
		}
	}
	for _, pair := range headerPairs[:2] {
		if v := h.Peek(pair[0]); v != nil {
			h.Set(pair[1], string(v))
			h.Del(pair[0])
		}
	}
	base := md5OfEmpty
	if v := h.Peek(overrideEtag); len(v) > 0 {
		base = string(v)
	}
	parts := []string{base, "symlink_target=" + string(h.Peek(sysTarget))}
	if v := h.Peek(sysTargetAccount); v != nil {
		parts = append(parts, "symlink_target_account="+string(v))
	}
	if v := h.Peek(sysTargetEtag); v != nil {
		parts = append(parts, "symlink_target_etag="+string(v), "symlink_target_bytes="+string(h.Peek(sysTargetBytes)))
	}
	h.Set(overrideEtag, strings.Join(parts, "; "))
	return next(ctx)
}

// staticLinkSysmeta checks a static link's target (HEAD, following only
// static links) and records its etag and size.
func staticLinkSysmeta(ctx *fasthttp.RequestCtx, next proxy.Handler, target, etag string, symloopMax int) error {
	h := &ctx.Request.Header
	if ctx.UserValue(proxy.KeySymlinkOverride) != nil {
		h.Set(sysTargetEtag, etag)
		h.Set(sysTargetBytes, string(h.Peek(targetBytes)))
		return nil
	}
	allowReserved := len(h.Peek("X-Backend-Allow-Reserved-Names")) > 0
	preAuth := false // hops past a version link read hidden versions as the owner
	lastTarget := target
	want := etag
	loops := 0
	var resp *fasthttp.Response
	for {
		uri := lastTarget
		sub := proxy.Subrequest
		if preAuth {
			sub = proxy.PreAuthed
		}
		resp = sub(ctx, next, fasthttp.MethodHead, uri, func(req *fasthttp.Request) {
			if allowReserved {
				req.Header.Set("X-Backend-Allow-Reserved-Names", "true")
			}
		})
		linkEtag := string(resp.Header.Peek(sysTargetEtag))
		if resp.Header.Peek(sysTarget) == nil || linkEtag == "" {
			break
		}
		proxy.CloseResponse(resp)
		if want != linkEtag {
			return conflict("X-Symlink-Target-Etag headers do not match", lastTarget)
		}
		if loops >= symloopMax {
			return plainError(fasthttp.StatusConflict, fmt.Sprintf("Too many levels of symbolic links, maximum allowed is %d", symloopMax))
		}
		version, account, _, _, _ := proxy.SplitURI(uri)
		lastTarget = targetPath(&resp.Header, version, account)
		if !pyfmt.True(string(resp.Header.Peek(sysLoopExtend))) {
			loops++
		}
		if len(resp.Header.Peek(sysAllowReserved)) > 0 {
			preAuth, allowReserved = true, true
		}
		want = linkEtag
	}
	defer proxy.CloseResponse(resp)
	code := resp.StatusCode()
	if final := normalizeEtag(string(resp.Header.Peek("Etag"))); final != "" && want != final {
		return conflict(fmt.Sprintf("Object Etag %s does not match X-Symlink-Target-Etag header %s", pyfmt.Repr(final), pyfmt.Repr(want)), lastTarget)
	}
	if code == fasthttp.StatusNotFound {
		return conflict("X-Symlink-Target does not exist", lastTarget)
	}
	if code < 200 || code > 299 {
		return proxy.Errorf(code, "")
	}
	rh := &resp.Header
	if v := rh.Peek(overrideEtag); v != nil && h.Peek(overrideEtag) == nil {
		_, params, _ := strings.Cut(string(v), ";")
		if params != "" {
			h.Set(overrideEtag, md5OfEmpty+";"+params)
		} else {
			h.Set(overrideEtag, md5OfEmpty)
		}
	}
	if v := rh.Peek("X-Object-Sysmeta-Slo-Etag"); v != nil && h.Peek(overrideEtag) == nil {
		h.Set(overrideEtag, md5OfEmpty+"; slo_etag="+string(v))
	}
	bytes := string(rh.Peek("X-Object-Sysmeta-Slo-Size"))
	if bytes == "" {
		bytes = strconv.Itoa(rh.ContentLength())
	}
	h.Set(sysTargetBytes, bytes)
	h.Set(sysTargetEtag, etag)
	if len(h.Peek("Content-Type")) == 0 {
		h.Set("Content-Type", string(rh.ContentType()))
	}
	return nil
}

// symlinkPost refuses to retarget a link by POST, and answers a POST to a
// link with a redirect to its target (the metadata went to the link).
func post(ctx *fasthttp.RequestCtx, next proxy.Handler) error {
	if ctx.Request.Header.Peek(TargetHeader) != nil {
		return plainError(fasthttp.StatusBadRequest, "A PUT request is required to set a symlink target")
	}
	if err := next(ctx); err != nil {
		return err
	}
	h := &ctx.Response.Header
	if code := ctx.Response.StatusCode(); code < 200 || code > 299 {
		return nil
	}
	target := h.Peek(sysTarget)
	if target == nil {
		return nil
	}
	version, account, _, _, _ := proxy.SplitPath(ctx)
	loc := targetPath(h, version, account)
	keep := map[string]string{}
	for k, v := range h.All() {
		if len(k) >= len(sysmetaPrefix) && strings.EqualFold(string(k[:len(sysmetaPrefix)]), sysmetaPrefix) {
			keep[string(k)] = string(v)
		}
	}
	etag := string(h.Peek(sysTargetEtag))
	proxy.WriteStatus(ctx, fasthttp.StatusTemporaryRedirect, "The requested POST was applied to a symlink. POST directly to the target to apply requested metadata.")
	for k, v := range keep {
		h.Set(k, v)
	}
	h.Set("Location", loc)
	if etag != "" {
		h.Set(targetEtag, etag)
	}
	return nil
}

// symlinkListing takes the symlink parameters off a listed etag: the
// plain hash, and the JSON fields Swift adds (symlink_etag,
// symlink_bytes, symlink_path). version and account are the listing's.
func parseListingEtag(etag, version, account string) (hash string, extra []string) {
	base, params, ok := strings.Cut(etag, ";")
	if !ok || !strings.Contains(params, "symlink_target") {
		return etag, nil
	}
	hash = strings.TrimSpace(base)
	target := ""
	var fields []string
	// Keep the stored parameter order for anything that is not ours.
	for _, p := range strings.Split(params, ";") {
		k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
		k = strings.ToLower(strings.TrimSpace(k))
		v = strings.TrimSpace(v)
		if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
			v = v[1 : len(v)-1]
		}
		switch k {
		case "":
		case "symlink_target":
			target = v
		case "symlink_target_account":
			account = v
		case "symlink_target_etag":
			fields = append(fields, `"symlink_etag": `+proxy.JSONString(v))
		case "symlink_target_bytes":
			n, _ := strconv.ParseInt(v, 10, 64)
			fields = append(fields, `"symlink_bytes": `+strconv.FormatInt(n, 10))
		default:
			hash += "; " + k + "=" + v
		}
	}
	if target != "" {
		fields = append(fields, `"symlink_path": `+proxy.JSONString("/"+version+"/"+account+"/"+target))
	}
	return hash, fields
}

// listingRow shows a link's parameters in a listing row as Swift does:
// the plain hash, and symlink_etag, symlink_bytes and symlink_path.
func listingRow(row *proxy.ListingRow) {
	hash, extra := parseListingEtag(row.Hash, row.Version, row.Account)
	row.Hash = hash
	row.Extra = append(row.Extra, extra...)
}

// MarkVersionLink makes a link PUT's headers those of object versioning's
// links: a static link to target (escaped "<container>/<object>") whose
// etag and size are known already, that does not count as a hop and may
// reach reserved names.
func MarkVersionLink(h *fasthttp.RequestHeader, target, etag, size string) {
	h.Set(sysTargetEtag, etag)
	h.Set(sysTargetBytes, size)
	h.Set(TargetHeader, target)
	h.Set(sysLoopExtend, "true")
	h.Set(sysAllowReserved, "true")
	h.Del(targetAccount)
}
