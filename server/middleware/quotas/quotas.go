// Package quotas is Swift's container_quotas and account_quotas: object
// PUTs that would take a container past X-Container-Meta-Quota-Bytes or
// -Quota-Count, or an account past X-Account-Meta-Quota-Bytes (which only
// reseller admins may set), get 413. They sit after copy, so a copy's
// PUT is measured like any upload.
package quotas

import (
	"strconv"

	"github.com/valyala/fasthttp"

	"swiftbox/keystone"
	"swiftbox/server/middleware/versioning"
	"swiftbox/server/proxy"
)

const quotaExceeded = "Upload exceeds quota."

// Filters are the container_quotas and account_quotas filters.
func Filters() []proxy.Filter {
	return []proxy.Filter{{Name: "container_quotas", New: NewContainer}, {Name: "account_quotas", New: NewAccount}}
}

// quotaPath is split_path(2, 4, rest_with_last) of the request, decoded.
func quotaPath(ctx *fasthttp.RequestCtx) (account, container, object string, ok bool) {
	_, a, c, o, err := proxy.SplitPath(ctx)
	return a, c, o, err == nil && a != ""
}

// denyOr413 refuses an upload past a quota as the core would refuse the
// request when the user may not write at all, else with 413.
func denyOr413(core proxy.Core, ctx *fasthttp.RequestCtx, a, c, o string) error {
	switch core.Decide(ctx, a, c, o) {
	case keystone.Unauthorized:
		return proxy.UnauthorizedError(a)
	case keystone.Forbidden:
		return proxy.Errorf(fasthttp.StatusForbidden, "")
	}
	return proxy.Errorf(fasthttp.StatusRequestEntityTooLarge, quotaExceeded)
}

func requestLength(ctx *fasthttp.RequestCtx) int64 {
	if n := ctx.Request.Header.ContentLength(); n > 0 {
		return int64(n)
	}
	return 0
}

// NewContainer builds container_quotas.
func NewContainer(env *proxy.Env) (proxy.Middleware, error) {
	env.RegisterInfo("container_quotas", func() map[string]any { return map[string]any{} })
	core := env.Core
	return func(next proxy.Handler) proxy.Handler {
		return func(ctx *fasthttp.RequestCtx) error {
			method := string(ctx.Method())
			if method != fasthttp.MethodPut && method != fasthttp.MethodPost {
				return next(ctx)
			}
			a, c, o, ok := quotaPath(ctx)
			if !ok || c == "" {
				return next(ctx)
			}
			switch {
			case o == "":
				if v := string(ctx.Request.Header.Peek("X-Container-Meta-Quota-Bytes")); v != "" && !proxy.IsDigits(v) {
					return proxy.Errorf(fasthttp.StatusBadRequest, "Invalid bytes quota.")
				}
				if v := string(ctx.Request.Header.Peek("X-Container-Meta-Quota-Count")); v != "" && !proxy.IsDigits(v) {
					return proxy.Errorf(fasthttp.StatusBadRequest, "Invalid count quota.")
				}
			case method == fasthttp.MethodPut:
				if over(env, ctx, a, c) {
					return denyOr413(core, ctx, a, c, o)
				}
			}
			return next(ctx)
		}
	}, nil
}

// over reports whether an object PUT would take container c past a quota.
func over(env *proxy.Env, ctx *fasthttp.RequestCtx, a, c string) bool {
	info, err := env.Core.ContainerInfo(ctx, a, c)
	if err != nil {
		return false
	}
	_, hasBytes := proxy.MetaValue(info.Metadata, "X-Container-Meta-Quota-Bytes")
	_, hasCount := proxy.MetaValue(info.Metadata, "X-Container-Meta-Quota-Count")
	if !hasBytes && !hasCount {
		return false // the common case: no quota, and pending counts stay batched
	}
	if info, err = env.Core.ReadContainerInfo(ctx, a, c, true); err != nil {
		return false
	}
	info.BytesUsed += versioning.VersionsBytesUsed(ctx, env, a, info)
	if q, ok := proxy.MetaValue(info.Metadata, "X-Container-Meta-Quota-Bytes"); ok && proxy.IsDigits(q) {
		limit, _ := strconv.ParseInt(q, 10, 64)
		if limit < info.BytesUsed+requestLength(ctx) {
			return true
		}
	}
	if q, ok := proxy.MetaValue(info.Metadata, "X-Container-Meta-Quota-Count"); ok && proxy.IsDigits(q) {
		limit, _ := strconv.ParseInt(q, 10, 64)
		if limit < info.ObjectCount+1 {
			return true
		}
	}
	return false
}

// NewAccount builds account_quotas.
func NewAccount(env *proxy.Env) (proxy.Middleware, error) {
	env.RegisterInfo("account_quotas", func() map[string]any { return map[string]any{} })
	core := env.Core
	return func(next proxy.Handler) proxy.Handler {
		return func(ctx *fasthttp.RequestCtx) error {
			method := string(ctx.Method())
			if method != fasthttp.MethodPost && method != fasthttp.MethodPut {
				return next(ctx)
			}
			a, c, o, ok := quotaPath(ctx)
			if !ok {
				return next(ctx)
			}
			var newQuota []byte
			if c == "" {
				newQuota = ctx.Request.Header.Peek("X-Account-Meta-Quota-Bytes")
				if len(ctx.Request.Header.Peek("X-Remove-Account-Meta-Quota-Bytes")) > 0 {
					newQuota = []byte("0") // removal wins when both are sent
				}
			}
			if id := proxy.RequestIdentity(ctx); id != nil && id.IsResellerAdmin() {
				if len(newQuota) > 0 && !proxy.IsDigits(string(newQuota)) {
					return proxy.Errorf(fasthttp.StatusBadRequest, "")
				}
				return next(ctx)
			}
			if newQuota != nil {
				return proxy.Errorf(fasthttp.StatusForbidden, "")
			}
			if method == fasthttp.MethodPost || o == "" {
				return next(ctx)
			}
			info, err := core.AccountInfo(ctx, a)
			if err != nil {
				return next(ctx)
			}
			q, ok := proxy.MetaValue(info.Metadata, "X-Account-Meta-Quota-Bytes")
			if !ok {
				return next(ctx)
			}
			limit, err := strconv.ParseInt(q, 10, 64)
			if err != nil || limit < 0 || limit >= info.BytesUsed+requestLength(ctx) {
				return next(ctx)
			}
			return denyOr413(core, ctx, a, c, o)
		}
	}, nil
}
