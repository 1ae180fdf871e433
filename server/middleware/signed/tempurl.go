package signed

import (
	"crypto/subtle"
	"iter"
	"net/netip"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"swiftbox/config"
	"swiftbox/server/proxy"
	"swiftbox/server/pyfmt"
)

// disallowedHeaders are headers a signed write may not carry: they would
// let the signer's object point at data the URL does not grant.
var disallowedHeaders = []string{"X-Object-Manifest", "X-Symlink-Target"}

// headerRules is an allow/remove list pair of header names; a trailing
// "*" matches a prefix. Allowed names win over removed ones.
type headerRules struct {
	remove, removePrefix, allow, allowPrefix []string
}

func newHeaderRules(remove, allow []string) headerRules {
	var r headerRules
	split := func(names []string, exact, prefix *[]string) {
		for _, n := range names {
			n = strings.ToLower(strings.ReplaceAll(n, "_", "-"))
			if p, ok := strings.CutSuffix(n, "*"); ok {
				*prefix = append(*prefix, p)
			} else {
				*exact = append(*exact, n)
			}
		}
	}
	split(remove, &r.remove, &r.removePrefix)
	split(allow, &r.allow, &r.allowPrefix)
	return r
}

func (r headerRules) drops(name string) bool {
	n := strings.ToLower(strings.ReplaceAll(name, "_", "-"))
	hasPrefix := func(ps []string) bool {
		return slices.ContainsFunc(ps, func(p string) bool { return strings.HasPrefix(n, p) })
	}
	if slices.Contains(r.allow, n) || hasPrefix(r.allowPrefix) {
		return false
	}
	return slices.Contains(r.remove, n) || hasPrefix(r.removePrefix)
}

// strip deletes (with del) the headers of all that the rules drop.
func (r headerRules) strip(all iter.Seq2[[]byte, []byte], del func(string)) {
	var drop []string
	for k := range all {
		if r.drops(string(k)) {
			drop = append(drop, string(k))
		}
	}
	for _, k := range drop {
		del(k)
	}
}

// tempURL is the middleware: a request signed with an account's or
// container's Temp-URL-Key may act on one object (or every object under a
// prefix) without a token until the signature expires.
type tempURL struct {
	cfg                *config.TempURLConfig
	core               proxy.Core
	digests            []string
	incoming, outgoing headerRules
}

// NewTempURL builds tempurl from its config section.
func NewTempURL(env *proxy.Env) (proxy.Middleware, error) {
	c := &env.Config.TempURL
	t := &tempURL{cfg: c, core: env.Core, digests: allowedDigests(c.AllowedDigests),
		incoming: newHeaderRules(c.IncomingRemoveHeaders, c.IncomingAllowHeaders),
		outgoing: newHeaderRules(c.OutgoingRemoveHeaders, c.OutgoingAllowHeaders)}
	env.RegisterInfo("tempurl", t.info)
	return t.middleware, nil
}

func (t *tempURL) info() map[string]any {
	c := t.cfg
	m := map[string]any{
		"methods":                 nonNil(c.Methods),
		"incoming_remove_headers": nonNil(c.IncomingRemoveHeaders),
		"incoming_allow_headers":  nonNil(c.IncomingAllowHeaders),
		"outgoing_remove_headers": nonNil(c.OutgoingRemoveHeaders),
		"outgoing_allow_headers":  nonNil(c.OutgoingAllowHeaders),
	}
	digestInfo(m, c.AllowedDigests)
	return m
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// signedURL is a temp URL's request: its path and parameters.
type signedURL struct {
	method                    string
	account, container, obj   string
	sig, algo                 string // sig in hex
	expires                   int64
	ipRange, prefix, filename string
	hasPrefix, inline         bool
}

func (t *tempURL) middleware(next proxy.Handler) proxy.Handler {
	return func(ctx *fasthttp.RequestCtx) error {
		q := ctx.QueryArgs()
		if string(ctx.Method()) == fasthttp.MethodOptions || (!q.Has("temp_url_sig") && !q.Has("temp_url_expires")) {
			return next(ctx)
		}
		u, ok := t.parse(ctx)
		if !ok {
			return invalid(ctx)
		}
		k, ok := t.verify(ctx, u)
		if !ok {
			return invalid(ctx)
		}
		if err := t.prepare(ctx, u); err != nil {
			return err
		}
		// The signed request and its subrequests reach only what the key signs for.
		proxy.Confine(ctx, k.account, k.container)
		proxy.SetAuthorized(ctx, proxy.AuthorizedRequest)
		proxy.Serve(next)(ctx)
		t.finish(ctx, u)
		return nil
	}
}

// parse reads a temp URL's parameters; false when they cannot be valid.
func (t *tempURL) parse(ctx *fasthttp.RequestCtx) (signedURL, bool) {
	q := ctx.QueryArgs()
	u := signedURL{method: string(ctx.Method()), ipRange: string(q.Peek("temp_url_ip_range")),
		prefix: string(q.Peek("temp_url_prefix")), hasPrefix: q.Has("temp_url_prefix"),
		filename: string(q.Peek("filename")), inline: q.Has("inline")}
	sig := string(q.Peek("temp_url_sig"))
	if q.Has("temp_url_expires") {
		u.expires = parseExpires(string(q.Peek("temp_url_expires")), time.Now())
	}
	if sig == "" || u.expires == 0 {
		return u, false
	}
	var ok bool
	if u.algo, u.sig, ok = splitSignature(sig); !ok || !slices.Contains(t.digests, u.algo) {
		return u, false
	}
	if u.account, u.container, u.obj, ok = tempURLPath(ctx); !ok || !slices.Contains(t.cfg.Methods, u.method) {
		return u, false
	}
	if u.ipRange != "" && !ipInRange(ctx, u.ipRange) {
		return u, false
	}
	if u.hasPrefix && !strings.HasPrefix(u.obj, u.prefix) {
		return u, false
	}
	return u, true
}

// verify finds the key that signed u.
func (t *tempURL) verify(ctx *fasthttp.RequestCtx, u signedURL) (key, bool) {
	signed := "/v1/" + u.account + "/" + u.container + "/" + u.obj
	if u.hasPrefix {
		signed = "prefix:/v1/" + u.account + "/" + u.container + "/" + u.prefix
	}
	methods := []string{u.method}
	if u.method == fasthttp.MethodHead {
		// A URL signed for GET, POST or PUT may HEAD the object too.
		methods = []string{"HEAD", "GET", "POST", "PUT"}
	}
	ks := keys(ctx, t.core, u.account, u.container)
	var found *key
	for _, m := range methods {
		for _, k := range ks {
			want := signHMAC(u.algo, m, u.expires, signed, k.value, u.ipRange)
			if subtle.ConstantTimeCompare([]byte(u.sig), []byte(want)) == 1 && found == nil {
				found = &k
			}
		}
	}
	if found == nil {
		return key{}, false
	}
	return *found, true
}

// prepare makes the request the signed one: no disallowed headers, none
// the incoming rules drop, only the temp URL's own parameters, no token.
func (t *tempURL) prepare(ctx *fasthttp.RequestCtx, u signedURL) error {
	if u.method != fasthttp.MethodGet && u.method != fasthttp.MethodHead {
		for _, h := range disallowedHeaders {
			if ctx.Request.Header.Peek(h) != nil {
				return proxy.Errorf(fasthttp.StatusBadRequest, "The header '%s' is not allowed in this tempurl", h)
			}
		}
	}
	t.incoming.strip(ctx.Request.Header.All(), ctx.Request.Header.Del)
	q := ctx.QueryArgs()
	qs := url.Values{"temp_url_sig": {string(q.Peek("temp_url_sig"))}, "temp_url_expires": {strconv.FormatInt(u.expires, 10)}}
	if u.hasPrefix {
		qs.Set("temp_url_prefix", u.prefix)
	}
	if u.filename != "" {
		qs.Set("filename", u.filename)
	}
	ctx.URI().SetQueryString(qs.Encode())
	ctx.Request.Header.Del("X-Auth-Token")
	ctx.Request.Header.Del("X-Storage-Token")
	return nil
}

// finish filters the response's headers and, for a read, sets its
// Content-Disposition and Expires.
func (t *tempURL) finish(ctx *fasthttp.RequestCtx, u signedURL) {
	resp := &ctx.Response.Header
	t.outgoing.strip(resp.All(), resp.Del)
	if (u.method != fasthttp.MethodGet && u.method != fasthttp.MethodHead) || ctx.Response.StatusCode()/100 != 2 {
		return
	}
	existing := string(resp.Peek("Content-Disposition"))
	var disp string
	switch {
	case u.inline && u.filename != "":
		disp = dispositionFormat("inline", u.filename)
	case u.inline:
		disp = "inline"
	case u.filename != "":
		disp = dispositionFormat("attachment", u.filename)
	case existing != "":
		disp = existing
	default:
		disp = dispositionFormat("attachment", path.Base("/"+strings.TrimRight(u.account+"/"+u.container+"/"+u.obj, "/")))
	}
	resp.Del("Content-Disposition")
	resp.Set("Content-Disposition", strings.ReplaceAll(disp, "\n", "%0A"))
	resp.Set("Expires", time.Unix(u.expires, 0).UTC().Format("Mon, 02 Jan 2006 15:04:05 GMT"))
}

// parseExpires reads temp_url_expires: Unix seconds or ISO 8601
// (2006-01-02T15:04:05Z); unreadable or past is 0.
func parseExpires(v string, now time.Time) int64 {
	n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	if err != nil {
		t, terr := time.Parse("2006-01-02T15:04:05Z", v)
		if terr != nil {
			return 0
		}
		n = t.Unix()
	}
	if float64(n) < float64(now.UnixNano())/1e9 {
		return 0
	}
	return n
}

// tempURLPath returns the decoded account, container and object of a
// /v1/a/c/o request with a non-empty object name.
func tempURLPath(ctx *fasthttp.RequestCtx) (a, c, o string, ok bool) {
	raw := string(ctx.Request.Header.RequestURI())
	if i := strings.IndexByte(raw, '?'); i >= 0 {
		raw = raw[:i]
	}
	p, err := url.PathUnescape(raw)
	if err != nil || !strings.HasPrefix(p, "/") {
		return "", "", "", false
	}
	parts := strings.SplitN(p[1:], "/", 4)
	if len(parts) < 4 || parts[0] != "v1" || parts[1] == "" || parts[2] == "" || strings.Trim(parts[3], "/") == "" {
		return "", "", "", false
	}
	return parts[1], parts[2], parts[3], true
}

// invalid is tempurl's 401.
func invalid(ctx *fasthttp.RequestCtx) error {
	a, _, _, _ := tempURLPath(ctx)
	if a == "" {
		if parts := strings.SplitN(strings.TrimPrefix(string(ctx.Path()), "/"), "/", 3); len(parts) >= 2 {
			a = parts[1]
		}
	}
	if string(ctx.Method()) == fasthttp.MethodHead {
		return proxy.UnauthorizedError(a) // the default body's length, as Swift's
	}
	return proxy.UnauthorizedBody(a, "401 Unauthorized: Temp URL invalid\n")
}

// ipInRange reports whether the client is in cidr (a network with no
// host bits set, or one address), as Python's ip_network reads it.
func ipInRange(ctx *fasthttp.RequestCtx, cidr string) bool {
	client, ok := netip.AddrFromSlice(ctx.RemoteIP())
	if !ok {
		return false
	}
	client = client.Unmap()
	var pfx netip.Prefix
	if strings.Contains(cidr, "/") {
		var err error
		if pfx, err = netip.ParsePrefix(cidr); err != nil || pfx.Masked() != pfx {
			return false
		}
	} else {
		a, err := netip.ParseAddr(cidr)
		if err != nil {
			return false
		}
		pfx = netip.PrefixFrom(a, a.BitLen())
	}
	return pfx.Contains(client)
}

// dispositionFormat is tempurl's Content-Disposition with both the quoted
// filename and the RFC 5987 filename*.
func dispositionFormat(kind, filename string) string {
	return kind + `; filename="` + pyfmt.QuoteSafe(filename, " /") + `"; filename*=UTF-8''` + pyfmt.QuoteSafe(filename, "/")
}
