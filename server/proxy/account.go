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

const accountMethods = "HEAD, GET, POST, OPTIONS"

// AccountInfo reads an account's info from the first replica that has it.
func (p *Proxy) AccountInfo(ctx *fasthttp.RequestCtx, a string) (db.AccountInfo, error) {
	return p.accountInfo(p.reqContext(ctx), a)
}

// accountInfo is AccountInfo for a request: ctx is its context.
func (p *Proxy) accountInfo(ctx context.Context, a string) (db.AccountInfo, error) {
	pl := p.accountPlace(a)
	return readFirst(pl, func(n *ring.Device) (db.AccountInfo, error) {
		return p.be.AccountInfo(ctx, pl.account(n, a))
	})
}

// ensureAccount creates the account on its replicas if missing
// (account_autocreate, as with tempauth in Swift).
func (p *Proxy) ensureAccount(ctx context.Context, a string) error {
	if _, err := p.accountInfo(ctx, a); err == nil {
		return nil
	} else if !NotFound(err) {
		return err
	}
	pl := p.accountPlace(a)
	ts := timestamp.Now()
	res := writeEach(pl, func(_ int, n *ring.Device) error {
		_, err := p.be.AccountCreate(ctx, pl.account(n, a), ts, nil)
		return err
	})
	_, err := outcome(res, pl.quorum())
	return err
}

func (p *Proxy) accountGet(r *Request) error {
	format, err := ListingFormat(r)
	if err != nil {
		return err
	}
	opts, err := listOptions(r, p.limits.AccountListingLimit)
	if err != nil {
		return err
	}
	info, err := p.accountInfo(r.Context(), r.Account)
	if err != nil && !NotFound(err) {
		return err
	}
	exists := err == nil
	if !exists {
		now := timestamp.Now()
		info = db.AccountInfo{Account: r.Account, CreatedAt: now, PutTimestamp: now}
	}
	h := &r.Ctx.Response.Header
	h.Set("X-Account-Container-Count", strconv.FormatInt(info.ContainerCount, 10))
	h.Set("X-Account-Object-Count", strconv.FormatInt(info.ObjectCount, 10))
	h.Set("X-Account-Bytes-Used", strconv.FormatInt(info.BytesUsed, 10))
	p.setPolicyStats(h, info)
	h.Set("X-Timestamp", info.CreatedAt.Normal())
	h.Set("X-Put-Timestamp", info.PutTimestamp.Normal())
	h.Set("Accept-Ranges", "bytes")
	setMetaHeaders(r.Ctx, info.Metadata, r.IsOwner())
	if v := info.Metadata[keystone.AccountACLSysmeta].Value; v != "" && r.IsOwner() {
		h.Set("X-Account-Access-Control", v)
	}
	var entries []db.ContainerEntry
	if exists && r.Method == fasthttp.MethodGet && opts.Limit > 0 {
		pl := p.accountPlace(r.Account)
		entries, err = readFirst(pl, func(n *ring.Device) ([]db.ContainerEntry, error) {
			return p.be.AccountList(r.Context(), pl.account(n, r.Account), opts)
		})
		if err != nil && !NotFound(err) {
			return err
		}
	}
	writeContainerListing(r.Ctx, format, r.Account, entries)
	if r.Method == fasthttp.MethodHead {
		headBody(r.Ctx)
	}
	return nil
}

func (p *Proxy) accountPost(r *Request) error {
	if v := r.Ctx.Request.Header.Peek("X-Account-Access-Control"); v != nil && !r.IsOwner() {
		return Errorf(fasthttp.StatusForbidden, "")
	}
	dropOwnerOnly(r)
	if err := p.checkMetadata(r, "Account"); err != nil {
		return err
	}
	if err := p.ensureAccount(r.Context(), r.Account); err != nil {
		return err
	}
	ts := timestamp.Now()
	meta := dbMetadata(r, "Account", ts, nil)
	if v := r.Ctx.Request.Header.Peek("X-Account-Access-Control"); v != nil {
		_, stored, _ := keystone.ParseAccountACL(string(v)) // validated in serveSwift
		meta[keystone.AccountACLSysmeta] = db.MetaValue{Value: stored, Timestamp: ts}
	}
	if info, err := p.accountInfo(r.Context(), r.Account); err == nil {
		if err := p.checkMergedMeta("Account", info.Metadata, meta); err != nil {
			return err
		}
	}
	pl := p.accountPlace(r.Account)
	res := writeEach(pl, func(_ int, n *ring.Device) error {
		return p.be.AccountPost(r.Context(), pl.account(n, r.Account), meta)
	})
	if _, err := outcome(res, pl.quorum()); err != nil {
		return err
	}
	NoContent(r.Ctx)
	return nil
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
	if ps := p.Policies(); len(ps) == 1 {
		stats = map[int]db.PolicyStat{ps[0].Index: {ContainerCount: info.ContainerCount, ObjectCount: info.ObjectCount, BytesUsed: info.BytesUsed}}
	}
	for _, pol := range p.Policies() {
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
