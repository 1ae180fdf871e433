package proxy

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"net/url"
	"strings"

	"swiftbox/server/pyfmt"

	"github.com/valyala/fasthttp"
)

// Container sync, as Swift 2.30.1 has it: a container's X-Container-Sync-To
// names a target container (a realm value //realm/cluster/account/container
// resolved through the realms config, or a full URL to an allowed host) and
// X-Container-Sync-Key a secret both containers share. The container-sync
// daemon pushes each change to the target with the object's own
// X-Timestamp; the target's container_sync middleware (or, for full URLs,
// the X-Container-Sync-Key check) authorizes those requests without a token.

// keyInboundTimestamp is where the gatekeeper keeps a client's X-Timestamp
// (Swift's X-Backend-Inbound-X-Timestamp): only a valid sync request gets
// it back.
const keyInboundTimestamp = "swiftbox.inbound_x_timestamp"

// keySyncOverride marks a valid container-sync request: an SLO manifest
// arrives as stored and may come before its segments, so slo takes it as
// it is (Swift's swift.slo_override; keySymlinkOverride is its
// swift.symlink_override for static links).
const keySyncOverride = "swiftbox.sync_override"

func SyncOverride(ctx *fasthttp.RequestCtx) bool { return ctx.UserValue(keySyncOverride) != nil }

// validateSyncTo is Swift's utils.validate_sync_to: an error message, or
// the endpoint to sync to and, for realm values, the realm and its key.
func (p *Proxy) validateSyncTo(value string) (errMsg, endpoint, realm, realmKey string) {
	cs := p.cfg.ContainerSync
	orig := value
	value = strings.TrimRight(value, "/")
	if value == "" {
		return "", "", "", ""
	}
	if strings.HasPrefix(value, "//") {
		data := strings.Split(value[2:], "/")
		if len(data) != 4 {
			return fmt.Sprintf("Invalid X-Container-Sync-To format %s", pyfmt.Repr(orig)), "", "", ""
		}
		r, ok := cs.Realms[strings.ToUpper(data[0])]
		if !ok || r.Key == "" {
			return fmt.Sprintf("No realm key for %s", pyfmt.Repr(data[0])), "", "", ""
		}
		ep := r.Clusters[strings.ToUpper(data[1])]
		if ep == "" {
			return fmt.Sprintf("No cluster endpoint for %s %s", pyfmt.Repr(data[0]), pyfmt.Repr(data[1])), "", "", ""
		}
		return "", strings.TrimRight(ep, "/") + "/" + data[2] + "/" + data[3], strings.ToUpper(data[0]), r.Key
	}
	scheme, rest, _ := strings.Cut(value, ":")
	if !strings.Contains(value, ":") || strings.ContainsAny(scheme, "/?#") {
		scheme = ""
	}
	scheme = strings.ToLower(scheme)
	if scheme != "http" && scheme != "https" {
		return fmt.Sprintf(`Invalid scheme %s in X-Container-Sync-To, must be "//", "http", or "https".`, pyfmt.Repr(scheme)), "", "", ""
	}
	u, err := url.Parse(value)
	if err != nil {
		return "Path required in X-Container-Sync-To", "", "", ""
	}
	path := u.EscapedPath()
	params := false
	if i := strings.LastIndexByte(path, '/'); strings.Contains(path[max(i, 0):], ";") {
		params = true
	}
	if !strings.HasPrefix(rest, "//") {
		path = rest // urlparse: no netloc, all path
	}
	if path == "" {
		return "Path required in X-Container-Sync-To", "", "", ""
	}
	if params || u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.Contains(value, "#") {
		return "Params, queries, and fragments not allowed in X-Container-Sync-To", "", "", ""
	}
	host := strings.ToLower(u.Hostname())
	if !newSyncGuard(cs).allowsURL(u) {
		h := "None"
		if host != "" {
			h = pyfmt.Repr(host)
			if u.Port() != "" {
				h = pyfmt.Repr(strings.ToLower(u.Host))
			}
		}
		return fmt.Sprintf("Invalid host %s in X-Container-Sync-To", h), "", "", ""
	}
	return "", value, "", ""
}

// checkSyncTo validates a container PUT/POST's X-Container-Sync-To as
// Swift's container server does (400 with its message).
func (p *Proxy) checkSyncTo(r *Request) error {
	if !r.HasHeader("X-Container-Sync-To") {
		return nil
	}
	if msg, _, _, _ := p.validateSyncTo(r.Header("X-Container-Sync-To")); msg != "" {
		return Errorf(fasthttp.StatusBadRequest, "%s", msg)
	}
	return nil
}

// syncSig is ContainerSyncRealms.get_sig: the HMAC-SHA1 of method, path,
// X-Timestamp, nonce and the container's key under the realm key.
func syncSig(method, path, xTimestamp, nonce, realmKey, userKey string) string {
	m := hmac.New(sha1.New, []byte(realmKey))
	fmt.Fprintf(m, "%s\n%s\n%s\n%s\n%s", method, path, xTimestamp, nonce, userKey)
	return hex.EncodeToString(m.Sum(nil))
}

// containerSync is Swift's container_sync middleware, plus the sync-key
// check tempauth makes for full-URL sync: a request whose signature (or
// key) matches the target container's sync key is authorized and keeps
// its X-Timestamp.
func (p *Proxy) containerSync(next fasthttp.RequestHandler) fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) {
		h := &ctx.Request.Header
		if h.Peek("X-Container-Sync-To") == nil && h.Peek("X-Container-Sync-Auth") == nil && h.Peek("X-Container-Sync-Key") == nil {
			next(ctx) // the common case: nothing to look at
			return
		}
		version, account, container, object, err := SplitPath(ctx)
		if err != nil || (version != "v1" && version != "v1.0") || container == "" {
			next(ctx)
			return
		}
		method := string(ctx.Method())
		syncTo := h.Peek("X-Container-Sync-To")
		if object == "" && len(syncTo) > 0 && (method == fasthttp.MethodPut || method == fasthttp.MethodPost) {
			if info, err := p.ContainerInfo(ctx, account, container); err == nil && info.Metadata[ovContSys].Value != "" {
				WriteStatus(ctx, fasthttp.StatusBadRequest, "Cannot configure container sync on a container with object versioning configured.")
				return
			}
		}
		if !p.cfg.ContainerSync.AllowFullURLs && len(syncTo) > 0 && !strings.HasPrefix(string(syncTo), "//") {
			WriteStatus(ctx, fasthttp.StatusBadRequest, "Full URLs are not allowed for X-Container-Sync-To values. Only realm values of the format //realm/cluster/account/container are allowed.\n")
			return
		}
		rawAuth := h.Peek("X-Container-Sync-Auth")
		auth := strings.Fields(string(rawAuth))
		key := h.Peek("X-Container-Sync-Key")
		if object == "" || (rawAuth == nil && len(key) == 0) {
			next(ctx)
			return
		}
		inbound, _ := ctx.UserValue(keyInboundTimestamp).(string)
		var userKey string
		if info, err := p.ContainerInfo(ctx, account, container); err == nil {
			userKey = info.Metadata["X-Container-Sync-Key"].Value
		}
		if rawAuth != nil {
			if !p.validSyncAuth(ctx, auth, inbound, userKey) {
				ctx.Response.Header.Set("Www-Authenticate", "SwiftContainerSync realm=\""+pyfmt.Quote(account)+"\"")
				ctx.Response.Header.SetContentType("text/plain")
				ctx.SetStatusCode(fasthttp.StatusUnauthorized)
				ctx.SetBodyString("X-Container-Sync-Auth header not valid; contact cluster operator for support.")
				return
			}
		} else if userKey == "" || inbound == "" || subtle.ConstantTimeCompare(key, []byte(userKey)) != 1 ||
			(method != fasthttp.MethodPut && method != fasthttp.MethodDelete && method != fasthttp.MethodHead) {
			// tempauth's check fails (Swift's proxy offers the key for
			// object PUT and DELETE; the daemon's HEAD needs it too): the
			// request goes on to normal auth.
			next(ctx)
			return
		}
		if inbound != "" {
			ctx.Request.Header.Set("X-Timestamp", inbound)
		}
		SetAuthorized(ctx, AuthorizedRequest)
		ctx.SetUserValue(keySyncOverride, true)
		ctx.SetUserValue(keySymlinkOverride, true)
		next(ctx)
	}
}

func (p *Proxy) validSyncAuth(ctx *fasthttp.RequestCtx, auth []string, inbound, userKey string) bool {
	if len(auth) != 3 || userKey == "" {
		return false
	}
	r, ok := p.cfg.ContainerSync.Realms[strings.ToUpper(auth[0])]
	if !ok || r.Key == "" {
		return false
	}
	ts := inbound
	if ts == "" {
		ts = "0"
	}
	// Swift signs req.path: the quoted PATH_INFO, "//" and ".." kept.
	raw, _, _ := strings.Cut(string(ctx.Request.Header.RequestURI()), "?")
	dec, err := url.PathUnescape(raw)
	if err != nil {
		return false
	}
	path := pyfmt.Quote(dec)
	method := string(ctx.Method())
	for _, rk := range []string{r.Key, r.Key2} {
		if rk == "" {
			continue
		}
		if subtle.ConstantTimeCompare([]byte(auth[2]), []byte(syncSig(method, path, ts, auth[1], rk, userKey))) == 1 {
			return true
		}
	}
	return false
}

// containerSyncInfo is the /info entry Swift registers: the realms and
// their clusters, the current one marked.
func (p *Proxy) containerSyncInfo() map[string]any {
	cs := p.cfg.ContainerSync
	realms := map[string]any{}
	cur := strings.Split(strings.Trim(strings.ToUpper(cs.Current), "/"), "/")
	for name, r := range cs.Realms {
		if len(r.Clusters) == 0 {
			continue
		}
		clusters := map[string]any{}
		for c := range r.Clusters {
			m := map[string]any{}
			if len(cur) == 2 && cur[0] == name && cur[1] == c {
				m["current"] = true
			}
			clusters[c] = m
		}
		realms[name] = map[string]any{"clusters": clusters}
	}
	return map[string]any{"realms": realms}
}
