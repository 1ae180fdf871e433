package cli

import (
	"context"
	"sync"
	"time"

	"swiftbox/storage/db"
)

// startDaemons runs the replicators and auditors as goroutines of serve
// until ctx ends; Wait on the result before closing the stores.
func startDaemons(ctx context.Context, n *node) *sync.WaitGroup {
	var wg sync.WaitGroup
	run := func(f func()) {
		wg.Add(1)
		go func() { defer wg.Done(); f() }()
	}
	ri := time.Duration(n.cfg.Replicator.Interval) * time.Second
	ai := time.Duration(n.cfg.Auditor.Interval) * time.Second
	// Let serve settle (and a crash's journal replay finish) first.
	wait := func(d time.Duration) bool {
		select {
		case <-ctx.Done():
			return false
		case <-time.After(d):
			return true
		}
	}
	run(func() {
		if wait(min(ri, 10*time.Second)) {
			n.objectReplicator().Run(ctx, ri)
		}
	})
	for _, kind := range []string{db.KindContainers, db.KindAccounts} {
		run(func() {
			if wait(min(ri, 10*time.Second)) {
				n.dbReplicator(kind).Run(ctx, ri)
			}
		})
	}
	run(func() {
		if wait(min(ai, 30*time.Second)) {
			n.objectAuditor().Run(ctx, ai)
		}
	})
	run(func() {
		a, c := n.dbAuditor(db.KindAccounts), n.dbAuditor(db.KindContainers)
		for wait(ai) {
			c.RunOnce(ctx)
			a.RunOnce(ctx)
		}
	})
	return &wg
}
