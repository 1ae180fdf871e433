package backend

import (
	"errors"
	"log/slog"
	"strconv"
	"sync"

	"swiftbox/storage"
	"swiftbox/storage/db"
	"swiftbox/storage/timestamp"
)

// An object write's container update is journalled on the object's
// device before the object's file is renamed into place, made durable by
// the same flush, and applied to the container database by a background
// loop that merges every pending row of a database in one transaction. Reads of a
// container apply its pending rows first (as Swift merges a container's
// .pending file before answering), so listings never miss an
// acknowledged write; a record whose update cannot be applied stays on
// disk for the object updater.

// dbKey names one container database replica.
type dbKey struct {
	device    string
	part      int
	account   string
	container string
}

type pendingRow struct {
	row    db.ObjectRow
	ap     storage.AsyncPending
	device string // the object's device, which holds the journal record
	ref    storage.JournalRef
}

type containerUpdates struct {
	objects *storage.ObjectStore
	dbs     *db.Store
	log     *slog.Logger

	mu      sync.Mutex
	rows    map[dbKey][]pendingRow
	applyMu sync.Mutex // held while rows are being merged
	kick    chan struct{}
	stop    chan struct{}
	done    chan struct{}
}

func newContainerUpdates(objects *storage.ObjectStore, dbs *db.Store, log *slog.Logger) *containerUpdates {
	u := &containerUpdates{objects: objects, dbs: dbs, log: log, rows: map[dbKey][]pendingRow{},
		kick: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	go u.loop()
	return u
}

// AsyncPendingFor is the async_pending record of a container update.
func AsyncPendingFor(a, c, o string, row db.ObjectRow) storage.AsyncPending {
	op := "PUT"
	if row.Deleted {
		op = "DELETE"
	}
	h := map[string]string{
		"X-Timestamp":                    row.Timestamp.Internal(),
		"X-Backend-Storage-Policy-Index": strconv.Itoa(row.StoragePolicy),
	}
	if !row.Deleted {
		h["X-Size"] = strconv.FormatInt(row.Size, 10)
		h["X-Content-Type"] = row.ContentType
		h["X-Etag"] = row.ETag
	}
	if !row.CtypeTimestamp.IsZero() {
		h["X-Content-Type-Timestamp"] = row.CtypeTimestamp.Internal()
	}
	if !row.MetaTimestamp.IsZero() {
		h["X-Meta-Timestamp"] = row.MetaTimestamp.Internal()
	}
	return storage.AsyncPending{Op: op, Account: a, Container: c, Object: o, Headers: h}
}

// RowOnDisk is the listing row the newest state of a/c/o on the device
// describes: its .data (with any .meta) or its tombstone. ok is false when
// the device holds nothing for the object. The row is built as the object
// server builds its update, so it is what the listing must show.
func RowOnDisk(objects *storage.ObjectStore, device string, part int, a, c, o string) (row db.ObjectRow, ok bool, err error) {
	r, err := objects.Open(device, part, a, c, o)
	if err != nil {
		var del *storage.DeletedError
		if errors.As(err, &del) {
			return db.ObjectRow{Name: o, Timestamp: del.Timestamp, Deleted: true, StoragePolicy: objects.PolicyIndex()}, true, nil
		}
		if errors.Is(err, storage.ErrNotFound) {
			return db.ObjectRow{}, false, nil
		}
		return db.ObjectRow{}, false, err
	}
	defer r.Close()
	md := r.Metadata()
	size, _ := strconv.ParseInt(md["Content-Length"], 10, 64)
	row = db.ObjectRow{Name: o, Timestamp: r.DataTimestamp(), Size: size, ContentType: md["Content-Type"],
		ETag: ListingEtag(md), MetaTimestamp: r.MetaTimestamp(), StoragePolicy: objects.PolicyIndex()}
	if v := md["Content-Type-Timestamp"]; v != "" {
		row.CtypeTimestamp, _ = timestamp.Parse(v)
	}
	return row, true, nil
}

// RowFromAsyncPending turns an async_pending record back into its row.
func RowFromAsyncPending(p storage.AsyncPending) (db.ObjectRow, error) {
	get := func(k string) string {
		for hk, v := range p.Headers {
			if equalFold(hk, k) {
				return v
			}
		}
		return ""
	}
	ts, err := timestamp.Parse(get("X-Timestamp"))
	if err != nil {
		return db.ObjectRow{}, errors.New("async_pending without a valid X-Timestamp")
	}
	row := db.ObjectRow{Name: p.Object, Timestamp: ts, Deleted: p.Op == "DELETE"}
	row.StoragePolicy, _ = strconv.Atoi(get("X-Backend-Storage-Policy-Index"))
	if !row.Deleted {
		row.Size, _ = strconv.ParseInt(get("X-Size"), 10, 64)
		row.ContentType = get("X-Content-Type")
		row.ETag = get("X-Etag")
	}
	if v := get("X-Content-Type-Timestamp"); v != "" {
		row.CtypeTimestamp, _ = timestamp.Parse(v)
	}
	if v := get("X-Meta-Timestamp"); v != "" {
		row.MetaTimestamp, _ = timestamp.Parse(v)
	}
	return row, nil
}

func equalFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// queue hands an update already journalled on objDevice (ref) to the
// background merge.
func (u *containerUpdates) queue(objDevice string, ct *ContainerTarget, ap storage.AsyncPending, row db.ObjectRow, ref storage.JournalRef) {
	u.enqueue(ct, pendingRow{row: row, ap: ap, device: objDevice, ref: ref})
}

func (u *containerUpdates) enqueue(ct *ContainerTarget, r pendingRow) {
	k := dbKey{device: ct.Node.Device, part: ct.Part, account: r.ap.Account, container: r.ap.Container}
	u.mu.Lock()
	u.rows[k] = append(u.rows[k], r)
	u.mu.Unlock()
	select {
	case u.kick <- struct{}{}:
	default:
	}
}

func (u *containerUpdates) loop() {
	defer close(u.done)
	for {
		select {
		case <-u.stop:
			u.applyAll()
			return
		case <-u.kick:
			u.applyAll()
		}
	}
}

// applyAll merges every queued row, one transaction per database, the
// databases in parallel.
func (u *containerUpdates) applyAll() {
	u.applyMu.Lock()
	defer u.applyMu.Unlock()
	u.mu.Lock()
	batch := u.rows
	u.rows = map[dbKey][]pendingRow{}
	u.mu.Unlock()
	var wg sync.WaitGroup
	for k, rows := range batch {
		wg.Add(1)
		go func(k dbKey, rows []pendingRow) {
			defer wg.Done()
			u.apply(k, rows)
		}(k, rows)
	}
	wg.Wait()
}

// flush applies the queued rows of one database before it is read.
func (u *containerUpdates) flush(k dbKey) {
	u.applyMu.Lock()
	defer u.applyMu.Unlock()
	u.mu.Lock()
	rows := u.rows[k]
	delete(u.rows, k)
	u.mu.Unlock()
	if len(rows) > 0 {
		u.apply(k, rows)
	}
}

func (u *containerUpdates) apply(k dbKey, rows []pendingRow) {
	list := make([]db.ObjectRow, len(rows))
	for i, r := range rows {
		list[i] = r.row
	}
	if err := u.dbs.MergeObjectRows(k.device, k.part, k.account, k.container, list); err != nil {
		// Saved as Swift async_pending files, the object updater retries them.
		u.log.Warn("container update deferred to the updater", "account", k.account, "container", k.container,
			"device", k.device, "rows", len(rows), "err", err)
		for _, r := range rows {
			if err := u.objects.WriteAsyncPending(r.device, r.ap); err != nil {
				// Keep the journal record: replay after a restart retries it.
				u.log.Error("saving a container update failed", "device", r.device, "err", err)
				continue
			}
			u.objects.ReleaseJournal(r.ref)
		}
		return
	}
	for _, r := range rows {
		u.objects.ReleaseJournal(r.ref)
	}
}

// close applies everything still queued and stops the loop.
func (u *containerUpdates) close() {
	close(u.stop)
	<-u.done
}
