// Package copy is Swift's copy middleware (server-side copy): COPY with
// Destination (+ Destination-Account) becomes a PUT with X-Copy-From (+
// X-Copy-From-Account); the PUT GETs the source through the rest of the
// pipeline and streams its body into the destination PUT.
package copy

import (
	"net/url"
	"strings"

	"github.com/valyala/fasthttp"

	"swiftbox/server/proxy"
	"swiftbox/server/pyfmt"
)

// Filter is the copy filter of the pipeline.
func Filter() proxy.Filter { return proxy.Filter{Name: "copy", New: New} }

// copier is the middleware; maxFileSize bounds the sources it copies.
type copier struct {
	maxFileSize int64
}

// New builds the copy middleware.
func New(env *proxy.Env) (proxy.Middleware, error) {
	c := &copier{maxFileSize: env.Config.Constraints.MaxFileSize}
	return c.middleware, nil
}

func (c *copier) middleware(next proxy.Handler) proxy.Handler {
	return func(ctx *fasthttp.RequestCtx) error {
		version, account, container, obj, err := proxy.SplitPath(ctx)
		if err != nil || obj == "" {
			return next(ctx)
		}
		switch string(ctx.Method()) {
		case fasthttp.MethodPut:
			if len(ctx.Request.Header.Peek("X-Copy-From")) > 0 {
				return c.put(ctx, next, version, account, container, obj)
			}
		case "COPY":
			return c.copy(ctx, next, version, account, container, obj)
		case fasthttp.MethodOptions:
			if err := next(ctx); err != nil {
				return err
			}
			if code := ctx.Response.StatusCode(); code >= 200 && code < 300 {
				for _, name := range []string{"Allow", "Access-Control-Allow-Methods"} {
					if v := string(ctx.Response.Header.Peek(name)); v != "" && !strings.Contains(v, "COPY") {
						ctx.Response.Header.Set(name, v+", COPY")
					}
				}
			}
			return nil
		}
		return next(ctx)
	}
}

// copy rewrites COPY into the equivalent PUT with X-Copy-From.
func (c *copier) copy(ctx *fasthttp.RequestCtx, next proxy.Handler, version, account, container, obj string) error {
	h := &ctx.Request.Header
	if len(h.Peek("Destination")) == 0 {
		return proxy.Errorf(fasthttp.StatusPreconditionFailed, "Destination header required")
	}
	destAccount := account
	if v := h.Peek("Destination-Account"); v != nil {
		var err error
		if destAccount, err = checkAccountFormat(string(v)); err != nil {
			return err
		}
		h.Set("X-Copy-From-Account", pyfmt.Quote(account))
		h.Del("Destination-Account")
	}
	dc, do, err := checkPathHeader(string(h.Peek("Destination")),
		"Destination header must be of the form <container name>/<object name>")
	if err != nil {
		return err
	}
	h.Del("Destination")
	h.Set("X-Copy-From", pyfmt.Quote("/"+container+"/"+obj))
	h.SetMethod(fasthttp.MethodPut)
	h.SetContentLength(0)
	return c.put(ctx, next, version, destAccount, dc, do)
}

// checkPathHeader is Swift's check_path_header for container/object
// values: "/c/o" or "c/o", the object may hold slashes.
func checkPathHeader(v, msg string) (string, string, error) {
	dec, err := url.PathUnescape(v)
	if err != nil {
		dec = v
	}
	dec = strings.TrimPrefix(dec, "/")
	c, o, ok := strings.Cut(dec, "/")
	if !ok || c == "" || o == "" {
		return "", "", proxy.Errorf(fasthttp.StatusPreconditionFailed, "%s", msg)
	}
	return c, o, nil
}

// checkAccountFormat is Swift's check_account_format.
func checkAccountFormat(v string) (string, error) {
	dec, err := url.PathUnescape(v)
	if err != nil {
		dec = v
	}
	if dec == "" {
		return "", proxy.Errorf(fasthttp.StatusPreconditionFailed, "Account name cannot be empty")
	}
	if strings.Contains(dec, "/") {
		return "", proxy.Errorf(fasthttp.StatusPreconditionFailed, "Account name cannot contain slashes")
	}
	return dec, nil
}
