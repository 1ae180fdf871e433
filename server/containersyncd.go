package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

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

// syncPointKey is the container metadata item holding the sync point
// (Swift keeps x_container_sync_point1/2 in the container_stat table).
// Sysmeta: clients never see or set it.
const syncPointKey = "X-Container-Sysmeta-Swiftbox-Sync-Point"

// syncPoint is the stored sync point: the last change number of database
// ID sent to target To. A different database or target starts over.
type syncPoint struct {
	ID  string `json:"id"`
	To  string `json:"to"`
	Row uint64 `json:"row"`
}

// ContainerSyncer makes container-sync passes.
type ContainerSyncer struct {
	Proxy   *Proxy
	DBs     *db.Store
	Devices func() []string // container devices on this box
	Log     *slog.Logger
	Client  *http.Client // nil: a client with a 60 s timeout per request
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

// syncTarget is one container database to sync.
type syncTarget struct {
	file db.File
	id   db.Identity
}

// RunOnce syncs every container with sync settings once: one database per
// container, that of its first primary device found on this box.
func (s *ContainerSyncer) RunOnce(ctx context.Context) ContainerSyncStats {
	p := s.Proxy
	p.syncMu.Lock()
	defer p.syncMu.Unlock()
	st := ContainerSyncStats{Start: time.Now()}
	defer func() { st.End = time.Now() }()
	chosen := map[string]syncTarget{}
	rank := map[string]int{}
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
			key := id.Account + "/" + id.Container
			r := len(p.containerPlace(id.Account, id.Container).primaries)
			for i, n := range p.containerPlace(id.Account, id.Container).primaries {
				if n.Device == f.Device {
					r = i
					break
				}
			}
			if _, ok := chosen[key]; ok && rank[key] <= r {
				continue
			} else if !ok {
				order = append(order, key)
			}
			chosen[key], rank[key] = syncTarget{f, id}, r
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
	return &http.Client{Timeout: 60 * time.Second}
}

// syncContainer is Swift's ContainerSync.container_sync for one database.
func (s *ContainerSyncer) syncContainer(ctx context.Context, t syncTarget, st *ContainerSyncStats) {
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
	var sp syncPoint
	if raw := info.Metadata[syncPointKey].Value; raw != "" {
		json.Unmarshal([]byte(raw), &sp)
	}
	if sp.ID != t.id.ID || sp.To != syncTo {
		sp = syncPoint{ID: t.id.ID, To: syncTo}
	}
	start := sp.Row
	next := sp.Row // where the next pass starts: before the first failure
	failed := false
	cursor := sp.Row
	for ctx.Err() == nil {
		rows, last, err := s.DBs.ObjectRowsSince(f.Device, f.Part, info.Account, info.Container, cursor, 100)
		if err != nil {
			st.Failures++
			s.Log.Warn("container sync: reading rows", "account", info.Account, "container", info.Container, "err", err)
			break
		}
		if len(rows) == 0 {
			break
		}
		// Rows come in change order; the change number of each is not
		// returned, only the last: a failure inside a batch keeps the
		// batch's start as the sync point.
		batchOK := true
		for _, row := range rows {
			if !s.syncRow(ctx, info, row, endpoint, userKey, realm, realmKey, st) {
				batchOK = false
			}
		}
		if batchOK && !failed {
			next = last
		} else {
			failed = true
		}
		cursor = last
	}
	if next != start || sp.Row != next {
		sp.Row = next
		raw, _ := json.Marshal(sp)
		meta := db.Metadata{syncPointKey: {Value: string(raw), Timestamp: timestamp.Now()}}
		if err := s.DBs.UpdateContainerMetadata(f.Device, f.Part, info.Account, info.Container, meta); err != nil {
			s.Log.Warn("container sync: saving sync point", "account", info.Account, "container", info.Container, "err", err)
		}
	}
	if !failed {
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
	target := endpoint + "/" + pyQuote(row.Name)
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
	req, _ := http.NewRequestWithContext(ctx, http.MethodHead, target, nil)
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
	local := s.Proxy.internalRequest(fasthttp.MethodGet, "/v1/"+pyQuote(info.Account)+"/"+pyQuote(info.Container)+"/"+pyQuote(row.Name), nil)
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
