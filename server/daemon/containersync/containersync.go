// Package containersync is Swift's swift-container-sync daemon: for every
// container on this box whose X-Container-Sync-To and -Key are set, it
// sends the changes since its sync point to the target container — a PUT
// of the object (read through the proxy core, streamed) or a DELETE, each
// with the object's own X-Timestamp and the container's key (or, for realm
// values, a signature) — and keeps the new sync point in the container's
// metadata, so a restart goes on where it stopped.
package containersync

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	mrand "math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/valyala/fasthttp"

	"swiftbox/config"
	"swiftbox/ring"
	"swiftbox/server/proxy"
	"swiftbox/server/pyfmt"
	"swiftbox/storage/db"
	"swiftbox/storage/timestamp"
)

// syncPointPrefix + the database's ID names the container metadata item
// holding that database's sync points (Swift keeps x_container_sync_point1
// and 2 in the container_stat table; here one item per replica, so
// replication carries them along without one replica's overwriting
// another's). Sysmeta: clients never see or set it.
const syncPointPrefix = "X-Container-Sysmeta-Swiftbox-Sync-Point-"

// syncPoints are Swift's two sync points of one database and target To
// (another target starts over): every row up to P2 has been sent, by this
// box or another replica's; every row of this box's share up to P1 has.
type syncPoints struct {
	To string `json:"to"`
	P1 uint64 `json:"p1"`
	P2 uint64 `json:"p2"`
}

// Syncer makes container-sync passes.
type Syncer struct {
	Cluster *proxy.Cluster
	// Config is the container_sync section (realms, allowed hosts), read
	// at each use.
	Config  *config.ContainerSyncConfig
	DBs     *db.Store
	Devices func() []string // container devices on this box
	// Local reports whether a ring device is on this box (nil: all are).
	Local  func(*ring.Device) bool
	Log    *slog.Logger // with component=container-sync
	Client *http.Client // nil: Client(*Config)
	// OnPass, when set, receives every pass's statistics (metrics, recon).
	OnPass func(Stats)
	// ContainerTime bounds the time spent on one container per pass
	// (0: one minute).
	ContainerTime time.Duration
}

// Stats summarises one pass (Swift's report line).
type Stats struct {
	Containers, Synced, Puts, Deletes, Skips, Failures int
	Bytes                                              int64
	Start, End                                         time.Time
}

// Run makes a pass every interval until ctx ends (a goroutine of serve).
func (s *Syncer) Run(ctx context.Context, interval time.Duration) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(interval):
		}
		st := s.RunOnce(ctx)
		if st.Containers > 0 {
			s.Log.Info("pass", "containers", st.Containers, "puts", st.Puts, "deletes", st.Deletes,
				"skips", st.Skips, "failures", st.Failures, "bytes", st.Bytes)
		}
	}
}

// passLocks holds a mutex per database store: one pass at a time works on
// a store's sync points (serve's own passes and those the daemon command
// asks it for).
var passLocks sync.Map // *db.Store → *sync.Mutex

// syncTarget is one container database to sync, and which replicas'
// shares of the rows this box sends at once (Swift's ordinal).
type syncTarget struct {
	file db.File
	id   db.Identity
	rank int
	own  []bool // by primary index: on this box
}

func (s *Syncer) local(d *ring.Device) bool { return s.Local == nil || s.Local(d) }

// RunOnce syncs every container with sync settings once, from the
// database of its first primary device on this box. Rows of the share of
// a primary on this box go at once; the others' rows one pass later,
// when they have had their chance (Swift's sync_point1/2 scheme: each row
// is sent by one replica's node, and by the rest should it fail).
func (s *Syncer) RunOnce(ctx context.Context) (st Stats) {
	mu, _ := passLocks.LoadOrStore(s.DBs, new(sync.Mutex))
	mu.(*sync.Mutex).Lock()
	defer mu.(*sync.Mutex).Unlock()
	st.Start = time.Now()
	defer func() {
		st.End = time.Now()
		if s.OnPass != nil {
			s.OnPass(st)
		}
	}()
	chosen := map[string]*syncTarget{}
	var order []string
	for _, dev := range s.Devices() {
		files, err := s.DBs.ListFiles(db.KindContainers, dev)
		if err != nil {
			s.Log.Warn("listing databases", "device", dev, "err", err)
			continue
		}
		for _, f := range files {
			id, err := s.DBs.Stat(f)
			if err != nil || id.Deleted || id.Container == "" {
				continue
			}
			_, prim := s.Cluster.ContainerNodes(id.Account, id.Container)
			rank := -1
			own := make([]bool, len(prim))
			for i, n := range prim {
				own[i] = s.local(n)
				if own[i] && n.Device == f.Device && rank < 0 {
					rank = i
				}
			}
			if rank < 0 {
				continue // a handoff: its primaries sync
			}
			key := id.Account + "/" + id.Container
			if old, ok := chosen[key]; ok && old.rank <= rank {
				continue
			} else if !ok {
				order = append(order, key)
			}
			chosen[key] = &syncTarget{file: f, id: id, rank: rank, own: own}
		}
	}
	for _, key := range order {
		if ctx.Err() != nil {
			break
		}
		s.syncContainer(ctx, chosen[key], &st)
	}
	return st
}

func (s *Syncer) client() *http.Client {
	if s.Client != nil {
		return s.Client
	}
	return Client(*s.Config)
}

// Client is the container-sync daemon's HTTP client for cs: it
// connects only where the sync guard allows (syncguard.go), follows no
// redirect, and sends through one of cs.SyncProxy picked at random per
// request (Swift's sync_proxy) — never through the environment's proxy,
// which is not the operator's list. It bounds connecting and waiting for
// an answer, not the whole exchange: a large object's upload takes as
// long as it takes. The proxies are valid URLs (config checks them).
func Client(cs config.ContainerSyncConfig) *http.Client {
	var proxy func(*http.Request) (*url.URL, error)
	if len(cs.SyncProxy) > 0 {
		urls := make([]*url.URL, 0, len(cs.SyncProxy))
		for _, p := range cs.SyncProxy {
			if u, err := url.Parse(p); err == nil {
				urls = append(urls, u)
			}
		}
		proxy = func(*http.Request) (*url.URL, error) { return urls[mrand.IntN(len(urls))], nil }
	}
	return &http.Client{
		Transport: &http.Transport{
			Proxy:                 proxy,
			DialContext:           newSyncGuard(cs).dialContext,
			TLSHandshakeTimeout:   10 * time.Second,
			ResponseHeaderTimeout: 60 * time.Second,
			ExpectContinueTimeout: time.Second,
			MaxIdleConnsPerHost:   4,
			IdleConnTimeout:       90 * time.Second,
		},
		// A redirect could lead anywhere: it is a failed row.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// syncTo is where one container's rows go and how they are signed.
type syncTo struct {
	endpoint, userKey, realm, realmKey string
}

// containerRun is one pass's work on one container database.
type containerRun struct {
	s        *Syncer
	ctx      context.Context
	t        *syncTarget
	info     db.ContainerInfo
	to       syncTo
	st       *Stats
	pointKey string
	sp       syncPoints // where the pass is
	saved    syncPoints // what the database holds
	deadline time.Time
}

// syncContainer is Swift's ContainerSync.container_sync for one database.
func (s *Syncer) syncContainer(ctx context.Context, t *syncTarget, st *Stats) {
	f := t.file
	info, err := s.DBs.ContainerInfo(f.Device, f.Part, t.id.Account, t.id.Container)
	if err != nil {
		return
	}
	to := syncTo{userKey: info.Metadata["X-Container-Sync-Key"].Value}
	value := info.Metadata["X-Container-Sync-To"].Value
	if value == "" || to.userKey == "" {
		return
	}
	st.Containers++
	log := s.Log.With("account", info.Account, "container", info.Container)
	if VersioningConfigured(info.Metadata) {
		st.Skips++
		log.Warn("skipping container with object versioning configured")
		return
	}
	var msg string
	msg, to.endpoint, to.realm, to.realmKey = ValidateSyncTo(*s.Config, value)
	if msg != "" || to.endpoint == "" {
		st.Failures++
		log.Info("invalid X-Container-Sync-To", "err", msg)
		return
	}
	failures := st.Failures
	limit := s.ContainerTime
	if limit <= 0 {
		limit = time.Minute
	}
	c := &containerRun{s: s, ctx: ctx, t: t, info: info, to: to, st: st,
		pointKey: syncPointPrefix + t.id.ID, deadline: time.Now().Add(limit)}
	if raw := info.Metadata[c.pointKey].Value; raw != "" {
		json.Unmarshal([]byte(raw), &c.sp)
	}
	if c.sp.To != value {
		c.sp = syncPoints{To: value}
	}
	c.saved = c.sp
	defer c.save()
	c.catchUp()
	c.sendShare()
	if st.Failures == failures {
		st.Synced++
	}
}

// save records the sync points in the database, if they moved.
func (c *containerRun) save() {
	if c.sp == c.saved {
		return
	}
	raw, _ := json.Marshal(c.sp)
	meta := db.Metadata{c.pointKey: {Value: string(raw), Timestamp: timestamp.Now()}}
	f := c.t.file
	if err := c.s.DBs.UpdateContainerMetadata(f.Device, f.Part, c.info.Account, c.info.Container, meta); err != nil {
		c.s.Log.Warn("saving sync points", "account", c.info.Account, "container", c.info.Container, "err", err)
		return
	}
	c.saved = c.sp
}

// rowAfter is the first row past sync point after, and its row ID.
func (c *containerRun) rowAfter(after uint64) (db.ObjectRow, uint64, bool) {
	f := c.t.file
	rows, id, err := c.s.DBs.ObjectRowsSince(f.Device, f.Part, c.info.Account, c.info.Container, after, 1)
	if err != nil {
		c.st.Failures++
		c.s.Log.Warn("reading rows", "account", c.info.Account, "container", c.info.Container, "err", err)
		return db.ObjectRow{}, 0, false
	}
	if len(rows) == 0 {
		return db.ObjectRow{}, 0, false
	}
	return rows[0], id, true
}

// more says whether the pass may go on with this container.
func (c *containerRun) more() bool { return c.ctx.Err() == nil && time.Now().Before(c.deadline) }

func (c *containerRun) send(row db.ObjectRow) bool {
	return c.s.syncRow(c.ctx, c.info, row, c.to, c.st)
}

// catchUp sends every row up to P1, whoever's share: those another
// replica was to send and this box's that failed. The first failure holds
// P2 back.
func (c *containerRun) catchUp() {
	var held *uint64
	for n := 0; c.sp.P2 < c.sp.P1 && c.more(); n++ {
		row, id, ok := c.rowAfter(c.sp.P2)
		if !ok || id > c.sp.P1 {
			break
		}
		if !c.send(row) && held == nil {
			v := c.sp.P2
			held = &v
		}
		c.sp.P2 = id
		if n%100 == 99 {
			c.save()
		}
	}
	if held != nil {
		c.sp.P2 = *held
	}
}

// sendShare sends the new rows of this box's share (failures are retried
// by catchUp next pass). When every replica is on this box all rows are
// its share: P2 follows P1 up to the first failure, so nothing is sent
// twice.
func (c *containerRun) sendShare() {
	own := c.t.own
	allOwn := !slices.Contains(own, false) && c.sp.P2 == c.sp.P1
	for n := 0; c.more(); n++ {
		row, id, ok := c.rowAfter(c.sp.P1)
		if !ok {
			break
		}
		h := c.s.Cluster.HashPath(c.info.Account, c.info.Container, row.Name)
		if own[int(binary.BigEndian.Uint32(h[:4])%uint32(len(own)))] {
			if !c.send(row) {
				allOwn = false
			} else if allOwn {
				c.sp.P2 = id
			}
		}
		c.sp.P1 = id
		if n%100 == 99 {
			c.save()
		}
	}
}

// signHeaders adds the key, or for realms the signature of method on
// path (Swift's _update_sync_to_headers).
func (to syncTo) signHeaders(h http.Header, method, path, xTimestamp string) {
	if to.realm != "" && to.realmKey != "" {
		var b [16]byte
		rand.Read(b[:])
		nonce := hex.EncodeToString(b[:])
		h.Set("X-Container-Sync-Auth", to.realm+" "+nonce+" "+Sig(method, path, xTimestamp, nonce, to.realmKey, to.userKey))
		return
	}
	h.Set("X-Container-Sync-Key", to.userKey)
}

// syncRow is Swift's container_sync_row: send one change; true on success.
func (s *Syncer) syncRow(ctx context.Context, info db.ContainerInfo, row db.ObjectRow, to syncTo, st *Stats) bool {
	target := to.endpoint + "/" + pyfmt.Quote(row.Name)
	u, err := url.Parse(target)
	if err != nil {
		st.Failures++
		return false
	}
	path := u.EscapedPath()
	if row.Deleted {
		if err := s.syncDelete(ctx, target, path, row, to); err != nil {
			return s.failed(info, row, err, st)
		}
		st.Deletes++
		return true
	}
	tsMeta := row.Timestamp
	if !row.MetaTimestamp.IsZero() {
		tsMeta = row.MetaTimestamp
	} else if !row.CtypeTimestamp.IsZero() {
		tsMeta = row.CtypeTimestamp
	}
	current, err := s.remoteIsCurrent(ctx, target, path, tsMeta, to)
	if err != nil {
		return s.failed(info, row, err, st)
	}
	if current {
		return true
	}
	// Read it here, through the proxy core, as stored (no large-object or
	// symlink resolution: manifests and links are synced as they are).
	local := s.Cluster.Do(ctx, fasthttp.MethodGet, "/v1/"+pyfmt.Quote(info.Account)+"/"+pyfmt.Quote(info.Container)+"/"+pyfmt.Quote(row.Name), nil)
	defer local.CloseBodyStream()
	if local.StatusCode() == 404 {
		// Deleted or overwritten since: a later row carries that change.
		st.Skips++
		return true
	}
	ts, err := timestamp.Parse(string(local.Header.Peek("X-Timestamp")))
	if local.StatusCode() != 200 || err != nil || ts.Compare(tsMeta) < 0 {
		return s.failed(info, row, fmt.Errorf("local GET: %d", local.StatusCode()), st)
	}
	size := int64(local.Header.ContentLength())
	if err := s.syncPut(ctx, target, path, local, to); err != nil {
		return s.failed(info, row, err, st)
	}
	st.Puts++
	st.Bytes += size
	return true
}

// syncDelete sends a row's deletion (gone there already is as good).
func (s *Syncer) syncDelete(ctx context.Context, target, path string, row db.ObjectRow, to syncTo) error {
	ts := row.Timestamp.Internal()
	req, _ := http.NewRequestWithContext(ctx, http.MethodDelete, target, nil)
	req.Header.Set("X-Timestamp", ts)
	to.signHeaders(req.Header, http.MethodDelete, path, ts)
	resp, err := s.client().Do(req)
	if err != nil {
		return err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode/100 != 2 && resp.StatusCode != 404 && resp.StatusCode != 409 {
		return fmt.Errorf("DELETE %s: %s", target, resp.Status)
	}
	return nil
}

// remoteIsCurrent reports whether the target holds the object already, as
// new as tsMeta (Swift's _object_in_remote_container; ?symlink=get: a
// link's own timestamp, not its target's).
func (s *Syncer) remoteIsCurrent(ctx context.Context, target, path string, tsMeta timestamp.Timestamp, to syncTo) (bool, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodHead, target+"?symlink=get", nil)
	req.Header.Set("X-Timestamp", tsMeta.Internal())
	to.signHeaders(req.Header, http.MethodHead, path, tsMeta.Internal())
	resp, err := s.client().Do(req)
	if err != nil {
		return false, err
	}
	resp.Body.Close()
	switch {
	case resp.StatusCode/100 == 2:
		rts, err := timestamp.Parse(resp.Header.Get("X-Timestamp"))
		return err == nil && tsMeta.Compare(rts) <= 0, nil
	case resp.StatusCode != 404:
		return false, fmt.Errorf("HEAD %s: %s", target, resp.Status)
	}
	return false, nil
}

// syncPut streams the local object local to the target, with its headers.
func (s *Syncer) syncPut(ctx context.Context, target, path string, local *fasthttp.Response, to syncTo) error {
	size := int64(local.Header.ContentLength())
	put, _ := http.NewRequestWithContext(ctx, http.MethodPut, target, io.NopCloser(proxy.ResponseBody(local)))
	put.ContentLength = size
	if size == 0 {
		put.Body = http.NoBody
	}
	for k, v := range local.Header.All() {
		name := http.CanonicalHeaderKey(string(k))
		switch {
		case skipSyncHeader[name], strings.HasPrefix(name, "X-Backend-"):
			continue
		case strings.HasPrefix(name, "X-Object-Sysmeta-Symlink-"):
			// As ?symlink=get shows a link: the target's client headers.
			if client := proxy.SymlinkClientHeader(name); client != "" {
				put.Header.Set(client, string(v))
			}
		case name == "Etag":
			put.Header.Set("Etag", strings.Trim(string(v), `"`))
		case name == "Content-Type":
			put.Header.Set(name, proxy.CleanContentType(string(v)))
		default:
			put.Header.Set(name, string(v))
		}
	}
	xts := string(local.Header.Peek("X-Timestamp"))
	put.Header.Set("X-Timestamp", xts)
	to.signHeaders(put.Header, http.MethodPut, path, xts)
	resp, err := s.client().Do(put)
	if err != nil {
		return err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("PUT %s: %s", target, resp.Status)
	}
	return nil
}

// skipSyncHeader are response headers not sent on with the object.
var skipSyncHeader = map[string]bool{
	"Date": true, "Last-Modified": true, "Content-Length": true, "X-Trans-Id": true,
	"X-Openstack-Request-Id": true, "Accept-Ranges": true, "Connection": true, "Server": true,
	"Transfer-Encoding": true, "X-Timestamp": true, "X-Put-Timestamp": true,
}

func (s *Syncer) failed(info db.ContainerInfo, row db.ObjectRow, err error, st *Stats) bool {
	st.Failures++
	s.Log.Info("row not synced", "account", info.Account, "container", info.Container,
		"object", row.Name, "err", err)
	return false
}
