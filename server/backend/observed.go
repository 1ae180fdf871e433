package backend

import (
	"context"

	"swiftbox/storage"
	"swiftbox/storage/db"
	"swiftbox/storage/timestamp"
)

// Observed wraps a Backend so every error a call returns is shown to
// onErr with the node it came from (per-device error metrics), then
// returned unchanged.
func Observed(b Backend, onErr func(n *Node, err error)) Backend {
	return &observed{b: b, onErr: onErr}
}

type observed struct {
	b     Backend
	onErr func(n *Node, err error)
}

func (o *observed) seen(n *Node, err error) error {
	if err != nil {
		o.onErr(n, err)
	}
	return err
}

func (o *observed) ObjectCreate(ctx context.Context, n *Node, part, policy int, a, c, ob string, ts timestamp.Timestamp, size int64, ct *ContainerTarget) (ObjectWriter, error) {
	w, err := o.b.ObjectCreate(ctx, n, part, policy, a, c, ob, ts, size, ct)
	if err != nil {
		return nil, o.seen(n, err)
	}
	return &observedWriter{ObjectWriter: w, o: o, n: n}, nil
}

// observedWriter shows the errors of an object upload's writes and commit.
type observedWriter struct {
	ObjectWriter
	o *observed
	n *Node
}

func (w *observedWriter) Write(p []byte) (int, error) {
	k, err := w.ObjectWriter.Write(p)
	return k, w.o.seen(w.n, err)
}

func (w *observedWriter) Commit(meta map[string]string) error {
	return w.o.seen(w.n, w.ObjectWriter.Commit(meta))
}

func (o *observed) ObjectOpen(ctx context.Context, n *Node, part, policy int, a, c, ob string) (ObjectReader, error) {
	r, err := o.b.ObjectOpen(ctx, n, part, policy, a, c, ob)
	return r, o.seen(n, err)
}

func (o *observed) ObjectPost(ctx context.Context, n *Node, part, policy int, a, c, ob string, ts timestamp.Timestamp, meta map[string]string, ct *ContainerTarget) error {
	return o.seen(n, o.b.ObjectPost(ctx, n, part, policy, a, c, ob, ts, meta, ct))
}

func (o *observed) ObjectDelete(ctx context.Context, n *Node, part, policy int, a, c, ob string, ts timestamp.Timestamp, meta map[string]string, ct *ContainerTarget) error {
	return o.seen(n, o.b.ObjectDelete(ctx, n, part, policy, a, c, ob, ts, meta, ct))
}

func (o *observed) AsyncPending(ctx context.Context, n *Node, p storage.AsyncPending) error {
	return o.seen(n, o.b.AsyncPending(ctx, n, p))
}

func (o *observed) ContainerCreate(ctx context.Context, n *Node, part int, a, c string, ts timestamp.Timestamp, policy int, meta db.Metadata) (bool, error) {
	created, err := o.b.ContainerCreate(ctx, n, part, a, c, ts, policy, meta)
	return created, o.seen(n, err)
}

func (o *observed) ContainerDelete(ctx context.Context, n *Node, part int, a, c string, ts timestamp.Timestamp) error {
	return o.seen(n, o.b.ContainerDelete(ctx, n, part, a, c, ts))
}

func (o *observed) ContainerInfo(ctx context.Context, n *Node, part int, a, c string, fresh bool) (db.ContainerInfo, error) {
	info, err := o.b.ContainerInfo(ctx, n, part, a, c, fresh)
	return info, o.seen(n, err)
}

func (o *observed) ContainerPost(ctx context.Context, n *Node, part int, a, c string, meta db.Metadata) error {
	return o.seen(n, o.b.ContainerPost(ctx, n, part, a, c, meta))
}

func (o *observed) ContainerUpdate(ctx context.Context, n *Node, part int, a, c string, row db.ObjectRow) error {
	return o.seen(n, o.b.ContainerUpdate(ctx, n, part, a, c, row))
}

func (o *observed) ContainerUpdates(ctx context.Context, n *Node, part int, a, c string, rows []db.ObjectRow) error {
	return o.seen(n, o.b.ContainerUpdates(ctx, n, part, a, c, rows))
}

func (o *observed) ContainerList(ctx context.Context, n *Node, part int, a, c string, opts db.ListOptions) ([]db.ObjectEntry, error) {
	l, err := o.b.ContainerList(ctx, n, part, a, c, opts)
	return l, o.seen(n, err)
}

func (o *observed) AccountCreate(ctx context.Context, n *Node, part int, a string, ts timestamp.Timestamp, meta db.Metadata) (bool, error) {
	created, err := o.b.AccountCreate(ctx, n, part, a, ts, meta)
	return created, o.seen(n, err)
}

func (o *observed) AccountDelete(ctx context.Context, n *Node, part int, a string, ts timestamp.Timestamp) error {
	return o.seen(n, o.b.AccountDelete(ctx, n, part, a, ts))
}

func (o *observed) AccountInfo(ctx context.Context, n *Node, part int, a string) (db.AccountInfo, error) {
	info, err := o.b.AccountInfo(ctx, n, part, a)
	return info, o.seen(n, err)
}

func (o *observed) AccountPost(ctx context.Context, n *Node, part int, a string, meta db.Metadata) error {
	return o.seen(n, o.b.AccountPost(ctx, n, part, a, meta))
}

func (o *observed) AccountUpdate(ctx context.Context, n *Node, part int, a string, row db.ContainerRow) error {
	return o.seen(n, o.b.AccountUpdate(ctx, n, part, a, row))
}

func (o *observed) AccountList(ctx context.Context, n *Node, part int, a string, opts db.ListOptions) ([]db.ContainerEntry, error) {
	l, err := o.b.AccountList(ctx, n, part, a, opts)
	return l, o.seen(n, err)
}
