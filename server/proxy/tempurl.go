package proxy

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"hash"
	"net/netip"
	"net/url"
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"swiftbox/server/pyfmt"

	"github.com/valyala/fasthttp"

	"swiftbox/storage/db"
)

// Temp URLs (Swift's tempurl middleware): a request signed with an
// account's or container's Temp-URL-Key may act on one object (or every
// object under a prefix) without a token until the signature expires.

// tempURLDisallowed are headers a signed write may not carry: they would
// let the signer's object point at data the URL does not grant.
var tempURLDisallowed = []string{"X-Object-Manifest", "X-Symlink-Target"}

// keyTempURLScope limits a signed request and its subrequests to the
// account ("a") or container ("a/c") whose key signed it.
const keyTempURLScope = "swiftbox.tempurl_scope"

func init() { inheritedKeys = append(inheritedKeys, keyTempURLScope) }

type tempURLScope struct{ account, container string }

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

// allowedDigests is Swift's get_allowed_digests: the supported ones of
// the configured names (all when none), sorted.
func allowedDigests(conf []string) []string {
	set := map[string]bool{}
	for _, d := range conf {
		d = strings.ToLower(d)
		if d == "sha1" || d == "sha256" || d == "sha512" {
			set[d] = true
		}
	}
	if len(conf) == 0 {
		set = map[string]bool{"sha1": true, "sha256": true, "sha512": true}
	}
	out := make([]string, 0, len(set))
	for d := range set {
		out = append(out, d)
	}
	sort.Strings(out)
	return out
}

func digestInfo(m map[string]any, conf []string) {
	digests := allowedDigests(conf)
	m["allowed_digests"] = digests
	if slices.Contains(digests, "sha1") {
		m["deprecated_digests"] = []string{"sha1"}
	}
}

func (p *Proxy) tempURLInfo() map[string]any {
	c := p.cfg.TempURL
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

func digestHash(name string) func() hash.Hash {
	switch name {
	case "sha1":
		return sha1.New
	case "sha256":
		return sha256.New
	case "sha512":
		return sha512.New
	}
	return nil
}

// splitSignature is Swift's extract_digest_and_algorithm: a hex digest
// whose length names the algorithm, or "<algo>:<base64 digest>" (URL-safe
// alphabet accepted), returned as the algorithm and the hex digest.
func splitSignature(sig string) (algo, hexSig string, ok bool) {
	if a, v, found := strings.Cut(sig, ":"); found {
		if strings.ContainsAny(v, "-_") && !strings.ContainsAny(v, "+/") {
			v = strings.NewReplacer("-", "+", "_", "/").Replace(v)
		}
		raw, err := base64.RawStdEncoding.DecodeString(strings.TrimRight(v, "="))
		if err != nil {
			return "", "", false
		}
		return a, hex.EncodeToString(raw), true
	}
	if _, err := hex.DecodeString(sig); err != nil {
		return "", "", false
	}
	switch len(sig) {
	case 40:
		return "sha1", sig, true
	case 64:
		return "sha256", sig, true
	case 128:
		return "sha512", sig, true
	}
	return "", "", false
}

// signHMAC is Swift's get_hmac: the hex HMAC of "[ip=<range>\n]<method>\n<expires>\n<path>".
func signHMAC(algo, method string, expires int64, path, key, ipRange string) string {
	msg := method + "\n" + strconv.FormatInt(expires, 10) + "\n" + path
	if ipRange != "" {
		msg = "ip=" + ipRange + "\n" + msg
	}
	m := hmac.New(digestHash(algo), []byte(key))
	m.Write([]byte(msg))
	return hex.EncodeToString(m.Sum(nil))
}

// tempURLKeys are the Temp-URL-Key and Temp-URL-Key-2 values of metadata.
func tempURLKeys(meta db.Metadata, kind string) []string {
	var keys []string
	for _, n := range []string{"X-" + kind + "-Meta-Temp-Url-Key", "X-" + kind + "-Meta-Temp-Url-Key-2"} {
		for k, v := range meta {
			if strings.EqualFold(k, n) && v.Value != "" {
				keys = append(keys, v.Value)
			}
		}
	}
	return keys
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

// tempURLInvalid is tempurl's 401.
func tempURLInvalid(ctx *fasthttp.RequestCtx) {
	a, _, _, _ := tempURLPath(ctx)
	if a == "" {
		if parts := strings.SplitN(strings.TrimPrefix(string(ctx.Path()), "/"), "/", 3); len(parts) >= 2 {
			a = parts[1]
		}
	}
	Unauthorized(ctx, a)
	if string(ctx.Method()) != fasthttp.MethodHead {
		ctx.SetBodyString("401 Unauthorized: Temp URL invalid\n")
	}
}

// tempURL is the middleware.
func (p *Proxy) tempURL(next fasthttp.RequestHandler) fasthttp.RequestHandler {
	c := p.cfg.TempURL
	digests := allowedDigests(c.AllowedDigests)
	incoming := newHeaderRules(c.IncomingRemoveHeaders, c.IncomingAllowHeaders)
	outgoing := newHeaderRules(c.OutgoingRemoveHeaders, c.OutgoingAllowHeaders)
	return func(ctx *fasthttp.RequestCtx) {
		method := string(ctx.Method())
		q := ctx.QueryArgs()
		if method == fasthttp.MethodOptions || (!q.Has("temp_url_sig") && !q.Has("temp_url_expires")) {
			next(ctx)
			return
		}
		sig := string(q.Peek("temp_url_sig"))
		var expires int64
		if q.Has("temp_url_expires") {
			expires = parseExpires(string(q.Peek("temp_url_expires")), time.Now())
		}
		if sig == "" || expires == 0 {
			tempURLInvalid(ctx)
			return
		}
		algo, sig, ok := splitSignature(sig)
		if !ok || !slices.Contains(digests, algo) {
			tempURLInvalid(ctx)
			return
		}
		account, container, object, ok := tempURLPath(ctx)
		if !ok || !slices.Contains(c.Methods, method) {
			tempURLInvalid(ctx)
			return
		}
		ipRange := string(q.Peek("temp_url_ip_range"))
		if q.Has("temp_url_ip_range") && ipRange != "" && !ipInRange(ctx, ipRange) {
			tempURLInvalid(ctx)
			return
		}
		var keys []tempURLKey
		if info, err := p.AccountInfo(account); err == nil {
			for _, k := range tempURLKeys(info.Metadata, "Account") {
				keys = append(keys, tempURLKey{k, tempURLScope{account: account}})
			}
		}
		if info, err := p.ContainerInfo(ctx, account, container); err == nil {
			for _, k := range tempURLKeys(info.Metadata, "Container") {
				keys = append(keys, tempURLKey{k, tempURLScope{account: account, container: container}})
			}
		}
		if len(keys) == 0 {
			tempURLInvalid(ctx)
			return
		}
		signed := "/v1/" + account + "/" + container + "/" + object
		prefix, hasPrefix := string(q.Peek("temp_url_prefix")), q.Has("temp_url_prefix")
		if hasPrefix {
			if !strings.HasPrefix(object, prefix) {
				tempURLInvalid(ctx)
				return
			}
			signed = "prefix:/v1/" + account + "/" + container + "/" + prefix
		}
		methods := []string{method}
		if method == fasthttp.MethodHead {
			// A URL signed for GET, POST or PUT may HEAD the object too.
			methods = []string{"HEAD", "GET", "POST", "PUT"}
		}
		var scope *tempURLScope
		for _, m := range methods {
			for _, k := range keys {
				want := signHMAC(algo, m, expires, signed, k.key, ipRange)
				if subtle.ConstantTimeCompare([]byte(sig), []byte(want)) == 1 && scope == nil {
					s := k.scope
					scope = &s
				}
			}
		}
		if scope == nil {
			tempURLInvalid(ctx)
			return
		}
		if method != fasthttp.MethodGet && method != fasthttp.MethodHead {
			for _, h := range tempURLDisallowed {
				if ctx.Request.Header.Peek(h) != nil {
					WriteStatus(ctx, fasthttp.StatusBadRequest, "The header '"+h+"' is not allowed in this tempurl")
					return
				}
			}
		}
		var drop []string
		for k := range ctx.Request.Header.All() {
			if incoming.drops(string(k)) {
				drop = append(drop, string(k))
			}
		}
		for _, k := range drop {
			ctx.Request.Header.Del(k)
		}
		filename, inline := string(q.Peek("filename")), q.Has("inline")
		hasFilename := filename != ""
		// The signed request sees only the temp URL's own parameters.
		qs := url.Values{"temp_url_sig": {string(q.Peek("temp_url_sig"))}, "temp_url_expires": {strconv.FormatInt(expires, 10)}}
		if hasPrefix {
			qs.Set("temp_url_prefix", prefix)
		}
		if hasFilename {
			qs.Set("filename", filename)
		}
		ctx.URI().SetQueryString(qs.Encode())
		ctx.Request.Header.Del("X-Auth-Token")
		ctx.Request.Header.Del("X-Storage-Token")
		ctx.SetUserValue(keyTempURLScope, scope)
		SetAuthorized(ctx, AuthorizedRequest)

		next(ctx)

		resp := &ctx.Response.Header
		drop = drop[:0]
		for k := range resp.All() {
			if outgoing.drops(string(k)) {
				drop = append(drop, string(k))
			}
		}
		for _, k := range drop {
			resp.Del(k)
		}
		if (method == fasthttp.MethodGet || method == fasthttp.MethodHead) && ctx.Response.StatusCode()/100 == 2 {
			existing := string(resp.Peek("Content-Disposition"))
			var disp string
			switch {
			case inline && hasFilename:
				disp = dispositionFormat("inline", filename)
			case inline:
				disp = "inline"
			case hasFilename:
				disp = dispositionFormat("attachment", filename)
			case existing != "":
				disp = existing
			default:
				disp = dispositionFormat("attachment", path.Base("/"+strings.TrimRight(account+"/"+container+"/"+object, "/")))
			}
			resp.Del("Content-Disposition")
			resp.Set("Content-Disposition", strings.ReplaceAll(disp, "\n", "%0A"))
			resp.Set("Expires", time.Unix(expires, 0).UTC().Format("Mon, 02 Jan 2006 15:04:05 GMT"))
		}
	}
}

type tempURLKey struct {
	key   string
	scope tempURLScope
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

// tempURLScopeDenies reports whether ctx is a signed request (or one of
// its subrequests) reaching outside the account or container that signed
// it: Swift answers 401.
func tempURLScopeDenies(ctx *fasthttp.RequestCtx, account, container string) bool {
	s, _ := ctx.UserValue(keyTempURLScope).(*tempURLScope)
	if s == nil {
		return false
	}
	return account != s.account || s.container != "" && container != s.container
}

// signHMACRaw is the hex HMAC of msg with key.
func signHMACRaw(algo, key, msg string) string {
	m := hmac.New(digestHash(algo), []byte(key))
	m.Write([]byte(msg))
	return hex.EncodeToString(m.Sum(nil))
}
