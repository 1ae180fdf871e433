package cli_test

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"mime/multipart"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ncw/swift/v2"
)

// attackUsers are the Swift attack suite's local users: two of account
// test (an admin and a plain user), an admin of test2, a reseller admin
// and a service user (group "service", SERVICE_require_group).
var attackUsers = []string{
	"test:tester:testing:.admin", "test:tester2:testing2", "test2:tester3:testing3:.admin",
	"admin:admin:adminkey:.admin,.reseller_admin", "svc:glance:glancepw:service",
}

// attackServer starts a server for the attack suite with extra config
// (YAML lines under auth:).
func attackServer(t *testing.T, authExtra string, args ...string) *server {
	t.Helper()
	cfg := filepath.Join(t.TempDir(), "swiftbox.yaml")
	users := `"` + strings.Join(attackUsers, `", "`) + `"`
	os.WriteFile(cfg, []byte(fmt.Sprintf(`devices: %s
auth:
  reseller_prefix: "AUTH, SERVICE"
  require_group: {SERVICE: service}
  users: [%s]
%s`, t.TempDir(), users, authExtra)), 0o600)
	return startServer(t, "", append([]string{"--config", cfg}, args...)...)
}

func hmacHex(key, msg string) string {
	m := hmac.New(sha256.New, []byte(key))
	m.Write([]byte(msg))
	return hex.EncodeToString(m.Sum(nil))
}

// tempURL is a temp URL query for method on path (or, with prefix, on
// every object under prefix: path is then the container's).
func tempURL(key, method, path string, expires int64, prefix, ipRange string) string {
	signed := path
	q := ""
	if prefix != "" {
		signed = "prefix:" + path + "/" + prefix
		q = "&temp_url_prefix=" + prefix
	}
	msg := fmt.Sprintf("%s\n%d\n%s", method, expires, signed)
	if ipRange != "" {
		msg = "ip=" + ipRange + "\n" + msg
		q += "&temp_url_ip_range=" + ipRange
	}
	return fmt.Sprintf("?temp_url_sig=%s&temp_url_expires=%d%s", hmacHex(key, msg), expires, q)
}

// formPost is a multipart formpost body for path signed with key (sig
// fields as signed; form fields as sent may differ) with files.
type formPost struct {
	key, path, redirect, sentRedirect string
	maxSize, maxCount                 int
	expires                           int64
	files                             map[string]string
	badSig                            bool
}

func (f formPost) body() (string, string) {
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	sig := hmacHex(f.key, fmt.Sprintf("%s\n%s\n%d\n%d\n%d", f.path, f.redirect, f.maxSize, f.maxCount, f.expires))
	if f.badSig {
		sig = strings.Repeat("0", len(sig))
	}
	redirect := f.redirect
	if f.sentRedirect != "" {
		redirect = f.sentRedirect
	}
	for _, kv := range [][2]string{{"redirect", redirect}, {"max_file_size", fmt.Sprint(f.maxSize)},
		{"max_file_count", fmt.Sprint(f.maxCount)}, {"expires", fmt.Sprint(f.expires)}, {"signature", sig}} {
		w.WriteField(kv[0], kv[1])
	}
	for name, data := range f.files {
		fw, _ := w.CreateFormFile("file"+name, name)
		fw.Write([]byte(data))
	}
	w.Close()
	return b.String(), w.FormDataContentType()
}

func tarOf(files map[string]string) string {
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for name, data := range files {
		tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(data)), Typeflag: tar.TypeReg})
		tw.Write([]byte(data))
	}
	tw.Close()
	return b.String()
}

// Issue 13's Swift-side attack suite: a real server, raw HTTP and
// ncw/swift, one subtest per attack, each asserting the exact refusal.
// seedSwiftAttack writes what the attacks aim at.
func seedSwiftAttack(ctx context.Context, owner, other *swift.Connection, must func(error), put func(c *swift.Connection, cont, obj, data string, h swift.Headers)) {
	// AUTH_test: priv (private), pub (.r:*), ref (referrer rules),
	// racl (read ACL tester2), wacl (write ACL tester2), vw (versions
	// kept in priv, written by tester2); AUTH_test2: c2.
	must(owner.ContainerCreate(ctx, "priv", nil))
	put(owner, "priv", "o", "secret", nil)
	put(owner, "priv", "pre/in", "in scope", nil)
	put(owner, "priv", "index.html", "<p>private index</p>", nil)
	must(owner.ContainerCreate(ctx, "pub", swift.Headers{"X-Container-Read": ".r:*"}))
	put(owner, "pub", "o", "public", nil)
	must(owner.ContainerCreate(ctx, "ref", swift.Headers{"X-Container-Read": ".r:good.example.com,.r:*.example.com,.r:-evil.example.com"}))
	put(owner, "ref", "o", "referred", nil)
	must(owner.ContainerCreate(ctx, "racl", swift.Headers{"X-Container-Read": "test:tester2"}))
	put(owner, "racl", "o", "readable", nil)
	must(owner.ContainerCreate(ctx, "wacl", swift.Headers{"X-Container-Write": "test:tester2"}))
	put(owner, "wacl", "o", "writable", nil)
	must(owner.ContainerCreate(ctx, "vw", swift.Headers{"X-Versions-Location": "priv", "X-Container-Write": "test:tester2", "X-Container-Read": "test:tester2"}))
	must(other.ContainerCreate(ctx, "c2", nil))
	put(other, "c2", "o2", "other account's", nil)
	must(owner.AccountUpdate(ctx, swift.Headers{"X-Account-Meta-Temp-URL-Key": "acctkey"}))
	must(other.AccountUpdate(ctx, swift.Headers{"X-Account-Meta-Temp-URL-Key": "key2"}))
}

// hdr is a request's headers in the attack tests.
type hdr = map[string]string

func TestAttackSwift(t *testing.T) {
	s := attackServer(t, "")
	ctx := context.Background()
	_, tok := s.token(t, "test:tester", "testing")
	_, tok2 := s.token(t, "test:tester2", "testing2")
	_, tok3 := s.token(t, "test2:tester3", "testing3")
	_, tokRA := s.token(t, "admin:admin", "adminkey")
	_, tokSvc := s.token(t, "svc:glance", "glancepw")
	owner := s.conn(t, "test:tester", "testing")
	other := s.conn(t, "test2:tester3", "testing3")
	v1 := s.URL + "/v1/"
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	put := func(c *swift.Connection, cont, obj, data string, h swift.Headers) {
		t.Helper()
		_, err := c.ObjectPut(ctx, cont, obj, strings.NewReader(data), false, "", "text/plain", h)
		must(err)
	}
	seedSwiftAttack(ctx, owner, other, must, put)
	future := time.Now().Add(time.Hour).Unix()

	auth := func(token string, more ...string) hdr {
		h := hdr{"X-Auth-Token": token}
		for i := 0; i+1 < len(more); i += 2 {
			h[more[i]] = more[i+1]
		}
		return h
	}
	cases := 0
	// expect runs one attack as a subtest: method url with headers and
	// body must answer want.
	expect := func(name string, want int, method, url string, h hdr, body string) {
		t.Helper()
		cases++
		t.Run(name, func(t *testing.T) {
			var rd io.Reader
			if body != "" {
				rd = strings.NewReader(body)
			}
			tk := h["X-Auth-Token"]
			hh := hdr{}
			for k, v := range h {
				if k != "X-Auth-Token" {
					hh[k] = v
				}
			}
			if code, _, b := do(t, method, url, tk, hh, rd); code != want {
				t.Errorf("%s %s: %d %.300s, want %d", method, url, code, b, want)
			}
		})
	}
	// check runs an attack whose refusal fn asserts itself.
	check := func(name string, fn func(t *testing.T)) {
		cases++
		t.Run(name, fn)
	}
	gone := func(t *testing.T, token, url string) {
		t.Helper()
		if code, _, _ := do(t, "GET", url, token, nil, nil); code != 404 {
			t.Errorf("GET %s: %d, want 404 (the attack wrote it)", url, code)
		}
	}
	intact := func(t *testing.T, token, url, want string) {
		t.Helper()
		if code, _, b := do(t, "GET", url, token, nil, nil); code != 200 || b != want {
			t.Errorf("GET %s: %d %q, want 200 %q (the attack changed it)", url, code, b, want)
		}
	}
	privO := v1 + "AUTH_test/priv/o"

	a := &swiftAttack{t: t, s: s, ctx: ctx, tok: tok, tok2: tok2, tok3: tok3, tokRA: tokRA, tokSvc: tokSvc, owner: owner, other: other, v1: v1, must: must, put: put, future: future, auth: auth, expect: expect, check: check, gone: gone, intact: intact, privO: privO, cases: &cases}
	a.part1()
	a.part2()
	a.part3()
	a.part4()
	a.part5()
	a.part6()
	a.part7()
	a.part8()
	t.Logf("%d attack cases", cases)
	if cases < 50 {
		t.Errorf("only %d attack cases", cases)
	}
}

// swiftAttack is TestAttackSwift's fixture: tokens, connections and the
// helpers that run one attack case each; part1… run the cases by theme.
type swiftAttack struct {
	t      *testing.T
	s      *server
	ctx    context.Context
	tok    string
	tok2   string
	tok3   string
	tokRA  string
	tokSvc string
	owner  *swift.Connection
	other  *swift.Connection
	v1     string
	must   func(error)
	put    func(c *swift.Connection, cont, obj, data string, h swift.Headers)
	future int64
	auth   func(token string, more ...string) hdr
	expect func(name string, want int, method, url string, h hdr, body string)
	check  func(name string, fn func(t *testing.T))
	gone   func(t *testing.T, token, url string)
	intact func(t *testing.T, token, url, want string)
	privO  string
	cases  *int // attack cases run
}

func (a *swiftAttack) part1() {
	t, tok, tok2, tok3, tokRA, tokSvc, v1, auth, expect, privO := a.t, a.tok, a.tok2, a.tok3, a.tokRA, a.tokSvc, a.v1, a.auth, a.expect, a.privO
	// --- tokens ---
	expect("token/forged", 401, "GET", privO, auth("AUTH_tk"+strings.Repeat("ab", 40)+hex.EncodeToString([]byte("test:tester"))), "")
	tampered := []byte(tok)
	tampered[len("AUTH_tk")+3] ^= 1
	expect("token/tampered-mac", 401, "GET", privO, auth(string(tampered)), "")
	// The user part names another user: the MAC no longer matches.
	reuser := tok[:len(tok)-len(hex.EncodeToString([]byte("test:tester")))] + hex.EncodeToString([]byte("test2:tester3"))
	expect("token/other-user-in-token", 401, "GET", privO, auth(reuser), "")
	expect("token/truncated", 401, "GET", privO, auth(tok[:len(tok)-2]), "")
	expect("token/wrong-prefix", 401, "GET", privO, auth("SERVICE_"+strings.TrimPrefix(tok, "AUTH_")), "")
	expect("token/storage-token-forged", 401, "GET", privO, hdr{"X-Storage-Token": "AUTH_tkdeadbeef"}, "")
	expect("token/other-account", 403, "GET", privO, auth(tok3), "")
	expect("token/plain-user-no-ownership", 403, "PUT", v1+"AUTH_test/newc", auth(tok2), "")
	expect("token/no-account-put", 403, "PUT", v1+"AUTH_test", auth(tok), "")
	expect("token/no-account-delete", 403, "DELETE", v1+"AUTH_test", auth(tok), "")
	// --- service tokens: they satisfy require_group, nothing more ---
	expect("service/no-service-token", 403, "PUT", v1+"SERVICE_test/c", auth(tok), "")
	expect("service/token-without-group", 403, "PUT", v1+"SERVICE_test/c", auth(tok, "X-Service-Token", tok3), "")
	expect("service/reseller-admin-token-lends-nothing", 403, "GET", v1+"AUTH_test2/c2/o2", auth(tok2, "X-Service-Token", tokRA), "")
	expect("service/admin-token-lends-nothing", 403, "PUT", v1+"AUTH_test2/c2/x", auth(tok, "X-Service-Token", tok3), "")
	expect("service/service-token-alone", 403, "PUT", v1+"SERVICE_test/c", auth(tokSvc), "")
	expect("service/plain-user-with-service-token", 403, "PUT", v1+"SERVICE_test/c", auth(tok2, "X-Service-Token", tokSvc), "")
	expect("service/forged-service-token", 403, "PUT", v1+"SERVICE_test/c", auth(tok, "X-Service-Token", "AUTH_tkforged"), "")
	// (the owner with the service user's token does get in)
	if code, _, b := do(t, "PUT", v1+"SERVICE_test/c", tok, hdr{"X-Service-Token": tokSvc}, nil); code != 201 {
		t.Fatalf("owner with a service token: %d %s", code, b)
	}

}

func (a *swiftAttack) part2() {
	s, tok, tok2, v1, future, expect, check := a.s, a.tok, a.tok2, a.v1, a.future, a.expect, a.check
	// --- tempurl ---
	tu := func(key, method, path string, exp int64, prefix, ip string) string {
		return s.URL + path + tempURL(key, method, path, exp, prefix, ip)
	}
	expect("tempurl/wrong-method", 401, "PUT", tu("acctkey", "GET", "/v1/AUTH_test/priv/o", future, "", ""), nil, "overwrite")
	expect("tempurl/delete-with-get-sig", 401, "DELETE", tu("acctkey", "GET", "/v1/AUTH_test/priv/o", future, "", ""), nil, "")
	expect("tempurl/expired", 401, "GET", tu("acctkey", "GET", "/v1/AUTH_test/priv/o", time.Now().Add(-time.Second).Unix(), "", ""), nil, "")
	expect("tempurl/prefix-scope", 401, "GET", s.URL+"/v1/AUTH_test/priv/o"+tempURL("acctkey", "GET", "/v1/AUTH_test/priv", future, "pre/", ""), nil, "")
	expect("tempurl/ip-range", 401, "GET", tu("acctkey", "GET", "/v1/AUTH_test/priv/o", future, "", "10.0.0.0/8"), nil, "")
	expect("tempurl/wrong-key", 401, "GET", tu("guess", "GET", "/v1/AUTH_test/priv/o", future, "", ""), nil, "")
	expect("tempurl/other-accounts-key", 401, "GET", tu("key2", "GET", "/v1/AUTH_test/priv/o", future, "", ""), nil, "")
	signed := tu("acctkey", "GET", "/v1/AUTH_test/priv/o", future, "", "")
	flip := strings.Replace(signed, "temp_url_sig=", "temp_url_sig=f", 1)
	expect("tempurl/sig-tampered", 401, "GET", flip[:strings.Index(flip, "&")-1]+flip[strings.Index(flip, "&"):], nil, "")
	expect("tempurl/expires-extended", 401, "GET", strings.Replace(signed, fmt.Sprint(future), fmt.Sprint(future+3600), 1), nil, "")
	expect("tempurl/other-object", 401, "GET", strings.Replace(signed, "/priv/o?", "/priv/index.html?", 1), nil, "")
	expect("tempurl/container-listing", 401, "GET", tu("acctkey", "GET", "/v1/AUTH_test/priv", future, "", ""), nil, "")
	expect("tempurl/copy-from-other-account", 401, "PUT", tu("acctkey", "PUT", "/v1/AUTH_test/priv/stolen", future, "", ""),
		hdr{"X-Copy-From": "c2/o2", "X-Copy-From-Account": "AUTH_test2"}, "")
	check("tempurl/container-key-hidden-from-reader", func(t *testing.T) {
		if code, _, b := do(t, "POST", v1+"AUTH_test/racl", tok, hdr{"X-Container-Meta-Temp-URL-Key": "rkey"}, nil); code != 204 {
			t.Fatalf("%d %s", code, b)
		}
		code, h, _ := do(t, "HEAD", v1+"AUTH_test/racl", tok2, nil, nil)
		if code != 204 || h.Get("X-Container-Meta-Temp-Url-Key") != "" {
			t.Errorf("HEAD by a reader: %d, key shown: %q", code, h.Get("X-Container-Meta-Temp-Url-Key"))
		}
	})
	expect("tempurl/container-key-other-container", 401, "GET", tu("rkey", "GET", "/v1/AUTH_test/priv/o", future, "", ""), nil, "")
	expect("tempurl/signed-for-other-account-path", 401, "GET", s.URL+"/v1/AUTH_test2/c2/o2"+tempURL("acctkey", "GET", "/v1/AUTH_test/priv/o", future, "", ""), nil, "")

}

func (a *swiftAttack) part3() {
	t, s, tok, tok3, v1, future, gone := a.t, a.s, a.tok, a.tok3, a.v1, a.future, a.gone
	// --- formpost ---
	fp := func(name string, want int, f formPost, url string, after func(t *testing.T)) {
		body, ct := f.body()
		*a.cases++
		t.Run(name, func(t *testing.T) {
			code, h, b := do(t, "POST", url, "", hdr{"Content-Type": ct}, strings.NewReader(body))
			if code != want {
				t.Errorf("formpost: %d %.300s %v, want %d", code, b, h.Get("Location"), want)
			}
			if after != nil {
				after(t)
			}
		})
	}
	up := "/v1/AUTH_test/priv/up/"
	ok := formPost{key: "acctkey", path: up, maxSize: 100, maxCount: 1, expires: future, files: map[string]string{"f": "x"}}
	expired := ok
	expired.expires = time.Now().Add(-time.Minute).Unix()
	fp("formpost/expired", 401, expired, s.URL+up, nil)
	bad := ok
	bad.badSig = true
	fp("formpost/wrong-signature", 401, bad, s.URL+up, nil)
	redir := ok
	redir.sentRedirect = "https://evil.example.com/"
	fp("formpost/redirect-not-signed", 401, redir, s.URL+up, nil)
	big := ok
	big.files = map[string]string{"f": strings.Repeat("x", 101)}
	fp("formpost/max-file-size", 400, big, s.URL+up, func(t *testing.T) { gone(t, tok, v1+"AUTH_test/priv/up/f") })
	many := ok
	many.files = map[string]string{"f1": "x", "f2": "y"}
	fp("formpost/max-file-count", 400, many, s.URL+up, nil)
	otherKey := ok
	otherKey.key = "key2"
	fp("formpost/other-accounts-key", 401, otherKey, s.URL+up, nil)
	containerKey := ok
	containerKey.key = "rkey"
	fp("formpost/container-key-other-container", 401, containerKey, s.URL+up, nil)
	fp("formpost/signed-path-moved", 401, ok, s.URL+"/v1/AUTH_test2/c2/", nil)
	trav := ok
	trav.files = map[string]string{"../../../AUTH_test2/c2/pwned": "x"}
	fp("formpost/filename-traversal", 201, trav, s.URL+up, func(t *testing.T) { gone(t, tok3, v1+"AUTH_test2/c2/pwned") })

}

func (a *swiftAttack) part4() {
	tok, tok2, tok3, v1, auth, expect, check, privO := a.tok, a.tok2, a.tok3, a.v1, a.auth, a.expect, a.check, a.privO
	// --- container ACLs ---
	expect("acl/anonymous-private", 401, "GET", privO, nil, "")
	expect("acl/anonymous-listing-without-rlistings", 401, "GET", v1+"AUTH_test/pub", nil, "")
	expect("acl/anonymous-write-to-public", 401, "PUT", v1+"AUTH_test/pub/x", nil, "x")
	expect("acl/anonymous-delete-public", 401, "DELETE", v1+"AUTH_test/pub/o", nil, "")
	expect("acl/referrer-denied-host", 401, "GET", v1+"AUTH_test/ref/o", hdr{"Referer": "http://evil.example.com/page"}, "")
	expect("acl/referrer-unlisted-host", 401, "GET", v1+"AUTH_test/ref/o", hdr{"Referer": "http://example.org/"}, "")
	expect("acl/referrer-lookalike-suffix", 401, "GET", v1+"AUTH_test/ref/o", hdr{"Referer": "http://evilexample.com/"}, "")
	expect("acl/plain-user-no-acl", 403, "GET", privO, auth(tok2), "")
	expect("acl/read-acl-no-write", 403, "PUT", v1+"AUTH_test/racl/x", auth(tok2), "x")
	expect("acl/read-acl-no-delete", 403, "DELETE", v1+"AUTH_test/racl/o", auth(tok2), "")
	expect("acl/write-acl-no-read", 403, "GET", v1+"AUTH_test/wacl/o", auth(tok2), "")
	expect("acl/write-acl-no-listing", 403, "GET", v1+"AUTH_test/wacl", auth(tok2), "")
	expect("acl/write-acl-cannot-change-acl", 403, "POST", v1+"AUTH_test/wacl", auth(tok2, "X-Container-Read", "test:tester2"), "")
	expect("acl/write-acl-cannot-delete-container", 403, "DELETE", v1+"AUTH_test/wacl", auth(tok2), "")
	expect("acl/referrer-in-write-acl", 400, "POST", v1+"AUTH_test/wacl", auth(tok, "X-Container-Write", ".r:*"), "")
	expect("acl/wildcard-user-not-tempauth", 403, "GET", v1+"AUTH_test/racl/o", auth(tok3), "")
	check("acl/non-owner-sees-no-acl", func(t *testing.T) {
		code, h, _ := do(t, "HEAD", v1+"AUTH_test/racl", tok2, nil, nil)
		if code != 204 || h.Get("X-Container-Read") != "" || h.Get("X-Container-Write") != "" {
			t.Errorf("HEAD by a reader: %d, ACLs shown: %q %q", code, h.Get("X-Container-Read"), h.Get("X-Container-Write"))
		}
	})
	check("acl/reader-cannot-set-sync-key", func(t *testing.T) {
		if code, _, _ := do(t, "POST", v1+"AUTH_test/racl", tok2, hdr{"X-Container-Sync-Key": "k"}, nil); code != 403 {
			t.Errorf("POST sync key by a reader: %d, want 403", code)
		}
	})

}

func (a *swiftAttack) part5() {
	t, tok, tok2, tok3, v1, auth, expect, check, privO := a.t, a.tok, a.tok2, a.tok3, a.v1, a.auth, a.expect, a.check, a.privO
	// --- account ACLs ---
	setACL := func(t *testing.T, acl string) {
		t.Helper()
		if code, _, b := do(t, "POST", v1+"AUTH_test", tok, hdr{"X-Account-Access-Control": acl}, nil); code != 204 {
			t.Fatalf("setting the account ACL: %d %s", code, b)
		}
	}
	setACL(t, `{"read-only":["test:tester2"]}`)
	expect("account-acl/read-only-no-container-put", 403, "PUT", v1+"AUTH_test/roc", auth(tok2), "")
	expect("account-acl/read-only-no-object-put", 403, "PUT", v1+"AUTH_test/priv/x", auth(tok2), "x")
	expect("account-acl/read-only-no-delete", 403, "DELETE", privO, auth(tok2), "")
	expect("account-acl/read-only-no-acl-change", 403, "POST", v1+"AUTH_test", auth(tok2, "X-Account-Access-Control", `{"admin":["test:tester2"]}`), "")
	check("account-acl/read-only-sees-no-acl", func(t *testing.T) {
		code, h, _ := do(t, "HEAD", v1+"AUTH_test", tok2, nil, nil)
		if code != 204 || h.Get("X-Account-Access-Control") != "" || h.Get("X-Account-Meta-Temp-Url-Key") != "" {
			t.Errorf("HEAD by a read-only user: %d, shown: %q %q", code, h.Get("X-Account-Access-Control"), h.Get("X-Account-Meta-Temp-Url-Key"))
		}
	})
	setACL(t, `{"read-write":["test:tester2"]}`)
	expect("account-acl/read-write-no-account-post", 403, "POST", v1+"AUTH_test", auth(tok2, "X-Account-Meta-X", "y"), "")
	expect("account-acl/read-write-no-acl-change", 403, "POST", v1+"AUTH_test", auth(tok2, "X-Account-Access-Control", `{"admin":["test:tester2"]}`), "")
	expect("account-acl/read-write-no-tempurl-key", 403, "POST", v1+"AUTH_test", auth(tok2, "X-Account-Meta-Temp-URL-Key", "mine"), "")
	expect("account-acl/other-account-sets-acl", 403, "POST", v1+"AUTH_test", auth(tok3, "X-Account-Access-Control", `{"admin":["test2:tester3"]}`), "")
	expect("account-acl/invalid-json", 400, "POST", v1+"AUTH_test", auth(tok, "X-Account-Access-Control", `{"admin":"test2:tester3"}`), "")
	expect("account-acl/unknown-key", 400, "POST", v1+"AUTH_test", auth(tok, "X-Account-Access-Control", `{"owner":["test2:tester3"]}`), "")
	setACL(t, `{"admin":["test:tester2"]}`)
	// (Swift's answer once an admin's ACL passes: no account management)
	expect("account-acl/admin-no-account-delete", 405, "DELETE", v1+"AUTH_test", auth(tok2), "")
	setACL(t, `{}`)
	expect("account-acl/cleared", 403, "GET", privO, auth(tok2), "")

	// --- cross-account ---
	expect("cross/read", 403, "GET", v1+"AUTH_test2/c2/o2", auth(tok), "")
	expect("cross/write", 403, "PUT", v1+"AUTH_test2/c2/x", auth(tok), "x")
	expect("cross/list", 403, "GET", v1+"AUTH_test2", auth(tok), "")
	expect("cross/metadata", 403, "POST", v1+"AUTH_test2/c2", auth(tok, "X-Container-Read", ".r:*"), "")
	expect("cross/unowned-prefix", 403, "GET", v1+"OTHER_test/c", auth(tok), "")

}

func (a *swiftAttack) part6() {
	tok, tok2, v1, auth, expect, check, privO := a.tok, a.tok2, a.v1, a.auth, a.expect, a.check, a.privO
	// --- middleware subrequests act with the caller's identity ---
	expect("copy/from-unreadable-container", 403, "PUT", v1+"AUTH_test/wacl/stolen", auth(tok2, "X-Copy-From", "priv/o"), "")
	expect("copy/from-other-account", 403, "PUT", v1+"AUTH_test/priv/stolen", auth(tok, "X-Copy-From", "c2/o2", "X-Copy-From-Account", "AUTH_test2"), "")
	expect("copy/to-other-account", 403, "COPY", privO, auth(tok, "Destination", "c2/planted", "Destination-Account", "AUTH_test2"), "")
	expect("copy/reader-copies-to-unwritable", 403, "COPY", v1+"AUTH_test/racl/o", auth(tok2, "Destination", "priv/planted"), "")
	check("symlink/target-in-other-account", func(t *testing.T) {
		if code, _, b := do(t, "PUT", v1+"AUTH_test/priv/ln", tok, hdr{"X-Symlink-Target": "c2/o2", "X-Symlink-Target-Account": "AUTH_test2"}, nil); code != 201 {
			t.Fatalf("making the link: %d %s", code, b)
		}
		if code, _, _ := do(t, "GET", v1+"AUTH_test/priv/ln", tok, nil, nil); code != 403 {
			t.Errorf("following a link into another account: %d, want 403", code)
		}
	})
	check("symlink/writer-links-to-unreadable", func(t *testing.T) {
		if code, _, b := do(t, "PUT", v1+"AUTH_test/wacl/ln", tok2, hdr{"X-Symlink-Target": "priv/o"}, nil); code != 201 {
			t.Fatalf("making the link: %d %s", code, b)
		}
		// tester2 may not read wacl at all; the owner grants read on it.
		if code, _, b := do(t, "POST", v1+"AUTH_test/wacl", tok, hdr{"X-Container-Read": "test:tester2"}, nil); code != 204 {
			t.Fatalf("%d %s", code, b)
		}
		if code, _, _ := do(t, "GET", v1+"AUTH_test/wacl/ln", tok2, nil, nil); code != 403 {
			t.Errorf("following a link to an unreadable object: %d, want 403", code)
		}
	})
	check("dlo/segments-in-unreadable-container", func(t *testing.T) {
		if code, _, b := do(t, "PUT", v1+"AUTH_test/wacl/dlo", tok2, hdr{"X-Object-Manifest": "priv/o"}, nil); code != 201 {
			t.Fatalf("making the manifest: %d %s", code, b)
		}
		if code, _, b := do(t, "GET", v1+"AUTH_test/wacl/dlo", tok2, nil, nil); code != 403 || strings.Contains(b, "secret") {
			t.Errorf("DLO over unreadable segments: %d %.100q, want 403", code, b)
		}
	})
	check("slo/segment-in-unreadable-container", func(t *testing.T) {
		manifest := `[{"path": "/priv/o"}]`
		code, _, b := do(t, "PUT", v1+"AUTH_test/wacl/slo?multipart-manifest=put", tok2, nil, strings.NewReader(manifest))
		if code != 400 || !strings.Contains(b, "403 Forbidden") {
			t.Errorf("SLO manifest naming an unreadable segment: %d %.200q, want 400 with 403 Forbidden", code, b)
		}
	})
	check("slo/segment-in-other-account", func(t *testing.T) {
		manifest := `[{"path": "/c2/o2"}]`
		code, _, b := do(t, "PUT", v1+"AUTH_test/priv/slo?multipart-manifest=put", tok, nil, strings.NewReader(manifest))
		if code != 400 || !strings.Contains(b, "404 Not Found") {
			t.Errorf("SLO segment path resolved in another account: %d %.200q, want 400 with 404 Not Found", code, b)
		}
	})
}

func (a *swiftAttack) part7() {
	tok, tok2, tok3, v1, check, gone, intact, privO := a.tok, a.tok2, a.tok3, a.v1, a.check, a.gone, a.intact, a.privO
	check("bulk/delete-unwritable", func(t *testing.T) {
		code, _, b := do(t, "POST", v1+"AUTH_test?bulk-delete", tok2, hdr{"Accept": "application/json", "Content-Type": "text/plain"}, strings.NewReader("/priv/o\n"))
		if code != 200 || !strings.Contains(b, "403 Forbidden") {
			t.Errorf("bulk delete of an unwritable object: %d %.200q, want 200 listing 403 Forbidden", code, b)
		}
		intact(t, tok, privO, "secret")
	})
	check("bulk/delete-traversal", func(t *testing.T) {
		code, _, b := do(t, "POST", v1+"AUTH_test?bulk-delete", tok, hdr{"Accept": "application/json", "Content-Type": "text/plain"},
			strings.NewReader("/../AUTH_test2/c2/o2\n/%2E%2E/AUTH_test2/c2/o2\n"))
		if code != 200 {
			t.Errorf("bulk delete: %d %.200q", code, b)
		}
		intact(t, tok3, v1+"AUTH_test2/c2/o2", "other account's")
	})
	check("bulk/extract-into-other-account", func(t *testing.T) {
		// Swift streams the result: 200, with the refusal in the body.
		code, _, b := do(t, "PUT", v1+"AUTH_test2/c2?extract-archive=tar", tok, nil, strings.NewReader(tarOf(map[string]string{"x": "planted"})))
		if code != 200 || !strings.Contains(b, "403 Forbidden") || !strings.Contains(b, "Number Files Created: 0") {
			t.Errorf("extract into another account: %d %.200q, want 200 listing 403 Forbidden", code, b)
		}
		gone(t, tok3, v1+"AUTH_test2/c2/x")
	})
	check("bulk/extract-unwritable", func(t *testing.T) {
		code, _, b := do(t, "PUT", v1+"AUTH_test/priv?extract-archive=tar", tok2, hdr{"Accept": "application/json"}, strings.NewReader(tarOf(map[string]string{"planted": "x"})))
		if code != 200 || !strings.Contains(b, "403 Forbidden") {
			t.Errorf("extract into an unwritable container: %d %.200q, want 200 listing 403 Forbidden", code, b)
		}
		gone(t, tok, v1+"AUTH_test/priv/planted")
	})
	check("bulk/extract-traversal", func(t *testing.T) {
		do(t, "PUT", v1+"AUTH_test?extract-archive=tar", tok, hdr{"Accept": "application/json"},
			strings.NewReader(tarOf(map[string]string{"../AUTH_test2/c2/planted": "x", "priv/../../AUTH_test2/c2/planted2": "y"})))
		gone(t, tok3, v1+"AUTH_test2/c2/planted")
		gone(t, tok3, v1+"AUTH_test2/c2/planted2")
	})
	check("versioning/archive-opens-nothing", func(t *testing.T) {
		// vw keeps old versions in priv (the owner's choice: as in Swift,
		// a writer of vw archives there); the writer still reads nothing
		// of priv, the archived version included.
		if code, _, b := do(t, "PUT", v1+"AUTH_test/vw/v", tok, nil, strings.NewReader("v1")); code != 201 {
			t.Fatalf("%d %s", code, b)
		}
		if code, _, b := do(t, "PUT", v1+"AUTH_test/vw/v", tok2, nil, strings.NewReader("v2")); code != 201 {
			t.Fatalf("overwrite by a writer: %d %s", code, b)
		}
		if code, _, _ := do(t, "GET", v1+"AUTH_test/priv?prefix=001v/", tok2, nil, nil); code != 403 {
			t.Errorf("listing the versions container: %d, want 403", code)
		}
		code, _, list := do(t, "GET", v1+"AUTH_test/priv?prefix=001v/", tok, nil, nil)
		if code != 200 || list == "" {
			t.Fatalf("owner's listing of archives: %d %q", code, list)
		}
		name, _, _ := strings.Cut(list, "\n")
		if code, _, _ := do(t, "GET", v1+"AUTH_test/priv/"+name, tok2, nil, nil); code != 403 {
			t.Errorf("reading the archived version: %d, want 403", code)
		}
	})
	check("staticweb/private-listing", func(t *testing.T) {
		if code, _, b := do(t, "POST", v1+"AUTH_test/priv", tok, hdr{"X-Container-Meta-Web-Listings": "true"}, nil); code != 204 {
			t.Fatalf("%d %s", code, b)
		}
		if code, _, b := do(t, "GET", v1+"AUTH_test/priv/", "", nil, nil); code != 401 || strings.Contains(b, "index.html") {
			t.Errorf("anonymous staticweb listing of a private container: %d %.100q, want 401", code, b)
		}
	})
	check("staticweb/listing-needs-rlistings", func(t *testing.T) {
		if code, _, b := do(t, "POST", v1+"AUTH_test/pub", tok, hdr{"X-Container-Meta-Web-Listings": "true"}, nil); code != 204 {
			t.Fatalf("%d %s", code, b)
		}
		if code, _, b := do(t, "GET", v1+"AUTH_test/pub/", "", nil, nil); code != 401 || strings.Contains(b, ">o<") {
			t.Errorf("anonymous staticweb listing without .rlistings: %d %.100q, want 401", code, b)
		}
	})
	check("staticweb/private-index", func(t *testing.T) {
		if code, _, b := do(t, "POST", v1+"AUTH_test/priv", tok, hdr{"X-Container-Meta-Web-Index": "index.html"}, nil); code != 204 {
			t.Fatalf("%d %s", code, b)
		}
		if code, _, b := do(t, "GET", v1+"AUTH_test/priv/", "", nil, nil); code != 401 || strings.Contains(b, "private index") {
			t.Errorf("anonymous staticweb index of a private container: %d %.100q, want 401", code, b)
		}
	})

}

func (a *swiftAttack) part8() {
	t, tok, tok3, v1, auth, expect, intact, privO := a.t, a.tok, a.tok3, a.v1, a.auth, a.expect, a.intact, a.privO
	// --- names ---
	expect("names/dotdot-container", 404, "GET", v1+"AUTH_test/../AUTH_test2/c2/o2", auth(tok), "")
	expect("names/encoded-dotdot", 404, "GET", v1+"AUTH_test/%2e%2e/AUTH_test2/c2/o2", auth(tok), "")
	expect("names/dotdot-account", 403, "GET", v1+"../AUTH_test2/c2/o2", auth(tok), "")
	expect("names/nul", 412, "PUT", v1+"AUTH_test/priv/a%00b", auth(tok), "x")
	expect("names/non-utf8", 412, "PUT", v1+"AUTH_test/priv/a%ffb", auth(tok), "x")
	expect("names/overlong-object", 400, "PUT", v1+"AUTH_test/priv/"+strings.Repeat("o", 1025), auth(tok), "x")
	expect("names/overlong-container", 400, "PUT", v1+"AUTH_test/"+strings.Repeat("c", 257), auth(tok), "")
	// (decoded, the account is still tester's own: container "..")
	expect("names/encoded-slash-account", 404, "GET", v1+"AUTH_test%2F..%2FAUTH_test2/c2/o2", auth(tok), "")

	// --- oversized headers and metadata ---
	expect("oversized/metadata-name", 400, "POST", privO, auth(tok, "X-Object-Meta-"+strings.Repeat("n", 129), "v"), "")
	expect("oversized/metadata-value", 400, "POST", privO, auth(tok, "X-Object-Meta-N", strings.Repeat("v", 257)), "")
	many90 := auth(tok)
	for i := 0; i < 91; i++ {
		many90[fmt.Sprintf("X-Object-Meta-M%02d", i)] = "v"
	}
	expect("oversized/metadata-count", 400, "POST", privO, many90, "")
	total := auth(tok)
	for i := 0; i < 20; i++ {
		total[fmt.Sprintf("X-Container-Meta-K%02d", i)] = strings.Repeat("v", 250)
	}
	expect("oversized/metadata-total", 400, "POST", v1+"AUTH_test/priv", total, "")
	expect("oversized/header-line", 400, "GET", privO, auth(tok, "X-Big", strings.Repeat("b", 8200)), "")
	expect("oversized/account-metadata-value", 400, "POST", v1+"AUTH_test", auth(tok, "X-Account-Meta-Big", strings.Repeat("v", 257)), "")

	// Nothing above reached the other account's object.
	intact(t, tok3, v1+"AUTH_test2/c2/o2", "other account's")
	intact(t, tok, privO, "secret")
}
