package largeobject

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"iter"
	"strings"

	"github.com/valyala/fasthttp"

	"swiftbox/server/proxy"
)

// A large object's body is its segments' bodies in turn (Swift's
// SegmentedIterable): segmentReader GETs each segment through the rest of
// the pipeline as the client reads, so only one segment is open at a time
// and nothing is buffered.

// segment is one piece of a large object to send.
type segment struct {
	path        string // escaped URI of the segment object
	etag        string // expected etag ("" = unchecked)
	size        int64  // whole size (-1 = unknown)
	verify      bool   // check etag and size against the segment's response
	first, last int64  // inclusive byte range of the segment to send
	data        []byte // inline data (SLO data segments) instead of a path
}

type segmentReader struct {
	ctx      *fasthttp.RequestCtx
	next     proxy.Handler
	manifest string // the large object's path, for errors
	pull     func() (segment, error, bool)
	stop     func()
	cur      io.Reader
	resp     *fasthttp.Response
	left     int64
	err      error
}

func newSegmentReader(ctx *fasthttp.RequestCtx, next proxy.Handler, manifest string, segs iter.Seq2[segment, error]) *segmentReader {
	pull, stop := iter.Pull2(segs)
	return &segmentReader{ctx: ctx, next: next, manifest: manifest, pull: pull, stop: stop}
}

var errSegmentsDone = errors.New("no more segments")

// open makes the next segment current.
func (s *segmentReader) open() error {
	s.closeCur()
	seg, err, ok := s.pull()
	if !ok {
		return errSegmentsDone
	}
	if err != nil {
		return err
	}
	n := seg.last - seg.first + 1
	if seg.path == "" {
		s.cur = bytes.NewReader(seg.data[seg.first : seg.last+1])
		s.left = n
		return nil
	}
	ranged := seg.first != 0 || seg.size < 0 || seg.last != seg.size-1
	resp := proxy.Subrequest(s.ctx, s.next, fasthttp.MethodGet, seg.path, func(req *fasthttp.Request) {
		if ranged {
			req.Header.Set("Range", fmt.Sprintf("bytes=%d-%d", seg.first, seg.last))
		}
	})
	code := resp.StatusCode()
	if code < 200 || code >= 300 {
		resp.CloseBodyStream()
		return fmt.Errorf("while processing manifest %s, got %d while retrieving %s", s.manifest, code, seg.path)
	}
	etag := strings.Trim(string(resp.Header.Peek("Etag")), `"`)
	if seg.verify && (seg.etag != "" && etag != seg.etag || !ranged && seg.size >= 0 && int64(resp.Header.ContentLength()) != seg.size) {
		resp.CloseBodyStream()
		return fmt.Errorf("object segment no longer valid: %s etag: %s != %s or %d != %d",
			seg.path, etag, seg.etag, resp.Header.ContentLength(), seg.size)
	}
	s.resp = resp
	s.cur = io.LimitReader(proxy.ResponseBody(resp), n)
	s.left = n
	return nil
}

func (s *segmentReader) closeCur() {
	if s.resp != nil {
		s.resp.CloseBodyStream()
		s.resp = nil
	}
	s.cur = nil
}

// prime opens the first segment, so a broken large object fails before
// any header is sent.
func (s *segmentReader) prime() error {
	err := s.open()
	if errors.Is(err, errSegmentsDone) {
		s.err = io.EOF
		return nil
	}
	if err != nil {
		s.err = err
	}
	return err
}

func (s *segmentReader) Read(b []byte) (int, error) {
	for {
		if s.err != nil {
			return 0, s.err
		}
		if s.cur == nil {
			if err := s.open(); err != nil {
				if errors.Is(err, errSegmentsDone) {
					s.err = io.EOF
				} else {
					s.err = err
				}
				continue
			}
		}
		n, err := s.cur.Read(b)
		s.left -= int64(n)
		if err == io.EOF {
			if s.left > 0 {
				s.err = fmt.Errorf("segment of %s ended %d bytes short", s.manifest, s.left)
				return n, s.err
			}
			s.closeCur()
			if n > 0 {
				return n, nil
			}
			continue
		}
		if err != nil {
			s.err = err
		}
		return n, err
	}
}

func (s *segmentReader) Close() error {
	s.closeCur()
	s.stop()
	return nil
}

// multiCloser is a body of several readers closed together.
type multiCloser struct {
	io.Reader
	closers []io.Closer
}

func (m *multiCloser) Close() error {
	for _, c := range m.closers {
		c.Close()
	}
	return nil
}

// serveSegments answers a GET of a large object of size bytes made of the
// segments segs(first, last) yields for a byte range: the Range header
// is honoured (206, multipart/byteranges, 416) and the first segment is
// checked before answering (409 when it is broken, as Swift).
func serveSegments(ctx *fasthttp.RequestCtx, next proxy.Handler, manifest string, size int64, ctype string,
	segs func(first, last int64) iter.Seq2[segment, error]) error {
	var ranges []proxy.ByteRange
	if rh := string(ctx.Request.Header.Peek("Range")); rh != "" {
		rs, ok, unsat := proxy.ParseRange(rh, size)
		if unsat {
			ctx.Response.Header.Set("Content-Range", fmt.Sprintf("bytes */%d", size))
			ctx.Response.Header.Del("Etag")
			return proxy.Errorf(fasthttp.StatusRequestedRangeNotSatisfiable, "")
		}
		if ok {
			ranges = rs
		}
	}
	if len(ranges) > 1 {
		return serveByteranges(ctx, next, manifest, size, ctype, ranges, segs)
	}
	first, last := int64(0), size-1
	if len(ranges) == 1 {
		first, last = ranges[0].Start, ranges[0].End
	}
	r := newSegmentReader(ctx, next, manifest, segs(first, last))
	if size > 0 {
		if err := r.prime(); err != nil {
			r.Close()
			return brokenSegments(ctx)
		}
	}
	if len(ranges) == 1 {
		ctx.SetStatusCode(fasthttp.StatusPartialContent)
		ctx.Response.Header.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", first, last, size))
	} else {
		ctx.SetStatusCode(fasthttp.StatusOK)
	}
	proxy.SetBodyStream(ctx, r, int(last-first+1))
	return nil
}

// brokenSegments is the answer when a large object's first segment
// cannot be read: 409, as Swift, before anything is sent.
func brokenSegments(ctx *fasthttp.RequestCtx) error {
	ctx.Response.Header.Del("Etag")
	ctx.Response.Header.Del("Last-Modified")
	return proxy.Errorf(fasthttp.StatusConflict, "")
}

// serveByteranges answers several ranges as multipart/byteranges.
func serveByteranges(ctx *fasthttp.RequestCtx, next proxy.Handler, manifest string, size int64, ctype string,
	ranges []proxy.ByteRange, segs func(first, last int64) iter.Seq2[segment, error]) error {
	boundary := newBoundary()
	var readers []io.Reader
	var closers []io.Closer
	total := 0
	for i, br := range ranges {
		head := ""
		if i > 0 {
			head = "\r\n"
		}
		head += fmt.Sprintf("--%s\r\nContent-Type: %s\r\nContent-Range: bytes %d-%d/%d\r\n\r\n", boundary, ctype, br.Start, br.End, size)
		r := newSegmentReader(ctx, next, manifest, segs(br.Start, br.End))
		if i == 0 {
			if err := r.prime(); err != nil {
				r.Close()
				return brokenSegments(ctx)
			}
		}
		readers = append(readers, strings.NewReader(head), r)
		closers = append(closers, r)
		total += len(head) + int(br.End-br.Start+1)
	}
	tail := "\r\n--" + boundary + "--"
	readers = append(readers, strings.NewReader(tail))
	total += len(tail)
	ctx.SetStatusCode(fasthttp.StatusPartialContent)
	ctx.Response.Header.SetContentType("multipart/byteranges;boundary=" + boundary)
	proxy.SetBodyStream(ctx, &multiCloser{Reader: io.MultiReader(readers...), closers: closers}, total)
	return nil
}

func newBoundary() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// addIgnoreRange adds name to X-Backend-Ignore-Range-If-Metadata-Present
// (Swift's update_ignore_range_header).
func addIgnoreRange(h *fasthttp.RequestHeader, name string) {
	appendHeaderList(h, "X-Backend-Ignore-Range-If-Metadata-Present", name)
}

// addEtagIsAt names metadata key name as a source of the etag that answers
// If-Match/If-None-Match, after any a middleware earlier in the pipeline named
// (s3api's S3 ETag comes before SLO's, as in Swift): the first present wins.
func addEtagIsAt(h *fasthttp.RequestHeader, name string) {
	appendHeaderList(h, "X-Backend-Etag-Is-At", name)
}

func appendHeaderList(h *fasthttp.RequestHeader, k, name string) {
	if v := string(h.Peek(k)); v != "" {
		h.Set(k, v+","+name)
		return
	}
	h.Set(k, name)
}
