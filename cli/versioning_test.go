package cli_test

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"
)

// A chunked upload (no Content-Length) into a container with object
// versioning or legacy versioned writes is stored as one version, and
// failing uploads change neither the versions nor the account's figures.
func TestVersioningChunkedPut(t *testing.T) {
	t.Parallel()
	s := startServer(t, t.TempDir(), "--user", "test:tester:testing:.admin")
	storage, tok := s.token(t, "test:tester", "testing")
	u, _ := url.Parse(storage)
	put := func(path string, head ...string) string {
		req := "PUT " + u.Path + path + " HTTP/1.1\r\nHost: " + u.Host + "\r\nX-Auth-Token: " + tok + "\r\nConnection: close\r\n" +
			strings.Join(head, "\r\n") + "\r\n"
		return firstLine(rawRequest(t, u.Host, req))
	}
	chunkedBody := func(b string) string {
		return fmt.Sprintf("Transfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\n0\r\n\r\n", len(b), b)
	}
	for _, hdr := range []map[string]string{{"X-Versions-Enabled": "true"}, {"X-Versions-Location": "lv"}} {
		for _, c := range []string{"lv", "ov", "lc"} {
			do(t, "PUT", storage+"/"+c, tok, nil, nil)
		}
		c := "ov"
		if hdr["X-Versions-Location"] != "" {
			c = "lc"
		}
		if code, _, _ := do(t, "POST", storage+"/"+c, tok, hdr, nil); code != 204 {
			t.Fatalf("%s: enable versioning: %d", c, code)
		}
		for _, body := range []string{"first", "second chunk"} {
			if got := put("/"+c+"/o", chunkedBody(body)); got != "HTTP/1.1 201 Created" {
				t.Fatalf("%s: chunked PUT: %q\n%s", c, got, s.Output())
			}
		}
		if code, _, body := do(t, "GET", storage+"/"+c+"/o", tok, nil, nil); code != 200 || body != "second chunk" {
			t.Fatalf("%s: GET %d %q", c, code, body)
		}
		// Refused or broken uploads.
		for _, head := range [][]string{
			{"Etag: 00000000000000000000000000000000", chunkedBody("mismatch")},
			{"X-Delete-At: 1", chunkedBody("past")},
			{"If-None-Match: *", chunkedBody("exists")},
			{"\r\n"},                                // neither a length nor chunked
			{"Content-Length: 100000", "\r\nshort"}, // hangs up mid-body
		} {
			if got := put("/"+c+"/o", head...); strings.Contains(got, " 2") {
				t.Errorf("%s: %q: %s", c, head[0], got)
			}
		}
		// One more good upload; then the account shows exactly the good ones.
		if got := put("/"+c+"/z", chunkedBody("z")); got != "HTTP/1.1 201 Created" {
			t.Fatalf("%s: chunked PUT z: %q", c, got)
		}
		want := `{"count":2,"bytes":18}` // o's two versions (5+12) and z
		if c == "lc" {
			want = `{"count":2,"bytes":13}` // o and z; lv holds "first"
		}
		var got string
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
			_, _, body := do(t, "GET", storage+"?format=json&prefix="+c, tok, nil, nil)
			var rows []struct {
				Count int64 `json:"count"`
				Bytes int64 `json:"bytes"`
			}
			json.Unmarshal([]byte(body), &rows)
			if len(rows) == 1 {
				b, _ := json.Marshal(rows[0])
				if got = string(b); got == want {
					break
				}
			}
		}
		if got != want {
			t.Errorf("%s: account row %s, want %s", c, got, want)
		}
		if c == "ov" {
			_, _, body := do(t, "GET", storage+"/ov?versions&format=json", tok, nil, nil)
			var vers []map[string]any
			json.Unmarshal([]byte(body), &vers)
			if len(vers) != 3 { // o twice, z
				t.Errorf("?versions: %s", body)
			}
		} else {
			_, _, body := do(t, "GET", storage+"/lv?format=json", tok, nil, nil)
			var vers []map[string]any
			json.Unmarshal([]byte(body), &vers)
			if len(vers) != 1 || vers[0]["bytes"] != 5.0 {
				t.Errorf("lv: %s", body)
			}
		}
	}
}
