package proxy

import (
	"sync"
	"time"

	"swiftbox/ring"
	"swiftbox/server/backend"
	"swiftbox/server/metrics"
	"swiftbox/storage/db"
)

// accountFlushInterval bounds how stale account statistics may be after
// object writes (Swift's container-updater does this every few minutes).
const accountFlushInterval = 250 * time.Millisecond

type acKey struct{ account, container string }

// accountUpdater carries container statistics into account databases, as
// Swift's container server (on container PUT/DELETE) and container updater
// (after object writes) do. Object writes only mark a container dirty; a
// flush every accountFlushInterval coalesces them into one account row
// update per container.
type accountUpdater struct {
	p     *Proxy
	mu    sync.Mutex
	dirty map[acKey]struct{}
	stop  chan struct{}
	done  chan struct{}
	// metrics counts the updates (the container-updater's family).
	metrics *metrics.Updater
}

func newAccountUpdater(p *Proxy) *accountUpdater {
	u := &accountUpdater{p: p, dirty: map[acKey]struct{}{}, stop: make(chan struct{}), done: make(chan struct{}),
		metrics: p.metrics.Updater}
	go u.loop()
	return u
}

func (u *accountUpdater) markDirty(a, c string) {
	u.mu.Lock()
	u.dirty[acKey{a, c}] = struct{}{}
	u.mu.Unlock()
}

func (u *accountUpdater) loop() {
	defer close(u.done)
	t := time.NewTicker(accountFlushInterval)
	defer t.Stop()
	for {
		select {
		case <-u.stop:
			u.flush()
			return
		case <-t.C:
			u.flush()
		}
	}
}

func (u *accountUpdater) flush() {
	u.mu.Lock()
	batch := u.dirty
	u.dirty = map[acKey]struct{}{}
	u.mu.Unlock()
	failed := 0
	for k := range batch {
		if err := u.update(k.account, k.container); err != nil {
			u.p.log.Warn("account update failed; will retry", "account", k.account, "container", k.container, "err", err)
			u.markDirty(k.account, k.container)
			failed++
		}
	}
	if len(batch) > 0 {
		u.metrics.Observe("container", len(batch)-failed, failed)
	}
}

// updateNow pushes one container's row to its account synchronously
// (container PUT/DELETE), falling back to the periodic flush on failure.
func (u *accountUpdater) updateNow(a, c string) {
	if err := u.update(a, c); err != nil {
		u.markDirty(a, c)
	}
}

func (u *accountUpdater) update(a, c string) error {
	info, err := u.p.containerStat(a, c)
	if err != nil {
		return err
	}
	row := db.ContainerRow{Name: c, PutTimestamp: info.PutTimestamp, DeleteTimestamp: info.DeleteTimestamp,
		ObjectCount: info.ObjectCount, BytesUsed: info.BytesUsed, Deleted: info.Deleted, StoragePolicy: info.StoragePolicy}
	if info.PutTimestamp.IsZero() && info.DeleteTimestamp.IsZero() {
		return nil // never existed anywhere: nothing to report
	}
	pl := u.p.accountPlace(a)
	res := writeEach(pl, func(_ int, n *ring.Device) error {
		return u.p.be.AccountUpdate(u.p.life, backend.AccountRef{Node: n, Part: pl.part, Account: a}, row)
	})
	_, err = outcome(res, pl.quorum())
	return err
}

func (u *accountUpdater) close() {
	close(u.stop)
	<-u.done
}

// containerStat reads a container's info including when it is deleted (the
// account must learn of the deletion): the newest info any replica has.
func (p *Proxy) containerStat(a, c string) (db.ContainerInfo, error) {
	pl := p.containerPlace(a, c)
	var best db.ContainerInfo
	var firstErr error
	found := false
	for _, n := range pl.candidates() {
		info, err := p.be.ContainerInfo(p.life, backend.ContainerRef{Node: n, Part: pl.part, Account: a, Container: c}, true)
		if err != nil && !NotFound(err) {
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		if info.PutTimestamp.IsZero() && info.DeleteTimestamp.IsZero() {
			continue
		}
		if !found || newerInfo(info, best) {
			best, found = info, true
		}
	}
	if !found && firstErr != nil {
		return best, firstErr
	}
	return best, nil
}

// newerInfo orders container infos by their latest status change.
func newerInfo(a, b db.ContainerInfo) bool {
	la, lb := a.PutTimestamp, b.PutTimestamp
	if a.DeleteTimestamp.After(la) {
		la = a.DeleteTimestamp
	}
	if b.DeleteTimestamp.After(lb) {
		lb = b.DeleteTimestamp
	}
	if la.Compare(lb) != 0 {
		return la.After(lb)
	}
	return a.ObjectCount+a.BytesUsed > b.ObjectCount+b.BytesUsed
}
