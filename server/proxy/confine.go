package proxy

import "github.com/valyala/fasthttp"

// keyConfine holds the one account or container a request (and every
// subrequest it makes) may reach, set by a middleware that authorized it
// for that much only (a temp URL signed with a container's key).
const keyConfine = "swiftbox.confine"

type confinement struct{ account, container string }

// Confine limits ctx and its subrequests to account, or to container of
// account when container is not "": the core answers 401 to any request
// reaching elsewhere (as Swift's tempurl replaces swift.authorize).
// Pre-authorized bookkeeping (PreAuthed subrequests) is not held to it.
func Confine(ctx *fasthttp.RequestCtx, account, container string) {
	ctx.SetUserValue(keyConfine, &confinement{account: account, container: container})
}

// confineDenies reports whether ctx reaches outside what Confine left it.
func confineDenies(ctx *fasthttp.RequestCtx, account, container string) bool {
	c, _ := ctx.UserValue(keyConfine).(*confinement)
	if c == nil {
		return false
	}
	return account != c.account || c.container != "" && container != c.container
}
