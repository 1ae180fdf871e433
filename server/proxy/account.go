package proxy

import (
	"context"
	"strconv"

	"swiftbox/keystone"

	"github.com/valyala/fasthttp"

	"swiftbox/ring"
	"swiftbox/storage/db"
	"swiftbox/storage/timestamp"
)

func (p *Proxy) accountController(r *sreq) {
	switch r.method {
	case fasthttp.MethodGet, fasthttp.MethodHead:
		p.accountGet(r)
	case fasthttp.MethodPost:
		p.accountPost(r)
	case fasthttp.MethodOptions:
		options(r.ctx, accountMethods)
	default:
		// PUT and DELETE too: allow_account_management is off, as in a
		// default Swift proxy.
		methodNotAllowed(r.ctx, accountMethods)
	}
}

const accountMethods = "HEAD, GET, POST, OPTIONS"

func (p *Proxy) accountInfo(a string) (db.AccountInfo, error) {
	pl := p.accountPlace(a)
	return readFirst(pl, func(n *ring.Device) (db.AccountInfo, error) {
		return p.be.AccountInfo(context.Background(), n, pl.part, a)
	})
}

// ensureAccount creates the account on its replicas if missing
// (account_autocreate, as with tempauth in Swift).
func (p *Proxy) ensureAccount(a string) error {
	if _, err := p.accountInfo(a); err == nil {
		return nil
	} else if !notFound(err) {
		return err
	}
	pl := p.accountPlace(a)
	ts := timestamp.Now()
	res := writeEach(pl, func(_ int, n *ring.Device) error {
		_, err := p.be.AccountCreate(context.Background(), n, pl.part, a, ts, nil)
		return err
	})
	_, err := outcome(res, pl.quorum())
	return err
}

func (p *Proxy) accountGet(r *sreq) {
	format, err := listingFormat(r)
	if err != nil {
		writeError(r.ctx, err)
		return
	}
	opts, err := listOptions(r, p.limits.AccountListingLimit)
	if err != nil {
		writeError(r.ctx, err)
		return
	}
	info, err := p.accountInfo(r.account)
	if err != nil && !notFound(err) {
		writeError(r.ctx, err)
		return
	}
	exists := err == nil
	if !exists {
		now := timestamp.Now()
		info = db.AccountInfo{Account: r.account, CreatedAt: now, PutTimestamp: now}
	}
	h := &r.ctx.Response.Header
	h.Set("X-Account-Container-Count", strconv.FormatInt(info.ContainerCount, 10))
	h.Set("X-Account-Object-Count", strconv.FormatInt(info.ObjectCount, 10))
	h.Set("X-Account-Bytes-Used", strconv.FormatInt(info.BytesUsed, 10))
	p.setPolicyStats(h, info)
	h.Set("X-Timestamp", info.CreatedAt.Normal())
	h.Set("X-Put-Timestamp", info.PutTimestamp.Normal())
	h.Set("Accept-Ranges", "bytes")
	setMetaHeaders(r.ctx, info.Metadata, r.isOwner())
	if v := info.Metadata[keystone.AccountACLSysmeta].Value; v != "" && r.isOwner() {
		h.Set("X-Account-Access-Control", v)
	}
	var entries []db.ContainerEntry
	if exists && r.method == fasthttp.MethodGet && opts.Limit > 0 {
		pl := p.accountPlace(r.account)
		entries, err = readFirst(pl, func(n *ring.Device) ([]db.ContainerEntry, error) {
			return p.be.AccountList(context.Background(), n, pl.part, r.account, opts)
		})
		if err != nil && !notFound(err) {
			writeError(r.ctx, err)
			return
		}
	}
	writeContainerListing(r.ctx, format, r.account, entries)
	if r.method == fasthttp.MethodHead {
		headBody(r.ctx)
	}
}

func (p *Proxy) accountPost(r *sreq) {
	if v := r.ctx.Request.Header.Peek("X-Account-Access-Control"); v != nil && !r.isOwner() {
		writeStatus(r.ctx, fasthttp.StatusForbidden, "")
		return
	}
	dropOwnerOnly(r)
	if err := p.checkMetadata(r, "Account"); err != nil {
		writeError(r.ctx, err)
		return
	}
	if err := p.ensureAccount(r.account); err != nil {
		writeError(r.ctx, err)
		return
	}
	ts := timestamp.Now()
	meta := dbMetadata(r, "Account", ts, nil)
	if v := r.ctx.Request.Header.Peek("X-Account-Access-Control"); v != nil {
		_, stored, _ := keystone.ParseAccountACL(string(v)) // validated in serveSwift
		meta[keystone.AccountACLSysmeta] = db.MetaValue{Value: stored, Timestamp: ts}
	}
	if info, err := p.accountInfo(r.account); err == nil {
		if err := p.checkMergedMeta("Account", info.Metadata, meta); err != nil {
			writeError(r.ctx, err)
			return
		}
	}
	pl := p.accountPlace(r.account)
	res := writeEach(pl, func(_ int, n *ring.Device) error {
		return p.be.AccountPost(context.Background(), n, pl.part, r.account, meta)
	})
	if _, err := outcome(res, pl.quorum()); err != nil {
		writeError(r.ctx, err)
		return
	}
	noContent(r.ctx)
}

// headBody turns a listing response into Swift's answer to HEAD on an
// account or container: the same headers, 204 and no body.
func headBody(ctx *fasthttp.RequestCtx) {
	ctx.Response.ResetBody()
	ctx.SetStatusCode(fasthttp.StatusNoContent)
	ctx.Response.Header.SetContentLength(0)
}

// setPolicyStats sets X-Account-Storage-Policy-<name>-* for every
// configured policy the account's containers have used, as Swift's
// account server does from policy_stat. With one policy configured it is
// always there, counting everything.
func (p *Proxy) setPolicyStats(h *fasthttp.ResponseHeader, info db.AccountInfo) {
	stats := info.PolicyStats
	if ps := p.policies(); len(ps) == 1 {
		stats = map[int]db.PolicyStat{ps[0].Index: {ContainerCount: info.ContainerCount, ObjectCount: info.ObjectCount, BytesUsed: info.BytesUsed}}
	}
	for _, pol := range p.policies() {
		st, ok := stats[pol.Index]
		if !ok {
			continue
		}
		prefix := "X-Account-Storage-Policy-" + pol.Name + "-"
		h.Set(prefix+"Container-Count", strconv.FormatInt(st.ContainerCount, 10))
		h.Set(prefix+"Object-Count", strconv.FormatInt(st.ObjectCount, 10))
		h.Set(prefix+"Bytes-Used", strconv.FormatInt(st.BytesUsed, 10))
	}
}
