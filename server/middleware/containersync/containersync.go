// Package containersync is Swift's container_sync middleware, as Swift
// 2.30.1 has it: a container's X-Container-Sync-To names a target
// container (a realm value //realm/cluster/account/container resolved
// through the realms config, or a full URL to an allowed host) and
// X-Container-Sync-Key a secret both containers share. The container-sync
// daemon (server/daemon/containersync) pushes each change to the target
// with the object's own X-Timestamp; the target's middleware (or, for full
// URLs, the X-Container-Sync-Key check) authorizes those requests without
// a token.
package containersync

import (
	"crypto/subtle"
	"net/url"
	"strings"

	"github.com/valyala/fasthttp"

	"swiftbox/config"
	syncd "swiftbox/server/daemon/containersync"
	"swiftbox/server/proxy"
	"swiftbox/server/pyfmt"
)

// Filter is the middleware's place in the pipeline.
func Filter() proxy.Filter { return proxy.Filter{Name: "container_sync", New: New} }

type middleware struct {
	cfg  *config.ContainerSyncConfig // read at each request
	core proxy.Core
}

// New builds the middleware, registers its /info entry and the check of
// X-Container-Sync-To on container PUT and POST.
func New(env *proxy.Env) (proxy.Middleware, error) {
	m := &middleware{cfg: &env.Config.ContainerSync, core: env.Core}
	env.RegisterInfo("container_sync", m.info)
	env.RegisterContainerCheck(m.checkSyncTo)
	return m.wrap, nil
}

// checkSyncTo validates a container PUT/POST's X-Container-Sync-To as
// Swift's container server does (400 with its message).
func (m *middleware) checkSyncTo(r *proxy.Request) error {
	if !r.HasHeader("X-Container-Sync-To") {
		return nil
	}
	if msg, _, _, _ := syncd.ValidateSyncTo(*m.cfg, r.Header("X-Container-Sync-To")); msg != "" {
		return proxy.Errorf(fasthttp.StatusBadRequest, "%s", msg)
	}
	return nil
}

// wrap is Swift's container_sync middleware, plus the sync-key check
// tempauth makes for full-URL sync: a request whose signature (or key)
// matches the target container's sync key is authorized and keeps its
// X-Timestamp.
func (m *middleware) wrap(next proxy.Handler) proxy.Handler {
	return func(ctx *fasthttp.RequestCtx) error {
		h := &ctx.Request.Header
		if h.Peek("X-Container-Sync-To") == nil && h.Peek("X-Container-Sync-Auth") == nil && h.Peek("X-Container-Sync-Key") == nil {
			return next(ctx) // the common case: nothing to look at
		}
		version, account, container, object, err := proxy.SplitPath(ctx)
		if err != nil || (version != "v1" && version != "v1.0") || container == "" {
			return next(ctx)
		}
		method := string(ctx.Method())
		syncTo := h.Peek("X-Container-Sync-To")
		if object == "" && len(syncTo) > 0 && (method == fasthttp.MethodPut || method == fasthttp.MethodPost) {
			if info, err := m.core.ContainerInfo(ctx, account, container); err == nil && syncd.VersioningConfigured(info.Metadata) {
				return proxy.Errorf(fasthttp.StatusBadRequest, "Cannot configure container sync on a container with object versioning configured.")
			}
		}
		if !m.cfg.AllowFullURLs && len(syncTo) > 0 && !strings.HasPrefix(string(syncTo), "//") {
			return proxy.Errorf(fasthttp.StatusBadRequest, "Full URLs are not allowed for X-Container-Sync-To values. Only realm values of the format //realm/cluster/account/container are allowed.\n")
		}
		rawAuth := h.Peek("X-Container-Sync-Auth")
		auth := strings.Fields(string(rawAuth))
		key := h.Peek("X-Container-Sync-Key")
		if object == "" || (rawAuth == nil && len(key) == 0) {
			return next(ctx)
		}
		inbound := proxy.InboundTimestamp(ctx)
		var userKey string
		if info, err := m.core.ContainerInfo(ctx, account, container); err == nil {
			userKey = info.Metadata["X-Container-Sync-Key"].Value
		}
		if rawAuth != nil {
			if !m.validSyncAuth(ctx, auth, inbound, userKey) {
				ctx.Response.Header.Set("Www-Authenticate", "SwiftContainerSync realm=\""+pyfmt.Quote(account)+"\"")
				ctx.Response.Header.SetContentType("text/plain")
				ctx.SetStatusCode(fasthttp.StatusUnauthorized)
				ctx.SetBodyString("X-Container-Sync-Auth header not valid; contact cluster operator for support.")
				return nil
			}
		} else if userKey == "" || inbound == "" || subtle.ConstantTimeCompare(key, []byte(userKey)) != 1 ||
			(method != fasthttp.MethodPut && method != fasthttp.MethodDelete && method != fasthttp.MethodHead) {
			// tempauth's check fails (Swift's proxy offers the key for
			// object PUT and DELETE; the daemon's HEAD needs it too): the
			// request goes on to normal auth.
			return next(ctx)
		}
		if inbound != "" {
			ctx.Request.Header.Set("X-Timestamp", inbound)
		}
		proxy.SetAuthorized(ctx, proxy.AuthorizedRequest)
		proxy.SetSyncOverride(ctx)
		return next(ctx)
	}
}

func (m *middleware) validSyncAuth(ctx *fasthttp.RequestCtx, auth []string, inbound, userKey string) bool {
	if len(auth) != 3 || userKey == "" {
		return false
	}
	r, ok := m.cfg.Realms[strings.ToUpper(auth[0])]
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
		if subtle.ConstantTimeCompare([]byte(auth[2]), []byte(syncd.Sig(method, path, ts, auth[1], rk, userKey))) == 1 {
			return true
		}
	}
	return false
}

// info is the /info entry Swift registers: the realms and their clusters,
// the current one marked.
func (m *middleware) info() map[string]any {
	cs := m.cfg
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
