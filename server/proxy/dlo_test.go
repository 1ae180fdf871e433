package proxy

import (
	"testing"
)

func TestDLO(t *testing.T) {
	c := startTestCluster(t)
	c.must(201, "PUT", "/v1/AUTH_test/segs", "")
	c.must(201, "PUT", "/v1/AUTH_test/c", "")
	for _, s := range []string{"p/1:aaaa", "p/2:bbbb", "p/3:cc", "q/1:zz"} {
		c.must(201, "PUT", "/v1/AUTH_test/segs/"+s[:3], s[4:])
	}
	c.must(400, "PUT", "/v1/AUTH_test/c/bad", "", "X-Object-Manifest: segs")
	c.must(400, "PUT", "/v1/AUTH_test/c/bad", "", "X-Object-Manifest: segs/p?x")
	c.must(201, "PUT", "/v1/AUTH_test/c/m", "", "X-Object-Manifest: segs/p/")
	want := `"` + md5hex(md5hex("aaaa")+md5hex("bbbb")+md5hex("cc")) + `"`
	resp, body := c.must(200, "GET", "/v1/AUTH_test/c/m", "")
	if body != "aaaabbbbcc" || resp.Header.Get("Etag") != want {
		t.Fatalf("GET %q %v", body, resp.Header)
	}
	resp, _ = c.must(200, "HEAD", "/v1/AUTH_test/c/m", "")
	if resp.Header.Get("Content-Length") != "10" || resp.Header.Get("Etag") != want {
		t.Fatalf("HEAD %v", resp.Header)
	}
	resp, body = c.must(206, "GET", "/v1/AUTH_test/c/m", "", "Range: bytes=3-8")
	if body != "abbbbc" || resp.Header.Get("Content-Range") != "bytes 3-8/10" {
		t.Fatalf("range %q %v", body, resp.Header)
	}
	_, body = c.must(206, "GET", "/v1/AUTH_test/c/m", "", "Range: bytes=-3")
	if body != "bcc" {
		t.Fatalf("suffix %q", body)
	}
	resp, _ = c.must(416, "GET", "/v1/AUTH_test/c/m", "", "Range: bytes=10-")
	if resp.Header.Get("Content-Range") != "bytes */10" {
		t.Fatalf("416 %v", resp.Header)
	}
	c.must(304, "GET", "/v1/AUTH_test/c/m", "", "If-None-Match: "+want)
	c.must(412, "GET", "/v1/AUTH_test/c/m", "", `If-Match: "x"`)
	resp, body = c.must(200, "GET", "/v1/AUTH_test/c/m?multipart-manifest=get", "")
	if body != "" || resp.Header.Get("X-Object-Manifest") != "segs/p/" {
		t.Fatalf("manifest %q %v", body, resp.Header)
	}
	// Segments added later show at once.
	c.must(201, "PUT", "/v1/AUTH_test/segs/p/4", "d")
	_, body = c.must(200, "GET", "/v1/AUTH_test/c/m", "")
	if body != "aaaabbbbccd" {
		t.Fatalf("after add %q", body)
	}
	// Copying a DLO copies its content; with multipart-manifest=get, the manifest.
	c.must(201, "PUT", "/v1/AUTH_test/c/flat", "", "X-Copy-From: c/m")
	resp, body = c.must(200, "GET", "/v1/AUTH_test/c/flat", "")
	if body != "aaaabbbbccd" || resp.Header.Get("X-Object-Manifest") != "" {
		t.Fatalf("copy %q %v", body, resp.Header)
	}
	c.must(201, "PUT", "/v1/AUTH_test/c/m2?multipart-manifest=get", "", "X-Copy-From: c/m")
	resp, _ = c.must(200, "HEAD", "/v1/AUTH_test/c/m2?multipart-manifest=get", "")
	if resp.Header.Get("X-Object-Manifest") != "segs/p/" {
		t.Fatalf("manifest copy %v", resp.Header)
	}
	// An empty prefix is an empty object; a missing container a 404.
	c.must(201, "PUT", "/v1/AUTH_test/c/empty", "", "X-Object-Manifest: segs/none")
	resp, body = c.must(200, "GET", "/v1/AUTH_test/c/empty", "")
	if body != "" || resp.Header.Get("Etag") != `"d41d8cd98f00b204e9800998ecf8427e"` {
		t.Fatalf("empty %q %v", body, resp.Header)
	}
	c.must(201, "PUT", "/v1/AUTH_test/c/gone", "", "X-Object-Manifest: nosuch/p")
	c.must(404, "GET", "/v1/AUTH_test/c/gone", "")
}
