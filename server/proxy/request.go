package proxy

import (
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/valyala/fasthttp"

	"swiftbox/keystone"
)

// sreq is one Swift API request after path parsing and authentication.
type sreq struct {
	ctx                        *fasthttp.RequestCtx
	method                     string
	version                    string
	account, container, object string
	id                         *keystone.Identity // nil when anonymous
	owner                      bool               // swift_owner: may see and set ACLs
	transID                    string
	corsSkip                   bool // denied before CORS headers would be added
}

func (r *sreq) header(name string) string { return string(r.ctx.Request.Header.Peek(name)) }

func (r *sreq) hasHeader(name string) bool { return r.ctx.Request.Header.Peek(name) != nil }

func (r *sreq) query(name string) string { return string(r.ctx.QueryArgs().Peek(name)) }

func (r *sreq) hasQuery(name string) bool { return r.ctx.QueryArgs().Has(name) }

// splitPath parses "/v1/account[/container[/object]]" from the raw request
// URI, so "//", "." and ".." in object names survive as Swift keeps them.
func splitPath(ctx *fasthttp.RequestCtx) (version, account, container, object string, err error) {
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
		return "", "", "", "", errorf(fasthttp.StatusBadRequest, "Invalid path: %s", raw)
	}
	// Decode first, then split, as Swift's split_path sees PATH_INFO: an
	// encoded "/" (%2F) separates account, container and object too.
	path, uerr := url.PathUnescape(raw[1:])
	if uerr != nil {
		return "", "", "", "", errorf(fasthttp.StatusBadRequest, "Invalid path encoding")
	}
	// Swift's reserved names ("\x00…", object versioning's hidden
	// containers) are for middlewares' own requests only.
	reservedOK := isInternal(ctx) && string(ctx.Request.Header.Peek("X-Backend-Allow-Reserved-Names")) == "true"
	if !utf8.ValidString(path) || (strings.IndexByte(path, 0) >= 0 && !reservedOK) {
		return "", "", "", "", errorf(fasthttp.StatusPreconditionFailed, "Invalid UTF8 or contains NULL")
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
		return "", "", "", "", errorf(fasthttp.StatusNotFound, "")
	}
	return version, account, container, object, nil
}
