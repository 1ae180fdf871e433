package proxy

import (
	"errors"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"

	"swiftbox/server/pyfmt"

	"github.com/valyala/fasthttp"
)

// Symlinks, as Swift's symlink middleware keeps them: a zero-byte object
// whose sysmeta names its target; GET/HEAD follow it (up to symloop_max
// links), ?symlink=get shows the link itself, and a static link
// (X-Symlink-Target-Etag) pins the target's etag and size.

const (
	symTarget        = "X-Symlink-Target"
	symTargetAccount = "X-Symlink-Target-Account"
	symTargetEtag    = "X-Symlink-Target-Etag"
	symTargetBytes   = "X-Symlink-Target-Bytes"

	symSysTarget        = "X-Object-Sysmeta-Symlink-Target"
	symSysTargetAccount = "X-Object-Sysmeta-Symlink-Target-Account"
	symSysTargetEtag    = "X-Object-Sysmeta-Symlink-Target-Etag"
	symSysTargetBytes   = "X-Object-Sysmeta-Symlink-Target-Bytes"
	symSysLoopExtend    = "X-Object-Sysmeta-Symloop-Extend"
	symSysAllowReserved = "X-Object-Sysmeta-Allow-Reserved-Names"

	overrideEtag = "X-Object-Sysmeta-Container-Update-Override-Etag"
	md5OfEmpty   = "d41d8cd98f00b204e9800998ecf8427e"

	// keySymlinkOverride marks an internal PUT whose static-link sysmeta
	// is already known (swift.symlink_override): no HEAD of the target.
	keySymlinkOverride = "swiftbox.symlink_override"
)

var symlinkHeaderPairs = [][2]string{
	{symTarget, symSysTarget}, {symTargetAccount, symSysTargetAccount},
	{symTargetEtag, symSysTargetEtag}, {symTargetBytes, symSysTargetBytes},
}

// symlink is Swift's symlink middleware (the last before the proxy core).
func (p *Proxy) symlink(next fasthttp.RequestHandler) fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) {
		_, _, _, object, err := SplitPath(ctx)
		if err != nil || object == "" {
			next(ctx)
			return
		}
		var herr error
		switch m := string(ctx.Method()); {
		case m == fasthttp.MethodGet || m == fasthttp.MethodHead:
			if string(ctx.QueryArgs().Peek("symlink")) == "get" {
				next(ctx)
				for _, pair := range symlinkHeaderPairs {
					if v := ctx.Response.Header.Peek(pair[1]); v != nil {
						ctx.Response.Header.Set(pair[0], string(v))
						ctx.Response.Header.Del(pair[1])
					}
				}
				return
			}
			herr = symlinkGetHead(ctx, next, p.cfg.Symlink.SymloopMax)
		case m == fasthttp.MethodPut && ctx.Request.Header.Peek(symTarget) != nil:
			herr = symlinkPut(ctx, next, p.cfg.Symlink.SymloopMax)
		case m == fasthttp.MethodPost:
			herr = symlinkPost(ctx, next)
		default:
			next(ctx)
		}
		if herr != nil {
			WriteError(ctx, herr)
			var le *locatedError
			if errors.As(herr, &le) {
				ctx.Response.Header.Set("Content-Location", le.location)
			}
		}
	}
}

// plainError is a Swift HTTPException with a text/plain body.
func plainError(status int, body string) *HTTPError {
	return &HTTPError{status: status, body: body, ctype: "text/plain"}
}

// symlinkFollower walks a chain of links, counting hops as Swift's
// SymlinkObjectContext does.
type symlinkFollower struct {
	ctx        *fasthttp.RequestCtx
	next       fasthttp.RequestHandler
	loops      int
	lastTarget string
}

// targetPath is the escaped path a link in resp points to; account is the
// link's own (unescaped) account.
func symlinkTargetPath(resp *fasthttp.ResponseHeader, version, account string) string {
	acct := string(resp.Peek(symSysTargetAccount))
	if acct == "" {
		acct = pyfmt.Quote(account)
	}
	return "/" + version + "/" + acct + "/" + strings.TrimLeft(string(resp.Peek(symSysTarget)), "/")
}

func symlinkGetHead(ctx *fasthttp.RequestCtx, next fasthttp.RequestHandler, symloopMax int) error {
	ign := "X-Backend-Ignore-Range-If-Metadata-Present"
	if v := ctx.Request.Header.Peek(ign); len(v) > 0 {
		ctx.Request.Header.Set(ign, string(v)+","+symSysTarget)
	} else {
		ctx.Request.Header.Set(ign, symSysTarget)
	}
	f := &symlinkFollower{ctx: ctx, next: next}
	next(ctx)
	resp := &ctx.Response
	var owned *fasthttp.Response // the current hop's subrequest response
	targetEtag := ""
	cur := string(ctx.Request.Header.RequestURI())
	for {
		h := &resp.Header
		if h.Peek(symSysTarget) == nil {
			break
		}
		linkEtag := string(h.Peek(symSysTargetEtag))
		found := linkEtag
		if found == "" {
			found = string(h.Peek("Etag"))
		}
		if targetEtag != "" && targetEtag != found {
			closeResp(resp)
			return symlinkConflict("X-Symlink-Target-Etag headers do not match", f.lastTarget)
		}
		if f.loops >= symloopMax {
			closeResp(resp)
			return plainError(fasthttp.StatusConflict, fmt.Sprintf("Too many levels of symbolic links, maximum allowed is %d", symloopMax))
		}
		version, account, _, _, _ := splitPathOf(cur)
		target := symlinkTargetPath(h, version, account)
		f.lastTarget = target
		if !pyfmt.True(string(h.Peek(symSysLoopExtend))) {
			f.loops++
		}
		allowReserved := h.Peek(symSysAllowReserved) != nil && len(h.Peek(symSysAllowReserved)) > 0
		closeResp(resp)
		targetEtag = linkEtag
		sub := Subrequest
		if allowReserved {
			// A version link: the hidden version is read as the owner
			// (make_pre_authed_request), the link itself was authorized.
			sub = preAuthed
		}
		owned = sub(ctx, Lift(next), string(ctx.Method()), target, func(req *fasthttp.Request) {
			copyRequestHeaders(req, &ctx.Request)
			req.Header.Del("X-Backend-Storage-Policy-Index")
			if allowReserved {
				req.Header.Set("X-Backend-Allow-Reserved-Names", "true")
			}
		})
		resp = owned
		cur = target
	}
	if final := normalizeEtag(string(resp.Header.Peek("Etag"))); final != "" && targetEtag != "" && targetEtag != final {
		closeResp(resp)
		return symlinkConflict(fmt.Sprintf("Object Etag %s does not match X-Symlink-Target-Etag header %s", pyfmt.Repr(final), pyfmt.Repr(targetEtag)), f.lastTarget)
	}
	if owned != nil {
		adoptResponse(ctx, owned)
	}
	if f.lastTarget != "" {
		ctx.Response.Header.Set("Content-Location", f.lastTarget)
	}
	return nil
}

// splitPathOf splits an escaped path "/v1/a/c/o" that middlewares built
// (reserved names included).
func splitPathOf(uri string) (version, account, container, object string, err error) {
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

func symlinkConflict(body, location string) error {
	return &locatedError{HTTPError: plainError(fasthttp.StatusConflict, body), location: location}
}

// locatedError is an error response that names the link target
// (Content-Location) it is about.
type locatedError struct {
	*HTTPError
	location string
}

func (e *locatedError) Unwrap() error { return e.HTTPError }

func closeResp(resp *fasthttp.Response) {
	resp.CloseBodyStream()
	resp.ResetBody()
}

// copyRequestHeaders copies a client request's headers to a subrequest,
// all but those describing the body.
func copyRequestHeaders(dst, src *fasthttp.Request) {
	for k, v := range src.Header.All() {
		switch strings.ToLower(string(k)) {
		case "content-length", "transfer-encoding", "host":
			continue
		}
		dst.Header.SetBytesKV(k, v)
	}
}

// adoptResponse makes a subrequest's response ctx's own, body stream
// included; the transaction id headers stay.
func adoptResponse(ctx *fasthttp.RequestCtx, sub *fasthttp.Response) {
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

// normalizeEtag drops surrounding quotes (swob's normalize_etag).
func normalizeEtag(v string) string {
	if len(v) >= 2 && strings.HasPrefix(v, `"`) && strings.HasSuffix(v, `"`) {
		return v[1 : len(v)-1]
	}
	return v
}

const symlinkPathError = "X-Symlink-Target header must be of the form <container name>/<object name>"

// symlinkPut validates a link PUT and turns its headers into the sysmeta
// and listing etag Swift stores.
func symlinkPut(ctx *fasthttp.RequestCtx, next fasthttp.RequestHandler, symloopMax int) error {
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
	raw, _ := url.PathUnescape(string(h.Peek(symTarget)))
	if strings.HasPrefix(raw, "/") {
		return plainError(fasthttp.StatusPreconditionFailed, symlinkPathError)
	}
	tc, to, ok := strings.Cut(raw, "/")
	if !ok || tc == "" || to == "" {
		return Errorf(fasthttp.StatusPreconditionFailed, symlinkPathError)
	}
	h.Set(symTarget, pyfmt.Quote(tc+"/"+to))
	version, reqAcct, reqCont, reqObj, _ := SplitPath(ctx)
	acct := reqAcct
	if v := h.Peek(symTargetAccount); v != nil {
		a, _ := url.PathUnescape(string(v))
		if a == "" {
			return Errorf(fasthttp.StatusPreconditionFailed, "Account name cannot be empty")
		}
		if strings.Contains(a, "/") {
			return Errorf(fasthttp.StatusPreconditionFailed, "Account name cannot contain slashes")
		}
		h.Set(symTargetAccount, pyfmt.Quote(a))
		acct = a
	}
	if acct == reqAcct && tc == reqCont && to == reqObj {
		return plainError(fasthttp.StatusBadRequest, "Symlink cannot target itself")
	}
	etag := normalizeEtag(string(h.Peek(symTargetEtag)))
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
	for _, pair := range symlinkHeaderPairs[:2] {
		if v := h.Peek(pair[0]); v != nil {
			h.Set(pair[1], string(v))
			h.Del(pair[0])
		}
	}
	base := md5OfEmpty
	if v := h.Peek(overrideEtag); len(v) > 0 {
		base = string(v)
	}
	parts := []string{base, "symlink_target=" + string(h.Peek(symSysTarget))}
	if v := h.Peek(symSysTargetAccount); v != nil {
		parts = append(parts, "symlink_target_account="+string(v))
	}
	if v := h.Peek(symSysTargetEtag); v != nil {
		parts = append(parts, "symlink_target_etag="+string(v), "symlink_target_bytes="+string(h.Peek(symSysTargetBytes)))
	}
	h.Set(overrideEtag, strings.Join(parts, "; "))
	next(ctx)
	return nil
}

// staticLinkSysmeta checks a static link's target (HEAD, following only
// static links) and records its etag and size.
func staticLinkSysmeta(ctx *fasthttp.RequestCtx, next fasthttp.RequestHandler, target, etag string, symloopMax int) error {
	h := &ctx.Request.Header
	if ctx.UserValue(keySymlinkOverride) != nil {
		h.Set(symSysTargetEtag, etag)
		h.Set(symSysTargetBytes, string(h.Peek(symTargetBytes)))
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
		sub := Subrequest
		if preAuth {
			sub = preAuthed
		}
		resp = sub(ctx, Lift(next), fasthttp.MethodHead, uri, func(req *fasthttp.Request) {
			if allowReserved {
				req.Header.Set("X-Backend-Allow-Reserved-Names", "true")
			}
		})
		linkEtag := string(resp.Header.Peek(symSysTargetEtag))
		if resp.Header.Peek(symSysTarget) == nil || linkEtag == "" {
			break
		}
		closeResp(resp)
		if want != linkEtag {
			return symlinkConflict("X-Symlink-Target-Etag headers do not match", lastTarget)
		}
		if loops >= symloopMax {
			return plainError(fasthttp.StatusConflict, fmt.Sprintf("Too many levels of symbolic links, maximum allowed is %d", symloopMax))
		}
		version, account, _, _, _ := splitPathOf(uri)
		lastTarget = symlinkTargetPath(&resp.Header, version, account)
		if !pyfmt.True(string(resp.Header.Peek(symSysLoopExtend))) {
			loops++
		}
		if len(resp.Header.Peek(symSysAllowReserved)) > 0 {
			preAuth, allowReserved = true, true
		}
		want = linkEtag
	}
	defer closeResp(resp)
	code := resp.StatusCode()
	if final := normalizeEtag(string(resp.Header.Peek("Etag"))); final != "" && want != final {
		return symlinkConflict(fmt.Sprintf("Object Etag %s does not match X-Symlink-Target-Etag header %s", pyfmt.Repr(final), pyfmt.Repr(want)), lastTarget)
	}
	if code == fasthttp.StatusNotFound {
		return symlinkConflict("X-Symlink-Target does not exist", lastTarget)
	}
	if code < 200 || code > 299 {
		return Errorf(code, "")
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
	h.Set(symSysTargetBytes, bytes)
	h.Set(symSysTargetEtag, etag)
	if len(h.Peek("Content-Type")) == 0 {
		h.Set("Content-Type", string(rh.ContentType()))
	}
	return nil
}

// symlinkPost refuses to retarget a link by POST, and answers a POST to a
// link with a redirect to its target (the metadata went to the link).
func symlinkPost(ctx *fasthttp.RequestCtx, next fasthttp.RequestHandler) error {
	if ctx.Request.Header.Peek(symTarget) != nil {
		return plainError(fasthttp.StatusBadRequest, "A PUT request is required to set a symlink target")
	}
	next(ctx)
	h := &ctx.Response.Header
	if code := ctx.Response.StatusCode(); code < 200 || code > 299 {
		return nil
	}
	target := h.Peek(symSysTarget)
	if target == nil {
		return nil
	}
	version, account, _, _, _ := SplitPath(ctx)
	loc := symlinkTargetPath(h, version, account)
	keep := map[string]string{}
	for k, v := range h.All() {
		if hasPrefixFold(k, []byte("X-Object-Sysmeta-")) {
			keep[string(k)] = string(v)
		}
	}
	etag := string(h.Peek(symSysTargetEtag))
	WriteStatus(ctx, fasthttp.StatusTemporaryRedirect, "The requested POST was applied to a symlink. POST directly to the target to apply requested metadata.")
	for k, v := range keep {
		h.Set(k, v)
	}
	h.Set("Location", loc)
	if etag != "" {
		h.Set(symTargetEtag, etag)
	}
	return nil
}

// symlinkListing takes the symlink parameters off a listed etag: the
// plain hash, and the JSON fields Swift adds (symlink_etag,
// symlink_bytes, symlink_path). version and account are the listing's.
func symlinkListing(etag, version, account string) (hash, extra string) {
	base, params, ok := strings.Cut(etag, ";")
	if !ok || !strings.Contains(params, "symlink_target") {
		return etag, ""
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
			fields = append(fields, `"symlink_etag": `+JSONString(v))
		case "symlink_target_bytes":
			n, _ := strconv.ParseInt(v, 10, 64)
			fields = append(fields, `"symlink_bytes": `+strconv.FormatInt(n, 10))
		default:
			hash += "; " + k + "=" + v
		}
	}
	if target != "" {
		fields = append(fields, `"symlink_path": `+JSONString("/"+version+"/"+account+"/"+target))
	}
	if len(fields) > 0 {
		extra = ", " + strings.Join(fields, ", ")
	}
	return hash, extra
}
