package proxy

import (
	"io"

	"github.com/valyala/fasthttp"
)

// StreamObserver sees every response body stream a request sets through
// SetBodyStream: proxy_logging counts the bytes sent through the stream
// it returns. fasthttp offers no other way to wrap a stream once set.
type StreamObserver interface {
	ObserveStream(body io.Reader) io.Reader
}

const keyStreamObserver = "swiftbox.stream_observer"

// ObserveStreams makes o see the response body streams of ctx (not of
// its subrequests: their bodies reach the client through ctx's).
func ObserveStreams(ctx *fasthttp.RequestCtx, o StreamObserver) {
	ctx.SetUserValue(keyStreamObserver, o)
}

// SetBodyStream is ctx.Response.SetBodyStream for a response to the
// client: every response body stream is set through it, so the access
// log and metrics count what is sent.
func SetBodyStream(ctx *fasthttp.RequestCtx, body io.Reader, size int) {
	if o, ok := ctx.UserValue(keyStreamObserver).(StreamObserver); ok {
		body = o.ObserveStream(body)
	}
	ctx.Response.SetBodyStream(body, size)
}

// SetBodyStreamWriter is ctx.SetBodyStreamWriter through SetBodyStream.
func SetBodyStreamWriter(ctx *fasthttp.RequestCtx, w fasthttp.StreamWriter) {
	SetBodyStream(ctx, fasthttp.NewStreamReader(w), -1)
}
