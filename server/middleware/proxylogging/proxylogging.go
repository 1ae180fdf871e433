// Package proxylogging is Swift's proxy_logging: every request is
// recorded in the request metrics and the access log once its response
// body has been sent (streamed bodies included), with the bytes actually
// moved. The proxy pipeline and the storage-node listener share one
// Logging.
package proxylogging

import (
	"io"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"

	"swiftbox/s3compat/s3detect"
	"swiftbox/server/metrics"
	"swiftbox/server/proxy"
)

// Logging records requests in Metrics and Access; either may be nil.
type Logging struct {
	Metrics *metrics.HTTP
	Access  *AccessLog
}

// APIs a request is recorded under.
const (
	APISwift   = "swift"
	APIS3      = "s3"
	APIBackend = "backend" // the storage-node listener
)

// Filter is proxy_logging in the proxy pipeline, recording l.
func Filter(l *Logging) proxy.Filter {
	return proxy.Filter{Name: "proxy_logging", New: func(*proxy.Env) (proxy.Middleware, error) {
		return l.Middleware(APISwift), nil
	}}
}

func (l *Logging) off() bool { return l == nil || l.Metrics == nil && l.Access == nil }

// Middleware records the requests of one API: "swift" for the proxy
// (where a request with an S3 signature counts as "s3"), "backend" for
// the storage-node listener (proxy.StorageNodeHandler). In a proxy.Chain
// next has written its response when it returns.
func (l *Logging) Middleware(api string) proxy.Middleware {
	return func(next proxy.Handler) proxy.Handler {
		if l.off() {
			return next
		}
		return func(ctx *fasthttp.RequestCtx) (err error) {
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
			err = next(ctx)
			rec.responded(ctx)
			return err
		}
	}
}

// Expect wraps an "Expect: 100-continue" decider so the requests it
// refuses (413, 401 before the body is sent) are logged and counted too:
// fasthttp answers those without calling the handler.
func (l *Logging) Expect(api string, decide func(*fasthttp.RequestCtx) int) func(*fasthttp.RequestCtx) int {
	if decide == nil || l.off() {
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

// record is one request's line and metrics: copied out of the RequestCtx
// before the handler returns (the ctx must not be touched afterwards),
// completed when the response body has been sent.
type record struct {
	l         *Logging
	api       string
	method    string // for the metrics' label
	policy    string
	entry     AccessEntry
	arena     *[]byte // the entry's bytes
	in        countingReader
	inStream  bool // the request body is counted by in
	inBytes   int64
	out       *sentCounter // the last response stream set
	outStream io.Reader    // out as fasthttp has it
	outBytes  int64
	await     atomic.Bool // out completes the record when fasthttp closes it
	done      atomic.Bool
	inFlight  func()
}

func (l *Logging) begin(ctx *fasthttp.RequestCtx, api string) *record {
	if api == APISwift && s3detect.IsS3Request(ctx) {
		api = APIS3
	}
	rec := &record{l: l, api: api, inFlight: l.Metrics.Begin(api)}
	rec.entry.Start = time.Now()
	// The body stream is wrapped through fasthttp's API: the server keeps
	// its own hold of the connection's stream to drain it afterwards.
	if s := ctx.Request.BodyStream(); s != nil {
		if n := ctx.Request.Header.ContentLength(); n >= -1 {
			rec.in.r, rec.inStream = s, true
			ctx.Request.SetBodyStream(&rec.in, n)
		}
	}
	proxy.ObserveStreams(ctx, rec)
	return rec
}

// responded fills the record from the finished handler's ctx and either
// completes it now or when the streamed body has been sent.
func (rec *record) responded(ctx *fasthttp.RequestCtx) {
	h := &ctx.Request.Header
	rec.method = methodLabel(h.Method())
	if p := ctx.Response.Header.Peek("X-Backend-Storage-Policy-Index"); len(p) > 0 {
		rec.policy = string(p)
	} else if rec.api == APISwift {
		rec.policy = swiftPolicyIndex(h.RequestURI())
	}
	rec.entry.Status = ctx.Response.StatusCode()
	if rec.l.Access != nil {
		rec.fillEntry(ctx)
	}
	if !rec.inStream && !ctx.Request.IsBodyStream() {
		rec.inBytes = int64(len(ctx.Request.Body()))
	}
	switch {
	case ctx.Response.SkipBody || string(h.Method()) == fasthttp.MethodHead:
	case !ctx.Response.IsBodyStream():
		rec.outBytes = int64(len(ctx.Response.Body()))
	case rec.out != nil && ctx.Response.BodyStream() == rec.outStream:
		rec.await.Store(true)
		return
	default:
		// A stream not set through proxy.SetBodyStream: its length as
		// announced.
		if n := ctx.Response.Header.ContentLength(); n > 0 {
			rec.outBytes = int64(n)
		}
	}
	rec.finish()
}

// fillEntry copies the access log's fields out of ctx into the record's
// arena (one pooled buffer).
func (rec *record) fillEntry(ctx *fasthttp.RequestCtx) {
	h := &ctx.Request.Header
	rec.arena = getBuf()
	a := (*rec.arena)[:0]
	e := &rec.entry
	// put appends v to the arena and returns the arena's copy of it; a
	// slice made before a later put grew the arena keeps the old array,
	// which is never written again.
	put := func(v []byte) []byte {
		start := len(a)
		a = append(a, v...)
		return a[start:len(a):len(a)]
	}
	putIP := func(ip netip.Addr) []byte {
		start := len(a)
		a = ip.AppendTo(a)
		return a[start:len(a):len(a)]
	}
	remote, _ := netip.AddrFromSlice(ctx.RemoteIP())
	e.RemoteAddr = putIP(remote.Unmap())
	e.ClientIP = e.RemoteAddr
	if v := h.Peek("X-Cluster-Client-Ip"); len(v) > 0 {
		e.ClientIP = put(v)
	} else if v := h.Peek("X-Forwarded-For"); len(v) > 0 {
		e.ClientIP = put(firstForwarded(v))
	}
	e.Method = put(h.Method())
	start := len(a)
	a = appendLogPath(a, h.RequestURI())
	e.Path = a[start:len(a):len(a)]
	e.Protocol = put(h.Protocol())
	e.Referer = put(h.Referer())
	e.UserAgent = put(h.UserAgent())
	e.AuthToken = put(h.Peek("X-Auth-Token"))
	e.ClientEtag = put(h.Peek("Etag"))
	if tid, ok := ctx.UserValue(proxy.KeyTransID).(string); ok {
		start := len(a)
		a = append(a, tid...)
		e.TransID = a[start:len(a):len(a)]
	} else {
		e.TransID = put(h.Peek("X-Trans-Id"))
	}
	if rec.l.Access.Headers {
		start := len(a)
		a = appendHeaders(a, h, rec.l.Access.RevealSensitivePrefix)
		e.Headers = a[start:len(a):len(a)]
	}
	start = len(a)
	a = append(a, rec.policy...)
	e.PolicyIndex = a[start:len(a):len(a)]
	*rec.arena = a
}

// ObserveStream counts the bytes sent through a response body stream the
// request sets (proxy.SetBodyStream).
func (rec *record) ObserveStream(body io.Reader) io.Reader {
	sc := &sentCounter{r: body, rec: rec}
	rec.out, rec.outStream = sc, sc
	if _, ok := body.(fasthttp.BodyWriterTo); ok {
		rec.outStream = &sentCounterBWT{sc}
	}
	return rec.outStream
}

// finish records the request once: metrics and the access log line.
func (rec *record) finish() {
	if !rec.done.CompareAndSwap(false, true) {
		return
	}
	e := &rec.entry
	e.End = time.Now()
	if rec.inStream {
		rec.inBytes = rec.in.n.Load()
	}
	if rec.out != nil && rec.await.Load() {
		rec.outBytes = rec.out.n.Load()
	}
	e.BytesRecvd, e.BytesSent = rec.inBytes, rec.outBytes
	rec.inFlight()
	rec.l.Metrics.Observe(metrics.Request{
		API: rec.api, Method: rec.method, Policy: rec.policy, Status: e.Status,
		Duration: e.End.Sub(e.Start), BytesIn: e.BytesRecvd, BytesOut: e.BytesSent,
	})
	if rec.arena != nil {
		rec.l.Access.Write(e)
		putBuf(rec.arena)
		rec.arena = nil
	}
}
