package proxy

import (
	"context"
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"sync"
	"time"

	"swiftbox/server/backend"
	"swiftbox/server/pyfmt"

	"github.com/valyala/fasthttp"

	"swiftbox/ring"
	"swiftbox/storage/db"
	"swiftbox/storage/timestamp"
)

// Expiring objects are queued as Swift queues them: a row named
// "<delete_at>-<account>/<container>/<object>" in a task container of the
// hidden account .expiring_objects, named by the delete time rounded down
// to expiring_objects_container_divisor (less a per-object shard of up to
// 99 seconds). The expirer walks the due tasks, deletes each object with
// X-If-Delete-At (so an overwrite made since is kept) and drops the task.

const (
	expiringAccount = ".expiring_objects"
	// expirerDivisor is Swift's expiring_objects_container_divisor.
	expirerDivisor = 86400
)

// expirerContainer is Swift's get_expirer_container.
func (p *Proxy) expirerContainer(deleteAt int64, a, c, o string) string {
	h := ring.HashPath(p.hashPrefix, p.hashSuffix, a, c, o)
	n := new(big.Int).SetBytes(h[:])
	shard := new(big.Int).Mod(n, big.NewInt(100)).Int64()
	return normalizeDeleteAt(deleteAt/expirerDivisor*expirerDivisor - shard)
}

func normalizeDeleteAt(t int64) string {
	return fmt.Sprintf("%010d", min(max(t, 0), maxDeleteAt))
}

// expiryTaskName is the queue entry of one object.
func expiryTaskName(deleteAt int64, a, c, o string) string {
	return normalizeDeleteAt(deleteAt) + "-" + a + "/" + c + "/" + o
}

// expiryQueue remembers task containers known to exist.
type expiryQueue struct {
	mu    sync.Mutex
	known map[string]bool
}

// queueExpiry adds (or, with deleted, removes) the task of an object due
// at deleteAt, as the object server's delete_at_update does.
func (p *Proxy) queueExpiry(deleteAt int64, a, c, o string, ts timestamp.Timestamp, deleted bool) {
	cont := p.expirerContainer(deleteAt, a, c, o)
	if !deleted {
		if err := p.ensureTaskContainer(cont); err != nil {
			p.log.Warn("expiry queue: task container", "container", cont, "err", err)
			return
		}
	}
	row := db.ObjectRow{Name: expiryTaskName(deleteAt, a, c, o), Timestamp: ts, Deleted: deleted,
		ContentType: "text/plain", ETag: md5OfEmpty}
	if err := p.updateTaskRow(cont, row); err != nil {
		p.log.Warn("expiry queue: task not recorded", "container", cont, "task", row.Name, "err", err)
	}
}

// updateTaskRow writes a task row on every replica of its container; a
// replica that cannot take it gets an async_pending for the updater.
func (p *Proxy) updateTaskRow(cont string, row db.ObjectRow) error {
	pl := p.containerPlace(expiringAccount, cont)
	res := writeEach(pl, func(_ int, n *ring.Device) error {
		return p.be.ContainerUpdate(p.life, backend.ContainerRef{Node: n, Part: pl.part, Account: expiringAccount, Container: cont}, row)
	})
	p.acct.markDirty(expiringAccount, cont)
	_, err := outcome(res, pl.quorum())
	return err
}

func (p *Proxy) ensureTaskContainer(cont string) error {
	q := &p.expiry
	q.mu.Lock()
	ok := q.known[cont]
	q.mu.Unlock()
	if ok {
		return nil
	}
	if _, err := p.ContainerInfo(nil, expiringAccount, cont); err != nil {
		if !notFound(err) {
			return err
		}
		if err := p.ensureAccount(p.life, expiringAccount); err != nil {
			return err
		}
		pl := p.containerPlace(expiringAccount, cont)
		ts := timestamp.Now()
		res := writeEach(pl, func(_ int, n *ring.Device) error {
			_, err := p.be.ContainerCreate(p.life, backend.ContainerRef{Node: n, Part: pl.part, Account: expiringAccount, Container: cont}, ts, 0, nil)
			return err
		})
		if _, err := outcome(res, pl.quorum()); err != nil {
			return err
		}
		p.acct.updateNow(expiringAccount, cont)
	}
	q.mu.Lock()
	if q.known == nil {
		q.known = map[string]bool{}
	}
	q.known[cont] = true
	q.mu.Unlock()
	return nil
}

// ExpirerStats summarises one expirer pass.
type ExpirerStats struct {
	Tasks, Deleted, Gone, Failed, Containers int
	Start, End                               time.Time
}

// ExpireOnce makes one pass over the due tasks.
func (p *Proxy) ExpireOnce(ctx context.Context) (st ExpirerStats) {
	st.Start = time.Now()
	// st is the named result: a deferred change to a local copy would not
	// reach the caller, whose End stayed zero (a pass "in -2562047h").
	defer func() { st.End = time.Now() }()
	now := time.Now().Unix()
	conts, err := p.listAllContainers(expiringAccount)
	if err != nil && !notFound(err) {
		p.log.Warn("expirer: listing task containers", "err", err)
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
		pending := false
		err = p.eachTask(cont, func(task string) bool {
			if ctx.Err() != nil {
				return false
			}
			ts, rest, ok := strings.Cut(task, "-")
			at, perr := strconv.ParseInt(ts, 10, 64)
			acct, co, ok2 := strings.Cut(rest, "/")
			c, o, ok3 := strings.Cut(co, "/")
			if !ok || !ok2 || !ok3 || perr != nil {
				p.log.Warn("expirer: bad task name", "container", cont, "task", task)
				p.dropTask(cont, task)
				return true
			}
			if at > now {
				pending = true
				return false
			}
			st.Tasks++
			switch code := p.expireObject(at, acct, c, o); {
			case code >= 200 && code < 300:
				st.Deleted++
			case code == fasthttp.StatusNotFound || code == fasthttp.StatusPreconditionFailed:
				st.Gone++ // already gone, or overwritten since
			default:
				st.Failed++
				pending = true
				p.log.Warn("expirer: delete failed; will retry", "object", acct+"/"+c+"/"+o, "status", code)
				return true
			}
			p.dropTask(cont, task)
			return true
		})
		if err != nil {
			p.log.Warn("expirer: listing tasks", "container", cont, "err", err)
			continue
		}
		if !pending && ctx.Err() == nil {
			p.dropTaskContainer(cont)
			st.Containers++
		}
	}
	return st
}

// RunExpirer makes a pass every interval until ctx ends (a goroutine of serve).
func (p *Proxy) RunExpirer(ctx context.Context, interval time.Duration) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(interval):
		}
		st := p.ExpireOnce(ctx)
		if st.Tasks > 0 {
			p.log.Info("expirer pass", "tasks", st.Tasks, "deleted", st.Deleted, "gone", st.Gone, "failed", st.Failed)
		}
	}
}

// expireObject deletes a/c/o if its X-Delete-At is still at, with the
// delete time as the tombstone's timestamp (Swift's expirer does the same).
func (p *Proxy) expireObject(at int64, a, c, o string) int {
	resp := p.internalRequest(fasthttp.MethodDelete, "/v1/"+pyfmt.Quote(a)+"/"+pyfmt.Quote(c)+"/"+pyfmt.Quote(o), func(req *fasthttp.Request) {
		req.Header.Set("X-If-Delete-At", strconv.FormatInt(at, 10))
		req.Header.Set("X-Timestamp", timestamp.FromUnix(at).Internal())
	})
	return resp.StatusCode()
}

// internalRequest runs a request through the proxy core alone, as the
// account owner (Swift's InternalClient, whose pipeline has no auth).
func (p *Proxy) internalRequest(method, uri string, prep func(req *fasthttp.Request)) *fasthttp.Response {
	ctx := new(fasthttp.RequestCtx)
	ctx.Init(&fasthttp.Request{}, nil, nil)
	ctx.SetUserValue(KeyTransID, newTransID())
	SetAuthorized(ctx, AuthorizedOwner)
	return Subrequest(ctx, p.serveSwift, method, uri, prep)
}

func (p *Proxy) dropTask(cont, task string) {
	row := db.ObjectRow{Name: task, Timestamp: timestamp.Now(), Deleted: true}
	if err := p.updateTaskRow(cont, row); err != nil {
		p.log.Warn("expirer: task not removed", "container", cont, "task", task, "err", err)
	}
}

// dropTaskContainer deletes a task container once it is empty.
func (p *Proxy) dropTaskContainer(cont string) {
	pl := p.containerPlace(expiringAccount, cont)
	ts := timestamp.Now()
	res := writeEach(pl, func(_ int, n *ring.Device) error {
		return p.be.ContainerDelete(p.life, backend.ContainerRef{Node: n, Part: pl.part, Account: expiringAccount, Container: cont}, ts)
	})
	if _, err := outcome(res, pl.quorum()); err == nil || notFound(err) {
		p.expiry.mu.Lock()
		delete(p.expiry.known, cont)
		p.expiry.mu.Unlock()
		p.acct.updateNow(expiringAccount, cont)
	}
}

// listAllContainers lists every container of account, in name order.
func (p *Proxy) listAllContainers(account string) ([]string, error) {
	pl := p.accountPlace(account)
	var out []string
	marker := ""
	for {
		entries, err := readFirst(pl, func(n *ring.Device) ([]db.ContainerEntry, error) {
			return p.be.AccountList(p.life, backend.AccountRef{Node: n, Part: pl.part, Account: account}, db.ListOptions{Marker: marker, Limit: 10000})
		})
		if err != nil {
			return out, err
		}
		for _, e := range entries {
			out = append(out, e.Name)
		}
		if len(entries) < 10000 {
			return out, nil
		}
		marker = entries[len(entries)-1].Name
	}
}

// eachTask calls fn with the task names of cont in order until it
// returns false.
func (p *Proxy) eachTask(cont string, fn func(task string) bool) error {
	pl := p.containerPlace(expiringAccount, cont)
	marker := ""
	for {
		entries, err := readFirst(pl, func(n *ring.Device) ([]db.ObjectEntry, error) {
			return p.be.ContainerList(p.life, backend.ContainerRef{Node: n, Part: pl.part, Account: expiringAccount, Container: cont}, db.ListOptions{Marker: marker, Limit: 1000})
		})
		if err != nil {
			if notFound(err) {
				return nil
			}
			return err
		}
		for _, e := range entries {
			if !fn(e.Name) {
				return nil
			}
		}
		if len(entries) < 1000 {
			return nil
		}
		marker = entries[len(entries)-1].Name
	}
}
