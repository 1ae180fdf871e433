// Package versioning is Swift's two versioning middlewares: legacy
// versioned writes (X-Versions-Location, X-History-Location) and object
// versioning (X-Versions-Enabled). Both read a container's info on every
// object request: they share one short-lived cache of it, and the
// claims of writes that archived an object's current version.
package versioning

import (
	"net/url"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"swiftbox/config"
	"swiftbox/server/proxy"
	"swiftbox/storage/db"
)

// Filters are the versioned_writes and object_versioning filters of one
// proxy, sharing their state.
func Filters() []proxy.Filter {
	s := &state{}
	return []proxy.Filter{
		{Name: "versioned_writes", New: func(env *proxy.Env) (proxy.Middleware, error) {
			s.init(env)
			if !env.Config.Versioning.AllowVersionedWrites {
				return pass, nil
			}
			env.RegisterInfo("versioned_writes", func() map[string]any {
				return map[string]any{"allowed_flags": []string{"x-versions-location", "x-history-location"}}
			})
			return s.versionedWrites, nil
		}},
		{Name: "object_versioning", New: func(env *proxy.Env) (proxy.Middleware, error) {
			s.init(env)
			if !env.Config.Versioning.AllowObjectVersioning {
				return pass, nil
			}
			env.RegisterInfo("object_versioning", func() map[string]any { return map[string]any{} })
			return s.objectVersioning, nil
		}},
	}
}

func pass(next proxy.Handler) proxy.Handler { return next }

// state is what the two middlewares of one proxy share.
type state struct {
	core   proxy.Core
	limits config.ConstraintsConfig
	claims archiveClaims
	infos  *proxy.TTLCache[infoResult]
}

func (s *state) init(env *proxy.Env) {
	if s.core != nil {
		return
	}
	s.core = env.Core
	s.limits = env.Config.Constraints
	s.infos = proxy.NewTTLCache[infoResult](infoCacheTTL)
}

// infoCacheTTL bounds how stale the cached info may be when another node
// changed the container.
const infoCacheTTL = 5 * time.Second

type infoResult struct {
	info db.ContainerInfo
	err  error
}

const keyInfo = "swiftbox.versioning_info"

// containerInfo is the container's info for the versioning middlewares,
// read once per request (legacy versioning and object versioning both look
// at it) and kept a few seconds, as Swift keeps container info in memcache;
// container writes through this proxy forget it at once.
func (s *state) containerInfo(ctx *fasthttp.RequestCtx, account, container string) (db.ContainerInfo, error) {
	type memo struct {
		a, c string
		infoResult
	}
	if v, ok := ctx.UserValue(keyInfo).(*memo); ok && v.a == account && v.c == container {
		return v.info, v.err
	}
	key := account + "/" + container
	r, ok := s.infos.Get(key)
	if !ok {
		r.info, r.err = s.core.ContainerInfo(ctx, account, container)
		if r.err == nil || proxy.NotFound(r.err) {
			s.infos.Put(key, r)
		}
	}
	ctx.SetUserValue(keyInfo, &memo{account, container, r})
	return r.info, r.err
}

// VersionsBytesUsed is what a container's hidden versions take, counted
// in its bytes used as Swift's container info shows them (quotas see it).
func VersionsBytesUsed(ctx *fasthttp.RequestCtx, env *proxy.Env, account string, info db.ContainerInfo) int64 {
	if !env.Config.Versioning.AllowObjectVersioning {
		return 0
	}
	vc, _ := url.PathUnescape(info.Metadata[ovContSys].Value)
	if vc, _, _ = strings.Cut(vc, "/"); vc == "" {
		return 0
	}
	vinfo, err := env.Core.ReadContainerInfo(ctx, account, vc, true)
	if err != nil {
		return 0
	}
	return vinfo.BytesUsed
}

func isSuccess(code int) bool { return code >= 200 && code < 300 }

// plainError is a Swift HTTPException with a text/plain body.
func plainError(status int, body string) error {
	return proxy.ErrorWithType(status, "text/plain", body)
}

// resetResponse clears a response for a new answer, keeping the
// transaction id.
func resetResponse(ctx *fasthttp.RequestCtx) {
	tid := string(ctx.Response.Header.Peek("X-Trans-Id"))
	ctx.Response.CloseBodyStream()
	ctx.Response.Reset()
	if tid != "" {
		ctx.Response.Header.Set("X-Trans-Id", tid)
		ctx.Response.Header.Set("X-Openstack-Request-Id", tid)
	}
}
