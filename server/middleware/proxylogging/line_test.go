package proxylogging

import (
	"testing"
	"time"
)

// A line is Swift's default log_msg_template, byte for byte.
func TestAppendLine(t *testing.T) {
	start := time.Date(2026, 12, 7, 3, 4, 5, 120000000, time.FixedZone("X", 3600))
	e := &AccessEntry{
		ClientIP: []byte("10.1.2.3"), RemoteAddr: []byte("127.0.0.1"),
		Method: []byte("PUT"), Path: appendLogPath(nil, []byte("/v1/AUTH_test/c/a%20b{x}?q=1&r=%2F")),
		Protocol: []byte("HTTP/1.1"), Status: 201, UserAgent: []byte("agent 1.0"),
		AuthToken: []byte("AUTH_tk0123456789abcdefXYZ"), BytesRecvd: 12345,
		TransID: []byte("tx1"), Headers: []byte("A: b\nC: d"),
		Start: start, End: start.Add(1234567 * time.Microsecond), PolicyIndex: []byte("0"),
	}
	want := "10.1.2.3 127.0.0.1 07/Dec/2026/02/04/06 PUT /v1/AUTH_test/c/a%2520b%257Bx%257D%3Fq%3D1%26r%3D%252F HTTP/1.1 201 - " +
		"agent%201.0 AUTH_tk012345678... 12345 - - tx1 A:%20b%0AC:%20d 1.2346 - - 1796609045.120000000 1796609046.354567000 0\n"
	if got := string(AppendLine([]byte("x"), e, 16)); got != "x"+want {
		t.Errorf("line\n%q\nwant\n%q", got, "x"+want)
	}
	if got := string(AppendLine(nil, &AccessEntry{}, -1)); got != "- - 01/Jan/0001/00/00/00 - - - 0 - - - - - - - - 0.0000 - - -62135596800.000000000 -62135596800.000000000 -\n" {
		t.Errorf("empty entry: %q", got)
	}
}

func TestSwiftPolicyIndex(t *testing.T) {
	for uri, want := range map[string]string{
		"/v1/a/c": "0", "/v1/a/c/o?x": "0", "/v1.0/a/c": "0", "/v1/a": "", "/v1/a/": "", "/v1/a//o": "",
		"/auth/v1.0": "", "/info": "", "/v1/a?c=/x": "",
	} {
		if got := swiftPolicyIndex([]byte(uri)); got != want {
			t.Errorf("swiftPolicyIndex(%q) = %q, want %q", uri, got, want)
		}
	}
}
