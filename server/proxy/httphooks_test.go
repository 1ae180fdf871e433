package proxy_test

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"swiftbox/server/servertest"
)

// rawRequest sends req as written on a new connection and returns the
// response, failing if none comes within two seconds.
func rawRequest(t *testing.T, c *servertest.Cluster, req string) *http.Response {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(c.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	conn.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := conn.Write([]byte(req)); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no response to %q: %v", strings.SplitN(req, "\r\n", 2)[0], err)
	}
	return resp
}

func TestHostWithTwoPortsIsAccepted(t *testing.T) {
	t.Parallel()
	c := servertest.Start(t, servertest.Options{})
	host := strings.TrimPrefix(c.URL, "http://")
	resp := rawRequest(t, c, fmt.Sprintf("GET /v1/AUTH_test HTTP/1.1\r\nHost: %s:%s\r\nX-Auth-Token: %s\r\n\r\n",
		host, host[strings.LastIndexByte(host, ':')+1:], c.Token))
	if resp.StatusCode != 200 && resp.StatusCode != 204 {
		t.Fatalf("account GET with Host host:port:port: %d, want 2xx", resp.StatusCode)
	}
}

func TestUnsupportedTransferEncodingIs501(t *testing.T) {
	t.Parallel()
	c := servertest.Start(t, servertest.Options{})
	resp := rawRequest(t, c, fmt.Sprintf("PUT /v1/AUTH_test/c/o HTTP/1.1\r\nHost: x\r\nX-Auth-Token: %s\r\nTransfer-Encoding: gzip,chunked\r\n\r\n", c.Token))
	if resp.StatusCode != 501 {
		t.Fatalf("Transfer-Encoding gzip,chunked: %d, want 501", resp.StatusCode)
	}
	resp = rawRequest(t, c, "PUT /v1/AUTH_test/c/o HTTP/1.1\r\nHost: x\r\nContent-Length: X\r\n\r\n")
	if resp.StatusCode != 400 {
		t.Fatalf("Content-Length X: %d, want 400", resp.StatusCode)
	}
}

// A client that declares more than max_file_size and sends no body (nor
// Expect) is refused at once, not after fasthttp waits for body bytes.
func TestOversizeUploadRefusedBeforeBody(t *testing.T) {
	t.Parallel()
	c := servertest.Start(t, servertest.Options{})
	max := c.Config.Constraints.MaxFileSize
	resp := rawRequest(t, c, fmt.Sprintf("PUT /v1/AUTH_test/c/o HTTP/1.1\r\nHost: x\r\nX-Auth-Token: %s\r\nContent-Length: %d\r\n\r\n", c.Token, max+1))
	if resp.StatusCode != 413 {
		t.Fatalf("PUT of max_file_size+1 with no body: %d, want 413", resp.StatusCode)
	}
	// At the limit the server waits for the body: no answer yet.
	conn, err := net.Dial("tcp", strings.TrimPrefix(c.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "PUT /v1/AUTH_test/c/o HTTP/1.1\r\nHost: x\r\nX-Auth-Token: %s\r\nContent-Length: %d\r\n\r\n", c.Token, max)
	conn.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	if n, err := conn.Read(make([]byte, 1)); n != 0 || err == nil {
		t.Fatalf("PUT of max_file_size answered before its body: n=%d err=%v", n, err)
	}
}
