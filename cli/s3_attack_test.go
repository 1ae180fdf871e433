package cli_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// Attacks on the S3 signatures and on the headers a signature must cover
// (issue 13, findings 2, 10 and 11): each case is a request an attacker
// (or a client holding a captured or presigned request) could send, and
// the exact refusal S3 gives it. Where a refused request would have
// stored or exposed something, the case checks that it did not.
func TestAttackS3Signing(t *testing.T) {
	a := newSigAttack(t)
	var attacks []s3Attack
	for _, theme := range [][]s3Attack{a.finding2(), a.finding10(), a.finding11(), a.v4Header(), a.v4Presigned(),
		a.v2(), a.chunked(), a.postPolicies(), a.digestsAndXML()} {
		attacks = append(attacks, theme...)
	}
	// Every name is unique: a case must not hide another.
	names := map[string]bool{}
	for _, atk := range attacks {
		if names[atk.name] {
			t.Fatalf("duplicate case %q", atk.name)
		}
		names[atk.name] = true
	}
	for _, atk := range attacks {
		t.Run(atk.name, func(t *testing.T) {
			st, body := doS3(t, atk.req())
			if st != atk.status || atk.code != "" && between(body, "<Code>", "</Code>") != atk.code || !strings.Contains(body, atk.msg) {
				t.Fatalf("got %d %s, want %d %s %q", st, body, atk.status, atk.code, atk.msg)
			}
			if atk.after != nil {
				atk.after(t)
			}
		})
	}
	t.Logf("%d attack cases", len(attacks))

	// The same requests, properly signed, still work: the refusals above
	// are about the attack, not the operation.
	t.Run("controls", a.controls)
}

// s3Attack is one case of TestAttackS3Signing: the request and the
// refusal it must get.
type s3Attack struct {
	name   string
	req    func() *http.Request
	status int
	code   string // "" for HEAD, which has no body
	msg    string // part of the message, when it matters
	after  func(t *testing.T)
}

var (
	emptySHA256   = sha256hex("")
	attackerCreds = aws.Credentials{AccessKeyID: "evil:attacker", SecretAccessKey: "evilpw"}
)

// formConds are the conditions of sigAttack's good POST Object policy.
const formConds = `{"bucket": "atk"}, ["starts-with", "$key", "form/"], ["content-length-range", 0, 10]`

// sigAttack is TestAttackS3Signing's server: the victim (test:tester)
// owns bucket atk with a private object secret and an upload in progress;
// evil:attacker is another user.
type sigAttack struct {
	t        *testing.T
	u        string // the server's URL
	now      time.Time
	uploadID string // the upload in progress, atk/mp
	putURL   string // a presigned PUT URL the victim handed out for atk/upload
	good     string // a POST Object policy of formConds, valid for an hour
}

func newSigAttack(t *testing.T) *sigAttack {
	// Dozens of deliberately bad signatures from one address and key: the
	// failed-login throttle (tested in TestAttackLoginThrottle*) would
	// answer SlowDown before the refusal each case asserts.
	cfg := filepath.Join(t.TempDir(), "swiftbox.yaml")
	if err := os.WriteFile(cfg, []byte("auth:\n  login_throttle: {max_failures: 1000}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := startServer(t, t.TempDir(), "--config", cfg, "--user", "test:tester:testing:.admin", "--user", "evil:attacker:evilpw")
	a := &sigAttack{t: t, u: s.URL, now: time.Now()}
	u, now, empty := a.u, a.now, emptySHA256

	// The victim's bucket with a private object, and an upload in progress.
	mustS3(t, signedReq(t, "PUT", u+"/atk", nil, empty, now), 200)
	mustS3(t, signedReq(t, "PUT", u+"/atk/secret", strings.NewReader("private data"), sha256hex("private data"), now), 200)
	st, body := doS3(t, signedReq(t, "POST", u+"/atk/mp?uploads", nil, empty, now))
	a.uploadID = between(body, "<UploadId>", "</UploadId>")
	if st != 200 || a.uploadID == "" {
		t.Fatalf("CreateMultipartUpload: %d %s", st, body)
	}
	a.putURL = a.presigned("PUT", "/atk/upload", 600, now, "us-east-1")
	a.good = policyDoc(now.Add(time.Hour), formConds)
	return a
}

// notStored checks that a refused request left no object behind.
func (a *sigAttack) notStored(key string) func(t *testing.T) {
	return func(t *testing.T) {
		if st, _ := doS3(t, signedReq(t, "HEAD", a.u+"/atk/"+key, nil, emptySHA256, a.now)); st != 404 {
			t.Errorf("refused request left atk/%s (HEAD %d)", key, st)
		}
	}
}

// secretStaysPrivate checks the attacker still cannot read atk/secret.
func (a *sigAttack) secretStaysPrivate(t *testing.T) {
	if st, _ := doS3(t, signedReqAs(t, attackerCreds, "GET", a.u+"/atk/secret", nil, emptySHA256, a.now)); st != 403 {
		t.Errorf("attacker reads atk/secret: %d", st)
	}
}

// presigned is a SigV4 presigned URL of the victim's.
func (a *sigAttack) presigned(method, path string, expires int, at time.Time, region string) string {
	req, _ := http.NewRequest(method, a.u+path, nil)
	q := req.URL.Query()
	q.Set("X-Amz-Expires", strconv.Itoa(expires))
	req.URL.RawQuery = q.Encode()
	signed, _, err := v4.NewSigner().PresignHTTP(context.Background(), testCreds, req, "UNSIGNED-PAYLOAD", "s3", region, at)
	if err != nil {
		a.t.Fatal(err)
	}
	return signed
}

func withBody(method, rawURL, body string, hdr ...string) *http.Request {
	req, _ := http.NewRequest(method, rawURL, strings.NewReader(body))
	for _, h := range hdr {
		k, v, _ := strings.Cut(h, ":")
		req.Header.Set(k, strings.TrimSpace(v))
	}
	return req
}

// v2Sign signs a SigV2 string to sign with secret.
func v2Sign(secret, sts string) string {
	m := hmac.New(sha1.New, []byte(secret))
	m.Write([]byte(sts))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// v2Header is a SigV2 header-signed request as test:tester with secret,
// the x-amz headers amz ("name:value") signed.
func (a *sigAttack) v2Header(method, path, date, secret string, amz ...string) *http.Request {
	req, _ := http.NewRequest(method, a.u+path, nil)
	req.Header.Set("Date", date)
	sts := method + "\n\n\n" + date + "\n"
	for _, h := range amz {
		sts += h + "\n"
		k, v, _ := strings.Cut(h, ":")
		req.Header.Set(k, v)
	}
	res, _, _ := strings.Cut(path, "?")
	if strings.HasSuffix(path, "?acl") {
		res += "?acl"
	}
	req.Header.Set("Authorization", "AWS test:tester:"+v2Sign(secret, sts+res))
	return req
}

// v2Presigned is a SigV2 presigned URL of the victim's.
func (a *sigAttack) v2Presigned(method, path string, expires string) string {
	q := url.Values{"AWSAccessKeyId": {"test:tester"}, "Expires": {expires}, "Signature": {v2Sign("testing", method+"\n\n\n"+expires+"\n"+path)}}
	return a.u + path + "?" + q.Encode()
}

func httpDate(at time.Time) string { return at.UTC().Format(http.TimeFormat) }

// chunkedPut is a signed aws-chunked PUT of chunks (corrupt: the index
// of a chunk whose signature is wrong, -1 none), with the framing
// passed through edit and X-Amz-Decoded-Content-Length decoded.
func (a *sigAttack) chunkedPut(key string, chunks []string, corrupt int, decoded string, edit func(string) string) *http.Request {
	hdr := []string{"Content-Encoding: aws-chunked"}
	if decoded != "" {
		hdr = append(hdr, "X-Amz-Decoded-Content-Length: "+decoded)
	}
	req := signedReq(a.t, "PUT", a.u+"/atk/"+key, nil, "STREAMING-AWS4-HMAC-SHA256-PAYLOAD", a.now, hdr...)
	framed := edit(awsChunked(seedSignature(req), a.now, chunks, corrupt))
	req.Body = io.NopCloser(strings.NewReader(framed))
	req.ContentLength = int64(len(framed))
	return req
}

// keepFraming is chunkedPut's edit that leaves the framing as signed.
func keepFraming(s string) string { return s }

// policyDoc is a POST Object policy (SigV2) expiring at exp with conds
// ("-": no conditions at all), base64-encoded.
func policyDoc(exp time.Time, conds string) string {
	doc := `{"expiration": "` + exp.UTC().Format("2006-01-02T15:04:05Z") + `"`
	if conds != "-" {
		doc += `, "conditions": [` + conds + `]`
	}
	return base64.StdEncoding.EncodeToString([]byte(doc + "}"))
}

// form is a POST Object into atk with policy p, signature sig, key and
// access key, the extra fields ("name=value"; file= the file's content).
func (a *sigAttack) form(p, sig, key, access string, extra ...string) func() *http.Request {
	return func() *http.Request {
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		for _, f := range [][2]string{{"key", key}, {"AWSAccessKeyId", access}, {"policy", p}, {"signature", sig}} {
			mw.WriteField(f[0], f[1])
		}
		for _, e := range extra {
			k, v, _ := strings.Cut(e, "=")
			mw.WriteField(k, v)
		}
		fw, _ := mw.CreateFormFile("file", "f.txt")
		file := ""
		for _, e := range extra {
			if f, ok := strings.CutPrefix(e, "file="); ok {
				file = f
			}
		}
		fw.Write([]byte(file))
		mw.Close()
		req, _ := http.NewRequest("POST", a.u+"/atk", &buf)
		req.Header.Set("Content-Type", mw.FormDataContentType())
		return req
	}
}

// goodForm is a POST Object under the good policy, rightly signed.
func (a *sigAttack) goodForm(key string, extra ...string) func() *http.Request {
	return a.form(a.good, v2Sign("testing", a.good), key, "test:tester", extra...)
}

func sha256b64(s string) string {
	h := sha256.Sum256([]byte(s))
	return base64.StdEncoding.EncodeToString(h[:])
}

func sumOf(h hash.Hash, s string) string {
	h.Write([]byte(s))
	return base64.StdEncoding.EncodeToString(h.Sum(nil))
}

// hdr is a SigV4 header-signed request as the victim, headers extra signed.
func (a *sigAttack) hdr(method, path string, body string, extra ...string) func() *http.Request {
	return func() *http.Request {
		var rd io.Reader
		if body != "" {
			rd = strings.NewReader(body)
		}
		return signedReq(a.t, method, a.u+path, rd, sha256hex(body), a.now, extra...)
	}
}

// addAfterSigning signs the request, then adds headers as a replayer would.
func addAfterSigning(req func() *http.Request, extra ...string) func() *http.Request {
	return func() *http.Request {
		r := req()
		for _, h := range extra {
			k, v, _ := strings.Cut(h, ":")
			r.Header.Set(k, strings.TrimSpace(v))
		}
		return r
	}
}

func tamperURL(req func() *http.Request, edit func(*url.URL)) func() *http.Request {
	return func() *http.Request { r := req(); edit(r.URL); return r }
}

// rawReq is an unsigned request (the URL may carry a presigned query).
func rawReq(method, rawURL string, hdr ...string) func() *http.Request {
	return func() *http.Request { return withBody(method, rawURL, "", hdr...) }
}

// v4As is a SigV4 GET of atk/secret signed with creds for region and
// service at a time.
func (a *sigAttack) v4As(creds aws.Credentials, region, service string, at time.Time) func() *http.Request {
	return func() *http.Request {
		req, _ := http.NewRequest("GET", a.u+"/atk/secret", nil)
		req.Header.Set("X-Amz-Content-Sha256", emptySHA256)
		v4.NewSigner().SignHTTP(context.Background(), creds, req, emptySHA256, service, region, at)
		return req
	}
}

func editAuth(req func() *http.Request, old, new string) func() *http.Request {
	return func() *http.Request {
		r := req()
		r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), old, new, 1))
		return r
	}
}

// controls: the same requests as the attacks, properly signed, still work.
func (a *sigAttack) controls(t *testing.T) {
	u, now, empty, putURL := a.u, a.now, emptySHA256, a.putURL
	st, body := doS3(t, withBody("PUT", putURL, "uploaded"))
	if st != 200 {
		t.Fatalf("presigned PUT as issued: %d %s", st, body)
	}
	if st, body := doS3(t, signedReq(t, "PUT", u+"/atk/e0", nil, empty, now, "X-Amz-Checksum-Sha256: "+sha256b64(""))); st != 200 {
		t.Fatalf("empty PUT with the right checksum: %d %s", st, body)
	}
	if st, body := doS3(t, signedReq(t, "PUT", u+"/atk/owned", strings.NewReader("x"), sha256hex("x"), now, "X-Amz-Expected-Bucket-Owner: test:tester")); st != 200 {
		t.Fatalf("PUT with the right expected bucket owner: %d %s", st, body)
	}
	if st, body := doS3(t, signedReq(t, "PUT", u+"/atk/copy", nil, empty, now, "X-Amz-Copy-Source: /atk/secret", "X-Amz-Source-Expected-Bucket-Owner: test:tester")); st != 200 {
		t.Fatalf("copy with the right source owner: %d %s", st, body)
	}
	if st, body := doS3(t, a.goodForm("form/ok", "file=ok")()); st != 204 {
		t.Fatalf("POST Object as the policy allows: %d %s", st, body)
	}
	exp := strconv.FormatInt(now.Add(time.Hour).Unix(), 10)
	if st, body := doS3(t, withBody("GET", a.v2Presigned("GET", "/atk/secret", exp), "")); st != 200 || body != "private data" {
		t.Fatalf("SigV2 presigned GET: %d %s", st, body)
	}
	if st, body := doS3(t, a.v2Header("PUT", "/atk/v2amz", httpDate(now), "testing", "x-amz-meta-a:1")); st != 200 {
		t.Fatalf("SigV2 PUT with a signed x-amz-meta header: %d %s", st, body)
	}
}

// signedReqAs is signedReq with other credentials.
func signedReqAs(t *testing.T, creds aws.Credentials, method, u string, body io.Reader, payloadHash string, at time.Time) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Amz-Content-Sha256", payloadHash)
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, payloadHash, "s3", "us-east-1", at); err != nil {
		t.Fatal(err)
	}
	return req
}

func mustS3(t *testing.T, req *http.Request, want int) {
	t.Helper()
	if st, body := doS3(t, req); st != want {
		t.Fatalf("%s %s: %d %s", req.Method, req.URL, st, body)
	}
}

func between(s, a, b string) string {
	i := strings.Index(s, a)
	if i < 0 {
		return ""
	}
	rest := s[i+len(a):]
	j := strings.Index(rest, b)
	if j < 0 {
		return ""
	}
	return rest[:j]
}

func md5b64(s string) string {
	sum := md5.Sum([]byte(s))
	return base64.StdEncoding.EncodeToString(sum[:])
}

// signV4Without signs a GET with SigV4 by hand, leaving header drop out of
// SignedHeaders (which the SDK's signer never does).
func signV4Without(t *testing.T, method, rawURL, drop string, at time.Time) *http.Request {
	t.Helper()
	req, _ := http.NewRequest(method, rawURL, nil)
	amzDate := at.UTC().Format("20060102T150405Z")
	req.Header.Set("X-Amz-Date", amzDate)
	req.Header.Set("X-Amz-Content-Sha256", sha256hex(""))
	hdrs := map[string]string{"host": req.URL.Host, "x-amz-date": amzDate, "x-amz-content-sha256": sha256hex("")}
	delete(hdrs, drop)
	var names []string
	for k := range hdrs {
		names = append(names, k)
	}
	sort.Strings(names)
	var canon strings.Builder
	canon.WriteString(method + "\n" + req.URL.EscapedPath() + "\n\n")
	for _, k := range names {
		canon.WriteString(k + ":" + hdrs[k] + "\n")
	}
	signed := strings.Join(names, ";")
	canon.WriteString("\n" + signed + "\n" + sha256hex(""))
	scope := at.UTC().Format("20060102") + "/us-east-1/s3/aws4_request"
	key := []byte("AWS4" + testCreds.SecretAccessKey)
	for _, p := range strings.Split(scope, "/") {
		key = hmacSHA(key, p)
	}
	sts := "AWS4-HMAC-SHA256\n" + amzDate + "\n" + scope + "\n" + sha256hex(canon.String())
	sig := hex.EncodeToString(hmacSHA(key, sts))
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential="+testCreds.AccessKeyID+"/"+scope+", SignedHeaders="+signed+", Signature="+sig)
	return req
}

// URLs presigned by real clients work as issued, and refuse the headers
// an attacker would add (finding 2): aws CLI (SigV4 query) and s3cmd
// signurl (SigV2 query).
func TestS3PresignedByClients(t *testing.T) {
	s := startServer(t, t.TempDir(), "--user", "test:tester:testing:.admin")
	now := time.Now()
	mustS3(t, signedReq(t, "PUT", s.URL+"/pre", nil, sha256hex(""), now), 200)
	mustS3(t, signedReq(t, "PUT", s.URL+"/pre/obj", strings.NewReader("presigned"), sha256hex("presigned"), now), 200)
	check := func(t *testing.T, u, wantCode string) {
		t.Helper()
		u = strings.TrimSpace(u)
		if st, body := doS3(t, withHeaders("GET", u)); st != 200 || body != "presigned" {
			t.Fatalf("GET %s: %d %s", u, st, body)
		}
		st, body := doS3(t, withHeaders("GET", u, "X-Amz-Copy-Source: /pre/obj", "X-Amz-Acl: public-read"))
		if st != 403 || between(body, "<Code>", "</Code>") != wantCode {
			t.Fatalf("GET %s with unsigned x-amz headers: %d %s", u, st, body)
		}
	}
	t.Run("aws", func(t *testing.T) {
		needTool(t, "aws", "awscli")
		env := clientEnv(t, "AWS_ACCESS_KEY_ID=test:tester", "AWS_SECRET_ACCESS_KEY=testing",
			"AWS_DEFAULT_REGION=us-east-1", "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "AWS_PAGER=")
		// aws-cli 1.x presigns with SigV2 unless told SigV4: ask for SigV4.
		cfg := t.TempDir() + "/config"
		if err := os.WriteFile(cfg, []byte("[default]\ns3 =\n    signature_version = s3v4\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		env = append(env, "AWS_CONFIG_FILE="+cfg)
		u := runTool(t, s, env, t.TempDir(), "aws", "--endpoint-url", s.URL, "s3", "presign", "s3://pre/obj", "--expires-in", "300")
		if !strings.Contains(u, "X-Amz-Signature=") {
			t.Fatalf("aws s3 presign gave no SigV4 URL: %s", u)
		}
		check(t, u, "AccessDenied")
	})
	t.Run("s3cmd", func(t *testing.T) {
		needTool(t, "s3cmd", "s3cmd")
		work := t.TempDir()
		host := strings.TrimPrefix(s.URL, "http://")
		cfg := filepath.Join(work, "s3cfg")
		os.WriteFile(cfg, fmt.Appendf(nil, "[default]\naccess_key = test:tester\nsecret_key = testing\nhost_base = %s\nhost_bucket = %s\nuse_https = False\n", host, host), 0o600)
		u := runTool(t, s, clientEnv(t), work, "s3cmd", "-c", cfg, "signurl", "s3://pre/obj", "+300")
		check(t, u, "SignatureDoesNotMatch")
	})
}

func withHeaders(method, u string, hdr ...string) *http.Request {
	req, _ := http.NewRequest(method, u, nil)
	for _, h := range hdr {
		k, v, _ := strings.Cut(h, ":")
		req.Header.Set(k, strings.TrimSpace(v))
	}
	return req
}
