package proxy

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
	"time"

	"swiftbox/server/pyfmt"

	"github.com/valyala/fasthttp"

	"swiftbox/config"
	"swiftbox/ring"
	"swiftbox/storage/db"
	"swiftbox/storage/timestamp"
)

// The container-sync daemon (Swift's swift-container-sync): for every
// container on this box whose X-Container-Sync-To and -Key are set, it
// sends the changes since its sync point to the target container — a PUT
// of the object (read through the proxy, streamed) or a DELETE, each with
// the object's own X-Timestamp and the container's key (or, for realm
// values, a signature) — and keeps the new sync point in the container's
// metadata, so a restart goes on where it stopped.

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

// ContainerSyncer makes container-sync passes.
type ContainerSyncer struct {
	Proxy   *Proxy
	DBs     *db.Store
	Devices func() []string // container devices on this box
	// Local reports whether a ring device is on this box (nil: all are).
	Local  func(*ring.Device) bool
	Log    *slog.Logger
	Client *http.Client // nil: syncClient
	// OnPass, when set, receives every pass's statistics (metrics, recon).
	OnPass func(ContainerSyncStats)
	// ContainerTime bounds the time spent on one container per pass
	// (0: one minute).
	ContainerTime time.Duration
}

// ContainerSyncStats summarises one pass (Swift's report line).
type ContainerSyncStats struct {
	Containers, Synced, Puts, Deletes, Skips, Failures int
	Bytes                                              int64
	Start, End                                         time.Time
}

// Run makes a pass every interval until ctx ends (a goroutine of serve).
func (s *ContainerSyncer) Run(ctx context.Context, interval time.Duration) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(interval):
		}
		st := s.RunOnce(ctx)
		if st.Containers > 0 {
			s.Log.Info("container sync pass", "containers", st.Containers, "puts", st.Puts, "deletes", st.Deletes,
				"skips", st.Skips, "failures", st.Failures, "bytes", st.Bytes)
		}
	}
}

// syncTarget is one container database to sync, and which replicas'
// shares of the rows this box sends at once (Swift's ordinal).
type syncTarget struct {
	file db.File
	id   db.Identity
	rank int
	own  []bool // by primary index: on this box
}

func (s *ContainerSyncer) local(d *ring.Device) bool { return s.Local == nil || s.Local(d) }

// RunOnce syncs every container with sync settings once, from the
// database of its first primary device on this box. Rows of the share of
// a primary on this box go at once; the others' rows one pass later,
// when they have had their chance (Swift's sync_point1/2 scheme: each row
// is sent by one replica's node, and by the rest should it fail).
func (s *ContainerSyncer) RunOnce(ctx context.Context) (st ContainerSyncStats) {
	p := s.Proxy
	p.syncMu.Lock()
	defer p.syncMu.Unlock()
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
			s.Log.Warn("container sync: listing databases", "device", dev, "err", err)
			continue
		}
		for _, f := range files {
			id, err := s.DBs.Stat(f)
			if err != nil || id.Deleted || id.Container == "" {
				continue
			}
			prim := p.containerPlace(id.Account, id.Container).primaries
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

func (s *ContainerSyncer) client() *http.Client {
	if s.Client != nil {
		return s.Client
	}
	return SyncClient(s.Proxy.cfg.ContainerSync)
}

// SyncClient is the container-sync daemon's HTTP client for cs: it
// connects only where the sync guard allows (syncguard.go), follows no
// redirect, and sends through one of cs.SyncProxy picked at random per
// request (Swift's sync_proxy) — never through the environment's proxy,
// which is not the operator's list. It bounds connecting and waiting for
// an answer, not the whole exchange: a large object's upload takes as
// long as it takes. The proxies are valid URLs (config checks them).
func SyncClient(cs config.ContainerSyncConfig) *http.Client {
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

// syncContainer is Swift's ContainerSync.container_sync for one database.
func (s *ContainerSyncer) syncContainer(ctx context.Context, t *syncTarget, st *ContainerSyncStats) {
	f := t.file
	info, err := s.DBs.ContainerInfo(f.Device, f.Part, t.id.Account, t.id.Container)
	if err != nil {
		return
	}
	syncTo := info.Metadata["X-Container-Sync-To"].Value
	userKey := info.Metadata["X-Container-Sync-Key"].Value
	if syncTo == "" || userKey == "" {
		return
	}
	st.Containers++
	if info.Metadata[ovContSys].Value != "" {
		st.Skips++
		s.Log.Warn("container sync: skipping container with object versioning configured", "account", info.Account, "container", info.Container)
		return
	}
	msg, endpoint, realm, realmKey := s.Proxy.validateSyncTo(syncTo)
	if msg != "" || endpoint == "" {
		st.Failures++
		s.Log.Info("container sync: invalid X-Container-Sync-To", "account", info.Account, "container", info.Container, "err", msg)
		return
	}
	failures := st.Failures
	pointKey := syncPointPrefix + t.id.ID
	var sp syncPoints
	if raw := info.Metadata[pointKey].Value; raw != "" {
		json.Unmarshal([]byte(raw), &sp)
	}
	if sp.To != syncTo {
		sp = syncPoints{To: syncTo}
	}
	saved := sp
	save := func() {
		if sp == saved {
			return
		}
		raw, _ := json.Marshal(sp)
		meta := db.Metadata{pointKey: {Value: string(raw), Timestamp: timestamp.Now()}}
		if err := s.DBs.UpdateContainerMetadata(f.Device, f.Part, info.Account, info.Container, meta); err != nil {
			s.Log.Warn("container sync: saving sync points", "account", info.Account, "container", info.Container, "err", err)
			return
		}
		saved = sp
	}
	defer save()
	rowAfter := func(after uint64) (db.ObjectRow, uint64, bool) {
		rows, id, err := s.DBs.ObjectRowsSince(f.Device, f.Part, info.Account, info.Container, after, 1)
		if err != nil {
			st.Failures++
			s.Log.Warn("container sync: reading rows", "account", info.Account, "container", info.Container, "err", err)
			return db.ObjectRow{}, 0, false
		}
		if len(rows) == 0 {
			return db.ObjectRow{}, 0, false
		}
		return rows[0], id, true
	}
	send := func(row db.ObjectRow) bool {
		return s.syncRow(ctx, info, row, endpoint, userKey, realm, realmKey, st)
	}
	limit := s.ContainerTime
	if limit <= 0 {
		limit = time.Minute
	}
	deadline := time.Now().Add(limit)
	more := func() bool { return ctx.Err() == nil && time.Now().Before(deadline) }
	// Every row up to P1, whoever's share: those another replica was to
	// send and this box's that failed. The first failure holds P2 back.
	var held *uint64
	for n := 0; sp.P2 < sp.P1 && more(); n++ {
		row, id, ok := rowAfter(sp.P2)
		if !ok || id > sp.P1 {
			break
		}
		if !send(row) && held == nil {
			v := sp.P2
			held = &v
		}
		sp.P2 = id
		if n%100 == 99 {
			save()
		}
	}
	if held != nil {
		sp.P2 = *held
	}
	// New rows of this box's share (failures are retried by the loop above
	// next pass). When every replica is on this box all rows are its
	// share: P2 follows P1 up to the first failure, so nothing is sent
	// twice.
	allOwn := !slices.Contains(t.own, false) && sp.P2 == sp.P1
	for n := 0; more(); n++ {
		row, id, ok := rowAfter(sp.P1)
		if !ok {
			break
		}
		h := ring.HashPath(s.Proxy.hashPrefix, s.Proxy.hashSuffix, info.Account, info.Container, row.Name)
		if t.own[int(binary.BigEndian.Uint32(h[:4])%uint32(len(t.own)))] {
			if !send(row) {
				allOwn = false
			} else if allOwn {
				sp.P2 = id
			}
		}
		sp.P1 = id
		if n%100 == 99 {
			save()
		}
	}
	if st.Failures == failures {
		st.Synced++
	}
}

// syncHeaders adds the key, or for realms the signature of method on
// path (Swift's _update_sync_to_headers).
func syncHeaders(h http.Header, method, path, xTimestamp, userKey, realm, realmKey string) {
	if realm != "" && realmKey != "" {
		var b [16]byte
		rand.Read(b[:])
		nonce := hex.EncodeToString(b[:])
		h.Set("X-Container-Sync-Auth", realm+" "+nonce+" "+syncSig(method, path, xTimestamp, nonce, realmKey, userKey))
		return
	}
	h.Set("X-Container-Sync-Key", userKey)
}

// syncRow is Swift's container_sync_row: send one change; true on success.
func (s *ContainerSyncer) syncRow(ctx context.Context, info db.ContainerInfo, row db.ObjectRow, endpoint, userKey, realm, realmKey string, st *ContainerSyncStats) bool {
	target := endpoint + "/" + pyfmt.Quote(row.Name)
	u, err := url.Parse(target)
	if err != nil {
		st.Failures++
		return false
	}
	path := u.EscapedPath()
	if row.Deleted {
		ts := row.Timestamp.Internal()
		req, _ := http.NewRequestWithContext(ctx, http.MethodDelete, target, nil)
		req.Header.Set("X-Timestamp", ts)
		syncHeaders(req.Header, http.MethodDelete, path, ts, userKey, realm, realmKey)
		resp, err := s.client().Do(req)
		if err != nil {
			return s.failed(info, row, err, st)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode/100 != 2 && resp.StatusCode != 404 && resp.StatusCode != 409 {
			return s.failed(info, row, fmt.Errorf("DELETE %s: %s", target, resp.Status), st)
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
	// Already there, as new? (Swift's _object_in_remote_container)
	// (?symlink=get: a link's own timestamp, not its target's)
	req, _ := http.NewRequestWithContext(ctx, http.MethodHead, target+"?symlink=get", nil)
	req.Header.Set("X-Timestamp", tsMeta.Internal())
	syncHeaders(req.Header, http.MethodHead, path, tsMeta.Internal(), userKey, realm, realmKey)
	resp, err := s.client().Do(req)
	if err != nil {
		return s.failed(info, row, err, st)
	}
	resp.Body.Close()
	switch {
	case resp.StatusCode/100 == 2:
		if rts, err := timestamp.Parse(resp.Header.Get("X-Timestamp")); err == nil && tsMeta.Compare(rts) <= 0 {
			return true
		}
	case resp.StatusCode != 404:
		return s.failed(info, row, fmt.Errorf("HEAD %s: %s", target, resp.Status), st)
	}
	// Read it here, through the proxy core, as stored (no large-object or
	// symlink resolution: manifests and links are synced as they are).
	local := s.Proxy.internalRequest(fasthttp.MethodGet, "/v1/"+pyfmt.Quote(info.Account)+"/"+pyfmt.Quote(info.Container)+"/"+pyfmt.Quote(row.Name), nil)
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
	put, _ := http.NewRequestWithContext(ctx, http.MethodPut, target, io.NopCloser(ResponseBody(local)))
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
			for _, pair := range symlinkHeaderPairs {
				if pair[1] == name {
					put.Header.Set(pair[0], string(v))
				}
			}
		case name == "Etag":
			put.Header.Set("Etag", strings.Trim(string(v), `"`))
		case name == "Content-Type":
			put.Header.Set(name, cleanContentType(string(v)))
		default:
			put.Header.Set(name, string(v))
		}
	}
	xts := string(local.Header.Peek("X-Timestamp"))
	put.Header.Set("X-Timestamp", xts)
	syncHeaders(put.Header, http.MethodPut, path, xts, userKey, realm, realmKey)
	presp, err := s.client().Do(put)
	if err != nil {
		return s.failed(info, row, err, st)
	}
	io.Copy(io.Discard, presp.Body)
	presp.Body.Close()
	if presp.StatusCode/100 != 2 {
		return s.failed(info, row, fmt.Errorf("PUT %s: %s", target, presp.Status), st)
	}
	st.Puts++
	st.Bytes += size
	return true
}

// skipSyncHeader are response headers not sent on with the object.
var skipSyncHeader = map[string]bool{
	"Date": true, "Last-Modified": true, "Content-Length": true, "X-Trans-Id": true,
	"X-Openstack-Request-Id": true, "Accept-Ranges": true, "Connection": true, "Server": true,
	"Transfer-Encoding": true, "X-Timestamp": true, "X-Put-Timestamp": true,
}

func (s *ContainerSyncer) failed(info db.ContainerInfo, row db.ObjectRow, err error, st *ContainerSyncStats) bool {
	st.Failures++
	s.Log.Info("container sync: row not synced", "account", info.Account, "container", info.Container,
		"object", row.Name, "err", err)
	return false
}
