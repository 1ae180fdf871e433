package bulk_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"strings"
	"testing"

	"swiftbox/server/servertest"
)

func makeTar(t *testing.T, gz bool, files map[string]string) string {
	var buf bytes.Buffer
	var tw *tar.Writer
	var zw *gzip.Writer
	if gz {
		zw = gzip.NewWriter(&buf)
		tw = tar.NewWriter(zw)
	} else {
		tw = tar.NewWriter(&buf)
	}
	for name, body := range files {
		hdr := &tar.Header{Name: name, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg}
		if strings.HasSuffix(name, ".txt") {
			hdr.PAXRecords = map[string]string{"SCHILY.xattr.user.mime_type": "text/x-test",
				"SCHILY.xattr.user.meta.color": "blue"}
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(body))
	}
	tw.Close()
	if zw != nil {
		zw.Close()
	}
	return buf.String()
}

func TestBulk(t *testing.T) {
	t.Parallel()
	c := servertest.Start(t, servertest.Options{})
	// Extract: containers made as needed, base container from the path.
	arch := makeTar(t, false, map[string]string{"c1/a.txt": "A", "c2/sub/b": "BB", "top": "ignored"})
	_, body := c.Must(200, "PUT", "/v1/AUTH_test?extract-archive=tar", arch, "Accept: application/json")
	var res map[string]any
	if err := json.Unmarshal([]byte(body), &res); err != nil || res["Number Files Created"] != float64(2) || res["Response Status"] != "201 Created" {
		t.Fatalf("extract %s", body)
	}
	resp, b := c.Must(200, "GET", "/v1/AUTH_test/c1/a.txt", "")
	if b != "A" || resp.Header.Get("Content-Type") != "text/x-test" || resp.Header.Get("X-Object-Meta-Color") != "blue" {
		t.Fatalf("extracted %q %v", b, resp.Header)
	}
	c.Must(200, "GET", "/v1/AUTH_test/c2/sub/b", "")
	arch = makeTar(t, true, map[string]string{"x/y": "Y"})
	_, body = c.Must(200, "PUT", "/v1/AUTH_test/base?extract-archive=tar.gz", arch)
	if !strings.Contains(body, "Number Files Created: 1\n") || !strings.Contains(body, "Response Status: 201 Created\n") {
		t.Fatalf("extract gz %q", body)
	}
	c.Must(200, "GET", "/v1/AUTH_test/base/x/y", "")
	// A big archive streams in while the answer streams out.
	big := strings.Repeat("0123456789abcdef", 1<<18) // 4 MiB
	arch = makeTar(t, false, map[string]string{"bigc/one": big, "bigc/two": big[:1000]})
	_, body = c.Must(200, "PUT", "/v1/AUTH_test?extract-archive=tar", arch)
	if !strings.Contains(body, "Number Files Created: 2\n") {
		t.Fatalf("extract big %q", body)
	}
	if _, b := c.Must(200, "GET", "/v1/AUTH_test/bigc/one", ""); b != big {
		t.Fatalf("big file: %d bytes", len(b))
	}
	_, body = c.Must(200, "PUT", "/v1/AUTH_test?extract-archive=tar", "not a tar at all, really not a tar")
	if !strings.Contains(body, "Response Status: 400 Bad Request") {
		t.Fatalf("bad tar %q", body)
	}
	c.Must(400, "PUT", "/v1/AUTH_test?extract-archive=zip", "x")

	// Bulk delete: objects first, then containers; not-found counted.
	_, body = c.Must(200, "POST", "/v1/AUTH_test?bulk-delete", "c1/a.txt\n/c1\nc2/sub/b\nc1/missing\n/c2\n",
		"Content-Type: text/plain", "Accept: application/json")
	res = nil
	if err := json.Unmarshal([]byte(body), &res); err != nil || res["Number Deleted"] != float64(4) ||
		res["Number Not Found"] != float64(1) || res["Response Status"] != "200 OK" {
		t.Fatalf("bulk delete %s", body)
	}
	c.Must(404, "HEAD", "/v1/AUTH_test/c1", "")
	// A non-empty container fails with 409; XML output.
	_, body = c.Must(200, "DELETE", "/v1/AUTH_test?bulk-delete", "base\n", "Accept: application/xml")
	if body != "<delete>\n<number_deleted>0</number_deleted>\n<number_not_found>0</number_not_found>\n"+
		"<response_body></response_body>\n<response_status>400 Bad Request</response_status>\n"+
		"<errors>\n<object><name>base</name><status>409 Conflict</status></object>\n</errors>\n</delete>\n" {
		t.Fatalf("xml %q", body)
	}
	// Another account's objects: 403 per item.
	c.Must(201, "PUT", "/v1/AUTH_test2/private", "", "X-Auth-Token: "+c.Login("test2:tester3", "testing3"))
	_, body = c.Must(200, "POST", "/v1/AUTH_test2?bulk-delete", "private\n")
	if !strings.Contains(body, "private, 403 Forbidden") {
		t.Fatalf("forbidden %q", body)
	}
	_, body = c.Must(200, "POST", "/v1/AUTH_test?bulk-delete", "")
	if !strings.Contains(body, "Response Body: Invalid bulk delete.") {
		t.Fatalf("empty %q", body)
	}
	resp, body = c.Must(200, "GET", "/info", "")
	if !strings.Contains(body, `"bulk_delete":{"max_deletes_per_request":10000`) || !strings.Contains(body, `"slo":{`) {
		t.Fatalf("info %s", body)
	}
}
