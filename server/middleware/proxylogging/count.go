package proxylogging

import (
	"bytes"
	"io"
	"sync/atomic"

	"github.com/valyala/fasthttp"
)

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
	rec *record
	n   atomic.Int64
}

func (s *sentCounter) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	s.n.Add(int64(n))
	return n, err
}

// WriteTo keeps the wrapped stream's WriteTo (object GETs copy in 1 MiB
// steps through it), counting what it writes.
func (s *sentCounter) WriteTo(w io.Writer) (int64, error) {
	if wt, ok := s.r.(io.WriterTo); ok {
		return wt.WriteTo(&sentWriter{w: w, n: &s.n})
	}
	return io.Copy(w, readOnly{s})
}

// CloseWithError is the only close method, so fasthttp calls it once; it
// closes the wrapped stream as fasthttp would have (Close and/or
// CloseWithError, whichever it has). A stream closed before the handler
// returned (replaced by another body) does not complete the record.
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
	if s.rec.await.Load() && s.rec.out == s {
		s.rec.finish()
	}
	return cerr
}

// sentCounterBWT is sentCounter for a stream that is a
// fasthttp.BodyWriterTo. Only such a stream gets the method: fasthttp
// copies a BodyWriterTo that says no through small Read calls, skipping
// the wrapped stream's own WriteTo (object GETs' verified 1 MiB copies).
type sentCounterBWT struct{ *sentCounter }

// SupportsBodyWriteTo passes on whether fasthttp may use the wrapped
// stream's WriteTo for chunked bodies.
func (s *sentCounterBWT) SupportsBodyWriteTo() bool {
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

// methodLabel is the method as the metrics' label: the known ones are
// constants, so recording one allocates nothing.
func methodLabel(m []byte) string {
	for _, k := range [...]string{"GET", "HEAD", "PUT", "POST", "DELETE", "COPY", "OPTIONS", "REPLICATE", "UPDATE", "SSYNC"} {
		if string(m) == k {
			return k
		}
	}
	return string(m)
}

// firstForwarded is the first address of an X-Forwarded-For list.
func firstForwarded(v []byte) []byte {
	first, _, _ := bytes.Cut(v, []byte(","))
	return bytes.TrimSpace(first)
}

// appendHeaders appends the request headers as "Name: value" lines, the
// tokens obscured (Swift's access_log_headers).
func appendHeaders(dst []byte, h *fasthttp.RequestHeader, reveal int) []byte {
	first := true
	for k, v := range h.All() {
		if !first {
			dst = append(dst, '\n')
		}
		first = false
		dst = append(append(dst, k...), ": "...)
		if (bytes.EqualFold(k, []byte("X-Auth-Token")) || bytes.EqualFold(k, []byte("X-Storage-Token"))) &&
			reveal >= 0 && len(v) > reveal {
			dst = append(append(dst, v[:reveal]...), "..."...)
			continue
		}
		dst = append(dst, v...)
	}
	return dst
}
