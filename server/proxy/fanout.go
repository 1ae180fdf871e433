package proxy

import (
	"errors"
	"sync"

	"swiftbox/ring"
	"swiftbox/server/backend"
	"swiftbox/storage"
	"swiftbox/storage/db"
)

// unavailable reports whether err means "this device can't serve; try a handoff".
func unavailable(err error) bool { return deviceFault(err) != 0 }

// NotFound reports whether err is a 404 from a replica.
func NotFound(err error) bool {
	return errors.Is(err, storage.ErrNotFound) || errors.Is(err, db.ErrNotFound)
}

// readFirst tries the placement's candidates in order and returns the first
// success; 404s and failed devices move on to the next node. When no node
// succeeds it returns a not-found error if any node answered 404.
func readFirst[T any](pl placement, fn func(n *ring.Device) (T, error)) (T, error) {
	var zero T
	var firstErr, nfErr error
	for _, n := range pl.candidates() {
		v, err := fn(n)
		if err == nil {
			return v, nil
		}
		if NotFound(err) {
			if nfErr == nil {
				nfErr = err
			}
			continue
		}
		if firstErr == nil {
			firstErr = err
		}
	}
	if nfErr != nil {
		return zero, nfErr
	}
	if firstErr == nil {
		firstErr = storage.ErrNotFound
	}
	return zero, firstErr
}

// writeResult is one replica's outcome of a write.
type writeResult struct {
	node *ring.Device
	err  error
}

// writeEach runs fn on every primary in parallel. A primary whose device
// is unavailable is replaced by the next unused handoff, so a dead disk
// does not reduce durability. Results are in primary order.
// fn gets the primary's replica index, also when it runs on a handoff.
func writeEach(pl placement, fn func(i int, n *ring.Device) error) []writeResult {
	res := make([]writeResult, len(pl.primaries))
	var mu sync.Mutex
	next := 0
	nextHandoff := func() *ring.Device {
		mu.Lock()
		defer mu.Unlock()
		if next >= len(pl.handoffs) {
			return nil
		}
		n := pl.handoffs[next]
		next++
		return n
	}
	var wg sync.WaitGroup
	for i, n := range pl.primaries {
		wg.Add(1)
		go func(i int, n *ring.Device) {
			defer wg.Done()
			for n != nil {
				err := fn(i, n)
				res[i] = writeResult{node: n, err: err}
				if err == nil || !unavailable(err) {
					return
				}
				n = nextHandoff()
			}
		}(i, n)
	}
	wg.Wait()
	return res
}

// outcome reduces replica results the way Swift's best_response does:
// success when a quorum succeeded, else the most common error.
func outcome(res []writeResult, quorum int) (successes int, err error) {
	counts := map[int]int{}
	var byStatus = map[int]error{}
	for _, r := range res {
		if r.err == nil {
			successes++
			continue
		}
		s := StatusOf(r.err)
		counts[s]++
		if byStatus[s] == nil {
			byStatus[s] = r.err
		}
	}
	if successes >= quorum {
		return successes, nil
	}
	best, bestN := 0, -1
	for s, n := range counts {
		if n > bestN || (n == bestN && s < best) {
			best, bestN = s, n
		}
	}
	if best == 0 {
		return successes, Errorf(503, "")
	}
	if bestN < quorum && successes > 0 {
		return successes, Errorf(503, "")
	}
	return successes, byStatus[best]
}

// object names o's replica on n, one of the placement's nodes.
func (pl placement) object(n *ring.Device, a, c, o string) backend.ObjectRef {
	return backend.ObjectRef{Node: n, Part: pl.part, Policy: pl.policy, Account: a, Container: c, Object: o}
}

// container names c's database replica on n.
func (pl placement) container(n *ring.Device, a, c string) backend.ContainerRef {
	return backend.ContainerRef{Node: n, Part: pl.part, Account: a, Container: c}
}

// account names a's database replica on n.
func (pl placement) account(n *ring.Device, a string) backend.AccountRef {
	return backend.AccountRef{Node: n, Part: pl.part, Account: a}
}
