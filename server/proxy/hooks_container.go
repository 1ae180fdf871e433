package proxy

import "github.com/valyala/fasthttp"

// Container writes: a middleware checks the headers it owns on container
// PUT and POST (container-sync its X-Container-Sync-To) as Swift's
// container server would, before the core writes anything.

// RegisterContainerCheck adds check to the checks of a container PUT or
// POST's headers; an error it returns is the answer.
func (e *Env) RegisterContainerCheck(check func(r *Request) error) {
	e.p.contChecks = append(e.p.contChecks, check)
}

// runContainerChecks runs the registered checks in order.
func (p *Proxy) runContainerChecks(r *Request) error {
	for _, check := range p.contChecks {
		if err := check(r); err != nil {
			return err
		}
	}
	return nil
}

// keyInboundTimestamp is where the gatekeeper keeps a client's X-Timestamp
// (Swift's X-Backend-Inbound-X-Timestamp): only a valid sync request gets
// it back.
const keyInboundTimestamp = "swiftbox.inbound_x_timestamp"

// InboundTimestamp is the X-Timestamp the client sent, which the
// gatekeeper took off the request ("" if none).
func InboundTimestamp(ctx *fasthttp.RequestCtx) string {
	ts, _ := ctx.UserValue(keyInboundTimestamp).(string)
	return ts
}

// keySyncOverride marks a valid container-sync request: an SLO manifest
// arrives as stored and may come before its segments, so slo takes it as
// it is (Swift's swift.slo_override; KeySymlinkOverride is its
// swift.symlink_override for static links).
const keySyncOverride = "swiftbox.sync_override"

// SyncOverride reports whether ctx is a valid container-sync request.
func SyncOverride(ctx *fasthttp.RequestCtx) bool { return ctx.UserValue(keySyncOverride) != nil }

// SetSyncOverride marks ctx a valid container-sync request: manifests and
// static links it writes are taken as they are stored.
func SetSyncOverride(ctx *fasthttp.RequestCtx) {
	ctx.SetUserValue(keySyncOverride, true)
	ctx.SetUserValue(KeySymlinkOverride, true)
}
