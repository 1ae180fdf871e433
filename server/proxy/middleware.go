package proxy

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"runtime/debug"
	"time"

	"github.com/valyala/fasthttp"
)

// newTransID makes a Swift transaction id: "tx" + 21 hex digits + "-" + hex time.
func newTransID() string {
	var b [11]byte
	rand.Read(b[:])
	return "tx" + hex.EncodeToString(b[:])[:21] + fmt.Sprintf("-%010x", time.Now().Unix())
}

// catchErrors gives every request a transaction id and turns a panic into
// a 500 instead of a dropped connection (Swift's catch_errors).
func (p *Proxy) catchErrors(next Handler) Handler {
	return func(ctx *fasthttp.RequestCtx) (err error) {
		tid := newTransID()
		ctx.SetUserValue(KeyTransID, tid)
		ctx.Response.Header.Set("X-Trans-Id", tid)
		ctx.Response.Header.Set("X-Openstack-Request-Id", tid)
		defer func() {
			if r := recover(); r != nil {
				p.log.Error("panic serving request", "trans_id", tid, "method", string(ctx.Method()),
					"path", string(ctx.Path()), "panic", r, "stack", string(debug.Stack()))
				ctx.Response.Reset()
				ctx.Response.Header.Set("X-Trans-Id", tid)
				err = Errorf(fasthttp.StatusInternalServerError, "")
			}
		}()
		err = next(ctx)
		if string(ctx.Request.Header.Peek("Connection")) == "keep-alive" && !ctx.Response.ConnectionClose() {
			// Eventlet-served Swift echoes it; some clients look for it.
			ctx.Response.Header.Set("Connection", "keep-alive")
		}
		return err
	}
}

const KeyTransID = "swiftbox.trans_id"

var (
	backendPrefix    = []byte("X-Backend-")
	sysmetaPrefixes  = [][]byte{[]byte("X-Account-Sysmeta-"), []byte("X-Container-Sysmeta-"), []byte("X-Object-Sysmeta-")}
	transientSysmeta = []byte("X-Object-Transient-Sysmeta-")
)

// gatekeeper strips headers that only storage nodes and middlewares may set
// (X-Backend-*, sysmeta, and X-Timestamp: the proxy stamps every write
// itself) from client requests, and sysmeta from responses, as Swift's
// gatekeeper does.
func gatekeeper(next Handler) Handler {
	return func(ctx *fasthttp.RequestCtx) error {
		drop := [][]byte{[]byte("X-Timestamp")}
		for k := range ctx.Request.Header.All() {
			if hasPrefixFold(k, backendPrefix) || hasPrefixFold(k, transientSysmeta) {
				drop = append(drop, append([]byte(nil), k...))
				continue
			}
			for _, sp := range sysmetaPrefixes {
				if hasPrefixFold(k, sp) {
					drop = append(drop, append([]byte(nil), k...))
				}
			}
		}
		if ts := ctx.Request.Header.Peek("X-Timestamp"); ts != nil {
			// Kept aside, as Swift's X-Backend-Inbound-X-Timestamp: a
			// valid container-sync request gets it back.
			ctx.SetUserValue(keyInboundTimestamp, string(ts))
		}
		for _, k := range drop {
			ctx.Request.Header.DelBytes(k)
		}
		err := next(ctx)
		// Nor do clients see them in responses.
		drop = drop[:0]
		for k := range ctx.Response.Header.All() {
			if hasPrefixFold(k, backendPrefix) || hasPrefixFold(k, transientSysmeta) {
				drop = append(drop, append([]byte(nil), k...))
				continue
			}
			for _, sp := range sysmetaPrefixes {
				if hasPrefixFold(k, sp) {
					drop = append(drop, append([]byte(nil), k...))
				}
			}
		}
		for _, k := range drop {
			ctx.Response.Header.DelBytes(k)
		}
		return err
	}
}

func hasPrefixFold(s, prefix []byte) bool {
	return len(s) >= len(prefix) && bytes.EqualFold(s[:len(prefix)], prefix)
}

// healthcheck answers GET /healthcheck with "OK".
func healthcheck(next Handler) Handler {
	return func(ctx *fasthttp.RequestCtx) error {
		if string(ctx.Path()) == "/healthcheck" {
			ctx.Response.Header.SetContentType("text/plain")
			if string(ctx.Method()) == fasthttp.MethodHead {
				ctx.Response.Header.SetContentLength(2)
				ctx.Response.SkipBody = true
				return nil
			}
			ctx.SetBodyString("OK")
			return nil
		}
		return next(ctx)
	}
}
