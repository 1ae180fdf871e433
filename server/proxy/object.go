package proxy

import (
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"io"
	"mime"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/valyala/fasthttp"

	"swiftbox/ring"
	"swiftbox/server/backend"
	"swiftbox/storage"
	"swiftbox/storage/timestamp"
)

// objectAllowedHeaders are stored with an object and returned on GET/HEAD
// (Swift's allowed_headers plus the ones it always keeps).
var objectAllowedHeaders = []string{
	"Content-Disposition", "Content-Encoding", "X-Delete-At", "X-Object-Manifest",
	"X-Static-Large-Object", "Cache-Control", "Content-Language", "Expires", "X-Robots-Tag",
}

const objectMethods = "HEAD, GET, PUT, POST, DELETE, OPTIONS"

// pythonTypes are Python mimetypes' answers where Go's table differs.
var pythonTypes = map[string]string{
	".wav": "audio/x-wav", ".bmp": "image/x-ms-bmp", ".ico": "image/vnd.microsoft.icon",
	".xml": "text/xml", ".js": "application/javascript", ".mp3": "audio/mpeg",
}

// GuessContentType is Swift's mimetypes.guess_type fallback chain.
func GuessContentType(name string) string {
	if t, ok := pythonTypes[strings.ToLower(path.Ext(name))]; ok {
		return t
	}
	if t := mime.TypeByExtension(path.Ext(name)); t != "" {
		if i := strings.Index(t, ";"); i >= 0 {
			t = strings.TrimSpace(t[:i])
		}
		return t
	}
	return "application/octet-stream"
}

// deleteAt validates X-Delete-At / X-Delete-After and returns the value to
// store ("" for none), as constraints.check_delete_headers does.
func deleteAt(r *Request, now time.Time) (string, error) {
	if v := r.Header("X-Delete-After"); v != "" {
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil {
			return "", ConstraintErrorf(fasthttp.StatusBadRequest, "Non-integer X-Delete-After")
		}
		if n < 0 {
			return "", ConstraintErrorf(fasthttp.StatusBadRequest, "X-Delete-After in past")
		}
		if n == 0 {
			// now + 0 is already past by the time it is checked (Swift).
			return "", ConstraintErrorf(fasthttp.StatusBadRequest, "X-Delete-At in past")
		}
		return strconv.FormatInt(now.Unix()+n, 10), nil
	}
	if v := r.Header("X-Delete-At"); v != "" {
		n, err := parseDeleteAt(v)
		if err != nil {
			return "", ConstraintErrorf(fasthttp.StatusBadRequest, "Non-integer X-Delete-At")
		}
		if n <= now.Unix() {
			return "", ConstraintErrorf(fasthttp.StatusBadRequest, "X-Delete-At in past")
		}
		return strconv.FormatInt(n, 10), nil
	}
	return "", nil
}

// maxDeleteAt is Swift's largest X-Delete-At (normalize_delete_at_timestamp).
const maxDeleteAt = 9999999999

// parseDeleteAt reads an integer X-Delete-At; values past the year 2286
// are clamped as Swift clamps them.
func parseDeleteAt(v string) (int64, error) {
	v = strings.TrimSpace(v)
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil && IsDigits(v) {
		return maxDeleteAt, nil // too large for int64: far future
	}
	if err != nil {
		return 0, err
	}
	return min(n, maxDeleteAt), nil
}

// objectMeta builds the metadata stored with an object from the request.
func objectMeta(r *Request, ts timestamp.Timestamp, contentType, delAt string) map[string]string {
	meta := map[string]string{"X-Timestamp": ts.Internal(), "Content-Type": contentType}
	for k, v := range r.Ctx.Request.Header.All() {
		lk := strings.ToLower(string(k))
		// User metadata keeps an empty value, as Swift's object server
		// stores it; the middlewares' sysmeta uses "" for "not set".
		if strings.HasPrefix(lk, "x-object-meta-") || ((strings.HasPrefix(lk, "x-object-sysmeta-") ||
			strings.HasPrefix(lk, "x-object-transient-sysmeta-")) && len(v) > 0) {
			meta[canonical(string(k))] = string(v)
		}
	}
	for _, h := range objectAllowedHeaders {
		if v := r.Header(h); v != "" && h != "X-Delete-At" {
			meta[h] = v
		}
	}
	if delAt != "" {
		meta["X-Delete-At"] = delAt
	}
	return meta
}

// expired reports whether an object's X-Delete-At has passed.
func expired(meta map[string]string, now time.Time) bool {
	v := meta["X-Delete-At"]
	if v == "" {
		return false
	}
	n, err := strconv.ParseInt(v, 10, 64)
	return err == nil && n <= now.Unix()
}

// putBufPool holds the copy buffers of object PUTs.
var putBufPool = sync.Pool{New: func() any { b := make([]byte, 256<<10); return &b }}

// checkObjectPut is the proxy's check of an object PUT before its body
// is read (Swift's check_object_creation). The versioning middlewares
// call it before they write anything on the PUT's behalf, so a PUT
// refused here leaves nothing behind. It returns the body's size (-1:
// chunked) and the X-Delete-At to store.
func (p *Proxy) checkObjectPut(r *Request, now time.Time) (int64, string, error) {
	ctx := r.Ctx
	teRaw, _ := RawHeader(&ctx.Request.Header, "transfer-encoding")
	te := strings.ToLower(teRaw)
	if te != "" && te != "chunked" {
		return 0, "", Errorf(fasthttp.StatusNotImplemented, "")
	}
	// fasthttp reports a missing Content-Length as 0: look at what was
	// sent (a chunked body a middleware already read has length 0 now).
	size := int64(ctx.Request.Header.ContentLength())
	if size < 0 {
		size = -1 // chunked
	} else if !IsInternal(ctx) && !HasRawHeader(&ctx.Request.Header, "content-length") && te != "chunked" {
		return 0, "", Errorf(fasthttp.StatusLengthRequired, "")
	}
	if size > p.limits.MaxFileSize {
		return 0, "", ConstraintErrorf(fasthttp.StatusRequestEntityTooLarge, "Your request is too large.")
	}
	if err := p.checkMetadata(r, "Object"); err != nil {
		return 0, "", err
	}
	if inm := r.Header("If-None-Match"); inm != "" && inm != "*" {
		return 0, "", ConstraintErrorf(fasthttp.StatusBadRequest, "If-None-Match only supports *")
	}
	delAt, err := deleteAt(r, now)
	return size, delAt, err
}

// upload is an object PUT in progress: where the object goes, what is
// stored with it, and its replicas' writers.
type upload struct {
	r       *Request
	pl      placement
	size    int64 // -1: chunked
	delAt   string
	ctype   string
	ts      timestamp.Timestamp
	timed   bool // a middleware gave the timestamp
	writers []*replicaWriter
}

func (p *Proxy) objectPut(r *Request) error {
	u, err := p.newUpload(r)
	if err != nil {
		return err
	}
	if r.Header("If-None-Match") == "*" {
		defer p.putLocks.Lock(r.Account + "/" + r.Container + "/" + r.Object)()
		if rd, err := p.openObject(u.pl, r, false); err == nil {
			rd.Close()
			return Errorf(fasthttp.StatusPreconditionFailed, "")
		}
	}
	if superseded, err := p.openUpload(u); err != nil {
		return err
	} else if superseded {
		// Every replica already has something newer: Swift answers 202.
		r.Ctx.SetStatusCode(fasthttp.StatusAccepted)
		return nil
	}
	etag, err := p.receiveBody(u)
	if err != nil {
		u.abort()
		return err
	}
	if err := p.commitUpload(u, etag); err != nil {
		return err
	}
	p.acct.markDirty(r.Account, r.Container)
	if u.delAt != "" {
		n, _ := strconv.ParseInt(u.delAt, 10, 64)
		p.queueExpiry(n, r.Account, r.Container, r.Object, u.ts, false)
	}
	ctx := r.Ctx
	ctx.SetStatusCode(fasthttp.StatusCreated)
	ctx.Response.Header.Set("Etag", etag)
	ctx.Response.Header.Set("Last-Modified", HTTPDate(u.ts))
	ctx.Response.Header.SetContentType("text/html; charset=UTF-8")
	ctx.Response.Header.SetContentLength(0)
	return nil
}

// newUpload checks an object PUT and places it.
func (p *Proxy) newUpload(r *Request) (*upload, error) {
	size, delAt, err := p.checkObjectPut(r, time.Now())
	if err != nil {
		return nil, err
	}
	ts, err := requestTimestamp(r)
	if err != nil {
		return nil, err
	}
	ctype := r.Header("Content-Type")
	if ctype == "" || r.Header("X-Detect-Content-Type") == "true" {
		ctype = GuessContentType(r.Object)
	}
	info, err := p.ContainerInfo(r.Ctx, r.Account, r.Container)
	if err != nil {
		return nil, err
	}
	policy, err := p.policyIndexOf(r.Ctx, info.StoragePolicy)
	if err != nil {
		return nil, err
	}
	pl := p.objectPlace(policy, r.Account, r.Container, r.Object)
	return &upload{r: r, pl: pl, size: size, delAt: delAt, ctype: ctype, ts: ts,
		timed: r.Header("X-Timestamp") != ""}, nil
}

// openUpload opens a quorum of replica writers. superseded is true when
// every replica already holds something newer.
func (p *Proxy) openUpload(u *upload) (superseded bool, err error) {
	// Unless a middleware gave the timestamp, the object is timed as late
	// as it can be: now, and again when its body is complete (commitUpload),
	// so an upload that finished meanwhile is not mistaken for a newer one.
	if now := timestamp.Now(); !u.timed && now.After(u.ts) {
		u.ts = now
	}
	quorum := u.pl.quorum()
	writers, conflicts, failure := p.openWriters(u.r, u.pl, u.ts, u.size)
	if !u.timed && len(writers) < quorum && conflicts > 0 {
		// A concurrent upload committed with a later time in between:
		// time this one after it.
		abortWriters(writers)
		u.ts = timestamp.Now()
		writers, conflicts, failure = p.openWriters(u.r, u.pl, u.ts, u.size)
	}
	if len(writers) < quorum {
		abortWriters(writers)
		if conflicts >= quorum {
			return true, nil
		}
		return false, failure
	}
	u.writers = writers
	return false, nil
}

// receiveBody streams the request body to the replicas and checks it
// against the client's ETag; it returns the body's MD5.
func (p *Proxy) receiveBody(u *upload) (string, error) {
	n, etag, err := p.copyBody(u.r.Ctx, u.writers, u.size, u.pl.quorum())
	if err != nil {
		return "", err
	}
	if u.size >= 0 && n < u.size {
		return "", Errorf(499, "")
	}
	if want := strings.Trim(strings.ToLower(u.r.Header("Etag")), `"`); want != "" && want != etag {
		return "", Errorf(fasthttp.StatusUnprocessableEntity, "")
	}
	return etag, nil
}

// commitUpload makes the replicas that took the whole body durable with
// the object's metadata, and succeeds when a quorum did.
func (p *Proxy) commitUpload(u *upload, etag string) error {
	r := u.r
	live := u.writers[:0]
	for _, w := range u.writers {
		if w.err == nil {
			live = append(live, w)
		}
	}
	// The object is timed now that its body is complete (unless a
	// middleware gave its timestamp): of two overlapping uploads of a name
	// the one that finishes last wins, as S3 clients expect. Never past
	// its own X-Delete-At: the expirer deletes as of that time, which must
	// stay later than the object's.
	if now := timestamp.Now(); !u.timed && now.After(u.ts) && (u.delAt == "" || now.Unix() < mustInt64(u.delAt)) {
		u.ts = now
		for _, w := range live {
			w.w.Retime(u.ts)
		}
	}
	// Gathered after the body: a middleware may set sysmeta headers when
	// the body ends (S3's trailing checksums), as Swift's metadata footers.
	meta := objectMeta(r, u.ts, u.ctype, u.delAt)
	meta["ETag"] = etag
	var wg sync.WaitGroup
	for _, w := range live {
		wg.Add(1)
		go func(w *replicaWriter) {
			defer wg.Done()
			w.err = w.w.Commit(meta)
		}(w)
	}
	wg.Wait()
	for _, w := range live {
		if w.err != nil {
			p.log.Warn("object commit failed", "trans_id", r.TransID, "device", w.node.Device, "err", w.err)
		}
	}
	_, err := outcome(writerResults(live), u.pl.quorum())
	return err
}

// abort discards every replica of the upload.
func (u *upload) abort() { abortWriters(u.writers) }

func abortWriters(ws []*replicaWriter) {
	for _, w := range ws {
		w.w.Abort()
	}
}

func mustInt64(s string) int64 {
	n, _ := strconv.ParseInt(s, 10, 64)
	return n
}

// replicaWriter is one replica of a PUT in progress.
type replicaWriter struct {
	node *ring.Device
	w    backend.ObjectWriter
	err  error
}

// writerResults are the replica writers' outcomes so far.
func writerResults(ws []*replicaWriter) []writeResult {
	out := make([]writeResult, len(ws))
	for i, w := range ws {
		out[i] = writeResult{node: w.node, err: w.err}
	}
	return out
}

// openWriters opens a writer on every primary (a handoff for each
// unavailable one). conflicts counts replicas holding a newer object;
// failure is why fewer than a quorum opened (nil when enough did).
func (p *Proxy) openWriters(r *Request, pl placement, ts timestamp.Timestamp, size int64) (writers []*replicaWriter, conflicts int, failure error) {
	var out []*replicaWriter
	var mu sync.Mutex
	cpl := p.containerPlace(r.Account, r.Container)
	res := writeEach(pl, func(i int, n *ring.Device) error {
		w, err := p.be.ObjectCreate(r.Context(), pl.object(n, r.Account, r.Container, r.Object), ts, size, cpl.target(i))
		if err != nil {
			if errors.Is(err, storage.ErrConflict) {
				mu.Lock()
				conflicts++
				mu.Unlock()
			}
			return err
		}
		mu.Lock()
		out = append(out, &replicaWriter{node: n, w: w})
		mu.Unlock()
		return nil
	})
	for _, rw := range res {
		if rw.err != nil && !errors.Is(rw.err, storage.ErrConflict) {
			p.log.Warn("object replica unavailable", "trans_id", r.TransID, "device", rw.node.Device, "err", rw.err)
		}
	}
	_, failure = outcome(res, pl.quorum())
	return out, conflicts, failure
}

// copyBody streams the request body to every writer, hashing it once.
// A writer that fails is dropped; the PUT goes on while a quorum remains.
// It returns the byte count and the hex MD5.
func (p *Proxy) copyBody(ctx *fasthttp.RequestCtx, writers []*replicaWriter, size int64, quorum int) (int64, string, error) {
	var body io.Reader
	if s := ctx.RequestBodyStream(); s != nil {
		body = s
	} else {
		body = bytes.NewReader(ctx.PostBody())
	}
	if size >= 0 {
		body = io.LimitReader(body, size)
	}
	bp := putBufPool.Get().(*[]byte)
	defer putBufPool.Put(bp)
	buf := *bp
	var total int64
	h := md5.New()
	for {
		k, rerr := body.Read(buf)
		if k > 0 {
			total += int64(k)
			if total > p.limits.MaxFileSize {
				return total, "", ConstraintErrorf(fasthttp.StatusRequestEntityTooLarge, "Your request is too large.")
			}
			h.Write(buf[:k])
			alive := 0
			for _, w := range writers {
				if w.err != nil {
					continue
				}
				if _, err := w.w.Write(buf[:k]); err != nil {
					w.err = err
					w.w.Abort()
					continue
				}
				alive++
			}
			if alive < quorum {
				// Full disks say so (507), failing ones 503.
				if _, err := outcome(writerResults(writers), quorum); err != nil {
					return total, "", err
				}
				return total, "", Errorf(fasthttp.StatusServiceUnavailable, "")
			}
		}
		if rerr == io.EOF {
			return total, hex.EncodeToString(h.Sum(nil)), nil
		}
		if rerr != nil {
			if errors.Is(rerr, storage.ErrCorrupt) {
				// An internal source (COPY, an archive) failed its
				// checksum: the server's failure, not the client's.
				return total, "", rerr
			}
			return total, "", ErrClientDisconnect
		}
	}
}
