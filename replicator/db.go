package replicator

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"swiftbox/ring"
	"swiftbox/storage/db"
	"swiftbox/storage/timestamp"
)

// Databases is the container or the account replicator.
type Databases struct {
	// Kind is db.KindContainers or db.KindAccounts.
	Kind  string
	Store *db.Store
	// Ring returns the current container or account ring.
	Ring    func() *ring.Ring
	Local   func(*ring.Device) bool
	Devices func() []string
	// ReclaimAge is how long deleted rows and deleted databases are kept.
	ReclaimAge time.Duration
	// AccountRing, for the container replicator, is the account ring:
	// after replicating a container database on a primary, its row is sent
	// to the account's databases when it changed since it was last sent
	// (Swift's container-updater), so accounts converge on the containers
	// that exist even when the proxy's own update was lost.
	AccountRing func() *ring.Ring
	Log         *slog.Logger
	OnPass      func(PassStats)
}

// RunOnce replicates every database on every local device once: deleted
// rows and databases past ReclaimAge are reclaimed, the rest pushed to
// every other primary (a whole copy where one has none), and handoff
// copies removed once every primary has them.
func (d *Databases) RunOnce(ctx context.Context) PassStats {
	st := PassStats{Start: time.Now()}
	before := timestamp.FromTime(time.Now().Add(-d.ReclaimAge))
	for _, dev := range d.Devices() {
		files, err := d.Store.ListFiles(d.Kind, dev)
		if err != nil {
			d.log().Warn("listing databases", "kind", d.Kind, "device", dev, "err", err)
			st.Failures++
			continue
		}
		for _, f := range files {
			if ctx.Err() != nil {
				break
			}
			st.add(d.replicateOne(f, before))
		}
	}
	st.End = time.Now()
	lvl := slog.LevelDebug
	if st.Files+st.Failures+st.Removed+int(st.Bytes) > 0 {
		lvl = slog.LevelInfo
	}
	d.log().Log(ctx, lvl, "database replication pass done", "kind", d.Kind, "databases", st.Partitions,
		"handoffs", st.Handoffs, "copied", st.Files, "rows_merged", st.Bytes, "removed", st.Removed,
		"failures", st.Failures, "remote_skipped", st.Remote, "duration", st.Duration().Round(time.Millisecond))
	if d.OnPass != nil {
		d.OnPass(st)
	}
	return st
}

// Run replicates every interval until ctx ends.
func (d *Databases) Run(ctx context.Context, interval time.Duration) {
	for {
		d.RunOnce(ctx)
		select {
		case <-ctx.Done():
			return
		case <-time.After(interval):
		}
	}
}

func (d *Databases) log() *slog.Logger {
	if d.Log == nil {
		return slog.Default().With("component", "replicator")
	}
	return d.Log.With("component", "replicator")
}

// replicateOne handles one database. In the summary, Partitions counts
// databases, Files whole copies and Bytes merged rows.
func (d *Databases) replicateOne(f db.File, before timestamp.Timestamp) PassStats {
	st := PassStats{Partitions: 1}
	removable, _, err := d.Store.Reclaim(f, before)
	if err != nil {
		d.log().Warn("reclaiming", "db", f.Path, "err", err)
		st.Failures++
		return st
	}
	if removable {
		// Re-checked with writers held off: a PUT may have re-created it.
		stillGone := func(id db.Identity) bool {
			return id.Deleted && id.ObjectCount == 0 && id.DeleteTimestamp.Compare(before) < 0
		}
		if err := d.Store.Remove(f, stillGone); errors.Is(err, db.ErrChanged) {
			d.log().Info("reclaimable database came back to life; kept", "db", f.Path)
		} else if err != nil {
			d.log().Warn("removing reclaimed database", "db", f.Path, "err", err)
			st.Failures++
		} else {
			st.Removed++
		}
		return st
	}
	r := d.Ring()
	if f.Part >= r.PartitionCount() {
		d.log().Warn("database partition outside the ring", "db", f.Path)
		st.Failures++
		return st
	}
	primaries := r.PrimaryNodes(f.Part)
	isPrimary := slices.ContainsFunc(primaries, func(n *ring.Device) bool { return d.Local(n) && n.Device == f.Device })
	var pre db.Identity
	if !isPrimary {
		st.Handoffs = 1
		if pre, err = d.Store.Stat(f); err != nil {
			d.log().Warn("reading handoff database", "db", f.Path, "err", err)
			st.Failures++
			return st
		}
	}
	ok, want := 0, 0
	for _, n := range primaries {
		if n.Device == f.Device && d.Local(n) {
			continue
		}
		want++
		if !d.Local(n) {
			st.Remote++
			continue
		}
		res, err := d.Store.Replicate(f, n.Device)
		if err != nil {
			d.log().Warn("database sync failed", "db", f.Path, "peer", n.Device, "err", err)
			st.Failures++
			continue
		}
		ok++
		st.Bytes += int64(res.Rows)
		if res.Copied {
			st.Files++
		}
		if res.Copied || res.Rows > 0 {
			st.SuffixesSynced++
		}
	}
	if isPrimary && d.AccountRing != nil {
		if err := d.reportToAccount(f); err != nil {
			d.log().Debug("account update of a container", "db", f.Path, "err", err)
		}
	}
	if !isPrimary && ok == want && st.Remote == 0 {
		// Every primary has what the handoff held when this pass read it;
		// a write that arrived since keeps it for the next pass.
		unchanged := func(id db.Identity) bool { return id.Version == pre.Version }
		if err := d.Store.Remove(f, unchanged); errors.Is(err, db.ErrChanged) {
			d.log().Debug("handoff database changed during replication; kept", "db", f.Path)
		} else if err != nil {
			d.log().Warn("removing handoff database", "db", f.Path, "err", err)
			st.Failures++
		} else {
			st.Removed++
		}
	}
	return st
}

// reportToAccount sends f's container row to every local replica of its
// account database if it changed since last sent, and records it as sent
// once a majority of the account's replicas took it.
func (d *Databases) reportToAccount(f db.File) error {
	account, row, due, err := d.Store.AccountReport(f)
	if err != nil || !due {
		return err
	}
	ar := d.AccountRing()
	part := d.Store.Partition(ar, account, "")
	nodes := ar.PrimaryNodes(part)
	ok := 0
	for _, n := range nodes {
		if !d.Local(n) {
			continue
		}
		if err = d.Store.PutContainerRow(n.Device, part, account, row); err == nil {
			ok++
		}
	}
	if ok <= len(nodes)/2 {
		return fmt.Errorf("account %s took the row on %d of %d replicas: %v", account, ok, len(nodes), err)
	}
	return d.Store.MarkReported(f, row)
}
