package proxy

import (
	"context"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/valyala/fasthttp"

	"swiftbox/keystone"
)

// Request is one Swift API request after path parsing and authentication.
type Request struct {
	Ctx                        *fasthttp.RequestCtx
	Method                     string
	Version                    string
	Account, Container, Object string
	ID                         *keystone.Identity // nil when anonymous
	owner                      bool               // swift_owner: may see and set ACLs
	TransID                    string
	corsSkip                   bool            // denied before CORS headers would be added
	bctx                       context.Context // what its backend calls run under (Context)
}

func (r *Request) Header(name string) string { return string(r.Ctx.Request.Header.Peek(name)) }

func (r *Request) HasHeader(name string) bool { return r.Ctx.Request.Header.Peek(name) != nil }

func (r *Request) Query(name string) string { return string(r.Ctx.QueryArgs().Peek(name)) }

func (r *Request) HasQuery(name string) bool { return r.Ctx.QueryArgs().Has(name) }

// SplitPath parses "/v1/account[/container[/object]]" from the raw request
// URI, so "//", "." and ".." in object names survive as Swift keeps them.
func SplitPath(ctx *fasthttp.RequestCtx) (version, account, container, object string, err error) {
	raw := string(ctx.Request.Header.RequestURI())
	if i := strings.IndexByte(raw, '?'); i >= 0 {
		raw = raw[:i]
	}
	if strings.HasPrefix(raw, "http://") || strings.HasPrefix(raw, "https://") {
		if u, perr := url.Parse(raw); perr == nil {
			raw = u.EscapedPath()
		}
	}
	if !strings.HasPrefix(raw, "/") {
		return "", "", "", "", Errorf(fasthttp.StatusBadRequest, "Invalid path: %s", raw)
	}
	// Decode first, then split, as Swift's split_path sees PATH_INFO: an
	// encoded "/" (%2F) separates account, container and object too.
	path, uerr := url.PathUnescape(raw[1:])
	if uerr != nil {
		return "", "", "", "", Errorf(fasthttp.StatusBadRequest, "Invalid path encoding")
	}
	// Swift's reserved names ("\x00…", object versioning's hidden
	// containers) are for middlewares' own requests only.
	reservedOK := IsInternal(ctx) && string(ctx.Request.Header.Peek("X-Backend-Allow-Reserved-Names")) == "true"
	if !utf8.ValidString(path) || (strings.IndexByte(path, 0) >= 0 && !reservedOK) {
		return "", "", "", "", Errorf(fasthttp.StatusPreconditionFailed, "Invalid UTF8 or contains NULL")
	}
	parts := strings.SplitN(path, "/", 4)
	dec := parts
	for len(dec) < 4 {
		dec = append(dec, "")
	}
	version, account, container, object = dec[0], dec[1], dec[2], dec[3]
	// split_path(…, 1, 4, rest_with_last=True): empty middle segments are
	// invalid ("/v1//c"), a trailing empty container ("/v1/a/") is not.
	if account == "" && (container != "" || object != "") || container == "" && object != "" {
		return "", "", "", "", Errorf(fasthttp.StatusNotFound, "")
	}
	return version, account, container, object, nil
}
