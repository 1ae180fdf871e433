package signed_test

import (
	"crypto/hmac"
	"crypto/sha512"
	"encoding/base64"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"swiftbox/server/middleware/signed"
	"swiftbox/server/proxy"
	"swiftbox/server/servertest"
)

func tempURLQuery(algo, method, path, key string, expires int64, extra string) string {
	return fmt.Sprintf("?temp_url_sig=%s&temp_url_expires=%d%s", signed.SignHMAC(algo, method, expires, path, key, ""), expires, extra)
}

func TestTempURL(t *testing.T) {
	t.Parallel()
	c := servertest.Start(t, servertest.Options{})
	c.Must(204, "POST", "/v1/AUTH_test", "", "X-Account-Meta-Temp-URL-Key: acctkey")
	c.Must(201, "PUT", "/v1/AUTH_test/c", "")
	c.Must(201, "PUT", "/v1/AUTH_test/c2", "", "X-Container-Meta-Temp-URL-Key-2: contkey")
	c.Must(201, "PUT", "/v1/AUTH_test/c/o.txt", "hello", "X-Object-Meta-Secret: s", "X-Object-Meta-Public-Color: red")
	c.Must(201, "PUT", "/v1/AUTH_test/c2/dir/o", "in c2")
	exp := time.Now().Add(time.Hour).Unix()
	noTok := "X-Auth-Token:"

	// GET with an account key: body, attachment disposition, Expires, private meta hidden.
	resp, body := c.Must(200, "GET", "/v1/AUTH_test/c/o.txt"+tempURLQuery("sha256", "GET", "/v1/AUTH_test/c/o.txt", "acctkey", exp, ""), "", noTok)
	if body != "hello" {
		t.Fatalf("body %q", body)
	}
	if d := resp.Header.Get("Content-Disposition"); d != `attachment; filename="o.txt"; filename*=UTF-8''o.txt` {
		t.Errorf("disposition %q", d)
	}
	if resp.Header.Get("Expires") != time.Unix(exp, 0).UTC().Format("Mon, 02 Jan 2006 15:04:05 GMT") {
		t.Errorf("expires %q", resp.Header.Get("Expires"))
	}
	if resp.Header.Get("X-Object-Meta-Secret") != "" || resp.Header.Get("X-Object-Meta-Public-Color") != "red" {
		t.Errorf("outgoing headers not filtered: %v", resp.Header)
	}
	// filename and inline.
	resp, _ = c.Must(200, "GET", "/v1/AUTH_test/c/o.txt"+tempURLQuery("sha1", "GET", "/v1/AUTH_test/c/o.txt", "acctkey", exp, "&filename=my+file%22.txt&inline"), "", noTok)
	if d := resp.Header.Get("Content-Disposition"); d != `inline; filename="my file%22.txt"; filename*=UTF-8''my%20file%22.txt` {
		t.Errorf("inline disposition %q", d)
	}
	// HEAD with a GET signature; base64 sha512 form.
	m := hmac.New(sha512.New, []byte("acctkey"))
	fmt.Fprintf(m, "GET\n%d\n/v1/AUTH_test/c/o.txt", exp)
	b64 := url.QueryEscape("sha512:" + base64.StdEncoding.EncodeToString(m.Sum(nil)))
	c.Must(200, "HEAD", fmt.Sprintf("/v1/AUTH_test/c/o.txt?temp_url_sig=%s&temp_url_expires=%d", b64, exp), "", noTok)

	// Failures: 401 with tempurl's body.
	for name, q := range map[string]string{
		"expired":     tempURLQuery("sha256", "GET", "/v1/AUTH_test/c/o.txt", "acctkey", time.Now().Add(-time.Minute).Unix(), ""),
		"forged":      tempURLQuery("sha256", "GET", "/v1/AUTH_test/c/o.txt", "wrongkey", exp, ""),
		"othermethod": tempURLQuery("sha256", "PUT", "/v1/AUTH_test/c/o.txt", "acctkey", exp, ""),
		"otherobject": tempURLQuery("sha256", "GET", "/v1/AUTH_test/c/other", "acctkey", exp, ""),
		"nosig":       fmt.Sprintf("?temp_url_expires=%d", exp),
	} {
		resp, body := c.Do("GET", "/v1/AUTH_test/c/o.txt"+q, "", noTok)
		if resp.StatusCode != 401 || body != "401 Unauthorized: Temp URL invalid\n" || resp.Header.Get("Www-Authenticate") != `Swift realm="AUTH_test"` {
			t.Errorf("%s: %d %q %v", name, resp.StatusCode, body, resp.Header)
		}
	}
	// A method not in the configured methods.
	c.Must(401, "COPY", "/v1/AUTH_test/c/o.txt"+tempURLQuery("sha256", "COPY", "/v1/AUTH_test/c/o.txt", "acctkey", exp, ""), "", noTok)

	// PUT through a container key (key 2), then a disallowed header.
	c.Must(201, "PUT", "/v1/AUTH_test/c2/new"+tempURLQuery("sha256", "PUT", "/v1/AUTH_test/c2/new", "contkey", exp, ""), "uploaded", noTok)
	c.Must(200, "GET", "/v1/AUTH_test/c2/new", "")
	_, body = c.Must(400, "PUT", "/v1/AUTH_test/c2/new"+tempURLQuery("sha256", "PUT", "/v1/AUTH_test/c2/new", "contkey", exp, ""), "x", noTok, "X-Object-Manifest: c/o")
	if body != "The header 'X-Object-Manifest' is not allowed in this tempurl" {
		t.Errorf("disallowed body %q", body)
	}
	// The container key does not sign objects of another container.
	c.Must(401, "GET", "/v1/AUTH_test/c/o.txt"+tempURLQuery("sha256", "GET", "/v1/AUTH_test/c/o.txt", "contkey", exp, ""), "", noTok)

	// Prefix URLs.
	pq := fmt.Sprintf("?temp_url_sig=%s&temp_url_expires=%d&temp_url_prefix=dir/",
		signed.SignHMAC("sha256", "GET", exp, "prefix:/v1/AUTH_test/c2/dir/", "contkey", ""), exp)
	c.Must(200, "GET", "/v1/AUTH_test/c2/dir/o"+pq, "", noTok)
	c.Must(401, "GET", "/v1/AUTH_test/c2/new"+pq, "", noTok)

	// IP ranges: loopback is in 127.0.0.0/8 but not in 10.0.0.0/8.
	for rng, want := range map[string]int{"127.0.0.0/8": 200, "10.0.0.0/8": 401, "127.0.0.1/8": 401} {
		q := fmt.Sprintf("?temp_url_sig=%s&temp_url_expires=%d&temp_url_ip_range=%s",
			signed.SignHMAC("sha256", "GET", exp, "/v1/AUTH_test/c/o.txt", "acctkey", rng), exp, url.QueryEscape(rng))
		c.Must(want, "GET", "/v1/AUTH_test/c/o.txt"+q, "", noTok)
	}

	// /info advertises the middleware as Swift registers it.
	_, info := c.Must(200, "GET", "/info", "")
	if !strings.Contains(info, `"tempurl":{"allowed_digests":["sha1","sha256","sha512"],"deprecated_digests":["sha1"],"incoming_allow_headers":[],"incoming_remove_headers":["x-timestamp"],"methods":["GET","HEAD","PUT","POST","DELETE"],"outgoing_allow_headers":["x-object-meta-public-*"],"outgoing_remove_headers":["x-object-meta-*"]}`) {
		t.Errorf("info: %s", info)
	}
}

// A signed request's subrequests (a DLO's segment reads) stay within the
// signing container: outside it they get 401, inside they are allowed.
func TestTempURLScopeOnSubrequests(t *testing.T) {
	t.Parallel()
	peek := func(next proxy.Handler) proxy.Handler {
		return func(ctx *fasthttp.RequestCtx) error {
			if target := string(ctx.Request.Header.Peek("X-Test-Sub")); target != "" {
				resp := proxy.Subrequest(ctx, next, "GET", target, nil)
				ctx.SetStatusCode(resp.StatusCode())
				resp.CloseBodyStream()
				return nil
			}
			return next(ctx)
		}
	}
	c := servertest.Start(t, servertest.Options{Front: []proxy.Middleware{peek}})
	c.Must(201, "PUT", "/v1/AUTH_test/a", "", "X-Container-Meta-Temp-URL-Key: ckey")
	c.Must(201, "PUT", "/v1/AUTH_test/b", "")
	c.Must(201, "PUT", "/v1/AUTH_test/a/seg", "x")
	c.Must(201, "PUT", "/v1/AUTH_test/b/seg", "x")
	c.Must(201, "PUT", "/v1/AUTH_test/a/m", "")
	exp := time.Now().Add(time.Hour).Unix()
	q := tempURLQuery("sha1", "GET", "/v1/AUTH_test/a/m", "ckey", exp, "")
	c.Must(200, "GET", "/v1/AUTH_test/a/m"+q, "", "X-Auth-Token:", "X-Test-Sub: /v1/AUTH_test/a/seg")
	c.Must(401, "GET", "/v1/AUTH_test/a/m"+q, "", "X-Auth-Token:", "X-Test-Sub: /v1/AUTH_test/b/seg")
	// An account key reaches every container of the account.
	c.Must(204, "POST", "/v1/AUTH_test", "", "X-Account-Meta-Temp-URL-Key: akey")
	q = tempURLQuery("sha1", "GET", "/v1/AUTH_test/a/m", "akey", exp, "")
	c.Must(200, "GET", "/v1/AUTH_test/a/m"+q, "", "X-Auth-Token:", "X-Test-Sub: /v1/AUTH_test/b/seg")
	c.Must(401, "GET", "/v1/AUTH_test/a/m"+q, "", "X-Auth-Token:", "X-Test-Sub: /v1/AUTH_test2/b/seg")
}
