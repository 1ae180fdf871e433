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

const containerMethods = "HEAD, GET, PUT, POST, DELETE, OPTIONS"

// cleanACLs normalises X-Container-Read/-Write in place (Swift's
// clean_acls), answering 400 for an invalid one.
func cleanACLs(r *Request) error {
	for _, h := range []string{"X-Container-Read", "X-Container-Write"} {
		v := r.Ctx.Request.Header.Peek(h)
		if v == nil {
			continue
		}
		clean, err := keystone.CleanACL(h, string(v))
		if err != nil {
			return Errorf(fasthttp.StatusBadRequest, "%s", err.Error())
		}
		r.Ctx.Request.Header.Set(h, clean)
	}
	return nil
}

// ContainerInfo reads a container's info from the first replica that has
// it, for existence and ACL checks (counts may lag by a few milliseconds).
// ctx is the request's (nil for none).
func (p *Proxy) ContainerInfo(ctx *fasthttp.RequestCtx, a, c string) (db.ContainerInfo, error) {
	return p.readContainerInfo(p.reqContext(ctx), a, c, false)
}

// ReadContainerInfo reads it now; fresh counts every acknowledged write.
func (p *Proxy) ReadContainerInfo(ctx *fasthttp.RequestCtx, a, c string, fresh bool) (db.ContainerInfo, error) {
	return p.readContainerInfo(p.reqContext(ctx), a, c, fresh)
}

// readContainerInfo is ReadContainerInfo for a request: ctx is its context.
func (p *Proxy) readContainerInfo(ctx context.Context, a, c string, fresh bool) (db.ContainerInfo, error) {
	pl := p.containerPlace(a, c)
	return readFirst(pl, func(n *ring.Device) (db.ContainerInfo, error) {
		return p.be.ContainerInfo(ctx, pl.container(n, a, c), fresh)
	})
}

// checkContainerHeaders prepares a container PUT or POST: owner-only
// settings dropped for non-owners, ACLs cleaned, metadata within limits.
func (p *Proxy) checkContainerHeaders(r *Request) error {
	dropOwnerOnly(r)
	if err := cleanACLs(r); err != nil {
		return err
	}
	if err := p.runContainerChecks(r); err != nil {
		return err
	}
	return p.checkMetadata(r, "Container")
}

func (p *Proxy) containerPut(r *Request) error {
	if err := p.checkContainerHeaders(r); err != nil {
		return err
	}
	// Not requested: an existing container keeps its policy, a new one
	// gets the default (Swift's X-Backend-Storage-Policy-Default).
	policy := db.NoPolicy(p.Policies().Default().Index)
	if pol, ok, err := p.requestedPolicy(r); err != nil {
		return err
	} else if ok {
		policy = pol.Index
	}
	if err := p.ensureAccount(r.Context(), r.Account); err != nil {
		return err
	}
	ts, err := requestTimestamp(r)
	if err != nil {
		return err
	}
	meta := dbMetadata(r, "Container", ts, containerSysHeaders)
	if info, err := p.ContainerInfo(r.Ctx, r.Account, r.Container); err == nil {
		if err := p.checkMergedMeta("Container", info.Metadata, meta); err != nil {
			return err
		}
	}
	pl := p.containerPlace(r.Account, r.Container)
	var created atomic.Bool // any replica newly created: 201, else 202
	res := writeEach(pl, func(_ int, n *ring.Device) error {
		c, err := p.be.ContainerCreate(r.Context(), pl.container(n, r.Account, r.Container), ts, policy, meta)
		if c {
			created.Store(true)
		}
		return err
	})
	if _, err := outcome(res, pl.quorum()); err != nil {
		return err
	}
	p.acct.updateNow(r.Account, r.Container)
	if created.Load() {
		r.Ctx.SetStatusCode(fasthttp.StatusCreated)
		r.Ctx.Response.Header.SetContentType("text/html; charset=UTF-8")
		r.Ctx.Response.Header.SetContentLength(0)
	} else {
		WriteStatus(r.Ctx, fasthttp.StatusAccepted, acceptedBody)
	}
	return nil
}

func (p *Proxy) containerPost(r *Request) error {
	if err := p.checkContainerHeaders(r); err != nil {
		return err
	}
	info, err := p.ContainerInfo(r.Ctx, r.Account, r.Container)
	if err != nil {
		return err
	}
	ts := timestamp.Now()
	meta := dbMetadata(r, "Container", ts, containerSysHeaders)
	if err := p.checkMergedMeta("Container", info.Metadata, meta); err != nil {
		return err
	}
	pl := p.containerPlace(r.Account, r.Container)
	res := writeEach(pl, func(_ int, n *ring.Device) error {
		return p.be.ContainerPost(r.Context(), pl.container(n, r.Account, r.Container), meta)
	})
	if _, err := outcome(res, pl.quorum()); err != nil {
		return err
	}
	NoContent(r.Ctx)
	return nil
}

func (p *Proxy) containerDelete(r *Request) error {
	ts, err := requestTimestamp(r)
	if err != nil {
		return err
	}
	pl := p.containerPlace(r.Account, r.Container)
	res := writeEach(pl, func(_ int, n *ring.Device) error {
		return p.be.ContainerDelete(r.Context(), pl.container(n, r.Account, r.Container), ts)
	})
	for _, x := range res {
		if StatusOf(x.err) == fasthttp.StatusConflict {
			return Errorf(fasthttp.StatusConflict, "<html><h1>Conflict</h1><p>There was a conflict when trying to complete your request.</p></html>")
		}
	}
	if _, err := outcome(res, pl.quorum()); err != nil {
		return err
	}
	p.acct.updateNow(r.Account, r.Container)
	NoContent(r.Ctx)
	return nil
}

func (p *Proxy) containerGet(r *Request) error {
	format, err := ListingFormat(r)
	if err != nil {
		return err
	}
	opts, err := listOptions(r, p.limits.ContainerListingLimit)
	if err != nil {
		return err
	}
	info, err := p.readContainerInfo(r.Context(), r.Account, r.Container, true)
	if err != nil {
		return err
	}
	h := &r.Ctx.Response.Header
	h.Set("X-Container-Object-Count", strconv.FormatInt(info.ObjectCount, 10))
	h.Set("X-Container-Bytes-Used", strconv.FormatInt(info.BytesUsed, 10))
	h.Set("X-Timestamp", info.CreatedAt.Normal())
	h.Set("X-Put-Timestamp", info.PutTimestamp.Normal())
	if name := p.policyName(info.StoragePolicy); name != "" {
		h.Set("X-Storage-Policy", name)
	} else {
		p.log.Error("container has a storage policy that is not configured", "account", r.Account, "container", r.Container, "policy", info.StoragePolicy)
	}
	if len(p.Policies()) > 1 {
		h.Set("X-Backend-Storage-Policy-Index", strconv.Itoa(info.StoragePolicy)) // for the access log
	}
	// A POST moves Last-Modified too (Swift updates put_timestamp on POST).
	lm := info.PutTimestamp
	for _, v := range info.Metadata {
		if v.Timestamp.After(lm) {
			lm = v.Timestamp
		}
	}
	h.Set("Last-Modified", HTTPDate(lm))
	h.Set("Accept-Ranges", "bytes")
	setMetaHeaders(r.Ctx, info.Metadata, r.IsOwner())
	path, isPath := r.Query("path"), r.HasQuery("path")
	if isPath {
		// The legacy path query: what lies directly under path/.
		opts.Prefix, opts.Delimiter = "", "/"
		if path != "" {
			opts.Prefix = strings.TrimRight(path, "/") + "/"
		}
	}
	var entries []db.ObjectEntry
	if r.Method == fasthttp.MethodGet && opts.Limit > 0 {
		pl := p.containerPlace(r.Account, r.Container)
		entries, err = readFirst(pl, func(n *ring.Device) ([]db.ObjectEntry, error) {
			return p.be.ContainerList(r.Context(), pl.container(n, r.Account, r.Container), opts)
		})
		if err != nil {
			return err
		}
		if isPath {
			entries = pathEntries(entries, opts.Prefix)
		}
	}
	writeObjectListing(r.Ctx, format, r.Container, entries, p.rowHooks)
	if r.Method == fasthttp.MethodHead {
		headBody(r.Ctx)
	}
	return nil
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
