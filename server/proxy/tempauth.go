package proxy

import (
	"encoding/json"
	"strconv"
	"time"

	"github.com/valyala/fasthttp"

	"swiftbox/keystone"
)

// tempauthEndpoint answers Swift's auth v1.0 requests (GET /auth/v1.0,
// /auth/v1 or /v1.0) with a token and the user's storage URL.
func (p *Proxy) tempauthEndpoint(next Handler) Handler {
	return func(ctx *fasthttp.RequestCtx) error {
		path := string(ctx.Path())
		if path != "/auth/v1.0" && path != "/auth/v1" && path != "/v1.0" && path != "/auth/v1.0/" {
			return next(ctx)
		}
		if string(ctx.Method()) != fasthttp.MethodGet {
			return Errorf(fasthttp.StatusBadRequest, "")
		}
		user := headerOr(ctx, "X-Auth-User", "X-Storage-User")
		key := headerOr(ctx, "X-Auth-Key", "X-Storage-Pass")
		if user == "" || key == "" {
			return UnauthorizedError("")
		}
		if left, ok := p.logins.Throttled("tempauth", ctx.RemoteIP(), user); ok {
			return tooManyLogins(left)
		}
		token, id, err := p.auth.Authenticate(user, key)
		p.logins.Record("tempauth", ctx.RemoteIP(), user, err == nil)
		if err != nil {
			return UnauthorizedError("")
		}
		url := p.storageURL(ctx, id)
		h := &ctx.Response.Header
		h.Set("X-Auth-Token", token)
		h.Set("X-Storage-Token", token)
		h.Set("X-Storage-Url", url)
		h.Set("X-Auth-Token-Expires", strconv.FormatInt(int64(time.Until(id.Expires).Seconds()), 10))
		body, _ := json.Marshal(map[string]any{"storage": map[string]string{"default": "local", "local": url}})
		h.SetContentType("application/json; charset=UTF-8")
		ctx.SetBody(body)
		return nil
	}
}

// tooManyLogins is the answer to a throttled login (the user from the
// client's address, or the address): 429 with the seconds until it may
// try again.
func tooManyLogins(left time.Duration) error {
	return &HTTPError{status: fasthttp.StatusTooManyRequests, body: "Too many failed logins; try again later.",
		header: [][2]string{{"Retry-After", strconv.Itoa(int(left.Seconds()) + 1)}}}
}

// storageURL is http(s)://<host as requested>/v1/<account>.
func (p *Proxy) storageURL(ctx *fasthttp.RequestCtx, id *keystone.Identity) string {
	return p.StorageURL(ctx, id.Account)
}

// StorageURL is the storage URL of account as the client of ctx reaches
// this proxy: http(s)://<host as requested>/v1/<account>.
func (p *Proxy) StorageURL(ctx *fasthttp.RequestCtx, account string) string {
	scheme := "http"
	if ctx.IsTLS() {
		scheme = "https"
	}
	if s := p.cfg.Auth.StorageURLScheme; s == "http" || s == "https" {
		scheme = s
	}
	host := string(ctx.Host())
	if host == "" {
		host = ctx.LocalAddr().String()
	}
	return scheme + "://" + host + "/v1/" + account
}

func headerOr(ctx *fasthttp.RequestCtx, names ...string) string {
	for _, n := range names {
		if v := ctx.Request.Header.Peek(n); len(v) > 0 {
			return string(v)
		}
	}
	return ""
}
