package proxy

import (
	"context"
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"sync"

	"github.com/valyala/fasthttp"

	"swiftbox/ring"
	"swiftbox/storage/db"
	"swiftbox/storage/timestamp"
)

// Expiring objects are queued as Swift queues them: a row named
// "<delete_at>-<account>/<container>/<object>" in a task container of the
// hidden account .expiring_objects, named by the delete time rounded down
// to expiring_objects_container_divisor (less a per-object shard of up to
// 99 seconds). Object writes queue here (as Swift's object server does);
// the expirer daemon (server/daemon/expirer) walks the due tasks through
// the Cluster API below, deletes each object with X-If-Delete-At (so an
// overwrite made since is kept) and drops the task.

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
	if err := p.updateTaskRow(p.life, cont, row); err != nil {
		p.log.Warn("expiry queue: task not recorded", "container", cont, "task", row.Name, "err", err)
	}
}

// updateTaskRow writes a task row on every replica of its container; a
// replica that cannot take it gets an async_pending for the updater.
func (p *Proxy) updateTaskRow(ctx context.Context, cont string, row db.ObjectRow) error {
	pl := p.containerPlace(expiringAccount, cont)
	res := writeEach(pl, func(_ int, n *ring.Device) error {
		return p.be.ContainerUpdate(ctx, pl.container(n, expiringAccount, cont), row)
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
		if !NotFound(err) {
			return err
		}
		if err := p.ensureAccount(p.life, expiringAccount); err != nil {
			return err
		}
		pl := p.containerPlace(expiringAccount, cont)
		ts := timestamp.Now()
		res := writeEach(pl, func(_ int, n *ring.Device) error {
			_, err := p.be.ContainerCreate(p.life, pl.container(n, expiringAccount, cont), ts, 0, nil)
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

// ExpiringAccount is the hidden account of the expiry queue.
const ExpiringAccount = expiringAccount

// ParseExpiryTask reads a task name expiryTaskName made.
func ParseExpiryTask(task string) (deleteAt int64, a, c, o string, ok bool) {
	ts, rest, ok1 := strings.Cut(task, "-")
	at, err := strconv.ParseInt(ts, 10, 64)
	a, co, ok2 := strings.Cut(rest, "/")
	c, o, ok3 := strings.Cut(co, "/")
	return at, a, c, o, ok1 && ok2 && ok3 && err == nil
}

// DropExpiryTask removes a task from the queue (done, or unreadable).
func (c *Cluster) DropExpiryTask(ctx context.Context, cont, task string) error {
	row := db.ObjectRow{Name: task, Timestamp: timestamp.Now(), Deleted: true}
	return c.p.updateTaskRow(ctx, cont, row)
}

// DropExpiryContainer deletes a task container once it is empty.
func (c *Cluster) DropExpiryContainer(ctx context.Context, cont string) {
	p := c.p
	pl := p.containerPlace(expiringAccount, cont)
	ts := timestamp.Now()
	res := writeEach(pl, func(_ int, n *ring.Device) error {
		return p.be.ContainerDelete(ctx, pl.container(n, expiringAccount, cont), ts)
	})
	if _, err := outcome(res, pl.quorum()); err == nil || NotFound(err) {
		p.expiry.mu.Lock()
		delete(p.expiry.known, cont)
		p.expiry.mu.Unlock()
		p.acct.updateNow(expiringAccount, cont)
	}
}

// listAllContainers lists every container of account, in name order.
func (p *Proxy) listAllContainers(ctx context.Context, account string) ([]string, error) {
	pl := p.accountPlace(account)
	var out []string
	marker := ""
	for {
		entries, err := readFirst(pl, func(n *ring.Device) ([]db.ContainerEntry, error) {
			return p.be.AccountList(ctx, pl.account(n, account), db.ListOptions{Marker: marker, Limit: 10000})
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

// listObjects lists container a/c from the first replica that answers.
func (p *Proxy) listObjects(ctx context.Context, a, c string, opts db.ListOptions) ([]db.ObjectEntry, error) {
	pl := p.containerPlace(a, c)
	return readFirst(pl, func(n *ring.Device) ([]db.ObjectEntry, error) {
		return p.be.ContainerList(ctx, pl.container(n, a, c), opts)
	})
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
