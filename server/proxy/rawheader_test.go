package proxy_test

import (
	"bufio"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"

	"swiftbox/server/proxy"
)

// RawHeader reads the header block as fasthttp parsed it: a folded line
// continues the header before it and is no header of its own.
func TestRawHeader(t *testing.T) {
	for _, tc := range []struct {
		wire, name, want string
		sent             bool
	}{
		{"Host: a:1:2\r\nContent-Length: 0\r\n", "host", "a:1:2", true},
		{"Host: x\r\ncontent-length: 0\r\n", "Content-Length", "0", true},
		{"Host: x\r\n", "content-length", "", false},
		{"Host: x\r\nX-A: b\r\n Content-Length: 3\r\n", "content-length", "", false},
		{"Host: x\r\nX-A: b\r\n Content-Length: 3\r\n", "x-a", "b Content-Length: 3", true},
		{"Host: x\r\nTransfer-Encoding:\r\n\tchunked\r\nX-B: 1\r\n", "transfer-encoding", "chunked", true},
		{"Host: x\r\nX-A: 1\r\nX-A: 2\r\n", "x-a", "1", true},
	} {
		var r fasthttp.Request
		wire := "PUT /v1/a/c/o HTTP/1.1\r\n" + tc.wire + "\r\n"
		if err := r.Header.Read(bufio.NewReader(strings.NewReader(wire))); err != nil {
			t.Fatalf("%q: %v", wire, err)
		}
		got, sent := proxy.RawHeader(&r.Header, tc.name)
		if got != tc.want || sent != tc.sent {
			t.Errorf("%q %s: %q %v, want %q %v", tc.wire, tc.name, got, sent, tc.want, tc.sent)
		}
		if v := r.Header.Peek(tc.name); sent && string(v) != got {
			t.Errorf("%q %s: fasthttp has %q, RawHeader %q", tc.wire, tc.name, v, got)
		}
	}
}
