package proxy

import (
	"context"
	"strconv"
	"strings"
	"sync/atomic"

	"swiftbox/keystone"

	"github.com/valyala/fasthttp"

	"swiftbox/ring"
	"swiftbox/storage/db"
	"swiftbox/storage/timestamp"
)

func (p *Proxy) containerController(r *sreq) {
	switch r.method {
	case fasthttp.MethodGet, fasthttp.MethodHead:
		p.containerGet(r)
	case fasthttp.MethodPut:
		p.containerPut(r)
	case fasthttp.MethodPost:
		p.containerPost(r)
	case fasthttp.MethodDelete:
		p.containerDelete(r)
	case fasthttp.MethodOptions:
		options(r.ctx, containerMethods)
	default:
		methodNotAllowed(r.ctx, containerMethods)
	}
}

const containerMethods = "HEAD, GET, PUT, POST, DELETE, OPTIONS"

// cleanACLs normalises X-Container-Read/-Write in place (Swift's
// clean_acls), answering 400 for an invalid one.
func cleanACLs(r *sreq) error {
	for _, h := range []string{"X-Container-Read", "X-Container-Write"} {
		v := r.ctx.Request.Header.Peek(h)
		if v == nil {
			continue
		}
		clean, err := keystone.CleanACL(h, string(v))
		if err != nil {
			return errorf(fasthttp.StatusBadRequest, "%s", err.Error())
		}
		r.ctx.Request.Header.Set(h, clean)
	}
	return nil
}

// containerInfo reads a container's info from the first replica that has
// it, for existence and ACL checks (counts may lag by a few milliseconds).
func (p *Proxy) containerInfo(_ *fasthttp.RequestCtx, a, c string) (db.ContainerInfo, error) {
	return p.readContainerInfo(a, c, false)
}

func (p *Proxy) readContainerInfo(a, c string, fresh bool) (db.ContainerInfo, error) {
	pl := p.containerPlace(a, c)
	return readFirst(pl, func(n *ring.Device) (db.ContainerInfo, error) {
		return p.be.ContainerInfo(context.Background(), n, pl.part, a, c, fresh)
	})
}

// checkContainerHeaders prepares a container PUT or POST: owner-only
// settings dropped for non-owners, ACLs cleaned, metadata within limits.
func (p *Proxy) checkContainerHeaders(r *sreq) error {
	dropOwnerOnly(r)
	if err := cleanACLs(r); err != nil {
		return err
	}
	if err := p.checkSyncTo(r); err != nil {
		return err
	}
	return p.checkMetadata(r, "Container")
}

func (p *Proxy) containerPut(r *sreq) {
	if err := p.checkContainerHeaders(r); err != nil {
		writeError(r.ctx, err)
		return
	}
	// Not requested: an existing container keeps its policy, a new one
	// gets the default (Swift's X-Backend-Storage-Policy-Default).
	policy := db.NoPolicy(p.policies().Default().Index)
	if pol, ok, err := p.requestedPolicy(r); err != nil {
		writeError(r.ctx, err)
		return
	} else if ok {
		policy = pol.Index
	}
	if err := p.ensureAccount(r.account); err != nil {
		writeError(r.ctx, err)
		return
	}
	ts, err := requestTimestamp(r)
	if err != nil {
		writeError(r.ctx, err)
		return
	}
	meta := dbMetadata(r, "Container", ts, containerSysHeaders)
	if info, err := p.containerInfo(r.ctx, r.account, r.container); err == nil {
		if err := p.checkMergedMeta("Container", info.Metadata, meta); err != nil {
			writeError(r.ctx, err)
			return
		}
	}
	pl := p.containerPlace(r.account, r.container)
	var created atomic.Bool // any replica newly created: 201, else 202
	res := writeEach(pl, func(_ int, n *ring.Device) error {
		c, err := p.be.ContainerCreate(context.Background(), n, pl.part, r.account, r.container, ts, policy, meta)
		if c {
			created.Store(true)
		}
		return err
	})
	if _, err := outcome(res, pl.quorum()); err != nil {
		writeError(r.ctx, err)
		return
	}
	p.acct.updateNow(r.account, r.container)
	if created.Load() {
		r.ctx.SetStatusCode(fasthttp.StatusCreated)
		r.ctx.Response.Header.SetContentType("text/html; charset=UTF-8")
		r.ctx.Response.Header.SetContentLength(0)
	} else {
		writeStatus(r.ctx, fasthttp.StatusAccepted, acceptedBody)
	}
}

func (p *Proxy) containerPost(r *sreq) {
	if err := p.checkContainerHeaders(r); err != nil {
		writeError(r.ctx, err)
		return
	}
	info, err := p.containerInfo(r.ctx, r.account, r.container)
	if err != nil {
		writeError(r.ctx, err)
		return
	}
	ts := timestamp.Now()
	meta := dbMetadata(r, "Container", ts, containerSysHeaders)
	if err := p.checkMergedMeta("Container", info.Metadata, meta); err != nil {
		writeError(r.ctx, err)
		return
	}
	pl := p.containerPlace(r.account, r.container)
	res := writeEach(pl, func(_ int, n *ring.Device) error {
		return p.be.ContainerPost(context.Background(), n, pl.part, r.account, r.container, meta)
	})
	if _, err := outcome(res, pl.quorum()); err != nil {
		writeError(r.ctx, err)
		return
	}
	noContent(r.ctx)
}

func (p *Proxy) containerDelete(r *sreq) {
	ts, err := requestTimestamp(r)
	if err != nil {
		writeError(r.ctx, err)
		return
	}
	pl := p.containerPlace(r.account, r.container)
	res := writeEach(pl, func(_ int, n *ring.Device) error {
		return p.be.ContainerDelete(context.Background(), n, pl.part, r.account, r.container, ts)
	})
	for _, x := range res {
		if status(x.err) == fasthttp.StatusConflict {
			writeStatus(r.ctx, fasthttp.StatusConflict, "<html><h1>Conflict</h1><p>There was a conflict when trying to complete your request.</p></html>")
			return
		}
	}
	if _, err := outcome(res, pl.quorum()); err != nil {
		writeError(r.ctx, err)
		return
	}
	p.acct.updateNow(r.account, r.container)
	noContent(r.ctx)
}

func (p *Proxy) containerGet(r *sreq) {
	format, err := listingFormat(r)
	if err != nil {
		writeError(r.ctx, err)
		return
	}
	opts, err := listOptions(r, p.limits.ContainerListingLimit)
	if err != nil {
		writeError(r.ctx, err)
		return
	}
	info, err := p.readContainerInfo(r.account, r.container, true)
	if err != nil {
		writeError(r.ctx, err)
		return
	}
	h := &r.ctx.Response.Header
	h.Set("X-Container-Object-Count", strconv.FormatInt(info.ObjectCount, 10))
	h.Set("X-Container-Bytes-Used", strconv.FormatInt(info.BytesUsed, 10))
	h.Set("X-Timestamp", info.CreatedAt.Normal())
	h.Set("X-Put-Timestamp", info.PutTimestamp.Normal())
	if name := p.policyName(info.StoragePolicy); name != "" {
		h.Set("X-Storage-Policy", name)
	} else {
		p.log.Error("container has a storage policy that is not configured", "account", r.account, "container", r.container, "policy", info.StoragePolicy)
	}
	if len(p.policies()) > 1 {
		h.Set("X-Backend-Storage-Policy-Index", strconv.Itoa(info.StoragePolicy)) // for the access log
	}
	// A POST moves Last-Modified too (Swift updates put_timestamp on POST).
	lm := info.PutTimestamp
	for _, v := range info.Metadata {
		if v.Timestamp.After(lm) {
			lm = v.Timestamp
		}
	}
	h.Set("Last-Modified", httpDate(lm))
	h.Set("Accept-Ranges", "bytes")
	setMetaHeaders(r.ctx, info.Metadata, r.isOwner())
	path, isPath := r.query("path"), r.hasQuery("path")
	if isPath {
		// The legacy path query: what lies directly under path/.
		opts.Prefix, opts.Delimiter = "", "/"
		if path != "" {
			opts.Prefix = strings.TrimRight(path, "/") + "/"
		}
	}
	var entries []db.ObjectEntry
	if r.method == fasthttp.MethodGet && opts.Limit > 0 {
		pl := p.containerPlace(r.account, r.container)
		entries, err = readFirst(pl, func(n *ring.Device) ([]db.ObjectEntry, error) {
			return p.be.ContainerList(context.Background(), n, pl.part, r.account, r.container, opts)
		})
		if err != nil {
			writeError(r.ctx, err)
			return
		}
		if isPath {
			entries = pathEntries(entries, opts.Prefix)
		}
	}
	writeObjectListing(r.ctx, format, r.container, entries)
	if r.method == fasthttp.MethodHead {
		headBody(r.ctx)
	}
}

// pathEntries shapes a listing for ?path= as Swift does: the directory
// marker named path itself is left out, and each deeper directory is
// listed as an empty object named "dir/" (names with an empty directory
// part, like "/x" under path "", belong to path "/" instead).
func pathEntries(entries []db.ObjectEntry, prefix string) []db.ObjectEntry {
	out := entries[:0]
	for _, e := range entries {
		switch {
		case e.Subdir == prefix+"/":
			// an empty directory name ("/" under path ""): not a level of path
		case e.Subdir != "":
			out = append(out, db.ObjectEntry{ObjectRow: db.ObjectRow{Name: e.Subdir}})
		case e.Name == prefix:
		default:
			out = append(out, e)
		}
	}
	return out
}
