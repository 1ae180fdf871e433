package proxy

import (
	"bytes"
	"io"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"swiftbox/server/pyfmt"

	"github.com/valyala/fasthttp"

	"swiftbox/server/metrics"
)

// RequestLogging is Swift's proxy_logging: it records every request it
// sees in the request metrics and the access log, once the response body
// has been sent (streamed bodies included), with the bytes actually moved.
type RequestLogging struct {
	Metrics *metrics.HTTP
	Access  *AccessLog
}

const keyAPI = "swiftbox.api"

// SetRequestAPI names the API a request belongs to ("s3") for metrics and
// logs; the S3 middleware calls it. Requests default to "swift", or "s3"
// when they carry an AWS signature.
func SetRequestAPI(ctx *fasthttp.RequestCtx, api string) { ctx.SetUserValue(keyAPI, api) }

// looksS3 reports whether a request carries an AWS signature (header or
// presigned query), so it is counted under the s3 API from its start.
func looksS3(ctx *fasthttp.RequestCtx) bool {
	if a := ctx.Request.Header.Peek("Authorization"); bytes.HasPrefix(a, []byte("AWS")) {
		return true
	}
	q := ctx.QueryArgs()
	return q.Has("X-Amz-Algorithm") || q.Has("AWSAccessKeyId")
}

// Middleware logs the requests of one API: "swift" for the proxy (which
// tells s3 apart itself), "backend" for the storage-node listener.
func (l *RequestLogging) Middleware(api string) LegacyMiddleware {
	return func(next fasthttp.RequestHandler) fasthttp.RequestHandler {
		if l == nil || l.Metrics == nil && l.Access == nil {
			return next
		}
		return func(ctx *fasthttp.RequestCtx) {
			rec := l.begin(ctx, api)
			defer func() {
				if r := recover(); r != nil {
					// Logged as the 500 catch_errors will answer, then
					// passed on to it (Swift's proxy_logging does the same).
					ctx.Response.Reset()
					ctx.SetStatusCode(fasthttp.StatusInternalServerError)
					rec.responded(ctx)
					panic(r)
				}
			}()
			next(ctx)
			rec.responded(ctx)
		}
	}
}

// Expect wraps an "Expect: 100-continue" decider so the requests it
// refuses (413, 401 before the body is sent) are logged and counted too:
// fasthttp answers those without calling the handler.
func (l *RequestLogging) Expect(api string, decide func(*fasthttp.RequestCtx) int) func(*fasthttp.RequestCtx) int {
	if l == nil || decide == nil || l.Metrics == nil && l.Access == nil {
		return decide
	}
	return func(ctx *fasthttp.RequestCtx) int {
		status := decide(ctx)
		if status != fasthttp.StatusContinue {
			rec := l.begin(ctx, api)
			ctx.SetStatusCode(status) // as fasthttp will; the body stays empty
			rec.responded(ctx)
		}
		return status
	}
}

// requestRecord is what the log line and metrics need, copied out of the
// RequestCtx before the handler returns (the ctx must not be touched
// afterwards), completed when the response body is sent.
type requestRecord struct {
	l        *RequestLogging
	api      string
	entry    AccessEntry
	bytesIn  *countingReader
	inBytes  int64
	outBytes atomic.Int64
	endGauge func()
	once     sync.Once
}

func (l *RequestLogging) begin(ctx *fasthttp.RequestCtx, api string) *requestRecord {
	if api == "swift" && looksS3(ctx) {
		api = "s3"
	}
	rec := &requestRecord{l: l, api: api, endGauge: l.Metrics.Begin(api)}
	rec.entry.Start = time.Now()
	if ctx.Request.IsBodyStream() {
		if p := streamField(unsafe.Pointer(&ctx.Request), reqStreamOffset); p != nil && *p != nil {
			rec.bytesIn = &countingReader{r: *p}
			*p = rec.bytesIn
		}
	}
	return rec
}

// responded fills the record from the finished handler's ctx and either
// completes it now or when the streamed body has been sent.
func (rec *requestRecord) responded(ctx *fasthttp.RequestCtx) {
	e := &rec.entry
	if v, ok := ctx.UserValue(keyAPI).(string); ok && v != "" {
		rec.api = v
	}
	h := &ctx.Request.Header
	remote := ctx.RemoteIP().String()
	e.RemoteAddr = remote
	e.ClientIP = remote
	if v := h.Peek("X-Cluster-Client-Ip"); len(v) > 0 {
		e.ClientIP = string(v)
	} else if v := h.Peek("X-Forwarded-For"); len(v) > 0 {
		e.ClientIP = strings.TrimSpace(strings.SplitN(string(v), ",", 2)[0])
	}
	e.Method = string(h.Method())
	e.Path = logPath(h.RequestURI())
	e.Protocol = string(h.Protocol())
	e.Status = ctx.Response.StatusCode()
	e.Referer = string(h.Referer())
	e.UserAgent = string(h.UserAgent())
	e.AuthToken = string(h.Peek("X-Auth-Token"))
	e.ClientEtag = string(h.Peek("Etag"))
	if tid, ok := ctx.UserValue(KeyTransID).(string); ok {
		e.TransID = tid
	} else {
		e.TransID = string(h.Peek("X-Trans-Id"))
	}
	if rec.l.Access != nil && rec.l.Access.Headers {
		var b strings.Builder
		for k, v := range h.All() {
			if b.Len() > 0 {
				b.WriteByte('\n')
			}
			b.Write(k)
			b.WriteString(": ")
			if bytes.EqualFold(k, []byte("X-Auth-Token")) || bytes.EqualFold(k, []byte("X-Storage-Token")) {
				v = []byte(obscure(string(v), rec.l.Access.RevealSensitivePrefix))
			}
			b.Write(v)
		}
		e.Headers = b.String()
	}
	e.PolicyIndex = string(ctx.Response.Header.Peek("X-Backend-Storage-Policy-Index"))
	if e.PolicyIndex == "" && rec.api == "swift" {
		e.PolicyIndex = swiftPolicyIndex(h.RequestURI())
	}
	if rec.bytesIn == nil && !ctx.Request.IsBodyStream() {
		rec.inBytes = int64(len(ctx.Request.Body()))
	}
	if ctx.Response.SkipBody || e.Method == fasthttp.MethodHead {
		rec.finish()
		return
	}
	if ctx.Response.IsBodyStream() {
		if p := streamField(unsafe.Pointer(&ctx.Response), respStreamOffset); p != nil && *p != nil {
			sc := &sentCounter{r: *p, rec: rec}
			if _, ok := sc.r.(fasthttp.BodyWriterTo); ok {
				*p = sentCounterBWT{sc}
			} else {
				*p = sc
			}
			return
		}
		if n := ctx.Response.Header.ContentLength(); n > 0 {
			rec.outBytes.Store(int64(n))
		}
		rec.finish()
		return
	}
	rec.outBytes.Store(int64(len(ctx.Response.Body())))
	rec.finish()
}

func obscure(v string, reveal int) string {
	if reveal >= 0 && len(v) > reveal {
		return v[:reveal] + "..."
	}
	return v
}

// finish records the request once: metrics and the access log line.
func (rec *requestRecord) finish() {
	rec.once.Do(func() {
		e := &rec.entry
		e.End = time.Now()
		if rec.bytesIn != nil {
			rec.inBytes = rec.bytesIn.n.Load()
		}
		e.BytesRecvd = rec.inBytes
		e.BytesSent = rec.outBytes.Load()
		rec.endGauge()
		rec.l.Metrics.Observe(metrics.Request{
			API: rec.api, Method: e.Method, Policy: e.PolicyIndex, Status: e.Status,
			Duration: e.End.Sub(e.Start), BytesIn: e.BytesRecvd, BytesOut: e.BytesSent,
		})
		rec.l.Access.Write(e)
	})
}

// logPath is swob's path_qs: the decoded path quoted again (so it reads
// the same however the client encoded it) plus the raw query string.
func logPath(uri []byte) string {
	raw, query, hasQuery := strings.Cut(string(uri), "?")
	if dec, err := url.PathUnescape(raw); err == nil {
		raw = pyfmt.QuoteSafe(dec, "/")
	}
	if hasQuery {
		return raw + "?" + query
	}
	return raw
}

// swiftPolicyIndex is the policy logged for a Swift API container or
// object request whose answer did not name one (X-Backend-Storage-Policy-
// Index, set once the container's policy is known): 0; account and other
// requests have none.
func swiftPolicyIndex(uri []byte) string {
	path, _, _ := bytes.Cut(uri, []byte("?"))
	if !bytes.HasPrefix(path, []byte("/v1/")) && !bytes.HasPrefix(path, []byte("/v1.0/")) {
		return ""
	}
	parts := bytes.SplitN(bytes.TrimPrefix(path, []byte("/")), []byte("/"), 4)
	if len(parts) >= 3 && len(parts[2]) > 0 {
		return "0"
	}
	return ""
}

// countingReader counts the request body bytes the handler read.
type countingReader struct {
	r io.Reader
	n atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// sentCounter wraps a response body stream: it counts what fasthttp sends
// and completes the record when fasthttp closes the stream (after the body
// was written, or on a write error), passing the close on.
type sentCounter struct {
	r   io.Reader
	rec *requestRecord
}

func (s *sentCounter) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	s.rec.outBytes.Add(int64(n))
	return n, err
}

// WriteTo keeps the wrapped stream's WriteTo (object GETs copy in 1 MiB
// steps through it), counting what it writes.
func (s *sentCounter) WriteTo(w io.Writer) (int64, error) {
	if wt, ok := s.r.(io.WriterTo); ok {
		return wt.WriteTo(&sentWriter{w: w, n: &s.rec.outBytes})
	}
	return io.Copy(w, readOnly{s})
}

// sentCounterBWT is sentCounter for a stream that is a
// fasthttp.BodyWriterTo. Only such a stream gets the method: fasthttp
// copies a BodyWriterTo that says no through small Read calls, skipping
// the wrapped stream's own WriteTo (object GETs' verified 1 MiB copies).
type sentCounterBWT struct{ *sentCounter }

// SupportsBodyWriteTo passes on whether fasthttp may use the wrapped
// stream's WriteTo for chunked bodies.
func (s sentCounterBWT) SupportsBodyWriteTo() bool {
	return s.r.(fasthttp.BodyWriterTo).SupportsBodyWriteTo()
}

// readOnly hides every method but Read (so io.Copy reads).
type readOnly struct{ io.Reader }

type sentWriter struct {
	w io.Writer
	n *atomic.Int64
}

func (s *sentWriter) Write(p []byte) (int, error) {
	n, err := s.w.Write(p)
	s.n.Add(int64(n))
	return n, err
}

// CloseWithError is the only close method, so fasthttp calls it once; it
// closes the wrapped stream as fasthttp would have (Close and/or
// CloseWithError, whichever it has).
func (s *sentCounter) CloseWithError(err error) error {
	var cerr error
	if c, ok := s.r.(io.Closer); ok {
		cerr = c.Close()
	}
	if c, ok := s.r.(fasthttp.ReadCloserWithError); ok {
		if e := c.CloseWithError(err); cerr == nil {
			cerr = e
		}
	}
	s.rec.finish()
	return cerr
}

// fasthttp offers no way to wrap a body stream already set without closing
// it, so the logging middleware swaps the unexported bodyStream field of
// Request and Response in place. The offsets are found by reflection and
// checked to be an io.Reader; if a fasthttp upgrade renames the field the
// middleware falls back to Content-Length (TestProxyLoggingCountsStreams
// catches that).
var (
	reqStreamOffset  = streamOffset(reflect.TypeFor[fasthttp.Request]())
	respStreamOffset = streamOffset(reflect.TypeFor[fasthttp.Response]())
)

// fieldOffset is a field's offset; ok is false when there is none.
type fieldOffset struct {
	off uintptr
	ok  bool
}

func streamOffset(t reflect.Type) fieldOffset {
	f, ok := t.FieldByName("bodyStream")
	if !ok || f.Type != reflect.TypeFor[io.Reader]() {
		return fieldOffset{}
	}
	return fieldOffset{off: f.Offset, ok: true}
}

func streamField(p unsafe.Pointer, f fieldOffset) *io.Reader {
	if !f.ok {
		return nil
	}
	return (*io.Reader)(unsafe.Add(p, f.off))
}
