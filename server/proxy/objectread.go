package proxy

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"swiftbox/ring"
	"swiftbox/server/backend"
	"swiftbox/storage"
	"swiftbox/storage/timestamp"
)

// openedObject is one replica of an object, open, and where it lives.
type openedObject struct {
	backend.ObjectReader
	node *ring.Device
}

// openObject opens the object on the first replica that has it, or with
// newest set (X-Newest) the replica with the newest timestamp. Expired
// objects are not found.
func (p *Proxy) openObject(pl placement, r *Request, newest bool) (*openedObject, error) {
	return p.openObjectSkipping(pl, r, newest, nil)
}

// openObjectSkipping is openObject that passes over the devices in skip
// (replicas that failed their checksum during this request).
func (p *Proxy) openObjectSkipping(pl placement, r *Request, newest bool, skip map[*ring.Device]bool) (*openedObject, error) {
	open := func(n *ring.Device) (*openedObject, error) {
		if skip[n] {
			return nil, errReplicaFailed
		}
		rd, err := p.be.ObjectOpen(r.Context(), pl.object(n, r.Account, r.Container, r.Object))
		if err != nil {
			return nil, err
		}
		return &openedObject{ObjectReader: rd, node: n}, nil
	}
	var rd *openedObject
	var err error
	if newest {
		for _, n := range pl.candidates() {
			x, e := open(n)
			if e != nil {
				if err == nil || NotFound(e) {
					err = e
				}
				continue
			}
			if rd == nil || x.Timestamp().After(rd.Timestamp()) {
				if rd != nil {
					rd.Close()
				}
				rd = x
			} else {
				x.Close()
			}
		}
		if rd != nil {
			err = nil
		}
	} else {
		rd, err = readFirst(pl, open)
	}
	if err != nil {
		return nil, err
	}
	if expired(rd.Metadata(), time.Now()) {
		rd.Close()
		return nil, storage.ErrNotFound
	}
	return rd, nil
}

// etagMatches implements If-Match / If-None-Match lists against etag.
func etagMatches(header, etag string) bool {
	for _, v := range strings.Split(header, ",") {
		v = strings.TrimSpace(v)
		v = strings.TrimPrefix(v, "W/")
		if v == "*" || strings.Trim(v, `"`) == etag {
			return true
		}
	}
	return false
}

// Conditional evaluates If-* headers; it returns 0 to go on, or the status
// (304/412) to answer.
func Conditional(r *Request, etag string, ts timestamp.Timestamp) int {
	get := r.Method == fasthttp.MethodGet || r.Method == fasthttp.MethodHead
	if im := r.Header("If-Match"); im != "" && !etagMatches(im, etag) {
		return fasthttp.StatusPreconditionFailed
	}
	if inm := r.Header("If-None-Match"); inm != "" && etagMatches(inm, etag) {
		if get {
			return fasthttp.StatusNotModified
		}
		return fasthttp.StatusPreconditionFailed
	}
	lm := lastModifiedSec(ts)
	if r.Header("If-None-Match") == "" {
		if v := r.Header("If-Modified-Since"); v != "" && get {
			if t, ok := ParseHTTPDate(v); ok && lm <= t.Unix() {
				return fasthttp.StatusNotModified
			}
		}
	}
	// Swift checks If-Unmodified-Since even when If-Match matched.
	if v := r.Header("If-Unmodified-Since"); v != "" {
		if t, ok := ParseHTTPDate(v); ok && lm > t.Unix() {
			return fasthttp.StatusPreconditionFailed
		}
	}
	return 0
}

// setObjectHeaders writes the metadata headers of an object response.
func setObjectHeaders(ctx *fasthttp.RequestCtx, rd backend.ObjectReader) {
	meta := rd.Metadata()
	h := &ctx.Response.Header
	for k, v := range meta {
		lk := strings.ToLower(k)
		if strings.HasPrefix(lk, "x-object-meta-") || strings.HasPrefix(lk, "x-object-sysmeta-") ||
			strings.HasPrefix(lk, "x-object-transient-sysmeta-") {
			h.Set(k, v)
		}
	}
	for _, k := range objectAllowedHeaders {
		if v, ok := meta[k]; ok && v != "" {
			h.Set(k, v)
		}
	}
	h.SetContentType(cleanContentType(meta["Content-Type"]))
	h.Set("Etag", meta["ETag"])
	ts := rd.Timestamp()
	if v := meta["X-Timestamp"]; v != "" {
		if t, err := timestamp.Parse(v); err == nil {
			ts = t
		}
	}
	h.Set("X-Timestamp", ts.Normal())
	h.Set("Last-Modified", HTTPDate(ts))
	h.Set("Accept-Ranges", "bytes")
	h.Set("X-Backend-Timestamp", rd.Timestamp().Internal())
}

// cleanContentType drops the swift_bytes parameter SLO manifests carry,
// as Swift's proxy does on object responses.
func cleanContentType(ct string) string {
	if i := strings.Index(ct, ";swift_bytes="); i >= 0 {
		_, tail, _ := strings.Cut(ct[i+1:], ";")
		if tail != "" {
			return ct[:i] + ";" + tail
		}
		return ct[:i]
	}
	return ct
}

// readerCloser streams a verified body and closes the replica when
// fasthttp is done with it.
type readerCloser struct {
	io.Reader
	rd      backend.ObjectReader
	corrupt func(error) // told of a checksum failure
}

func (c *readerCloser) Close() error { return c.rd.Close() }

// WriteTo hands fasthttp the body's own WriteTo: verified chunks of up to
// 1 MiB go straight from the read buffer to the connection. An error (a
// block that fails its checksum) ends the response short, so the client
// sees a broken transfer, never a complete one with wrong bytes.
func (c *readerCloser) WriteTo(w io.Writer) (int64, error) {
	var n int64
	var err error
	if wt, ok := c.Reader.(io.WriterTo); ok {
		n, err = wt.WriteTo(w)
	} else {
		n, err = io.Copy(w, c.Reader)
	}
	if errors.Is(err, storage.ErrCorrupt) && c.corrupt != nil {
		c.corrupt(err)
	}
	return n, err
}

func (p *Proxy) objectGet(r *Request) error {
	policy, err := p.objectPolicy(r)
	if err != nil {
		return err
	}
	pl := p.objectPlace(policy, r.Account, r.Container, r.Object)
	newest := strings.EqualFold(r.Header("X-Newest"), "true")
	// A replica whose first bytes fail their checksum (quarantined) or
	// cannot be read (EIO) fails before anything is sent, and the next
	// replica serves. The failed device is passed over for the rest of
	// the request whether or not a quarantine worked (a read-only or full
	// device cannot take it), so each round drops one candidate and the
	// rounds are bounded.
	var bad map[*ring.Device]bool
	var failed error
	for {
		rd, err := p.openObjectSkipping(pl, r, newest, bad)
		if err != nil {
			if failed != nil && (NotFound(err) || errors.Is(err, errReplicaFailed)) {
				err = failed // only failing replicas had it
			}
			return err
		}
		err = p.serveObject(r, rd)
		var answer *HTTPError
		if err == nil || errors.As(err, &answer) {
			return err
		}
		object := r.Account + "/" + r.Container + "/" + r.Object
		if errors.Is(err, storage.ErrCorrupt) {
			p.logCorrupt(rd.node.Device, object, err)
		} else {
			p.log.Warn("object replica unreadable", "device", rd.node.Device, "object", object, "err", err)
		}
		if bad == nil {
			bad = map[*ring.Device]bool{}
		}
		bad[rd.node] = true
		failed = err
	}
}

// logCorrupt reports a replica whose bytes failed their checksum while
// serving r (quarantined, unless a newer version had replaced it).
func (p *Proxy) logCorrupt(device, object string, err error) {
	p.log.Warn("object replica failed its checksum", "device", device, "object", object,
		"quarantined", errors.Is(err, storage.ErrQuarantined), "err", err)
}

// errReplicaFailed: a replica already failed during this request.
var errReplicaFailed = errors.New("replica failed earlier in the request")

// serveObject answers a GET or HEAD from the open replica rd. It returns
// the error, having sent nothing and closed rd, when rd's first bytes
// fail their checksum (storage.ErrCorrupt) or cannot be read; an
// *HTTPError is the answer itself (a failed condition or range).
func (p *Proxy) serveObject(r *Request, rd *openedObject) error {
	ctx := r.Ctx
	meta := rd.Metadata()
	condEtag := meta["ETag"]
	if at := r.Header("X-Backend-Etag-Is-At"); at != "" {
		// A middleware's etag (SLO's) answers If-Match/If-None-Match.
		for _, k := range strings.Split(at, ",") {
			if v := meta[canonical(strings.TrimSpace(k))]; v != "" {
				condEtag = v
				break
			}
		}
	}
	code := Conditional(r, condEtag, rd.Timestamp())
	size := rd.Size()
	var ranges []ByteRange
	unsat := false
	if rh := r.Header("Range"); code == 0 && r.Method == fasthttp.MethodGet && rh != "" {
		if ig := r.Header("X-Backend-Ignore-Range-If-Metadata-Present"); ig != "" {
			// A manifest is read whole: its middleware serves the range.
			for _, k := range strings.Split(ig, ",") {
				if meta[canonical(strings.TrimSpace(k))] != "" {
					rh = ""
				}
			}
		}
		if rh != "" {
			var ok bool
			ranges, ok, unsat = ParseRange(rh, size)
			if !ok {
				ranges = nil
			}
		}
	}
	var bodies []backend.Body
	if code == 0 && r.Method == fasthttp.MethodGet && !unsat {
		if len(ranges) == 0 {
			bodies = append(bodies, rd.Body(0, size))
		}
		for _, br := range ranges {
			bodies = append(bodies, rd.Body(br.Start, br.End-br.Start+1))
		}
		if err := bodies[0].Prime(); err != nil {
			rd.Close()
			return err
		}
	}
	setObjectHeaders(ctx, rd)
	if code != 0 {
		rd.Close()
		if code == fasthttp.StatusNotModified {
			ctx.SetStatusCode(code)
			ctx.Response.Header.SetContentLength(0)
			ctx.Response.SkipBody = true
			return nil
		}
		return Errorf(code, "")
	}
	if r.Method == fasthttp.MethodHead {
		rd.Close()
		ctx.Response.Header.SetContentLength(int(size))
		ctx.Response.SkipBody = true
		return nil
	}
	if unsat {
		rd.Close()
		ctx.Response.Header.Set("Content-Range", fmt.Sprintf("bytes */%d", size))
		// Swift keeps the object's content type.
		return &HTTPError{status: fasthttp.StatusRequestedRangeNotSatisfiable, ctype: cleanContentType(meta["Content-Type"])}
	}
	// Runs after the handler returned: it must not touch r.
	device, object := rd.node.Device, r.Account+"/"+r.Container+"/"+r.Object
	onCorrupt := func(err error) { p.logCorrupt(device, object, err) }
	switch {
	case len(ranges) == 0:
		SetBodyStream(ctx, &readerCloser{Reader: bodies[0], rd: rd, corrupt: onCorrupt}, int(size))
	case len(ranges) == 1:
		br := ranges[0]
		ctx.SetStatusCode(fasthttp.StatusPartialContent)
		ctx.Response.Header.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", br.Start, br.End, size))
		SetBodyStream(ctx, &readerCloser{Reader: bodies[0], rd: rd, corrupt: onCorrupt}, int(br.End-br.Start+1))
	default:
		p.multiRange(ctx, rd, ranges, bodies, cleanContentType(meta["Content-Type"]), size, onCorrupt)
	}
	return nil
}

// multiRange sends multipart/byteranges, streaming each part.
func (p *Proxy) multiRange(ctx *fasthttp.RequestCtx, rd backend.ObjectReader, ranges []ByteRange, bodies []backend.Body, ctype string, size int64, onCorrupt func(error)) {
	var b [16]byte
	rand.Read(b[:])
	boundary := hex.EncodeToString(b[:])
	var readers []io.Reader
	total := 0
	for i, br := range ranges {
		head := ""
		if i > 0 {
			head = "\r\n"
		}
		head += "--" + boundary + "\r\nContent-Type: " + ctype + "\r\nContent-Range: bytes " +
			strconv.FormatInt(br.Start, 10) + "-" + strconv.FormatInt(br.End, 10) + "/" + strconv.FormatInt(size, 10) + "\r\n\r\n"
		readers = append(readers, strings.NewReader(head), bodies[i])
		total += len(head) + int(br.End-br.Start+1)
	}
	tail := "\r\n--" + boundary + "--"
	readers = append(readers, strings.NewReader(tail))
	total += len(tail)
	ctx.SetStatusCode(fasthttp.StatusPartialContent)
	ctx.Response.Header.SetContentType("multipart/byteranges;boundary=" + boundary)
	SetBodyStream(ctx, &readerCloser{Reader: io.MultiReader(readers...), rd: rd, corrupt: onCorrupt}, total)
}

func (p *Proxy) objectPost(r *Request) error {
	ctx := r.Ctx
	if err := p.checkMetadata(r, "Object"); err != nil {
		return err
	}
	delAt, err := deleteAt(r, time.Now())
	if err != nil {
		return err
	}
	ts, err := requestTimestamp(r)
	if err != nil {
		return err
	}
	policy, err := p.objectPolicy(r)
	if err != nil {
		return err
	}
	pl := p.objectPlace(policy, r.Account, r.Container, r.Object)
	rd, err := p.openObject(pl, r, false)
	if err != nil {
		return err
	}
	// Swift's object server answers a POST with the object's sysmeta
	// (the symlink middleware looks for a link there).
	for k, v := range rd.Metadata() {
		if strings.HasPrefix(strings.ToLower(k), "x-object-sysmeta-") {
			ctx.Response.Header.Set(k, v)
		}
	}
	oldDelAt := rd.Metadata()["X-Delete-At"]
	rd.Close()
	ctype := r.Header("Content-Type")
	meta := objectMeta(r, ts, ctype, delAt)
	if ctype == "" {
		delete(meta, "Content-Type")
	}
	cpl := p.containerPlace(r.Account, r.Container)
	res := writeEach(pl, func(i int, n *ring.Device) error {
		return p.be.ObjectPost(r.Context(), pl.object(n, r.Account, r.Container, r.Object), ts, meta, cpl.target(i))
	})
	if _, err := outcome(res, pl.quorum()); err != nil {
		return err
	}
	if delAt != oldDelAt {
		// The object server's delete_at_update: queue the new time,
		// drop the old one.
		if n, err := strconv.ParseInt(delAt, 10, 64); err == nil {
			p.queueExpiry(n, r.Account, r.Container, r.Object, ts, false)
		}
		if n, err := strconv.ParseInt(oldDelAt, 10, 64); err == nil {
			p.queueExpiry(n, r.Account, r.Container, r.Object, ts, true)
		}
	}
	WriteStatus(ctx, fasthttp.StatusAccepted, acceptedBody)
	return nil
}

func (p *Proxy) objectDelete(r *Request) error {
	ctx := r.Ctx
	ts, err := requestTimestamp(r)
	if err != nil {
		return err
	}
	policy, err := p.objectPolicy(r)
	if err != nil {
		return err
	}
	pl := p.objectPlace(policy, r.Account, r.Container, r.Object)
	if v := r.Header("X-If-Delete-At"); v != "" {
		// The expirer's conditional delete: only the version that is due.
		want, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil {
			return Errorf(fasthttp.StatusBadRequest, "Bad X-If-Delete-At header value")
		}
		// Expired objects count here: the expirer deletes exactly those.
		rd, err := readFirst(pl, func(n *ring.Device) (backend.ObjectReader, error) {
			return p.be.ObjectOpen(r.Context(), pl.object(n, r.Account, r.Container, r.Object))
		})
		if err != nil {
			return err
		}
		have := rd.Metadata()["X-Delete-At"]
		rd.Close()
		if have != strconv.FormatInt(want, 10) {
			return Errorf(fasthttp.StatusPreconditionFailed, "X-If-Delete-At and X-Delete-At do not match")
		}
	}
	cpl := p.containerPlace(r.Account, r.Container)
	res := writeEach(pl, func(i int, n *ring.Device) error {
		return p.be.ObjectDelete(r.Context(), pl.object(n, r.Account, r.Container, r.Object), ts, nil, cpl.target(i))
	})
	p.acct.markDirty(r.Account, r.Container)
	if _, err := outcome(res, pl.quorum()); err != nil {
		return err
	}
	NoContent(ctx)
	return nil
}
