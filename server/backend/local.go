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
	b   *Local
	ref ObjectRef
	ct  *ContainerTarget
}

// Commit makes the replica and its journalled container update durable
// in one flush, then queues the update for the container database.
func (w *localWriter) Commit(meta map[string]string) error {
	if w.ct == nil {
		return w.ObjectWriter.Commit(meta)
	}
	r := w.ref
	row := db.ObjectRow{Name: r.Object, Timestamp: w.ObjectWriter.Timestamp(), Size: w.Size(), ContentType: meta["Content-Type"], ETag: ListingEtag(meta),
		StoragePolicy: r.Policy}
	ap := AsyncPendingFor(r.Account, r.Container, r.Object, row)
	ref, err := w.ObjectWriter.CommitWithUpdate(meta, &ap)
	if err != nil {
		return err
	}
	w.b.updates.queue(r.Node.Device, w.ct, ap, row, ref)
	return nil
}

type localReader struct{ r *storage.ObjectReader }

func (l localReader) Metadata() map[string]string    { return l.r.Metadata() }
func (l localReader) Timestamp() timestamp.Timestamp { return l.r.Timestamp() }
func (l localReader) Size() int64                    { return l.r.Size() }
func (l localReader) Body(off, n int64) Body         { return l.r.Body(off, n) }
func (l localReader) Close() error                   { return l.r.Close() }

func (b *Local) ObjectCreate(_ context.Context, r ObjectRef, ts timestamp.Timestamp, size int64, ct *ContainerTarget) (ObjectWriter, error) {
	w, err := b.Objects.Policy(r.Policy).NewWriter(r.Node.Device, r.Part, r.Account, r.Container, r.Object, ts, size)
	if err != nil {
		return nil, err
	}
	// The proxy hashes the body once for all replicas and commits with its ETag.
	w.SkipHash()
	return &localWriter{ObjectWriter: w, b: b, ref: r, ct: ct}, nil
}

func (b *Local) ObjectOpen(_ context.Context, r ObjectRef) (ObjectReader, error) {
	rd, err := b.Objects.Policy(r.Policy).Open(r.Node.Device, r.Part, r.Account, r.Container, r.Object)
	if err != nil {
		return nil, err
	}
	return localReader{rd}, nil
}

func (b *Local) ObjectPost(_ context.Context, r ObjectRef, ts timestamp.Timestamp, meta map[string]string, ct *ContainerTarget) error {
	objects := b.Objects.Policy(r.Policy)
	dev, part, a, c, o := r.Node.Device, r.Part, r.Account, r.Container, r.Object
	var before map[string]string
	var dataTs timestamp.Timestamp
	if ct != nil {
		if rd, err := objects.Open(dev, part, a, c, o); err == nil {
			before, dataTs = rd.Metadata(), rd.Timestamp()
			rd.Close()
		}
	}
	if before == nil {
		return objects.Post(dev, part, a, c, o, ts, meta)
	}
	// Like Swift's object server, tell the container: the listing's
	// last_modified is the metadata timestamp, and a new content type shows.
	size, _ := strconv.ParseInt(before["Content-Length"], 10, 64)
	row := db.ObjectRow{Name: o, Timestamp: dataTs, Size: size, ContentType: before["Content-Type"],
		ETag: ListingEtag(before), MetaTimestamp: ts, StoragePolicy: r.Policy}
	if ctype := meta["Content-Type"]; ctype != "" {
		row.ContentType, row.CtypeTimestamp = ctype, ts
	}
	ap := AsyncPendingFor(a, c, o, row)
	var ref storage.JournalRef
	if err := objects.PostWithUpdate(dev, part, a, c, o, ts, meta, &ap, &ref); err != nil {
		return err
	}
	b.updates.queue(dev, ct, ap, row, ref)
	return nil
}

func (b *Local) ObjectDelete(_ context.Context, r ObjectRef, ts timestamp.Timestamp, meta map[string]string, ct *ContainerTarget) error {
	objects := b.Objects.Policy(r.Policy)
	dev, part, a, c, o := r.Node.Device, r.Part, r.Account, r.Container, r.Object
	if ct == nil {
		return objects.Delete(dev, part, a, c, o, ts, meta)
	}
	row := db.ObjectRow{Name: o, Timestamp: ts, Deleted: true, StoragePolicy: r.Policy}
	ap := AsyncPendingFor(a, c, o, row)
	var ref storage.JournalRef
	err := objects.DeleteWithUpdate(dev, part, a, c, o, ts, meta, &ap, &ref)
	if err == nil || errors.Is(err, storage.ErrNotFound) {
		// A tombstone was written either way: the listing forgets the object.
		b.updates.queue(dev, ct, ap, row, ref)
	}
	return err
}

func (b *Local) AsyncPending(_ context.Context, n *Node, p storage.AsyncPending) error {
	return b.Objects.WriteAsyncPending(n.Device, p)
}

func (b *Local) ContainerCreate(_ context.Context, r ContainerRef, ts timestamp.Timestamp, policy int, meta db.Metadata) (bool, error) {
	return b.DBs.CreateContainer(r.Node.Device, r.Part, r.Account, r.Container, ts, policy, meta)
}

func (b *Local) ContainerDelete(_ context.Context, r ContainerRef, ts timestamp.Timestamp) error {
	b.updates.flush(r.key())
	return b.DBs.DeleteContainer(r.Node.Device, r.Part, r.Account, r.Container, ts)
}

func (b *Local) ContainerInfo(_ context.Context, r ContainerRef, fresh bool) (db.ContainerInfo, error) {
	if fresh {
		b.updates.flush(r.key())
	}
	return b.DBs.ContainerInfo(r.Node.Device, r.Part, r.Account, r.Container)
}

func (b *Local) ContainerPost(_ context.Context, r ContainerRef, meta db.Metadata) error {
	return b.DBs.UpdateContainerMetadata(r.Node.Device, r.Part, r.Account, r.Container, meta)
}

func (b *Local) ContainerUpdate(_ context.Context, r ContainerRef, row db.ObjectRow) error {
	return b.DBs.PutObjectRow(r.Node.Device, r.Part, r.Account, r.Container, row)
}

func (b *Local) ContainerUpdates(_ context.Context, r ContainerRef, rows []db.ObjectRow) error {
	return b.DBs.MergeObjectRows(r.Node.Device, r.Part, r.Account, r.Container, rows)
}

func (b *Local) ContainerList(_ context.Context, r ContainerRef, opts db.ListOptions) ([]db.ObjectEntry, error) {
	b.updates.flush(r.key())
	return b.DBs.ListObjects(r.Node.Device, r.Part, r.Account, r.Container, opts)
}

func (b *Local) AccountCreate(_ context.Context, r AccountRef, ts timestamp.Timestamp, meta db.Metadata) (bool, error) {
	return b.DBs.CreateAccount(r.Node.Device, r.Part, r.Account, ts, meta)
}

func (b *Local) AccountDelete(_ context.Context, r AccountRef, ts timestamp.Timestamp) error {
	return b.DBs.DeleteAccount(r.Node.Device, r.Part, r.Account, ts)
}

func (b *Local) AccountInfo(_ context.Context, r AccountRef) (db.AccountInfo, error) {
	return b.DBs.AccountInfo(r.Node.Device, r.Part, r.Account)
}

func (b *Local) AccountPost(_ context.Context, r AccountRef, meta db.Metadata) error {
	return b.DBs.UpdateAccountMetadata(r.Node.Device, r.Part, r.Account, meta)
}

func (b *Local) AccountUpdate(_ context.Context, r AccountRef, row db.ContainerRow) error {
	return b.DBs.PutContainerRow(r.Node.Device, r.Part, r.Account, row)
}

func (b *Local) AccountList(_ context.Context, r AccountRef, opts db.ListOptions) ([]db.ContainerEntry, error) {
	return b.DBs.ListContainers(r.Node.Device, r.Part, r.Account, opts)
}

// key is the container database's key in the pending updates.
func (r ContainerRef) key() dbKey { return dbKey{r.Node.Device, r.Part, r.Account, r.Container} }

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
