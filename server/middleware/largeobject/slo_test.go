package largeobject_test

import (
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"

	"swiftbox/server/servertest"
)

func md5hex(s string) string {
	h := md5.Sum([]byte(s))
	return hex.EncodeToString(h[:])
}

func TestSLO(t *testing.T) {
	t.Parallel()
	c := servertest.Start(t, servertest.Options{})
	c.Must(201, "PUT", "/v1/AUTH_test/segs", "")
	c.Must(201, "PUT", "/v1/AUTH_test/c", "")
	a, b := strings.Repeat("a", 1000), strings.Repeat("b", 500)
	c.Must(201, "PUT", "/v1/AUTH_test/segs/a", a)
	c.Must(201, "PUT", "/v1/AUTH_test/segs/b", b)
	manifest := `[{"path": "/segs/a", "etag": "` + md5hex(a) + `", "size_bytes": 1000},
		{"path": "segs/b", "etag": null}, {"data": "Y2NjYw=="}]`
	resp, _ := c.Must(201, "PUT", "/v1/AUTH_test/c/big?multipart-manifest=put", manifest)
	want := md5hex(md5hex(a) + md5hex(b) + md5hex("cccc"))
	if resp.Header.Get("Etag") != `"`+want+`"` {
		t.Fatalf("etag %q want %q", resp.Header.Get("Etag"), want)
	}
	resp, body := c.Must(200, "GET", "/v1/AUTH_test/c/big", "")
	if body != a+b+"cccc" || resp.Header.Get("Etag") != `"`+want+`"` || resp.Header.Get("X-Static-Large-Object") != "True" {
		t.Fatalf("GET: %d bytes %v", len(body), resp.Header)
	}
	resp, _ = c.Must(200, "HEAD", "/v1/AUTH_test/c/big", "")
	if resp.Header.Get("Content-Length") != "1504" || resp.Header.Get("Etag") != `"`+want+`"` {
		t.Fatalf("HEAD %v", resp.Header)
	}
	resp, body = c.Must(206, "GET", "/v1/AUTH_test/c/big", "", "Range: bytes=995-1002")
	if body != "aaaaabbb" || resp.Header.Get("Content-Range") != "bytes 995-1002/1504" {
		t.Fatalf("range %q %v", body, resp.Header)
	}
	_, body = c.Must(206, "GET", "/v1/AUTH_test/c/big", "", "Range: bytes=-6")
	if body != "bbcccc" {
		t.Fatalf("suffix %q", body)
	}
	c.Must(304, "GET", "/v1/AUTH_test/c/big", "", `If-None-Match: "`+want+`"`)
	c.Must(412, "GET", "/v1/AUTH_test/c/big", "", `If-Match: "nope"`)
	c.Must(200, "GET", "/v1/AUTH_test/c/big", "", `If-Match: "`+want+`"`)

	// The manifest itself, stored and raw.
	resp, body = c.Must(200, "GET", "/v1/AUTH_test/c/big?multipart-manifest=get", "")
	var stored []map[string]any
	if err := json.Unmarshal([]byte(body), &stored); err != nil || len(stored) != 3 || stored[0]["name"] != "/segs/a" ||
		resp.Header.Get("Content-Type") != "application/json; charset=utf-8" {
		t.Fatalf("manifest %s %v", body, resp.Header)
	}
	_, body = c.Must(200, "GET", "/v1/AUTH_test/c/big?multipart-manifest=get&format=raw", "")
	if !strings.HasPrefix(body, `[{"etag": "`+md5hex(a)+`", "path": "/segs/a", "size_bytes": 1000}`) {
		t.Fatalf("raw %s", body)
	}
	// Listing: SLO size and both etags.
	_, body = c.Must(200, "GET", "/v1/AUTH_test/c?format=json", "")
	if !strings.Contains(body, `"bytes": 1504`) || !strings.Contains(body, `"slo_etag": "\"`+want+`\""`) {
		t.Fatalf("listing %s", body)
	}

	// Nested SLO and ranged segments.
	c.Must(201, "PUT", "/v1/AUTH_test/c/nested?multipart-manifest=put",
		`[{"path": "c/big", "range": "1000-1001"}, {"path": "segs/a", "range": "-3"}]`)
	_, body = c.Must(200, "GET", "/v1/AUTH_test/c/nested", "")
	if body != "bbaaa" {
		t.Fatalf("nested %q", body)
	}

	// Validation errors.
	_, body = c.Must(400, "PUT", "/v1/AUTH_test/c/bad?multipart-manifest=put", `[{"path": "segs/missing"}, {"path": "segs/a", "size_bytes": 3}]`)
	if body != "Errors:\nsegs/missing, 404 Not Found\nsegs/a, Size Mismatch\n" {
		t.Fatalf("body %q", body)
	}
	_, body = c.Must(400, "PUT", "/v1/AUTH_test/c/bad?multipart-manifest=put", `[{"path": "x"}, {"foo": 1}]`)
	if body != "Index 0: path does not refer to an object. Path must be of the form /container/object.\nIndex 1: expected keys to include one of 'data' or 'path'\n" {
		t.Fatalf("body %q", body)
	}
	c.Must(400, "PUT", "/v1/AUTH_test/c/bad?multipart-manifest=put", `{`)
	c.Must(400, "PUT", "/v1/AUTH_test/c/bad", "x", "X-Static-Large-Object: true")

	// Heartbeat mode answers 202 and reports in the body.
	resp, body = c.Must(202, "PUT", "/v1/AUTH_test/c/hb?multipart-manifest=put&heartbeat=on",
		`[{"path": "segs/a"}]`, "Accept: application/json")
	var hb map[string]any
	if err := json.Unmarshal([]byte(strings.TrimSpace(body)), &hb); err != nil || hb["Response Status"] != "201 Created" {
		t.Fatalf("heartbeat %q", body)
	}

	// Delete with segments.
	_, body = c.Must(200, "DELETE", "/v1/AUTH_test/c/nested?multipart-manifest=delete", "", "Accept: application/json")
	var res map[string]any
	json.Unmarshal([]byte(body), &res)
	if res["Number Deleted"] != float64(4) || res["Response Status"] != "200 OK" {
		t.Fatalf("delete %s", body)
	}
	c.Must(404, "GET", "/v1/AUTH_test/segs/a", "")
	c.Must(404, "GET", "/v1/AUTH_test/c/nested", "")
	c.Must(404, "GET", "/v1/AUTH_test/c/big", "") // a sub-manifest goes too
	// A broken SLO is a 409 before anything is sent.
	c.Must(201, "PUT", "/v1/AUTH_test/segs/x", "xyz")
	c.Must(201, "PUT", "/v1/AUTH_test/c/broken?multipart-manifest=put", `[{"path": "segs/x"}]`)
	c.Must(204, "DELETE", "/v1/AUTH_test/segs/x", "")
	c.Must(409, "GET", "/v1/AUTH_test/c/broken", "")
}
