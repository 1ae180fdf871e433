package backend

import (
	"context"

	"swiftbox/storage"
	"swiftbox/storage/db"
	"swiftbox/storage/timestamp"
)

// Call is one backend call as Observed shows it: the method, the node it
// went to and the error it returned (nil when it succeeded).
type Call struct {
	Method string
	Node   *Node
	Err    error
}

// Observed wraps a Backend so every call is shown to see, with the
// context it ran under, once it returned (per-device error metrics, fault
// logs, tests of the contexts calls carry); so is every error of an
// upload's writes and commit. Results pass unchanged.
func Observed(b Backend, see func(ctx context.Context, c Call)) Backend {
	return &observed{b: b, see: see}
}

type observed struct {
	b   Backend
	see func(ctx context.Context, c Call)
}

func (o *observed) seen(ctx context.Context, method string, n *Node, err error) error {
	o.see(ctx, Call{Method: method, Node: n, Err: err})
	return err
}

func (o *observed) ObjectCreate(ctx context.Context, r ObjectRef, ts timestamp.Timestamp, size int64, ct *ContainerTarget) (ObjectWriter, error) {
	w, err := o.b.ObjectCreate(ctx, r, ts, size, ct)
	if err != nil {
		return nil, o.seen(ctx, "ObjectCreate", r.Node, err)
	}
	o.seen(ctx, "ObjectCreate", r.Node, nil)
	return &observedWriter{ObjectWriter: w, o: o, ctx: ctx, n: r.Node}, nil
}

// observedWriter shows the errors of an object upload's writes and commit.
type observedWriter struct {
	ObjectWriter
	o   *observed
	ctx context.Context // the upload's
	n   *Node
}

func (w *observedWriter) Write(p []byte) (int, error) {
	k, err := w.ObjectWriter.Write(p)
	if err != nil {
		w.o.seen(w.ctx, "ObjectWrite", w.n, err)
	}
	return k, err
}

func (w *observedWriter) Commit(meta map[string]string) error {
	return w.o.seen(w.ctx, "ObjectCommit", w.n, w.ObjectWriter.Commit(meta))
}

func (o *observed) ObjectOpen(ctx context.Context, r ObjectRef) (ObjectReader, error) {
	rd, err := o.b.ObjectOpen(ctx, r)
	return rd, o.seen(ctx, "ObjectOpen", r.Node, err)
}

func (o *observed) ObjectPost(ctx context.Context, r ObjectRef, ts timestamp.Timestamp, meta map[string]string, ct *ContainerTarget) error {
	return o.seen(ctx, "ObjectPost", r.Node, o.b.ObjectPost(ctx, r, ts, meta, ct))
}

func (o *observed) ObjectDelete(ctx context.Context, r ObjectRef, ts timestamp.Timestamp, meta map[string]string, ct *ContainerTarget) error {
	return o.seen(ctx, "ObjectDelete", r.Node, o.b.ObjectDelete(ctx, r, ts, meta, ct))
}

func (o *observed) AsyncPending(ctx context.Context, n *Node, p storage.AsyncPending) error {
	return o.seen(ctx, "AsyncPending", n, o.b.AsyncPending(ctx, n, p))
}

func (o *observed) ContainerCreate(ctx context.Context, r ContainerRef, ts timestamp.Timestamp, policy int, meta db.Metadata) (bool, error) {
	created, err := o.b.ContainerCreate(ctx, r, ts, policy, meta)
	return created, o.seen(ctx, "ContainerCreate", r.Node, err)
}

func (o *observed) ContainerDelete(ctx context.Context, r ContainerRef, ts timestamp.Timestamp) error {
	return o.seen(ctx, "ContainerDelete", r.Node, o.b.ContainerDelete(ctx, r, ts))
}

func (o *observed) ContainerInfo(ctx context.Context, r ContainerRef, fresh bool) (db.ContainerInfo, error) {
	info, err := o.b.ContainerInfo(ctx, r, fresh)
	return info, o.seen(ctx, "ContainerInfo", r.Node, err)
}

func (o *observed) ContainerPost(ctx context.Context, r ContainerRef, meta db.Metadata) error {
	return o.seen(ctx, "ContainerPost", r.Node, o.b.ContainerPost(ctx, r, meta))
}

func (o *observed) ContainerUpdate(ctx context.Context, r ContainerRef, row db.ObjectRow) error {
	return o.seen(ctx, "ContainerUpdate", r.Node, o.b.ContainerUpdate(ctx, r, row))
}

func (o *observed) ContainerUpdates(ctx context.Context, r ContainerRef, rows []db.ObjectRow) error {
	return o.seen(ctx, "ContainerUpdates", r.Node, o.b.ContainerUpdates(ctx, r, rows))
}

func (o *observed) ContainerList(ctx context.Context, r ContainerRef, opts db.ListOptions) ([]db.ObjectEntry, error) {
	l, err := o.b.ContainerList(ctx, r, opts)
	return l, o.seen(ctx, "ContainerList", r.Node, err)
}

func (o *observed) AccountCreate(ctx context.Context, r AccountRef, ts timestamp.Timestamp, meta db.Metadata) (bool, error) {
	created, err := o.b.AccountCreate(ctx, r, ts, meta)
	return created, o.seen(ctx, "AccountCreate", r.Node, err)
}

func (o *observed) AccountDelete(ctx context.Context, r AccountRef, ts timestamp.Timestamp) error {
	return o.seen(ctx, "AccountDelete", r.Node, o.b.AccountDelete(ctx, r, ts))
}

func (o *observed) AccountInfo(ctx context.Context, r AccountRef) (db.AccountInfo, error) {
	info, err := o.b.AccountInfo(ctx, r)
	return info, o.seen(ctx, "AccountInfo", r.Node, err)
}

func (o *observed) AccountPost(ctx context.Context, r AccountRef, meta db.Metadata) error {
	return o.seen(ctx, "AccountPost", r.Node, o.b.AccountPost(ctx, r, meta))
}

func (o *observed) AccountUpdate(ctx context.Context, r AccountRef, row db.ContainerRow) error {
	return o.seen(ctx, "AccountUpdate", r.Node, o.b.AccountUpdate(ctx, r, row))
}

func (o *observed) AccountList(ctx context.Context, r AccountRef, opts db.ListOptions) ([]db.ContainerEntry, error) {
	l, err := o.b.AccountList(ctx, r, opts)
	return l, o.seen(ctx, "AccountList", r.Node, err)
}
