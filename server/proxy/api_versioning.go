package proxy

import (
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"swiftbox/keystone"
	"swiftbox/ring"
	"swiftbox/storage/db"
)

// The core's services the versioning, symlink, quotas and etag_quoter
// middlewares ask for (Env.Core), and the few sysmeta names the core's own
// container sync shares with them.

const (
	md5OfEmpty = "d41d8cd98f00b204e9800998ecf8427e"

	// ovContSys names a container's object-versioning container: container
	// sync refuses such containers.
	ovContSys = "X-Container-Sysmeta-Versions-Container"

	// KeySymlinkOverride marks an internal PUT whose static-link sysmeta is
	// already known (Swift's swift.symlink_override): the symlink
	// middleware takes it without a HEAD of the target.
	KeySymlinkOverride = "swiftbox.symlink_override"
)

// symlinkHeaderPairs are a link's client headers and the sysmeta that
// keeps them, as container sync sends a link.
var symlinkHeaderPairs = [][2]string{
	{"X-Symlink-Target", "X-Object-Sysmeta-Symlink-Target"},
	{"X-Symlink-Target-Account", "X-Object-Sysmeta-Symlink-Target-Account"},
	{"X-Symlink-Target-Etag", "X-Object-Sysmeta-Symlink-Target-Etag"},
	{"X-Symlink-Target-Bytes", "X-Object-Sysmeta-Symlink-Target-Bytes"},
}

// Decide is the decision the core will make about ctx's access to
// account/container/object: a grant a middleware made, a token the core
// refused, then Authorize. A middleware that acts for the user (a quota's
// 413, a version copy) speaks only once the request would be allowed.
func (p *Proxy) Decide(ctx *fasthttp.RequestCtx, account, container, object string) keystone.Decision {
	if AuthorizedLevel(ctx) != 0 {
		return keystone.Allow
	}
	if ctx.UserValue(keyBadToken) != nil {
		return keystone.Unauthorized
	}
	r := &Request{Ctx: ctx, Method: string(ctx.Method()), Account: account, Container: container, Object: object,
		ID: RequestIdentity(ctx)}
	return p.Authorize(r)
}

// MayWrite reports whether ctx would be allowed to write the object (or
// change the container): anonymous writes go only where an ACL of this
// auth system's accounts lets anyone write.
func (p *Proxy) MayWrite(ctx *fasthttp.RequestCtx, account, container, object string) bool {
	if AuthorizedLevel(ctx) == 0 && ctx.UserValue(keyBadToken) == nil && RequestIdentity(ctx) == nil &&
		!strings.HasPrefix(account, p.auth.Prefix()) {
		return false
	}
	return p.Decide(ctx, account, container, object) == keystone.Allow
}

// CheckObjectPut is the core's check of an object PUT before anything is
// read (Swift's check_object_creation): a middleware that writes on the
// PUT's behalf first checks the PUT would be taken.
func (p *Proxy) CheckObjectPut(r *Request) error {
	_, _, err := p.checkObjectPut(r, time.Now())
	return err
}

// ListObjects reads one page of a container's listing from the first
// replica that has it.
func (p *Proxy) ListObjects(ctx *fasthttp.RequestCtx, account, container string, o db.ListOptions) ([]db.ObjectEntry, error) {
	pl := p.containerPlace(account, container)
	return readFirst(pl, func(n *ring.Device) ([]db.ObjectEntry, error) {
		return p.be.ContainerList(ctx, pl.container(n, account, container), o)
	})
}

// ErrorWithType is an error answered with body as content type ctype.
func ErrorWithType(status int, ctype, body string) error {
	return &HTTPError{status: status, body: body, ctype: ctype}
}
