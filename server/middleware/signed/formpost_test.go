package signed_test

import (
	"bytes"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"
	"time"

	"swiftbox/server/middleware/signed"
	"swiftbox/server/servertest"
)

type formFile struct{ name, body, ctype string }

// postForm sends a signed (by key) form to path with the given fields and files.
func postForm(t *testing.T, c *servertest.Cluster, path, key string, fields map[string]string, files []formFile) (*http.Response, string) {
	t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	if key != "" {
		msg := path + "\n" + fields["redirect"] + "\n" + signed.OrZero(fields["max_file_size"]) + "\n" + signed.OrZero(fields["max_file_count"]) + "\n" + signed.OrZero(fields["expires"])
		fields["signature"] = signForm(key, msg)
	}
	for _, k := range []string{"redirect", "max_file_size", "max_file_count", "expires", "signature", "x_delete_after"} {
		if v, ok := fields[k]; ok {
			w.WriteField(k, v)
		}
	}
	for _, f := range files {
		h := map[string][]string{"Content-Disposition": {fmt.Sprintf(`form-data; name="file"; filename="%s"`, f.name)}}
		if f.ctype != "" {
			h["Content-Type"] = []string{f.ctype}
		}
		pw, _ := w.CreatePart(h)
		pw.Write([]byte(f.body))
	}
	w.Close()
	req, _ := http.NewRequest("POST", c.URL+path, &buf)
	req.Header.Set("Content-Type", w.FormDataContentType())
	resp, err := noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// noRedirect shows formpost's redirects instead of following them.
var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

func signForm(key, msg string) string {
	return signed.SignHMACRaw("sha256", key, msg)
}

func TestFormPost(t *testing.T) {
	t.Parallel()
	c := servertest.Start(t, servertest.Options{})
	c.Must(201, "PUT", "/v1/AUTH_test/up", "", "X-Container-Meta-Temp-URL-Key: formkey")
	exp := fmt.Sprint(time.Now().Add(time.Hour).Unix())
	fields := func() map[string]string {
		return map[string]string{"max_file_size": "100", "max_file_count": "3", "expires": exp}
	}

	// Two files under a prefix, plain-text answer.
	resp, body := postForm(t, c, "/v1/AUTH_test/up/pre_", "formkey", fields(), []formFile{{"a.txt", "aaa", "text/plain"}, {"dir/b.bin", "bbbb", ""}})
	if resp.StatusCode != 201 || body != "201 Created" {
		t.Fatalf("upload: %d %q", resp.StatusCode, body)
	}
	r, got := c.Must(200, "GET", "/v1/AUTH_test/up/pre_a.txt", "")
	if got != "aaa" || r.Header.Get("Content-Type") != "text/plain" {
		t.Errorf("a.txt: %q %q", got, r.Header.Get("Content-Type"))
	}
	if _, got = c.Must(200, "GET", "/v1/AUTH_test/up/pre_dir/b.bin", ""); got != "bbbb" {
		t.Errorf("b.bin: %q", got)
	}
	// Redirect: 303 with status and message.
	f := fields()
	f["redirect"] = "http://example.com/done?x=1"
	resp, _ = postForm(t, c, "/v1/AUTH_test/up", "formkey", f, []formFile{{"c.txt", "c", ""}})
	if resp.StatusCode != 303 || resp.Header.Get("Location") != "http://example.com/done?x=1&status=201&message=" {
		t.Errorf("redirect: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	c.Must(200, "GET", "/v1/AUTH_test/up/c.txt", "")

	// A file bigger than fasthttp's in-memory body limit streams through.
	f = fields()
	f["max_file_size"] = "10000000"
	big := strings.Repeat("0123456789", 300000)
	resp, _ = postForm(t, c, "/v1/AUTH_test/up/", "formkey", f, []formFile{{"big3m", big, ""}, {"small", "s", ""}})
	if resp.StatusCode != 201 {
		t.Fatalf("big upload: %d", resp.StatusCode)
	}
	if _, got = c.Must(200, "GET", "/v1/AUTH_test/up/big3m", ""); got != big {
		t.Errorf("big3m: %d bytes", len(got))
	}
	c.Must(200, "GET", "/v1/AUTH_test/up/small", "")

	// x_delete_after becomes the object's X-Delete-At.
	f = fields()
	f["x_delete_after"] = "3600"
	resp, _ = postForm(t, c, "/v1/AUTH_test/up/", "formkey", f, []formFile{{"tmp", "t", ""}})
	if resp.StatusCode != 201 {
		t.Fatalf("x_delete_after: %d", resp.StatusCode)
	}
	r, _ = c.Must(200, "HEAD", "/v1/AUTH_test/up/tmp", "")
	if r.Header.Get("X-Delete-At") == "" {
		t.Errorf("no X-Delete-At: %v", r.Header)
	}
	f = fields()
	f["x_delete_after"] = "soon"
	resp, body = postForm(t, c, "/v1/AUTH_test/up/", "formkey", f, []formFile{{"tmp2", "t", ""}})
	if resp.StatusCode != 400 || body != "FormPost: x_delete_after not an integer: Number of seconds required." {
		t.Errorf("bad x_delete_after: %d %q", resp.StatusCode, body)
	}

	// Too many files: the first ones are stored, then 400.
	f = fields()
	f["max_file_count"] = "1"
	resp, body = postForm(t, c, "/v1/AUTH_test/up/", "formkey", f, []formFile{{"d1", "1", ""}, {"d2", "2", ""}})
	if resp.StatusCode != 400 || body != "400 Bad Request\r\nFormPost: Max File Count Exceeded" {
		t.Errorf("count: %d %q", resp.StatusCode, body)
	}
	c.Must(200, "GET", "/v1/AUTH_test/up/d1", "")
	c.Must(404, "GET", "/v1/AUTH_test/up/d2", "")

	// Too big a file.
	f = fields()
	f["max_file_size"] = "10"
	resp, body = postForm(t, c, "/v1/AUTH_test/up/", "formkey", f, []formFile{{"big", strings.Repeat("x", 5000), ""}})
	if resp.StatusCode != 400 || body != "FormPost: max_file_size exceeded" {
		t.Errorf("size: %d %q", resp.StatusCode, body)
	}
	c.Must(404, "GET", "/v1/AUTH_test/up/big", "")

	// Forged and expired signatures.
	resp, body = postForm(t, c, "/v1/AUTH_test/up/", "wrongkey", fields(), []formFile{{"e", "e", ""}})
	if resp.StatusCode != 401 || body != "FormPost: Invalid Signature" {
		t.Errorf("forged: %d %q", resp.StatusCode, body)
	}
	f = fields()
	f["expires"] = fmt.Sprint(time.Now().Add(-time.Minute).Unix())
	resp, body = postForm(t, c, "/v1/AUTH_test/up/", "formkey", f, []formFile{{"e", "e", ""}})
	if resp.StatusCode != 401 || body != "FormPost: Form Expired" {
		t.Errorf("expired: %d %q", resp.StatusCode, body)
	}
	// No files.
	resp, body = postForm(t, c, "/v1/AUTH_test/up/", "formkey", fields(), nil)
	if resp.StatusCode != 400 || body != "400 Bad Request\r\nFormPost: No Files To Process" {
		t.Errorf("no files: %d %q", resp.StatusCode, body)
	}
	c.Must(404, "GET", "/v1/AUTH_test/up/e", "")
}
