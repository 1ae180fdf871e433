package versioning

import (
	"sync"

	"github.com/valyala/fasthttp"

	"swiftbox/server/proxy"
	"swiftbox/storage/timestamp"
)

// archiveClaims counts, per archived copy, the writes that copied an
// object's current version into a versions container and have not yet
// finished replacing the object. A failed write removes the copy it made
// only when no other write counts on it (one swiftbox serves the whole
// cluster, so this process sees every such write).
type archiveClaims struct {
	mu   sync.Mutex
	refs map[string]int
}

func (a *archiveClaims) hold(key string) {
	a.mu.Lock()
	if a.refs == nil {
		a.refs = map[string]int{}
	}
	a.refs[key]++
	a.mu.Unlock()
}

// drop ends a claim. When it was the last one it also returns the time to
// stamp a removal of the copy with: a write that archives the same version
// afterwards stamps its copy later, so the removal cannot hide that copy.
func (a *archiveClaims) drop(key string) (timestamp.Timestamp, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.refs[key]--; a.refs[key] > 0 {
		return timestamp.Timestamp{}, false
	}
	delete(a.refs, key)
	return timestamp.Now(), true
}

// archived is an object's current version copied into a versions
// container by a write in progress.
type archived struct {
	key    string              // the claim
	object string              // the object's URI
	copy   string              // the copy's URI
	ts     timestamp.Timestamp // the version's (the object's X-Timestamp)
}

// archive claims the copy of the object's version ts at uri; the caller
// releases it when its write is done.
func (v *versioner) archive(objectURI, copyURI string, ts timestamp.Timestamp) *archived {
	a := &archived{key: v.account + "/" + copyURI, object: objectURI, copy: copyURI, ts: ts}
	v.s.claims.hold(a.key)
	return a
}

// release ends the write's claim on its archive (nil: none). When the
// write failed and no other write counts on the copy, the copy goes if
// the object is still the version copied: the data stays in the object,
// and the next write that replaces it archives it again.
func (v *versioner) release(a *archived, failed bool) {
	if a == nil {
		return
	}
	at, last := v.s.claims.drop(a.key)
	if !failed || !last {
		return
	}
	head := proxy.PreAuthed(v.ctx, v.next, fasthttp.MethodHead, a.object+"?symlink=get", func(req *fasthttp.Request) {
		req.Header.Set("X-Newest", "True")
	})
	proxy.CloseResponse(head)
	cur, err := timestamp.Parse(string(head.Header.Peek("X-Timestamp")))
	if !isSuccess(head.StatusCode()) || err != nil || cur != a.ts {
		return
	}
	proxy.CloseResponse(proxy.PreAuthed(v.ctx, v.next, fasthttp.MethodDelete, a.copy, func(req *fasthttp.Request) {
		req.Header.Set("X-Timestamp", at.Internal())
		req.Header.Set(allowReserved, "true")
	}))
}
