package proxy

import (
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/valyala/fasthttp"

	"swiftbox/storage/db"
	"swiftbox/storage/timestamp"
)

func utf8Valid(s string) bool { return utf8.ValidString(s) }

// canonical is the header name as Swift stores it (title case).
func canonical(k string) string { return http.CanonicalHeaderKey(k) }

// MetaValue is the value of stored metadata name (any case), unless
// empty (a deleted item).
func MetaValue(meta db.Metadata, name string) (string, bool) {
	for k, v := range meta {
		if strings.EqualFold(k, name) && v.Value != "" {
			return v.Value, true
		}
	}
	return "", false
}

// containerSysHeaders are container settings stored like metadata.
var containerSysHeaders = []string{
	"X-Container-Read", "X-Container-Write", "X-Versions-Location", "X-History-Location",
	"X-Container-Sync-To", "X-Container-Sync-Key",
}

// checkMetadata is Swift's constraints.check_metadata over the request's
// X-<kind>-Meta-* headers.
func (p *Proxy) checkMetadata(r *Request, kind string) error {
	prefix := "x-" + strings.ToLower(kind) + "-meta-"
	count, size := 0, 0
	var err error
	for k, v := range r.Ctx.Request.Header.All() {
		lk := strings.ToLower(string(k))
		if !strings.HasPrefix(lk, prefix) {
			continue
		}
		key := string(k)[len(prefix):]
		value := string(v)
		if value == "" {
			// an empty value deletes the item; it is not counted
			continue
		}
		count++
		size += len(key) + len(value)
		switch {
		case key == "":
			err = ConstraintErrorf(fasthttp.StatusBadRequest, "Metadata name cannot be empty")
		case !utf8.ValidString(key):
			err = ConstraintErrorf(fasthttp.StatusBadRequest, "Metadata name must be valid UTF-8")
		case kind != "Object" && !utf8.ValidString(value):
			// Object metadata values may be any bytes, as in Swift.
			err = ConstraintErrorf(fasthttp.StatusBadRequest, "Metadata value must be valid UTF-8")
		case len(key) > p.limits.MaxMetaNameLength:
			err = ConstraintErrorf(fasthttp.StatusBadRequest, "Metadata name too long: %s%s", prefix, key)
		case len(value) > p.limits.MaxMetaValueLength:
			err = ConstraintErrorf(fasthttp.StatusBadRequest, "Metadata value longer than %d: %s%s", p.limits.MaxMetaValueLength, prefix, key)
		}
		if err != nil {
			return err
		}
	}
	if count > p.limits.MaxMetaCount {
		return ConstraintErrorf(fasthttp.StatusBadRequest, "Too many metadata items; max %d", p.limits.MaxMetaCount)
	}
	if size > p.limits.MaxMetaOverallSize {
		return ConstraintErrorf(fasthttp.StatusBadRequest, "Total metadata too large; max %d", p.limits.MaxMetaOverallSize)
	}
	return nil
}

// dbMetadata collects account/container metadata updates from the request:
// X-<kind>-Meta-* set or (empty / X-Remove-<kind>-Meta-*) delete, plus the
// given system headers.
func dbMetadata(r *Request, kind string, ts timestamp.Timestamp, sys []string) db.Metadata {
	meta := db.Metadata{}
	prefix := "x-" + strings.ToLower(kind) + "-meta-"
	rmPrefix := "x-remove-" + strings.ToLower(kind) + "-meta-"
	// Sysmeta comes only from middlewares: the gatekeeper drops clients'.
	sysPrefix := "x-" + strings.ToLower(kind) + "-sysmeta-"
	for k, v := range r.Ctx.Request.Header.All() {
		lk := strings.ToLower(string(k))
		switch {
		case strings.HasPrefix(lk, sysPrefix):
			meta[canonical(string(k))] = db.MetaValue{Value: string(v), Timestamp: ts}
		case strings.HasPrefix(lk, prefix):
			meta[canonical(string(k))] = db.MetaValue{Value: string(v), Timestamp: ts}
		case strings.HasPrefix(lk, rmPrefix):
			name := canonical("X-" + kind + "-Meta-" + string(k)[len(rmPrefix):])
			meta[name] = db.MetaValue{Value: "", Timestamp: ts}
		}
	}
	for _, h := range sys {
		if v := r.Ctx.Request.Header.Peek(h); v != nil {
			meta[h] = db.MetaValue{Value: strings.TrimSpace(string(v)), Timestamp: ts}
		}
		if r.HasHeader("X-Remove-" + strings.TrimPrefix(h, "X-")) {
			meta[h] = db.MetaValue{Value: "", Timestamp: ts}
		}
	}
	return meta
}

// setMetaHeaders writes stored metadata as response headers; owner-only
// settings (ACLs, sync keys) only for owners, sysmeta only to the
// middlewares' own requests (as Swift's gatekeeper keeps it from clients).
func setMetaHeaders(ctx *fasthttp.RequestCtx, meta db.Metadata, owner bool) {
	internal := IsInternal(ctx)
	for k, v := range meta {
		if v.Value == "" || (!internal && (strings.HasPrefix(k, "X-Account-Sysmeta-") || strings.HasPrefix(k, "X-Container-Sysmeta-"))) {
			continue
		}
		if !owner && ownerOnly(k) {
			continue
		}
		ctx.Response.Header.Set(k, v.Value)
	}
}

// ownerOnly names the settings only an account's owners (swift_owner) may
// see or change: ACLs, sync keys and temp URL keys.
func ownerOnly(header string) bool {
	switch strings.ToLower(header) {
	case "x-container-read", "x-container-write", "x-container-sync-key", "x-container-sync-to",
		"x-account-meta-temp-url-key", "x-account-meta-temp-url-key-2",
		"x-container-meta-temp-url-key", "x-container-meta-temp-url-key-2",
		"x-account-access-control":
		return true
	}
	return false
}

// dropOwnerOnly removes owner-only settings (and their X-Remove- forms)
// from a request by someone who is not an owner, as Swift's proxy does.
func dropOwnerOnly(r *Request) {
	if r.IsOwner() {
		return
	}
	var drop []string
	for k := range r.Ctx.Request.Header.All() {
		name := string(k)
		if ownerOnly(name) || (len(name) > 9 && strings.EqualFold(name[:9], "x-remove-") && ownerOnly("x-"+name[9:])) {
			drop = append(drop, name)
		}
	}
	for _, k := range drop {
		r.Ctx.Request.Header.Del(k)
	}
}

// requestTimestamp is the client's X-Timestamp when valid, else now.
func requestTimestamp(r *Request) (timestamp.Timestamp, error) {
	v := r.Header("X-Timestamp")
	if v == "" {
		return timestamp.Now(), nil
	}
	ts, err := timestamp.Parse(v)
	if err != nil {
		return ts, Errorf(fasthttp.StatusBadRequest, "X-Timestamp should be a UNIX timestamp float value; was %q", v)
	}
	return ts, nil
}

// checkMergedMeta is the database's validate_metadata: the stored user
// metadata with update applied must stay within the count and size limits.
func (p *Proxy) checkMergedMeta(kind string, stored, update db.Metadata) error {
	prefix := "x-" + strings.ToLower(kind) + "-meta-"
	merged := map[string]string{}
	for k, v := range stored {
		merged[strings.ToLower(k)] = v.Value
	}
	for k, v := range update {
		merged[strings.ToLower(k)] = v.Value
	}
	count, size := 0, 0
	for k, v := range merged {
		if v == "" || !strings.HasPrefix(k, prefix) {
			continue
		}
		count++
		size += len(k) - len(prefix) + len(v)
	}
	if count > p.limits.MaxMetaCount {
		return Errorf(fasthttp.StatusBadRequest, "Too many metadata items; max %d", p.limits.MaxMetaCount)
	}
	if size > p.limits.MaxMetaOverallSize {
		return Errorf(fasthttp.StatusBadRequest, "Total metadata too large; max %d", p.limits.MaxMetaOverallSize)
	}
	return nil
}
