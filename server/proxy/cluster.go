package proxy

import (
	"context"
	"iter"

	"github.com/valyala/fasthttp"

	"swiftbox/config"
	"swiftbox/ring"
	"swiftbox/storage/db"
)

// Cluster is what the background daemons (server/daemon/...) may ask of
// the proxy core: where things live on the rings, container listings and
// row updates fanned out to the replicas as the core's own handlers do,
// and requests through the core alone. Everything else of the core stays
// internal; a daemon that needs more adds a method here.
type Cluster struct{ p *Proxy }

// Cluster is the daemons' view of p.
func (p *Proxy) Cluster() *Cluster { return &Cluster{p: p} }

// Policies are the configured storage policies.
func (c *Cluster) Policies() config.Policies { return c.p.Policies() }

// HashPath is the ring hash of a name (Swift's hash_path), with this
// cluster's prefix and suffix.
func (c *Cluster) HashPath(a, cont, o string) [16]byte {
	return ring.HashPath(c.p.hashPrefix, c.p.hashSuffix, a, cont, o)
}

// ContainerNodes are the partition and primary devices (in replica
// order) of container a/cont (Swift's ring.get_nodes).
func (c *Cluster) ContainerNodes(a, cont string) (part int, primaries []*ring.Device) {
	pl := c.p.containerPlace(a, cont)
	return pl.part, pl.primaries
}

// ObjectNodes are the partition and primary devices of object a/cont/o in
// storage policy policy's ring.
func (c *Cluster) ObjectNodes(policy int, a, cont, o string) (part int, primaries []*ring.Device) {
	pl := c.p.objectPlace(policy, a, cont, o)
	return pl.part, pl.primaries
}

// UpdateRow applies an object row to every replica of container a/cont
// (a failed primary's share goes to a handoff); it fails unless every
// replica took it, so the caller keeps the update for a later try.
func (c *Cluster) UpdateRow(ctx context.Context, a, cont string, row db.ObjectRow) error {
	p := c.p
	pl := p.containerPlace(a, cont)
	return c.updateAll(a, cont, writeEach(pl, func(_ int, n *ring.Device) error {
		return p.be.ContainerUpdate(ctx, pl.container(n, a, cont), row)
	}))
}

// UpdateRows is UpdateRow for many rows, one transaction per replica.
func (c *Cluster) UpdateRows(ctx context.Context, a, cont string, rows []db.ObjectRow) error {
	p := c.p
	pl := p.containerPlace(a, cont)
	return c.updateAll(a, cont, writeEach(pl, func(_ int, n *ring.Device) error {
		return p.be.ContainerUpdates(ctx, pl.container(n, a, cont), rows)
	}))
}

// updateAll is the first replica's error, or nil when all took the update
// (the account's statistics are then due an update).
func (c *Cluster) updateAll(a, cont string, res []writeResult) error {
	for _, r := range res {
		if r.err != nil {
			return r.err
		}
	}
	c.p.acct.markDirty(a, cont)
	return nil
}

// ReplicaListings lists container a/cont on each primary in turn, as each
// replica has it (no handoffs, no merging); a replica that cannot answer
// yields its error.
func (c *Cluster) ReplicaListings(ctx context.Context, a, cont string, opts db.ListOptions) iter.Seq2[[]db.ObjectEntry, error] {
	p := c.p
	pl := p.containerPlace(a, cont)
	return func(yield func([]db.ObjectEntry, error) bool) {
		for _, n := range pl.primaries {
			if !yield(p.be.ContainerList(ctx, pl.container(n, a, cont), opts)) {
				return
			}
		}
	}
}

// ListContainers lists every container of account, in name order.
func (c *Cluster) ListContainers(ctx context.Context, account string) ([]string, error) {
	return c.p.listAllContainers(ctx, account)
}

// ListObjects lists container a/cont from the first replica that answers.
func (c *Cluster) ListObjects(ctx context.Context, a, cont string, opts db.ListOptions) ([]db.ObjectEntry, error) {
	return c.p.listObjects(ctx, a, cont, opts)
}

// Do runs a request through the proxy core alone, as the account owner
// (Swift's InternalClient, whose pipeline has no auth): no middleware
// resolves large objects or symlinks, so objects come as stored. uri is
// the escaped path with an optional query. The caller owns the response
// (see Subrequest). A request asked for once ctx has ended is not made:
// its answer is 503.
func (c *Cluster) Do(ctx context.Context, method, uri string, prep func(req *fasthttp.Request)) *fasthttp.Response {
	if ctx.Err() != nil {
		resp := new(fasthttp.Response)
		resp.SetStatusCode(fasthttp.StatusServiceUnavailable)
		return resp
	}
	return c.p.internalRequest(method, uri, prep)
}

// CleanContentType is an object's stored Content-Type as clients see it
// (an SLO manifest's swift_bytes parameter dropped).
func CleanContentType(ct string) string { return cleanContentType(ct) }

// SymlinkClientHeader is the client header (X-Symlink-Target, …) a
// symlink's sysmeta header shows as with ?symlink=get, or "".
func SymlinkClientHeader(sysmeta string) string {
	for _, pair := range symlinkHeaderPairs {
		if pair[1] == sysmeta {
			return pair[0]
		}
	}
	return ""
}
