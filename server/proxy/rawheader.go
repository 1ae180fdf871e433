package proxy

import (
	"bytes"

	"github.com/valyala/fasthttp"
)

// RawHeader is the first header called name as the client sent it, and
// whether it was sent at all: fasthttp reports a missing Content-Length
// as 0 and trims a Host's second port, the wire tells them apart. Lines
// end in CRLF (fasthttp refuses a bare LF or CR); a line that starts with
// a space or tab continues the header before it (obsolete line folding),
// joined with one space as fasthttp's Peek joins it, and never names a
// header of its own.
func RawHeader(h *fasthttp.RequestHeader, name string) (string, bool) {
	var val []byte
	found := false
	for line := range bytes.SplitSeq(h.RawHeaders(), []byte("\r\n")) {
		if len(line) > 0 && (line[0] == ' ' || line[0] == '\t') {
			if more := bytes.TrimSpace(line); found && len(more) > 0 {
				if len(val) > 0 {
					val = append(val, ' ')
				}
				val = append(val, more...)
			}
			continue
		}
		if found {
			break
		}
		k, v, ok := bytes.Cut(line, []byte(":"))
		if ok && bytes.EqualFold(bytes.TrimSpace(k), []byte(name)) {
			found = true
			val = append(val, bytes.TrimSpace(v)...)
		}
	}
	return string(val), found
}

// HasRawHeader reports whether the client sent header name.
func HasRawHeader(h *fasthttp.RequestHeader, name string) bool {
	_, ok := RawHeader(h, name)
	return ok
}
