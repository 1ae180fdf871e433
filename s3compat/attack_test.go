package s3compat_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"hash"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"swiftbox/config"
	"swiftbox/s3compat/s3test"
	"swiftbox/server/servertest"
)

// Attacks on the S3 signatures and on the headers a signature must cover
// (issue 13, findings 2, 10 and 11): each case is a request an attacker
// (or a client holding a captured or presigned request) could send, and
// the exact refusal S3 gives it. Where a refused request would have
// stored or exposed something, the case checks that it did not.
func TestAttackS3Signing(t *testing.T) {
	t.Parallel()
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
			st, body := s3test.Do(t, atk.req())
			if st != atk.status || atk.code != "" && s3test.Between(body, "<Code>", "</Code>") != atk.code || !strings.Contains(body, atk.msg) {
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
	emptySHA256   = s3test.SHA256Hex("")
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
	s := servertest.Start(t, servertest.Options{S3: true, Configure: func(c *config.Config) { c.Auth.LoginThrottle.MaxFailures = 1000 },
		Users: []string{"test:tester:testing:.admin", "evil:attacker:evilpw"}})
	a := &sigAttack{t: t, u: s.URL, now: time.Now()}
	u, now, empty := a.u, a.now, emptySHA256

	// The victim's bucket with a private object, and an upload in progress.
	s3test.Must(t, s3test.SignedRequest(t, s3test.Creds, "PUT", u+"/atk", nil, empty, now), 200)
	s3test.Must(t, s3test.SignedRequest(t, s3test.Creds, "PUT", u+"/atk/secret", strings.NewReader("private data"), s3test.SHA256Hex("private data"), now), 200)
	st, body := s3test.Do(t, s3test.SignedRequest(t, s3test.Creds, "POST", u+"/atk/mp?uploads", nil, empty, now))
	a.uploadID = s3test.Between(body, "<UploadId>", "</UploadId>")
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
		if st, _ := s3test.Do(t, s3test.SignedRequest(t, s3test.Creds, "HEAD", a.u+"/atk/"+key, nil, emptySHA256, a.now)); st != 404 {
			t.Errorf("refused request left atk/%s (HEAD %d)", key, st)
		}
	}
}

// secretStaysPrivate checks the attacker still cannot read atk/secret.
func (a *sigAttack) secretStaysPrivate(t *testing.T) {
	if st, _ := s3test.Do(t, signedReqAs(t, attackerCreds, "GET", a.u+"/atk/secret", nil, emptySHA256, a.now)); st != 403 {
		t.Errorf("attacker reads atk/secret: %d", st)
	}
}

// presigned is a SigV4 presigned URL of the victim's.
func (a *sigAttack) presigned(method, path string, expires int, at time.Time, region string) string {
	req, _ := http.NewRequest(method, a.u+path, nil)
	q := req.URL.Query()
	q.Set("X-Amz-Expires", strconv.Itoa(expires))
	req.URL.RawQuery = q.Encode()
	signed, _, err := v4.NewSigner().PresignHTTP(context.Background(), s3test.Creds, req, "UNSIGNED-PAYLOAD", "s3", region, at)
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
	req := s3test.SignedRequest(a.t, s3test.Creds, "PUT", a.u+"/atk/"+key, nil, "STREAMING-AWS4-HMAC-SHA256-PAYLOAD", a.now, hdr...)
	framed := edit(s3test.AWSChunked(s3test.Creds.SecretAccessKey, s3test.SeedSignature(req), a.now, chunks, corrupt))
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
		return s3test.SignedRequest(a.t, s3test.Creds, method, a.u+path, rd, s3test.SHA256Hex(body), a.now, extra...)
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
	st, body := s3test.Do(t, withBody("PUT", putURL, "uploaded"))
	if st != 200 {
		t.Fatalf("presigned PUT as issued: %d %s", st, body)
	}
	if st, body := s3test.Do(t, s3test.SignedRequest(t, s3test.Creds, "PUT", u+"/atk/e0", nil, empty, now, "X-Amz-Checksum-Sha256: "+sha256b64(""))); st != 200 {
		t.Fatalf("empty PUT with the right checksum: %d %s", st, body)
	}
	if st, body := s3test.Do(t, s3test.SignedRequest(t, s3test.Creds, "PUT", u+"/atk/owned", strings.NewReader("x"), s3test.SHA256Hex("x"), now, "X-Amz-Expected-Bucket-Owner: test:tester")); st != 200 {
		t.Fatalf("PUT with the right expected bucket owner: %d %s", st, body)
	}
	if st, body := s3test.Do(t, s3test.SignedRequest(t, s3test.Creds, "PUT", u+"/atk/copy", nil, empty, now, "X-Amz-Copy-Source: /atk/secret", "X-Amz-Source-Expected-Bucket-Owner: test:tester")); st != 200 {
		t.Fatalf("copy with the right source owner: %d %s", st, body)
	}
	if st, body := s3test.Do(t, a.goodForm("form/ok", "file=ok")()); st != 204 {
		t.Fatalf("POST Object as the policy allows: %d %s", st, body)
	}
	exp := strconv.FormatInt(now.Add(time.Hour).Unix(), 10)
	if st, body := s3test.Do(t, withBody("GET", a.v2Presigned("GET", "/atk/secret", exp), "")); st != 200 || body != "private data" {
		t.Fatalf("SigV2 presigned GET: %d %s", st, body)
	}
	if st, body := s3test.Do(t, a.v2Header("PUT", "/atk/v2amz", httpDate(now), "testing", "x-amz-meta-a:1")); st != 200 {
		t.Fatalf("SigV2 PUT with a signed x-amz-meta header: %d %s", st, body)
	}
}

// signedReqAs is s3test.SignedRequest with other credentials.
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
	req.Header.Set("X-Amz-Content-Sha256", s3test.SHA256Hex(""))
	hdrs := map[string]string{"host": req.URL.Host, "x-amz-date": amzDate, "x-amz-content-sha256": s3test.SHA256Hex("")}
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
	canon.WriteString("\n" + signed + "\n" + s3test.SHA256Hex(""))
	scope := at.UTC().Format("20060102") + "/us-east-1/s3/aws4_request"
	key := []byte("AWS4" + s3test.Creds.SecretAccessKey)
	for _, p := range strings.Split(scope, "/") {
		key = s3test.HMAC(key, p)
	}
	sts := "AWS4-HMAC-SHA256\n" + amzDate + "\n" + scope + "\n" + s3test.SHA256Hex(canon.String())
	sig := hex.EncodeToString(s3test.HMAC(key, sts))
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential="+s3test.Creds.AccessKeyID+"/"+scope+", SignedHeaders="+signed+", Signature="+sig)
	return req
}
