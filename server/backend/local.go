package backend

import (
	"context"
	"errors"
	"log/slog"
	"strconv"

	"swiftbox/storage"
	"swiftbox/storage/db"
	"swiftbox/storage/timestamp"
)

// Local serves every node from devices on this machine: no HTTP hop, no
// extra copy. Node.Device names the directory under the devices root.
type Local struct {
	Objects *storage.ObjectStore
	DBs     *db.Store
	updates *containerUpdates
}

var _ Backend = (*Local)(nil)

// NewLocal serves objects and dbs; Close applies pending container updates.
func NewLocal(objects *storage.ObjectStore, dbs *db.Store, log *slog.Logger) *Local {
	return &Local{Objects: objects, DBs: dbs, updates: newContainerUpdates(objects, dbs, log)}
}

// Close applies every queued container update.
func (b *Local) Close() { b.updates.close() }

type localWriter struct {
	*storage.ObjectWriter
	b                *Local
	device           string
	policy           int
	account, cont, o string
	ct               *ContainerTarget
}

// Commit makes the replica and its journalled container update durable
// in one flush, then queues the update for the container database.
func (w *localWriter) Commit(meta map[string]string) error {
	if w.ct == nil {
		return w.ObjectWriter.Commit(meta)
	}
	row := db.ObjectRow{Name: w.o, Timestamp: w.ObjectWriter.Timestamp(), Size: w.Size(), ContentType: meta["Content-Type"], ETag: ListingEtag(meta),
		StoragePolicy: w.policy}
	ap := AsyncPendingFor(w.account, w.cont, w.o, row)
	ref, err := w.ObjectWriter.CommitWithUpdate(meta, &ap)
	if err != nil {
		return err
	}
	w.b.updates.queue(w.device, w.ct, ap, row, ref)
	return nil
}

type localReader struct{ r *storage.ObjectReader }

func (l localReader) Metadata() map[string]string    { return l.r.Metadata() }
func (l localReader) Timestamp() timestamp.Timestamp { return l.r.Timestamp() }
func (l localReader) Size() int64                    { return l.r.Size() }
func (l localReader) Body(off, n int64) Body         { return l.r.Body(off, n) }
func (l localReader) Close() error                   { return l.r.Close() }

func (b *Local) ObjectCreate(_ context.Context, n *Node, part, policy int, a, c, o string, ts timestamp.Timestamp, size int64, ct *ContainerTarget) (ObjectWriter, error) {
	w, err := b.Objects.Policy(policy).NewWriter(n.Device, part, a, c, o, ts, size)
	if err != nil {
		return nil, err
	}
	// The proxy hashes the body once for all replicas and commits with its ETag.
	w.SkipHash()
	return &localWriter{ObjectWriter: w, b: b, device: n.Device, policy: policy, account: a, cont: c, o: o, ct: ct}, nil
}

func (b *Local) ObjectOpen(_ context.Context, n *Node, part, policy int, a, c, o string) (ObjectReader, error) {
	r, err := b.Objects.Policy(policy).Open(n.Device, part, a, c, o)
	if err != nil {
		return nil, err
	}
	return localReader{r}, nil
}

func (b *Local) ObjectPost(_ context.Context, n *Node, part, policy int, a, c, o string, ts timestamp.Timestamp, meta map[string]string, ct *ContainerTarget) error {
	objects := b.Objects.Policy(policy)
	var before map[string]string
	var dataTs timestamp.Timestamp
	if ct != nil {
		if r, err := objects.Open(n.Device, part, a, c, o); err == nil {
			before, dataTs = r.Metadata(), r.Timestamp()
			r.Close()
		}
	}
	if before == nil {
		return objects.Post(n.Device, part, a, c, o, ts, meta)
	}
	// Like Swift's object server, tell the container: the listing's
	// last_modified is the metadata timestamp, and a new content type shows.
	size, _ := strconv.ParseInt(before["Content-Length"], 10, 64)
	row := db.ObjectRow{Name: o, Timestamp: dataTs, Size: size, ContentType: before["Content-Type"],
		ETag: ListingEtag(before), MetaTimestamp: ts, StoragePolicy: policy}
	if ctype := meta["Content-Type"]; ctype != "" {
		row.ContentType, row.CtypeTimestamp = ctype, ts
	}
	ap := AsyncPendingFor(a, c, o, row)
	var ref storage.JournalRef
	if err := objects.PostWithUpdate(n.Device, part, a, c, o, ts, meta, &ap, &ref); err != nil {
		return err
	}
	b.updates.queue(n.Device, ct, ap, row, ref)
	return nil
}

func (b *Local) ObjectDelete(_ context.Context, n *Node, part, policy int, a, c, o string, ts timestamp.Timestamp, meta map[string]string, ct *ContainerTarget) error {
	objects := b.Objects.Policy(policy)
	if ct == nil {
		return objects.Delete(n.Device, part, a, c, o, ts, meta)
	}
	row := db.ObjectRow{Name: o, Timestamp: ts, Deleted: true, StoragePolicy: policy}
	ap := AsyncPendingFor(a, c, o, row)
	var ref storage.JournalRef
	err := objects.DeleteWithUpdate(n.Device, part, a, c, o, ts, meta, &ap, &ref)
	if err == nil || errors.Is(err, storage.ErrNotFound) {
		// A tombstone was written either way: the listing forgets the object.
		b.updates.queue(n.Device, ct, ap, row, ref)
	}
	return err
}

func (b *Local) AsyncPending(_ context.Context, n *Node, p storage.AsyncPending) error {
	return b.Objects.WriteAsyncPending(n.Device, p)
}

func (b *Local) ContainerCreate(_ context.Context, n *Node, part int, a, c string, ts timestamp.Timestamp, policy int, meta db.Metadata) (bool, error) {
	return b.DBs.CreateContainer(n.Device, part, a, c, ts, policy, meta)
}

func (b *Local) ContainerDelete(_ context.Context, n *Node, part int, a, c string, ts timestamp.Timestamp) error {
	b.updates.flush(dbKey{n.Device, part, a, c})
	return b.DBs.DeleteContainer(n.Device, part, a, c, ts)
}

func (b *Local) ContainerInfo(_ context.Context, n *Node, part int, a, c string, fresh bool) (db.ContainerInfo, error) {
	if fresh {
		b.updates.flush(dbKey{n.Device, part, a, c})
	}
	return b.DBs.ContainerInfo(n.Device, part, a, c)
}

func (b *Local) ContainerPost(_ context.Context, n *Node, part int, a, c string, meta db.Metadata) error {
	return b.DBs.UpdateContainerMetadata(n.Device, part, a, c, meta)
}

func (b *Local) ContainerUpdate(_ context.Context, n *Node, part int, a, c string, row db.ObjectRow) error {
	return b.DBs.PutObjectRow(n.Device, part, a, c, row)
}

func (b *Local) ContainerUpdates(_ context.Context, n *Node, part int, a, c string, rows []db.ObjectRow) error {
	return b.DBs.MergeObjectRows(n.Device, part, a, c, rows)
}

func (b *Local) ContainerList(_ context.Context, n *Node, part int, a, c string, opts db.ListOptions) ([]db.ObjectEntry, error) {
	b.updates.flush(dbKey{n.Device, part, a, c})
	return b.DBs.ListObjects(n.Device, part, a, c, opts)
}

func (b *Local) AccountCreate(_ context.Context, n *Node, part int, a string, ts timestamp.Timestamp, meta db.Metadata) (bool, error) {
	return b.DBs.CreateAccount(n.Device, part, a, ts, meta)
}

func (b *Local) AccountDelete(_ context.Context, n *Node, part int, a string, ts timestamp.Timestamp) error {
	return b.DBs.DeleteAccount(n.Device, part, a, ts)
}

func (b *Local) AccountInfo(_ context.Context, n *Node, part int, a string) (db.AccountInfo, error) {
	return b.DBs.AccountInfo(n.Device, part, a)
}

func (b *Local) AccountPost(_ context.Context, n *Node, part int, a string, meta db.Metadata) error {
	return b.DBs.UpdateAccountMetadata(n.Device, part, a, meta)
}

func (b *Local) AccountUpdate(_ context.Context, n *Node, part int, a string, row db.ContainerRow) error {
	return b.DBs.PutContainerRow(n.Device, part, a, row)
}

func (b *Local) AccountList(_ context.Context, n *Node, part int, a string, opts db.ListOptions) ([]db.ContainerEntry, error) {
	return b.DBs.ListContainers(n.Device, part, a, opts)
}

// OverrideEtagKey is the sysmeta a middleware sets to list an object
// with another etag than its body's (SLO's "etag; slo_etag=…").
const OverrideEtagKey = "X-Object-Sysmeta-Container-Update-Override-Etag"

// ListingEtag is the etag an object's container listing shows.
func ListingEtag(meta map[string]string) string {
	if v := meta[OverrideEtagKey]; v != "" {
		return v
	}
	return meta["ETag"]
}
