// Package expirer is Swift's object-expirer: it walks the expiry queue
// that object writes with X-Delete-At fill (the hidden account
// .expiring_objects, kept by the proxy core), deletes each due object with
// X-If-Delete-At (so an overwrite made since is kept) and drops the task.
package expirer

import (
	"context"
	"log/slog"
	"strconv"
	"time"

	"github.com/valyala/fasthttp"

	"swiftbox/server/proxy"
	"swiftbox/server/pyfmt"
	"swiftbox/storage/db"
	"swiftbox/storage/timestamp"
)

// Expirer makes expirer passes over the queue of Cluster.
type Expirer struct {
	Cluster *proxy.Cluster
	Log     *slog.Logger // with component=expirer
}

// Stats summarises one expirer pass.
type Stats struct {
	Tasks, Deleted, Gone, Failed, Containers int
	Start, End                               time.Time
}

// RunOnce makes one pass over the due tasks; it stops early when ctx ends.
func (e *Expirer) RunOnce(ctx context.Context) (st Stats) {
	st.Start = time.Now()
	// st is the named result: a deferred change to a local copy would not
	// reach the caller, whose End stayed zero (a pass "in -2562047h").
	defer func() { st.End = time.Now() }()
	now := time.Now().Unix()
	conts, err := e.Cluster.ListContainers(ctx, proxy.ExpiringAccount)
	if err != nil && !proxy.NotFound(err) {
		e.Log.Warn("listing task containers", "err", err)
	}
	for _, cont := range conts {
		if ctx.Err() != nil {
			break
		}
		t, err := strconv.ParseInt(cont, 10, 64)
		if err != nil {
			continue
		}
		if t > now {
			break
		}
		pending, err := e.expireContainer(ctx, cont, now, &st)
		if err != nil {
			e.Log.Warn("listing tasks", "container", cont, "err", err)
			continue
		}
		if !pending && ctx.Err() == nil {
			e.Cluster.DropExpiryContainer(ctx, cont)
			st.Containers++
		}
	}
	return st
}

// expireContainer works through the due tasks of one task container; it
// reports whether tasks remain in it (not due yet, or failed).
func (e *Expirer) expireContainer(ctx context.Context, cont string, now int64, st *Stats) (pending bool, err error) {
	err = e.eachTask(ctx, cont, func(task string) bool {
		if ctx.Err() != nil {
			return false
		}
		at, acct, c, o, ok := proxy.ParseExpiryTask(task)
		if !ok {
			e.Log.Warn("bad task name", "container", cont, "task", task)
			e.dropTask(ctx, cont, task)
			return true
		}
		if at > now {
			pending = true
			return false
		}
		st.Tasks++
		switch code := e.expireObject(ctx, at, acct, c, o); {
		case code >= 200 && code < 300:
			st.Deleted++
		case code == fasthttp.StatusNotFound || code == fasthttp.StatusPreconditionFailed:
			st.Gone++ // already gone, or overwritten since
		default:
			st.Failed++
			pending = true
			e.Log.Warn("delete failed; will retry", "object", acct+"/"+c+"/"+o, "status", code)
			return true
		}
		e.dropTask(ctx, cont, task)
		return true
	})
	return pending, err
}

// Run makes a pass every interval until ctx ends (a goroutine of serve).
func (e *Expirer) Run(ctx context.Context, interval time.Duration) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(interval):
		}
		st := e.RunOnce(ctx)
		if st.Tasks > 0 {
			e.Log.Info("expirer pass", "tasks", st.Tasks, "deleted", st.Deleted, "gone", st.Gone, "failed", st.Failed)
		}
	}
}

// expireObject deletes a/c/o if its X-Delete-At is still at, with the
// delete time as the tombstone's timestamp (Swift's expirer does the same).
func (e *Expirer) expireObject(ctx context.Context, at int64, a, c, o string) int {
	resp := e.Cluster.Do(ctx, fasthttp.MethodDelete, "/v1/"+pyfmt.Quote(a)+"/"+pyfmt.Quote(c)+"/"+pyfmt.Quote(o), func(req *fasthttp.Request) {
		req.Header.Set("X-If-Delete-At", strconv.FormatInt(at, 10))
		req.Header.Set("X-Timestamp", timestamp.FromUnix(at).Internal())
	})
	return resp.StatusCode()
}

func (e *Expirer) dropTask(ctx context.Context, cont, task string) {
	if err := e.Cluster.DropExpiryTask(ctx, cont, task); err != nil {
		e.Log.Warn("task not removed", "container", cont, "task", task, "err", err)
	}
}

// eachTask calls fn with the task names of cont in order until it
// returns false.
func (e *Expirer) eachTask(ctx context.Context, cont string, fn func(task string) bool) error {
	marker := ""
	for {
		entries, err := e.Cluster.ListObjects(ctx, proxy.ExpiringAccount, cont, db.ListOptions{Marker: marker, Limit: 1000})
		if err != nil {
			if proxy.NotFound(err) {
				return nil
			}
			return err
		}
		for _, en := range entries {
			if !fn(en.Name) {
				return nil
			}
		}
		if len(entries) < 1000 {
			return nil
		}
		marker = entries[len(entries)-1].Name
	}
}
