package db

import (
	"errors"
	"sync"

	bolt "go.etcd.io/bbolt"
)

// maxBatch bounds the calls one transaction serves, so a flood of updates
// cannot grow one transaction without limit.
const maxBatch = 1024

// batcher is a group commit for one database: concurrent calls queue up,
// one of them (the leader) runs everything queued in one bbolt transaction,
// and so one fsync serves them all. While a leader commits, new calls queue
// behind it and the next leader is handed the whole queue.
type batcher struct {
	mu      sync.Mutex
	pending []*call
	leading bool
}

type call struct {
	fn   func(*txCtx) error
	err  error
	lead chan bool // receives true to lead the next batch, false when done
}

// softError is a per-call failure that leaves the shared transaction
// intact; the call must not have written anything before returning it.
type softError struct{ err error }

func (e softError) Error() string { return e.err.Error() }
func (e softError) Unwrap() error { return e.err }

// soft marks err as a per-call failure (see softError).
func soft(err error) error { return softError{err} }

// do runs fn in a write transaction shared with concurrent callers and
// returns after that transaction is durable or has failed. fn may run more
// than once if another call in its batch fails hard, so it must be a pure
// function of the transaction's contents.
func (h *handle) do(fn func(*txCtx) error) error {
	b := &h.batch
	c := &call{fn: fn, lead: make(chan bool, 1)}
	b.mu.Lock()
	b.pending = append(b.pending, c)
	if b.leading {
		b.mu.Unlock()
		if !<-c.lead {
			return c.err
		}
		b.mu.Lock()
	}
	b.leading = true
	n := min(len(b.pending), maxBatch)
	batch := b.pending[:n:n]
	b.pending = b.pending[n:]
	b.mu.Unlock()

	h.run(batch)

	b.mu.Lock()
	if len(b.pending) > 0 {
		next := b.pending[0]
		b.mu.Unlock()
		next.lead <- true
	} else {
		b.leading = false
		b.mu.Unlock()
	}
	for _, o := range batch {
		if o != c {
			o.lead <- false
		}
	}
	return c.err
}

// run executes batch in one transaction; if that fails as a whole it runs
// each call in a transaction of its own so one bad call fails alone.
func (h *handle) run(batch []*call) {
	errs := make([]error, len(batch))
	err := h.update(func(c *txCtx) error {
		for i, o := range batch {
			errs[i] = o.fn(c)
			var se softError
			if errs[i] != nil && !errors.As(errs[i], &se) {
				return errs[i]
			}
		}
		return nil
	})
	if err == nil {
		for i, o := range batch {
			o.err = unsoft(errs[i])
		}
		return
	}
	if len(batch) == 1 {
		batch[0].err = unsoft(err)
		return
	}
	for _, o := range batch {
		o.err = unsoft(h.update(o.fn))
	}
}

func unsoft(err error) error {
	var se softError
	if errors.As(err, &se) {
		return se.err
	}
	return err
}

// update runs fn in a write transaction of its own, flushing the cached
// stat records before commit. A softError from fn still commits whatever
// fn wrote and is returned as is.
func (h *handle) update(fn func(*txCtx) error) error {
	var ferr error
	err := h.db.Update(func(tx *bolt.Tx) error {
		c := &txCtx{tx: tx}
		ferr = fn(c)
		var se softError
		if ferr != nil && !errors.As(ferr, &se) {
			return ferr
		}
		tx.OnCommit(func() { h.commits.Add(1) })
		return c.flush()
	})
	if err != nil {
		return err
	}
	return ferr
}

// view runs fn in a read transaction.
func (h *handle) view(fn func(*txCtx) error) error {
	return h.db.View(func(tx *bolt.Tx) error { return fn(&txCtx{tx: tx}) })
}
