package proxy

import (
	"sort"
	"strconv"
	"sync"
	"time"

	"swiftbox/server/backend"
	"swiftbox/storage"
	"swiftbox/storage/db"
	"swiftbox/storage/timestamp"
)

// The listing reconciler is the updater's second duty: it checks that the
// container listing agrees with the newest state each device holds, and
// sends the update when the listing is behind. The update journal already
// makes every update durable no later than its object; this pass repairs
// what slips past it anyway (a power loss that kept a rename but not the
// journal's bytes, listings damaged before the journal existed, a database
// restored from an older replica).
//
// It is incremental: each pass visits at most reconcilePartsPerPass
// partitions per device and policy, resuming where the last pass stopped,
// and looks only at objects whose hash directory changed since the
// previous sweep began (recorded on the device, so a restart resumes
// there; everything, the first time).

// reconcilePartsPerPass bounds one pass's walk per device and policy.
const reconcilePartsPerPass = 64

// reconcileSlack widens each sweep's window for clock and mtime skew.
const reconcileSlack = time.Minute

type reconcileCursor struct {
	next       int       // index into the sorted partition list
	since      time.Time // objects changed before this were checked
	sweepStart time.Time
}

type reconciler struct {
	mu      sync.Mutex
	cursors map[string]*reconcileCursor // by device/policy
}

// reconcile runs one pass of the listing reconciler.
func (u *Updater) reconcile(st *UpdaterStats) {
	u.recon.mu.Lock()
	defer u.recon.mu.Unlock()
	if u.recon.cursors == nil {
		u.recon.cursors = map[string]*reconcileCursor{}
	}
	for _, dev := range u.Devices() {
		for _, pi := range u.Proxy.Policies().Indexes() {
			objects := u.Objects.Policy(pi)
			key := dev + "/" + strconv.Itoa(pi)
			cur := u.recon.cursors[key]
			if cur == nil {
				// Where the last completed sweep (of an earlier run too) left off.
				cur = &reconcileCursor{since: objects.ReconciledSince(dev)}
				u.recon.cursors[key] = cur
			}
			parts, err := objects.Partitions(dev)
			if err != nil {
				u.Log.Warn("updater: listing partitions to reconcile", "device", dev, "policy", pi, "err", err)
				continue
			}
			sort.Ints(parts)
			if cur.next == 0 {
				cur.sweepStart = time.Now()
			}
			for n := 0; n < reconcilePartsPerPass && cur.next < len(parts); n++ {
				part := parts[cur.next]
				cur.next++
				changed, err := objects.ChangedObjects(dev, part, cur.since)
				if err != nil {
					u.Log.Warn("updater: reading a partition to reconcile", "device", dev, "partition", part, "err", err)
					continue
				}
				for _, on := range changed {
					u.reconcileObject(objects, dev, part, on, st)
				}
			}
			if cur.next >= len(parts) {
				cur.next, cur.since = 0, cur.sweepStart.Add(-reconcileSlack)
				if err := objects.SetReconciledSince(dev, cur.since); err != nil {
					u.Log.Warn("updater: recording a reconciled sweep", "device", dev, "policy", pi, "err", err)
				}
			}
		}
	}
}

// reconcileObject sends the update for one object when a replica of its
// container lists an older state than the device holds.
func (u *Updater) reconcileObject(objects *storage.ObjectStore, dev string, part int, on storage.ObjectName, st *UpdaterStats) {
	disk, ok, err := backend.RowOnDisk(objects, dev, part, on.Account, on.Container, on.Object)
	if err != nil || !ok {
		return
	}
	st.Checked++
	p := u.Proxy
	pl := p.containerPlace(on.Account, on.Container)
	behind := false
	for _, n := range pl.primaries {
		rows, err := p.be.ContainerList(p.life, backend.ContainerRef{Node: n, Part: pl.part, Account: on.Account, Container: on.Container},
			db.ListOptions{Prefix: on.Object, Limit: 1, IncludeDeleted: true, AllowReserved: true})
		if err != nil {
			continue // no such container replica (yet): the replicator's job
		}
		if len(rows) == 0 || rows[0].Name != on.Object {
			behind = !disk.Deleted
		} else {
			behind = newerRow(disk, rows[0].ObjectRow)
		}
		if behind {
			break
		}
	}
	if !behind {
		return
	}
	if err := u.apply(backend.AsyncPendingFor(on.Account, on.Container, on.Object, disk)); err != nil {
		u.Log.Debug("updater: reconciling a listing row failed", "object", on.Account+"/"+on.Container+"/"+on.Object, "err", err)
		return
	}
	st.Reconciled++
	u.Log.Info("updater: listing row reconciled with the disk", "device", dev,
		"object", on.Account+"/"+on.Container+"/"+on.Object, "timestamp", disk.Timestamp.Internal(), "deleted", disk.Deleted)
}

// newerRow reports whether disk is a later state than listed under
// Swift's merge rules: a newer data timestamp, or the same data with
// newer metadata or content type.
func newerRow(disk, listed db.ObjectRow) bool {
	if c := disk.Timestamp.Compare(listed.Timestamp); c != 0 {
		return c > 0
	}
	if disk.Deleted != listed.Deleted {
		return disk.Deleted
	}
	return effective(disk.MetaTimestamp, disk).After(effective(listed.MetaTimestamp, listed)) ||
		effective(disk.CtypeTimestamp, disk).After(effective(listed.CtypeTimestamp, listed))
}

func effective(ts timestamp.Timestamp, row db.ObjectRow) timestamp.Timestamp {
	if ts.IsZero() {
		return row.Timestamp
	}
	return ts
}
