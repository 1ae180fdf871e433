package proxy

import (
	"context"
	"log/slog"
	"time"

	"swiftbox/ring"
	"swiftbox/server/backend"
	"swiftbox/server/metrics"
	"swiftbox/storage"
	"swiftbox/storage/db"
)

// Updater is Swift's object-updater: it applies async_pending records
// (container updates journalled by object writes) to every replica of
// their container and removes each record once all replicas have it. A
// record that cannot be applied yet stays for the next pass. Each pass
// also reconciles part of the listings with the disk (reconcile.go).
type Updater struct {
	Proxy   *Proxy
	Objects *storage.ObjectStore
	Devices func() []string
	Log     *slog.Logger
	// MinAge skips records younger than this: the live path is still
	// applying those (0 = apply everything, as after a restart).
	MinAge time.Duration
	// Metrics, when set, receives each pass (and the recon cache with it).
	Metrics *metrics.Updater

	recon reconciler // where the listing reconciler stopped (reconcile.go)
}

// UpdaterStats summarises one pass.
type UpdaterStats struct {
	Applied, Failed, Unreadable int
	// Backlog is the number of async_pending files the pass found.
	Backlog int
	// Checked counts objects whose listing rows the reconciler compared
	// with the disk; Reconciled those found behind and updated.
	Checked, Reconciled int
}

// RunOnce makes one pass over every device, every storage policy's
// async_pending directory, then one step of the listing reconciler.
func (u *Updater) RunOnce() UpdaterStats {
	st := u.ApplyPending()
	u.reconcile(&st)
	return st
}

// ApplyPending is RunOnce without the reconciler: what serve runs before
// it starts serving.
func (u *Updater) ApplyPending() UpdaterStats {
	var st UpdaterStats
	start := time.Now()
	defer func() {
		u.Metrics.ObservePass(metrics.UpdaterPass{Type: "object", Start: start, End: time.Now(),
			Successes: st.Applied, Failures: st.Failed, Unreadable: st.Unreadable, Backlog: st.Backlog})
	}()
	for _, dev := range u.Devices() {
		for _, pi := range u.Proxy.Policies().Indexes() {
			paths, err := u.Objects.Policy(pi).ListAsyncPendings(dev)
			if err != nil {
				u.Log.Warn("updater: listing async_pending", "device", dev, "policy", pi, "err", err)
				continue
			}
			st.Backlog += len(paths)
			for _, path := range paths {
				if u.MinAge > 0 && !olderThan(u.Objects, path, u.MinAge) {
					continue
				}
				u.applyOne(path, &st)
			}
		}
	}
	return st
}

func olderThan(s *storage.ObjectStore, path string, age time.Duration) bool {
	fi, err := s.FS().Stat(path)
	return err == nil && time.Since(fi.ModTime()) >= age
}

// ReplayJournals applies the container updates an earlier run journalled
// but had not applied when it stopped (a crash); what cannot be applied
// now is saved as async_pending files for later passes. Call it before
// serving.
//
// A record is journalled before its object's file is renamed into place,
// so a crash can leave a record whose file never landed. Replay therefore
// sends what the device holds for the object now, not what the record
// says: an object that never landed sends nothing (no ghost row), an
// overwrite or delete that never landed re-sends the older state, which
// the listing's newest-timestamp-wins merge ignores.
//
// A crash leaves up to a whole segment of records (most of them applied
// long before), so replay, which holds up serving, works a segment at a
// time: one disk look-up per object however many records name it, and one
// transaction per container replica.
func (u *Updater) ReplayJournals() (replayed int) {
	for _, dev := range u.Devices() {
		n, err := u.Objects.ReplayJournal(dev, func(aps []storage.AsyncPending) error {
			return u.replaySegment(dev, aps)
		})
		replayed += n
		if err != nil {
			u.Log.Warn("updater: replaying the update journal", "device", dev, "err", err)
		}
	}
	return replayed
}

// replaySegment sends, for each object a segment's records name, what
// dev holds for it now, merged per container.
func (u *Updater) replaySegment(dev string, aps []storage.AsyncPending) error {
	type objKey struct {
		policy  int
		a, c, o string
	}
	type contKey struct{ a, c string }
	seen := map[objKey]bool{}
	groups := map[contKey][]storage.AsyncPending{}
	var order []contKey
	var unreadable error
	for _, ap := range aps {
		row, err := backend.RowFromAsyncPending(ap)
		if err != nil {
			continue // never written so: nothing to send
		}
		k := objKey{row.StoragePolicy, ap.Account, ap.Container, ap.Object}
		if seen[k] {
			continue
		}
		seen[k] = true
		ap, ok, err := u.onDisk(dev, ap)
		if err != nil {
			// Unreadable now: the segment is kept for the next start,
			// the other objects' updates go out now.
			if unreadable == nil {
				unreadable = err
			}
			continue
		}
		if !ok {
			continue
		}
		ck := contKey{ap.Account, ap.Container}
		if _, ok := groups[ck]; !ok {
			order = append(order, ck)
		}
		groups[ck] = append(groups[ck], ap)
	}
	for _, ck := range order {
		if err := u.applyAll(ck.a, ck.c, groups[ck]); err != nil {
			for _, ap := range groups[ck] {
				if err := u.Objects.WriteAsyncPending(dev, ap); err != nil {
					return err
				}
			}
		}
	}
	return unreadable
}

// applyAll sends the updates aps, all of container a/c, to every replica
// of the container, one transaction each.
func (u *Updater) applyAll(a, c string, aps []storage.AsyncPending) error {
	rows := make([]db.ObjectRow, 0, len(aps))
	for _, ap := range aps {
		row, err := backend.RowFromAsyncPending(ap)
		if err != nil {
			return err
		}
		rows = append(rows, row)
	}
	p := u.Proxy
	pl := p.containerPlace(a, c)
	res := writeEach(pl, func(_ int, n *ring.Device) error {
		return p.be.ContainerUpdates(p.life, backend.ContainerRef{Node: n, Part: pl.part, Account: a, Container: c}, rows)
	})
	for _, r := range res {
		if r.err != nil {
			return r.err
		}
	}
	p.acct.markDirty(a, c)
	return nil
}

// onDisk is the update that describes what dev holds for ap's object now
// (false when it holds nothing).
func (u *Updater) onDisk(dev string, ap storage.AsyncPending) (storage.AsyncPending, bool, error) {
	row, err := backend.RowFromAsyncPending(ap)
	if err != nil {
		return ap, false, err
	}
	pl := u.Proxy.objectPlace(row.StoragePolicy, ap.Account, ap.Container, ap.Object)
	disk, ok, err := backend.RowOnDisk(u.Objects.Policy(row.StoragePolicy), dev, pl.part, ap.Account, ap.Container, ap.Object)
	if err != nil || !ok {
		return ap, false, err
	}
	out := backend.AsyncPendingFor(ap.Account, ap.Container, ap.Object, disk)
	out.ContainerPath = ap.ContainerPath
	return out, true, nil
}

// apply sends one update to every replica of its container.
func (u *Updater) apply(ap storage.AsyncPending) error {
	row, err := backend.RowFromAsyncPending(ap)
	if err != nil {
		return err
	}
	p := u.Proxy
	pl := p.containerPlace(ap.Account, ap.Container)
	res := writeEach(pl, func(_ int, n *ring.Device) error {
		return p.be.ContainerUpdate(p.life, backend.ContainerRef{Node: n, Part: pl.part, Account: ap.Account, Container: ap.Container}, row)
	})
	for _, r := range res {
		if r.err != nil {
			return r.err
		}
	}
	p.acct.markDirty(ap.Account, ap.Container)
	return nil
}

func (u *Updater) applyOne(path string, st *UpdaterStats) {
	ap, err := u.Objects.LoadAsyncPending(path)
	if err != nil {
		st.Unreadable++
		u.Log.Warn("updater: unreadable async_pending kept", "path", path, "err", err)
		return
	}
	if _, err := backend.RowFromAsyncPending(ap); err != nil {
		st.Unreadable++
		u.Log.Warn("updater: bad async_pending kept", "path", path, "err", err)
		return
	}
	if err := u.apply(ap); err != nil {
		st.Failed++
		u.Log.Debug("updater: container update failed; kept", "path", path, "err", err)
		return
	}
	if err := u.Objects.RemoveAsyncPending(path); err != nil {
		u.Log.Warn("updater: removing applied async_pending", "path", path, "err", err)
	}
	st.Applied++
}

// Run makes a pass every interval until ctx ends.
func (u *Updater) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if st := u.RunOnce(); st.Applied+st.Failed+st.Unreadable+st.Reconciled > 0 {
			u.Log.Info("updater pass", "applied", st.Applied, "failed", st.Failed, "unreadable", st.Unreadable,
				"reconciled", st.Reconciled)
		}
	}
}
