package proxy

import (
	"strconv"

	"github.com/valyala/fasthttp"

	"swiftbox/keystone"
)

// Quotas (Swift's container_quotas and account_quotas): object PUTs that
// would take a container past X-Container-Meta-Quota-Bytes or
// -Quota-Count, or an account past X-Account-Meta-Quota-Bytes (which only
// reseller admins may set), get 413. They sit after copy, so a copy's
// PUT is measured like any upload.

const quotaExceeded = "Upload exceeds quota."

// quotaPath is split_path(2, 4, rest_with_last) of the request, decoded.
func quotaPath(ctx *fasthttp.RequestCtx) (account, container, object string, ok bool) {
	_, a, c, o, err := SplitPath(ctx)
	return a, c, o, err == nil && a != ""
}

// authorizeWrite is the decision the proxy core will make about ctx: a
// quota only speaks once the request would be allowed at all.
func (p *Proxy) authorizeWrite(ctx *fasthttp.RequestCtx, a, c, o string) keystone.Decision {
	if AuthorizedLevel(ctx) != 0 {
		return keystone.Allow
	}
	if ctx.UserValue(keyBadToken) != nil {
		return keystone.Unauthorized
	}
	r := &Request{Ctx: ctx, Method: string(ctx.Method()), Account: a, Container: c, Object: o, ID: RequestIdentity(ctx)}
	return p.Authorize(r)
}

func (p *Proxy) denyOr413(ctx *fasthttp.RequestCtx, a, c, o string) {
	switch p.authorizeWrite(ctx, a, c, o) {
	case keystone.Unauthorized:
		Unauthorized(ctx, a)
	case keystone.Forbidden:
		WriteStatus(ctx, fasthttp.StatusForbidden, "")
	default:
		WriteStatus(ctx, fasthttp.StatusRequestEntityTooLarge, quotaExceeded)
	}
}

func requestLength(ctx *fasthttp.RequestCtx) int64 {
	if n := ctx.Request.Header.ContentLength(); n > 0 {
		return int64(n)
	}
	return 0
}

func (p *Proxy) containerQuotas(next fasthttp.RequestHandler) fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) {
		method := string(ctx.Method())
		if method != fasthttp.MethodPut && method != fasthttp.MethodPost {
			next(ctx)
			return
		}
		a, c, o, ok := quotaPath(ctx)
		if !ok || c == "" {
			next(ctx)
			return
		}
		switch {
		case o == "" && (method == fasthttp.MethodPut || method == fasthttp.MethodPost):
			if v := string(ctx.Request.Header.Peek("X-Container-Meta-Quota-Bytes")); v != "" && !isDigits(v) {
				WriteStatus(ctx, fasthttp.StatusBadRequest, "Invalid bytes quota.")
				return
			}
			if v := string(ctx.Request.Header.Peek("X-Container-Meta-Quota-Count")); v != "" && !isDigits(v) {
				WriteStatus(ctx, fasthttp.StatusBadRequest, "Invalid count quota.")
				return
			}
		case o != "" && method == fasthttp.MethodPut:
			info, err := p.ContainerInfo(ctx, a, c)
			if err != nil {
				break
			}
			_, hasBytes := MetaValue(info.Metadata, "X-Container-Meta-Quota-Bytes")
			_, hasCount := MetaValue(info.Metadata, "X-Container-Meta-Quota-Count")
			if !hasBytes && !hasCount {
				break // the common case: no quota, and pending counts stay batched
			}
			if info, err = p.ReadContainerInfo(a, c, true); err != nil {
				break
			}
			info.BytesUsed += p.versionsBytesUsed(a, info)
			if q, ok := MetaValue(info.Metadata, "X-Container-Meta-Quota-Bytes"); ok && isDigits(q) {
				limit, _ := strconv.ParseInt(q, 10, 64)
				if limit < info.BytesUsed+requestLength(ctx) {
					p.denyOr413(ctx, a, c, o)
					return
				}
			}
			if q, ok := MetaValue(info.Metadata, "X-Container-Meta-Quota-Count"); ok && isDigits(q) {
				limit, _ := strconv.ParseInt(q, 10, 64)
				if limit < info.ObjectCount+1 {
					p.denyOr413(ctx, a, c, o)
					return
				}
			}
		}
		next(ctx)
	}
}

func (p *Proxy) accountQuotas(next fasthttp.RequestHandler) fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) {
		method := string(ctx.Method())
		if method != fasthttp.MethodPost && method != fasthttp.MethodPut {
			next(ctx)
			return
		}
		a, c, o, ok := quotaPath(ctx)
		if !ok {
			next(ctx)
			return
		}
		var newQuota []byte
		if c == "" {
			newQuota = ctx.Request.Header.Peek("X-Account-Meta-Quota-Bytes")
			if len(ctx.Request.Header.Peek("X-Remove-Account-Meta-Quota-Bytes")) > 0 {
				newQuota = []byte("0") // removal wins when both are sent
			}
		}
		if id := RequestIdentity(ctx); id != nil && id.IsResellerAdmin() {
			if len(newQuota) > 0 && !isDigits(string(newQuota)) {
				WriteStatus(ctx, fasthttp.StatusBadRequest, "")
				return
			}
			next(ctx)
			return
		}
		if newQuota != nil {
			WriteStatus(ctx, fasthttp.StatusForbidden, "")
			return
		}
		if method == fasthttp.MethodPost || o == "" {
			next(ctx)
			return
		}
		info, err := p.AccountInfo(a)
		if err != nil {
			next(ctx)
			return
		}
		q, ok := MetaValue(info.Metadata, "X-Account-Meta-Quota-Bytes")
		if !ok {
			next(ctx)
			return
		}
		limit, err := strconv.ParseInt(q, 10, 64)
		if err != nil || limit < 0 {
			next(ctx)
			return
		}
		if limit < info.BytesUsed+requestLength(ctx) {
			p.denyOr413(ctx, a, c, o)
			return
		}
		next(ctx)
	}
}
