package proxy

import (
	"bytes"
	"errors"
	"net"
	"strconv"
	"strings"

	"github.com/valyala/fasthttp"
)

// fasthttp decides some requests before any handler sees them: it refuses
// a Host with two ports, answers an unsupported Transfer-Encoding with a
// bare 400, and waits for the first body bytes before calling the handler.
// These hooks make those cases answer as Swift's proxy does.

// headerReceived runs after a request's headers are read, before fasthttp
// parses its URI or reads its body. It accepts a Host header fasthttp would
// refuse as Swift's WSGI server does: some old clients (boto 2) send
// "host:port:port". The header as sent stays in RawHeaders, which S3
// signatures are checked against.
func headerReceived(h *fasthttp.RequestHeader) fasthttp.RequestConfig {
	if host := h.Host(); bytes.Count(host, []byte(":")) > 1 && !bytes.HasPrefix(host, []byte("[")) {
		first := bytes.IndexByte(host, ':')
		second := first + 1 + bytes.IndexByte(host[first+1:], ':')
		h.SetHostBytes(append([]byte(nil), host[:second]...))
	}
	return fasthttp.RequestConfig{}
}

// HeaderReceived is headerReceived for the proxy's listeners, which also
// answer an upload declaring more than max_file_size at once: the request
// is treated as if it asked "Expect: 100-continue", so ExpectHandler
// refuses it with 413 before fasthttp waits for body bytes the client may
// never send.
func (p *Proxy) HeaderReceived(h *fasthttp.RequestHeader) fasthttp.RequestConfig {
	conf := headerReceived(h)
	if n := uploadLength(h); n > p.limits.MaxFileSize && h.IsHTTP11() && len(h.Peek("Expect")) == 0 {
		h.Set("Expect", "100-continue")
	}
	return conf
}

// uploadLength is the size of the object a request uploads: its
// Content-Length, or for S3's aws-chunked framing (whose chunk
// signatures the Content-Length counts too) X-Amz-Decoded-Content-Length.
func uploadLength(h *fasthttp.RequestHeader) int64 {
	if v := h.Peek("X-Amz-Decoded-Content-Length"); len(v) > 0 {
		if n, err := strconv.ParseInt(string(v), 10, 64); err == nil {
			return n
		}
	}
	return int64(h.ContentLength())
}

// requestError answers a request fasthttp could not read: as fasthttp
// does, but 501 for a Transfer-Encoding other than chunked, as Swift.
func requestError(ctx *fasthttp.RequestCtx, err error) {
	var small *fasthttp.ErrSmallBuffer
	var netErr *net.OpError
	switch {
	case strings.Contains(err.Error(), "unsupported transfer-encoding"):
		WriteStatus(ctx, fasthttp.StatusNotImplemented, "")
	case errors.As(err, &small):
		ctx.Error("Too big request header", fasthttp.StatusRequestHeaderFieldsTooLarge)
	case errors.As(err, &netErr) && netErr.Timeout():
		ctx.Error("Request timeout", fasthttp.StatusRequestTimeout)
	default:
		ctx.Error("Error when parsing request", fasthttp.StatusBadRequest)
	}
}
