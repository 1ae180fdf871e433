// Package backend is the proxy's view of storage nodes: one interface whose
// methods mirror Swift's object, container and account server protocol, with
// an in-process implementation for devices on this node.
package backend

import (
	"context"
	"io"

	"swiftbox/ring"
	"swiftbox/storage"
	"swiftbox/storage/db"
	"swiftbox/storage/timestamp"
)

// Node is a device as the ring names it.
type Node = ring.Device

// Backend is every storage-node operation the proxy uses. Each method maps to
// one request of Swift's backend HTTP protocol (PUT/GET/HEAD/POST/DELETE on
// /<device>/<partition>/<account>[/<container>[/<object>]]), so a remote
// implementation can carry it over HTTP. Errors are the storage and db
// packages' sentinels (storage.ErrNotFound, db.ErrNotEmpty, …).
type Backend interface {
	// The object methods work in storage policy index r.Policy (Swift's
	// X-Backend-Storage-Policy-Index): its directories on r.Node.

	// ObjectCreate starts an object PUT; the writer's Commit makes it
	// durable and, when ct is set, records the container update for ct.
	ObjectCreate(ctx context.Context, r ObjectRef, ts timestamp.Timestamp, size int64, ct *ContainerTarget) (ObjectWriter, error)
	// ObjectOpen is GET/HEAD.
	ObjectOpen(ctx context.Context, r ObjectRef) (ObjectReader, error)
	// ObjectPost writes a .meta (fast-POST); a changed Content-Type is
	// carried to ct's listing.
	ObjectPost(ctx context.Context, r ObjectRef, ts timestamp.Timestamp, meta map[string]string, ct *ContainerTarget) error
	// ObjectDelete writes a tombstone and records the deletion for ct.
	ObjectDelete(ctx context.Context, r ObjectRef, ts timestamp.Timestamp, meta map[string]string, ct *ContainerTarget) error
	// AsyncPending records a container update that could not be applied.
	AsyncPending(ctx context.Context, n *Node, p storage.AsyncPending) error

	ContainerCreate(ctx context.Context, r ContainerRef, ts timestamp.Timestamp, policy int, meta db.Metadata) (created bool, err error)
	ContainerDelete(ctx context.Context, r ContainerRef, ts timestamp.Timestamp) error
	// ContainerInfo reads a container's info; fresh includes every
	// acknowledged object write in the counts (stale is cheaper and enough
	// for existence and ACL checks).
	ContainerInfo(ctx context.Context, r ContainerRef, fresh bool) (db.ContainerInfo, error)
	ContainerPost(ctx context.Context, r ContainerRef, meta db.Metadata) error
	// ContainerUpdate applies an object row (the object server's container update).
	ContainerUpdate(ctx context.Context, r ContainerRef, row db.ObjectRow) error
	// ContainerUpdates merges rows in one transaction, as ContainerUpdate
	// each.
	ContainerUpdates(ctx context.Context, r ContainerRef, rows []db.ObjectRow) error
	ContainerList(ctx context.Context, r ContainerRef, opts db.ListOptions) ([]db.ObjectEntry, error)

	AccountCreate(ctx context.Context, r AccountRef, ts timestamp.Timestamp, meta db.Metadata) (created bool, err error)
	AccountDelete(ctx context.Context, r AccountRef, ts timestamp.Timestamp) error
	AccountInfo(ctx context.Context, r AccountRef) (db.AccountInfo, error)
	AccountPost(ctx context.Context, r AccountRef, meta db.Metadata) error
	// AccountUpdate applies a container row (the container server's account update).
	AccountUpdate(ctx context.Context, r AccountRef, row db.ContainerRow) error
	AccountList(ctx context.Context, r AccountRef, opts db.ListOptions) ([]db.ContainerEntry, error)
}

// ObjectRef names one object replica: the node and partition the ring
// places it on, its storage policy index, and its name.
type ObjectRef struct {
	Node                       *Node
	Part, Policy               int
	Account, Container, Object string
}

// ContainerRef names one replica of a container database.
type ContainerRef struct {
	Node               *Node
	Part               int
	Account, Container string
}

// AccountRef names one replica of an account database.
type AccountRef struct {
	Node    *Node
	Part    int
	Account string
}

// ContainerTarget is the container replica an object write updates
// (Swift's X-Container-Host/-Device/-Partition). The update is durable
// when the write returns and visible to the next read of that container.
type ContainerTarget struct {
	Node *Node
	Part int
}

// ObjectWriter streams one replica of an object PUT.
type ObjectWriter interface {
	io.Writer
	// Commit makes the object durable with meta (X-Timestamp, Content-Type,
	// ETag — the MD5 the proxy computed — user metadata…); Content-Length
	// and name are added by storage.
	Commit(meta map[string]string) error
	// Abort discards everything written; safe after Commit.
	Abort()
	Size() int64
	// Retime moves the object's timestamp (and its container update's)
	// later, before Commit.
	Retime(ts timestamp.Timestamp)
}

// ObjectReader is one replica of an object, open for reading.
type ObjectReader interface {
	Metadata() map[string]string
	Timestamp() timestamp.Timestamp
	Size() int64
	// Body reads n bytes from off. Every byte it returns was verified
	// against the checksums written with the object (see storage.Body); a
	// mismatch quarantines the replica and surfaces as an error matching
	// storage.ErrCorrupt.
	Body(off, n int64) Body
	Close() error
}

// Body is a verified stream of object bytes.
type Body interface {
	io.Reader
	io.WriterTo
	// Prime reads and verifies the first bytes before anything is sent,
	// so the caller can still turn to another replica.
	Prime() error
}
