package cli_test

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// do sends one request with the token and returns status and body.
func do(t *testing.T, method, url, token string, hdr map[string]string, body io.Reader) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("X-Auth-Token", token)
	}
	for k, v := range hdr {
		if k == "Content-Length" {
			fmt.Sscan(v, &req.ContentLength)
			continue
		}
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

// findFiles lists files under the devices whose name ends with suffix.
func findFiles(t *testing.T, root, suffix string) []string {
	var out []string
	filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() && strings.HasSuffix(p, suffix) {
			out = append(out, p)
		}
		return nil
	})
	return out
}

// tmpFiles lists leftovers in every device's tmp directory.
func tmpFiles(t *testing.T, devices string) []string {
	var out []string
	ents, _ := os.ReadDir(devices)
	for _, d := range ents {
		files, _ := os.ReadDir(filepath.Join(devices, d.Name(), "tmp"))
		for _, f := range files {
			out = append(out, filepath.Join(d.Name(), "tmp", f.Name()))
		}
	}
	return out
}

// badInputCases are requests to /v1/AUTH_test (path after it) and the
// status and part of the body each must get.
var badInputCases = []struct {
	name, method, path string
	hdr                map[string]string
	body               string
	want               int
	wantBody           string
}{
	{"object name too long", "PUT", "/c/" + strings.Repeat("o", 1025), nil, "x", 400, "Object name length of 1025 longer than 1024"},
	{"container name too long", "PUT", "/" + strings.Repeat("c", 257), nil, "", 400, "Container name length"},
	{"meta name too long", "PUT", "/c/m1", map[string]string{"X-Object-Meta-" + strings.Repeat("k", 129): "v"}, "x", 400, "Metadata name too long"},
	{"meta value too long", "PUT", "/c/m2", map[string]string{"X-Object-Meta-K": strings.Repeat("v", 257)}, "x", 400, "Metadata value longer than 256"},
	{"too many meta", "PUT", "/c/m3", manyMeta(91), "x", 400, "Too many metadata items"},
	{"meta too large", "PUT", "/c/m4", bigMeta(), "x", 400, "Total metadata too large"},
	{"wrong etag", "PUT", "/c/e1", map[string]string{"Etag": "0123456789abcdef0123456789abcdef"}, "hello", 422, ""},
	{"bad x-delete-at", "PUT", "/c/d1", map[string]string{"X-Delete-At": "12"}, "x", 400, "X-Delete-At in past"},
	{"bad x-delete-after", "PUT", "/c/d2", map[string]string{"X-Delete-After": "soon"}, "x", 400, "Non-integer X-Delete-After"},
	{"missing container", "PUT", "/nope/o", nil, "x", 404, ""},
	{"client x-timestamp is ignored", "PUT", "/c/t1", map[string]string{"X-Timestamp": "yesterday"}, "x", 201, ""},
	{"if-none-match etag on put", "PUT", "/c/i1", map[string]string{"If-None-Match": "abc"}, "x", 400, "If-None-Match only supports *"},
	{"bad storage policy", "PUT", "/c2", map[string]string{"X-Storage-Policy": "platinum"}, "", 400, "Invalid X-Storage-Policy"},
	{"bad limit is ignored", "GET", "/c?limit=abc", nil, "", 200, "t1"},
	{"limit over max", "GET", "/c?limit=10001", nil, "", 412, "Maximum limit is 10000"},
	// tempauth: an account's admin may not PUT it (Swift answers 403).
	{"account put not allowed", "PUT", "", nil, "", 403, ""},
}

func TestBadInput(t *testing.T) {
	dev := t.TempDir()
	s := startServer(t, dev, "--user", "test:tester:testing:.admin", "--user", "test:reader:secret")
	url, tok := s.token(t, "test:tester", "testing")
	if code, _, _ := do(t, "PUT", url+"/c", tok, nil, nil); code != 201 {
		t.Fatalf("container: %d", code)
	}
	for _, c := range badInputCases {
		var body io.Reader
		if c.body != "" {
			body = strings.NewReader(c.body)
		}
		code, _, got := do(t, c.method, url+c.path, tok, c.hdr, body)
		if code != c.want || !strings.Contains(got, c.wantBody) {
			t.Errorf("%s: got %d %q, want %d %q", c.name, code, got, c.want, c.wantBody)
		}
	}
	checkRanges(t, url, tok)
	checkConditionals(t, url, tok)
	// Auth
	if code, _, _ := do(t, "GET", url+"/c", "AUTH_tkforged", nil, nil); code != 401 {
		t.Errorf("forged token: %d", code)
	}
	if code, _, _ := do(t, "GET", url+"/c", "", nil, nil); code != 401 {
		t.Errorf("no token: %d", code)
	}
	_, rtok := s.token(t, "test:reader", "secret")
	if code, _, _ := do(t, "GET", url+"/c", rtok, nil, nil); code != 403 {
		t.Errorf("non-admin user without ACL: %d", code)
	}
	checkRawTCPBodies(t, s, url, tok)
	checkRejectedLeaveNothing(t, dev, url, tok)
}

// checkRanges: unsatisfiable → 416 with Content-Range; garbage → whole
// object; suffix and multiple ranges.
func checkRanges(t *testing.T, url, tok string) {
	do(t, "PUT", url+"/c/r", tok, nil, strings.NewReader("0123456789"))
	code, h, _ := do(t, "GET", url+"/c/r", tok, map[string]string{"Range": "bytes=20-30"}, nil)
	if code != 416 || h.Get("Content-Range") != "bytes */10" {
		t.Errorf("unsatisfiable range: %d %v", code, h)
	}
	code, _, got := do(t, "GET", url+"/c/r", tok, map[string]string{"Range": "bytes=x-y"}, nil)
	if code != 200 || got != "0123456789" {
		t.Errorf("garbage range: %d %q", code, got)
	}
	code, _, got = do(t, "GET", url+"/c/r", tok, map[string]string{"Range": "bytes=-3"}, nil)
	if code != 206 || got != "789" {
		t.Errorf("suffix range: %d %q", code, got)
	}
	code, h, got = do(t, "GET", url+"/c/r", tok, map[string]string{"Range": "bytes=0-1,5-6"}, nil)
	if code != 206 || !strings.HasPrefix(h.Get("Content-Type"), "multipart/byteranges") ||
		!strings.Contains(got, "\r\n\r\n01\r\n") || !strings.Contains(got, "\r\n\r\n56\r\n") {
		t.Errorf("multi range: %d %v %q", code, h, got)
	}
}

// checkConditionals: If-None-Match, If-Match, If-Modified-Since and
// If-Unmodified-Since on c/r.
func checkConditionals(t *testing.T, url, tok string) {
	_, h, _ := do(t, "HEAD", url+"/c/r", tok, nil, nil)
	etag := h.Get("Etag")
	if code, _, _ := do(t, "GET", url+"/c/r", tok, map[string]string{"If-None-Match": etag}, nil); code != 304 {
		t.Errorf("if-none-match: %d", code)
	}
	if code, _, _ := do(t, "GET", url+"/c/r", tok, map[string]string{"If-Match": "nope"}, nil); code != 412 {
		t.Errorf("if-match: %d", code)
	}
	if code, _, _ := do(t, "PUT", url+"/c/r", tok, map[string]string{"If-None-Match": "*"}, strings.NewReader("x")); code != 412 {
		t.Errorf("if-none-match * on existing: %d", code)
	}
	if code, _, _ := do(t, "GET", url+"/c/r", tok, map[string]string{"If-Modified-Since": time.Now().Add(time.Hour).UTC().Format(http.TimeFormat)}, nil); code != 304 {
		t.Errorf("if-modified-since: %d", code)
	}
	if code, _, _ := do(t, "GET", url+"/c/r", tok, map[string]string{"If-Unmodified-Since": "Mon, 01 Jan 2001 00:00:00 GMT"}, nil); code != 412 {
		t.Errorf("if-unmodified-since: %d", code)
	}
}

// checkRawTCPBodies: missing Content-Length, too large and short body,
// over raw TCP.
func checkRawTCPBodies(t *testing.T, s *server, url, tok string) {
	host := strings.TrimPrefix(s.URL, "http://")
	path := strings.TrimPrefix(url, s.URL)
	if got := rawRequest(t, host, "PUT "+path+"/c/nolen HTTP/1.1\r\nHost: x\r\nX-Auth-Token: "+tok+"\r\nConnection: close\r\n\r\n"); !strings.HasPrefix(got, "HTTP/1.1 411") {
		t.Errorf("missing length: %q", firstLine(got))
	}
	if got := rawRequest(t, host, "PUT "+path+"/c/big HTTP/1.1\r\nHost: x\r\nX-Auth-Token: "+tok+"\r\nContent-Length: 5368709123\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n"); !strings.HasPrefix(got, "HTTP/1.1 413") {
		t.Errorf("too large: %q", firstLine(got))
	}
	rawRequest(t, host, "PUT "+path+"/c/short HTTP/1.1\r\nHost: x\r\nX-Auth-Token: "+tok+"\r\nContent-Length: 100000\r\n\r\n"+strings.Repeat("a", 5000))
	time.Sleep(300 * time.Millisecond)
	if code, _, _ := do(t, "HEAD", url+"/c/short", tok, nil, nil); code != 404 {
		t.Errorf("short body stored: %d", code)
	}
}

// checkRejectedLeaveNothing: rejected PUTs leave no object and no temp
// file; only the one good object ("r") has .data files (t1 is deleted).
func checkRejectedLeaveNothing(t *testing.T, dev, url, tok string) {
	do(t, "DELETE", url+"/c/t1", tok, nil, nil)
	for _, name := range []string{"e1", "short", "m1", "big"} {
		if code, _, _ := do(t, "HEAD", url+"/c/"+name, tok, nil, nil); code != 404 {
			t.Errorf("%s exists after a rejected PUT: %d", name, code)
		}
	}
	if left := tmpFiles(t, dev); len(left) > 0 {
		t.Errorf("temp files left behind: %v", left)
	}
	// Only the one good object ("r") has .data files (t1 was deleted).
	if n := len(findFiles(t, dev, ".data")); n != 3 {
		t.Errorf("want 3 .data files (1 object × 3 replicas), found %d", n)
	}
}

func manyMeta(n int) map[string]string {
	m := map[string]string{}
	for i := 0; i < n; i++ {
		m[fmt.Sprintf("X-Object-Meta-K%d", i)] = "v"
	}
	return m
}

func bigMeta() map[string]string {
	m := map[string]string{}
	for i := 0; i < 20; i++ {
		m[fmt.Sprintf("X-Object-Meta-K%02d", i)] = strings.Repeat("v", 250)
	}
	return m
}

// rawRequest writes req on a new connection, then reads until close or 2 s.
func rawRequest(t *testing.T, host, req string) string {
	t.Helper()
	c, err := net.Dial("tcp", host)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte(req))
	if strings.Contains(req, "Content-Length: 100000") {
		return "" // hang up mid-body
	}
	c.SetReadDeadline(time.Now().Add(2 * time.Second))
	b, _ := io.ReadAll(c)
	return string(b)
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\r\n")
	return l
}
