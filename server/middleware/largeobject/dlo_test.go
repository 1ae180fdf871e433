package largeobject_test

import (
	"testing"

	"swiftbox/server/servertest"
)

func TestDLO(t *testing.T) {
	t.Parallel()
	c := servertest.Start(t, servertest.Options{})
	c.Must(201, "PUT", "/v1/AUTH_test/segs", "")
	c.Must(201, "PUT", "/v1/AUTH_test/c", "")
	for _, s := range []string{"p/1:aaaa", "p/2:bbbb", "p/3:cc", "q/1:zz"} {
		c.Must(201, "PUT", "/v1/AUTH_test/segs/"+s[:3], s[4:])
	}
	c.Must(400, "PUT", "/v1/AUTH_test/c/bad", "", "X-Object-Manifest: segs")
	c.Must(400, "PUT", "/v1/AUTH_test/c/bad", "", "X-Object-Manifest: segs/p?x")
	c.Must(201, "PUT", "/v1/AUTH_test/c/m", "", "X-Object-Manifest: segs/p/")
	want := `"` + md5hex(md5hex("aaaa")+md5hex("bbbb")+md5hex("cc")) + `"`
	resp, body := c.Must(200, "GET", "/v1/AUTH_test/c/m", "")
	if body != "aaaabbbbcc" || resp.Header.Get("Etag") != want {
		t.Fatalf("GET %q %v", body, resp.Header)
	}
	resp, _ = c.Must(200, "HEAD", "/v1/AUTH_test/c/m", "")
	if resp.Header.Get("Content-Length") != "10" || resp.Header.Get("Etag") != want {
		t.Fatalf("HEAD %v", resp.Header)
	}
	resp, body = c.Must(206, "GET", "/v1/AUTH_test/c/m", "", "Range: bytes=3-8")
	if body != "abbbbc" || resp.Header.Get("Content-Range") != "bytes 3-8/10" {
		t.Fatalf("range %q %v", body, resp.Header)
	}
	_, body = c.Must(206, "GET", "/v1/AUTH_test/c/m", "", "Range: bytes=-3")
	if body != "bcc" {
		t.Fatalf("suffix %q", body)
	}
	resp, _ = c.Must(416, "GET", "/v1/AUTH_test/c/m", "", "Range: bytes=10-")
	if resp.Header.Get("Content-Range") != "bytes */10" {
		t.Fatalf("416 %v", resp.Header)
	}
	c.Must(304, "GET", "/v1/AUTH_test/c/m", "", "If-None-Match: "+want)
	c.Must(412, "GET", "/v1/AUTH_test/c/m", "", `If-Match: "x"`)
	resp, body = c.Must(200, "GET", "/v1/AUTH_test/c/m?multipart-manifest=get", "")
	if body != "" || resp.Header.Get("X-Object-Manifest") != "segs/p/" {
		t.Fatalf("manifest %q %v", body, resp.Header)
	}
	// Segments added later show at once.
	c.Must(201, "PUT", "/v1/AUTH_test/segs/p/4", "d")
	_, body = c.Must(200, "GET", "/v1/AUTH_test/c/m", "")
	if body != "aaaabbbbccd" {
		t.Fatalf("after add %q", body)
	}
	// Copying a DLO copies its content; with multipart-manifest=get, the manifest.
	c.Must(201, "PUT", "/v1/AUTH_test/c/flat", "", "X-Copy-From: c/m")
	resp, body = c.Must(200, "GET", "/v1/AUTH_test/c/flat", "")
	if body != "aaaabbbbccd" || resp.Header.Get("X-Object-Manifest") != "" {
		t.Fatalf("copy %q %v", body, resp.Header)
	}
	c.Must(201, "PUT", "/v1/AUTH_test/c/m2?multipart-manifest=get", "", "X-Copy-From: c/m")
	resp, _ = c.Must(200, "HEAD", "/v1/AUTH_test/c/m2?multipart-manifest=get", "")
	if resp.Header.Get("X-Object-Manifest") != "segs/p/" {
		t.Fatalf("manifest copy %v", resp.Header)
	}
	// An empty prefix is an empty object; a missing container a 404.
	c.Must(201, "PUT", "/v1/AUTH_test/c/empty", "", "X-Object-Manifest: segs/none")
	resp, body = c.Must(200, "GET", "/v1/AUTH_test/c/empty", "")
	if body != "" || resp.Header.Get("Etag") != `"d41d8cd98f00b204e9800998ecf8427e"` {
		t.Fatalf("empty %q %v", body, resp.Header)
	}
	c.Must(201, "PUT", "/v1/AUTH_test/c/gone", "", "X-Object-Manifest: nosuch/p")
	c.Must(404, "GET", "/v1/AUTH_test/c/gone", "")
}
