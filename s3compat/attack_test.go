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
	"hash/crc32"
	"hash/crc64"
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
	// Dozens of deliberately bad signatures from one address and key: the
	// failed-login throttle (tested in TestAttackLoginThrottle*) would
	// answer SlowDown before the refusal each case asserts.
	s := servertest.Start(t, servertest.Options{S3: true, Configure: func(c *config.Config) { c.Auth.LoginThrottle.MaxFailures = 1000 },
		Users: []string{"test:tester:testing:.admin", "evil:attacker:evilpw"}})
	now := time.Now()
	u := s.URL
	empty := s3test.SHA256Hex("")
	evil := aws.Credentials{AccessKeyID: "evil:attacker", SecretAccessKey: "evilpw"}

	// The victim's bucket with a private object, and an upload in progress.
	s3test.Must(t, s3test.SignedRequest(t, s3test.Creds, "PUT", u+"/atk", nil, empty, now), 200)
	s3test.Must(t, s3test.SignedRequest(t, s3test.Creds, "PUT", u+"/atk/secret", strings.NewReader("private data"), s3test.SHA256Hex("private data"), now), 200)
	st, body := s3test.Do(t, s3test.SignedRequest(t, s3test.Creds, "POST", u+"/atk/mp?uploads", nil, empty, now))
	uploadID := s3test.Between(body, "<UploadId>", "</UploadId>")
	if st != 200 || uploadID == "" {
		t.Fatalf("CreateMultipartUpload: %d %s", st, body)
	}

	// notStored checks that a refused request left no object behind.
	notStored := func(key string) func(t *testing.T) {
		return func(t *testing.T) {
			if st, _ := s3test.Do(t, s3test.SignedRequest(t, s3test.Creds, "HEAD", u+"/atk/"+key, nil, empty, now)); st != 404 {
				t.Errorf("refused request left atk/%s (HEAD %d)", key, st)
			}
		}
	}
	// secretStaysPrivate checks the attacker still cannot read atk/secret.
	secretStaysPrivate := func(t *testing.T) {
		if st, _ := s3test.Do(t, signedReqAs(t, evil, "GET", u+"/atk/secret", nil, empty, now)); st != 403 {
			t.Errorf("attacker reads atk/secret: %d", st)
		}
	}

	presigned := func(method, path string, expires int, at time.Time, region string) string {
		req, _ := http.NewRequest(method, u+path, nil)
		q := req.URL.Query()
		q.Set("X-Amz-Expires", strconv.Itoa(expires))
		req.URL.RawQuery = q.Encode()
		signed, _, err := v4.NewSigner().PresignHTTP(context.Background(), s3test.Creds, req, "UNSIGNED-PAYLOAD", "s3", region, at)
		if err != nil {
			t.Fatal(err)
		}
		return signed
	}
	withBody := func(method, rawURL, body string, hdr ...string) *http.Request {
		req, _ := http.NewRequest(method, rawURL, strings.NewReader(body))
		for _, h := range hdr {
			k, v, _ := strings.Cut(h, ":")
			req.Header.Set(k, strings.TrimSpace(v))
		}
		return req
	}
	// v2Sign signs a SigV2 string to sign with secret.
	v2Sign := func(secret, sts string) string {
		m := hmac.New(sha1.New, []byte(secret))
		m.Write([]byte(sts))
		return base64.StdEncoding.EncodeToString(m.Sum(nil))
	}
	v2Header := func(method, path, date, secret string, amz ...string) *http.Request {
		req, _ := http.NewRequest(method, u+path, nil)
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
	v2Presigned := func(method, path string, expires string) string {
		q := url.Values{"AWSAccessKeyId": {"test:tester"}, "Expires": {expires}, "Signature": {v2Sign("testing", method+"\n\n\n"+expires+"\n"+path)}}
		return u + path + "?" + q.Encode()
	}
	httpDate := func(at time.Time) string { return at.UTC().Format(http.TimeFormat) }

	// A presigned PUT URL the victim handed out for atk/upload.
	putURL := presigned("PUT", "/atk/upload", 600, now, "us-east-1")

	// chunkedPut is a signed aws-chunked PUT of chunks (corrupt: the index
	// of a chunk whose signature is wrong, -1 none), with the framing
	// passed through edit and X-Amz-Decoded-Content-Length decoded.
	chunkedPut := func(key string, chunks []string, corrupt int, decoded string, edit func(string) string) *http.Request {
		hdr := []string{"Content-Encoding: aws-chunked"}
		if decoded != "" {
			hdr = append(hdr, "X-Amz-Decoded-Content-Length: "+decoded)
		}
		req := s3test.SignedRequest(t, s3test.Creds, "PUT", u+"/atk/"+key, nil, "STREAMING-AWS4-HMAC-SHA256-PAYLOAD", now, hdr...)
		framed := edit(s3test.AWSChunked(s3test.Creds.SecretAccessKey, s3test.SeedSignature(req), now, chunks, corrupt))
		req.Body = io.NopCloser(strings.NewReader(framed))
		req.ContentLength = int64(len(framed))
		return req
	}
	same := func(s string) string { return s }

	// POST Object forms signed with SigV2 policies.
	policy := func(exp time.Time, conds string) string {
		doc := `{"expiration": "` + exp.UTC().Format("2006-01-02T15:04:05Z") + `"`
		if conds != "-" {
			doc += `, "conditions": [` + conds + `]`
		}
		return base64.StdEncoding.EncodeToString([]byte(doc + "}"))
	}
	conds := `{"bucket": "atk"}, ["starts-with", "$key", "form/"], ["content-length-range", 0, 10]`
	good := policy(now.Add(time.Hour), conds)
	form := func(p, sig, key, access string, extra ...string) func() *http.Request {
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
			req, _ := http.NewRequest("POST", u+"/atk", &buf)
			req.Header.Set("Content-Type", mw.FormDataContentType())
			return req
		}
	}
	goodForm := func(key string, extra ...string) func() *http.Request {
		return form(good, v2Sign("testing", good), key, "test:tester", extra...)
	}

	sha256b64 := func(s string) string { h := sha256.Sum256([]byte(s)); return base64.StdEncoding.EncodeToString(h[:]) }
	sumOf := func(h hash.Hash, s string) string {
		h.Write([]byte(s))
		return base64.StdEncoding.EncodeToString(h.Sum(nil))
	}

	type attack struct {
		name   string
		req    func() *http.Request
		status int
		code   string // "" for HEAD, which has no body
		msg    string // part of the message, when it matters
		after  func(t *testing.T)
	}
	hdr := func(method, path string, body string, extra ...string) func() *http.Request {
		return func() *http.Request {
			var rd io.Reader
			if body != "" {
				rd = strings.NewReader(body)
			}
			return s3test.SignedRequest(t, s3test.Creds, method, u+path, rd, s3test.SHA256Hex(body), now, extra...)
		}
	}
	// addAfterSigning signs the request, then adds headers as a replayer would.
	addAfterSigning := func(req func() *http.Request, extra ...string) func() *http.Request {
		return func() *http.Request {
			r := req()
			for _, h := range extra {
				k, v, _ := strings.Cut(h, ":")
				r.Header.Set(k, strings.TrimSpace(v))
			}
			return r
		}
	}
	tamperURL := func(req func() *http.Request, edit func(*url.URL)) func() *http.Request {
		return func() *http.Request { r := req(); edit(r.URL); return r }
	}
	raw := func(method, rawURL string, hdr ...string) func() *http.Request {
		return func() *http.Request { return withBody(method, rawURL, "", hdr...) }
	}
	v4As := func(creds aws.Credentials, region, service string, at time.Time) func() *http.Request {
		return func() *http.Request {
			req, _ := http.NewRequest("GET", u+"/atk/secret", nil)
			req.Header.Set("X-Amz-Content-Sha256", empty)
			v4.NewSigner().SignHTTP(context.Background(), creds, req, empty, service, region, at)
			return req
		}
	}
	editAuth := func(req func() *http.Request, old, new string) func() *http.Request {
		return func() *http.Request {
			r := req()
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), old, new, 1))
			return r
		}
	}
	wrongSum := sha256b64("not empty")
	crc := func(h hash.Hash) string { return sumOf(h, "not empty") }

	attacks := []attack{
		// Finding 2: x-amz-* headers the signature does not cover.
		{name: "f2/presigned PUT replayed as a copy with a grant", req: func() *http.Request {
			return withBody("PUT", putURL, "", "X-Amz-Copy-Source: atk/secret", "X-Amz-Grant-Read: id=evil:attacker")
		}, status: 403, code: "AccessDenied", msg: "headers present in the request which were not signed",
			after: func(t *testing.T) { notStored("upload")(t); secretStaysPrivate(t) }},
		{name: "f2/presigned PUT with an unsigned x-amz-acl", req: func() *http.Request {
			return withBody("PUT", putURL, "data", "X-Amz-Acl: public-read-write")
		}, status: 403, code: "AccessDenied", msg: "not signed", after: notStored("upload")},
		{name: "f2/presigned GET with an unsigned x-amz-request-payer", req: func() *http.Request {
			return withBody("GET", presigned("GET", "/atk/secret", 600, now, "us-east-1"), "", "X-Amz-Request-Payer: requester")
		}, status: 403, code: "AccessDenied", msg: "not signed"},
		{name: "f2/header-signed PUT replayed with x-amz-copy-source", req: addAfterSigning(hdr("PUT", "/atk/upload", ""), "X-Amz-Copy-Source: /atk/secret"),
			status: 403, code: "AccessDenied", msg: "not signed", after: notStored("upload")},
		{name: "f2/header-signed PUT replayed with a grant to the attacker", req: addAfterSigning(hdr("PUT", "/atk/upload", "x"), "X-Amz-Grant-Full-Control: id=evil:attacker"),
			status: 403, code: "AccessDenied", msg: "not signed", after: notStored("upload")},
		{name: "f2/header-signed copy replayed with x-amz-metadata-directive", req: addAfterSigning(hdr("PUT", "/atk/copy", "", "X-Amz-Copy-Source: /atk/secret"), "X-Amz-Metadata-Directive: REPLACE"),
			status: 403, code: "AccessDenied", msg: "not signed", after: notStored("copy")},
		{name: "f2/SigV4 without host in SignedHeaders", req: func() *http.Request {
			return signV4Without(t, "GET", u+"/atk/secret", "host", now)
		}, status: 403, code: "AccessDenied", msg: "not signed"},
		{name: "f2/SigV2 header request replayed with x-amz-copy-source", req: addAfterSigning(func() *http.Request {
			return v2Header("PUT", "/atk/upload", httpDate(now), "testing")
		}, "X-Amz-Copy-Source: /atk/secret"), status: 403, code: "SignatureDoesNotMatch", after: notStored("upload")},
		{name: "f2/SigV2 presigned PUT replayed with x-amz-copy-source", req: func() *http.Request {
			return withBody("PUT", v2Presigned("PUT", "/atk/upload", strconv.FormatInt(now.Add(time.Hour).Unix(), 10)), "", "X-Amz-Copy-Source: /atk/secret")
		}, status: 403, code: "SignatureDoesNotMatch", after: notStored("upload")},

		// Finding 10: encryption (and other features) asked for and not done.
		{name: "f10/PUT with SSE-C", req: hdr("PUT", "/atk/ssec", "plain",
			"X-Amz-Server-Side-Encryption-Customer-Algorithm: AES256",
			"X-Amz-Server-Side-Encryption-Customer-Key: "+base64.StdEncoding.EncodeToString(bytes.Repeat([]byte("k"), 32)),
			"X-Amz-Server-Side-Encryption-Customer-Key-Md5: "+md5b64(string(bytes.Repeat([]byte("k"), 32)))),
			status: 501, code: "NotImplemented", msg: "customer-provided keys", after: notStored("ssec")},
		{name: "f10/PUT with SSE-S3", req: hdr("PUT", "/atk/sses3", "plain", "X-Amz-Server-Side-Encryption: AES256"),
			status: 501, code: "NotImplemented", msg: "encryption", after: notStored("sses3")},
		{name: "f10/PUT with SSE-KMS", req: hdr("PUT", "/atk/kms", "plain", "X-Amz-Server-Side-Encryption: aws:kms", "X-Amz-Server-Side-Encryption-Aws-Kms-Key-Id: k1"),
			status: 501, code: "NotImplemented", after: notStored("kms")},
		{name: "f10/PUT with a KMS key id alone", req: hdr("PUT", "/atk/kms", "plain", "X-Amz-Server-Side-Encryption-Aws-Kms-Key-Id: k1"),
			status: 501, code: "NotImplemented", after: notStored("kms")},
		{name: "f10/PUT with an unknown encryption method", req: hdr("PUT", "/atk/sse", "plain", "X-Amz-Server-Side-Encryption: rot13"),
			status: 400, code: "InvalidArgument", msg: "encryption method", after: notStored("sse")},
		{name: "f10/copy with SSE-C of the source", req: hdr("PUT", "/atk/copy", "", "X-Amz-Copy-Source: /atk/secret",
			"X-Amz-Copy-Source-Server-Side-Encryption-Customer-Algorithm: AES256"), status: 501, code: "NotImplemented", after: notStored("copy")},
		{name: "f10/copy asking SSE-S3 for the copy", req: hdr("PUT", "/atk/copy", "", "X-Amz-Copy-Source: /atk/secret",
			"X-Amz-Server-Side-Encryption: AES256"), status: 501, code: "NotImplemented", after: notStored("copy")},
		{name: "f10/CreateMultipartUpload with SSE-C", req: hdr("POST", "/atk/mp2?uploads", "", "X-Amz-Server-Side-Encryption-Customer-Algorithm: AES256"),
			status: 501, code: "NotImplemented"},
		{name: "f10/UploadPart with SSE-C", req: hdr("PUT", "/atk/mp?partNumber=1&uploadId="+url.QueryEscape(uploadID), "part",
			"X-Amz-Server-Side-Encryption-Customer-Algorithm: AES256"), status: 501, code: "NotImplemented"},
		{name: "f10/GET with SSE-C", req: hdr("GET", "/atk/secret", "", "X-Amz-Server-Side-Encryption-Customer-Algorithm: AES256"),
			status: 501, code: "NotImplemented"},
		{name: "f10/HEAD with SSE-C", req: hdr("HEAD", "/atk/secret", "", "X-Amz-Server-Side-Encryption-Customer-Key-Md5: x"),
			status: 501},
		{name: "f10/POST Object with an encryption field", req: goodForm("form/enc", "x-amz-server-side-encryption=AES256", "file=x"),
			status: 501, code: "NotImplemented", after: notStored("form/enc")},
		{name: "f10/PutBucketEncryption", req: hdr("PUT", "/atk?encryption", "<ServerSideEncryptionConfiguration/>"),
			status: 501, code: "NotImplemented"},
		{name: "f10/PUT with an object lock retention", req: hdr("PUT", "/atk/locked", "x", "X-Amz-Object-Lock-Mode: COMPLIANCE",
			"X-Amz-Object-Lock-Retain-Until-Date: 2099-01-01T00:00:00Z"), status: 400, code: "InvalidRequest", msg: "Object Lock", after: notStored("locked")},
		{name: "f10/PUT with a legal hold", req: hdr("PUT", "/atk/locked", "x", "X-Amz-Object-Lock-Legal-Hold: ON"),
			status: 400, code: "InvalidRequest", msg: "Object Lock", after: notStored("locked")},
		{name: "f10/CreateBucket with object lock", req: hdr("PUT", "/locked-bucket", "", "X-Amz-Bucket-Object-Lock-Enabled: true"),
			status: 501, code: "NotImplemented", after: func(t *testing.T) {
				if st, _ := s3test.Do(t, s3test.SignedRequest(t, s3test.Creds, "HEAD", u+"/locked-bucket", nil, empty, now)); st != 404 {
					t.Errorf("refused CreateBucket made the bucket: HEAD %d", st)
				}
			}},
		{name: "f10/DELETE with x-amz-mfa", req: hdr("DELETE", "/atk/secret", "", "X-Amz-Mfa: 123456 789"),
			status: 501, code: "NotImplemented", msg: "MFA"},
		{name: "f10/append with x-amz-write-offset-bytes", req: hdr("PUT", "/atk/secret", "more", "X-Amz-Write-Offset-Bytes: 12"),
			status: 501, code: "NotImplemented", after: func(t *testing.T) {
				if st, body := s3test.Do(t, s3test.SignedRequest(t, s3test.Creds, "GET", u+"/atk/secret", nil, empty, now)); st != 200 || body != "private data" {
					t.Errorf("refused append changed atk/secret: %d %q", st, body)
				}
			}},
		{name: "f10/wrong x-amz-expected-bucket-owner", req: hdr("PUT", "/atk/owned", "x", "X-Amz-Expected-Bucket-Owner: evil:attacker"),
			status: 403, code: "AccessDenied", after: notStored("owned")},
		{name: "f10/wrong x-amz-source-expected-bucket-owner", req: hdr("PUT", "/atk/copy", "", "X-Amz-Copy-Source: /atk/secret",
			"X-Amz-Source-Expected-Bucket-Owner: 123456789012"), status: 403, code: "AccessDenied", after: notStored("copy")},

		// Finding 11: checksums of empty bodies.
		{name: "f11/empty PUT with a wrong sha256", req: hdr("PUT", "/atk/e1", "", "X-Amz-Checksum-Sha256: "+wrongSum),
			status: 400, code: "BadDigest", after: notStored("e1")},
		{name: "f11/empty PUT with a malformed sha256", req: hdr("PUT", "/atk/e2", "", "X-Amz-Checksum-Sha256: sailorjerry"),
			status: 400, code: "InvalidRequest", msg: "x-amz-checksum-sha256", after: notStored("e2")},
		{name: "f11/empty PUT with a wrong crc32", req: hdr("PUT", "/atk/e3", "", "X-Amz-Checksum-Crc32: "+crc(crc32.NewIEEE())),
			status: 400, code: "BadDigest", after: notStored("e3")},
		{name: "f11/empty PUT with a wrong crc32c", req: hdr("PUT", "/atk/e4", "", "X-Amz-Checksum-Crc32c: "+crc(crc32.New(crc32.MakeTable(crc32.Castagnoli)))),
			status: 400, code: "BadDigest", after: notStored("e4")},
		{name: "f11/empty PUT with a wrong crc64nvme", req: hdr("PUT", "/atk/e5", "", "X-Amz-Checksum-Crc64nvme: "+crc(crc64.New(crc64.MakeTable(0x9a6c9329ac4bc9b5)))),
			status: 400, code: "BadDigest", after: notStored("e5")},
		{name: "f11/empty PUT with a wrong sha1", req: hdr("PUT", "/atk/e6", "", "X-Amz-Checksum-Sha1: "+crc(sha1.New())),
			status: 400, code: "BadDigest", after: notStored("e6")},
		{name: "f11/empty PUT with a malformed crc32", req: hdr("PUT", "/atk/e7", "", "X-Amz-Checksum-Crc32: AAAAAAAA"),
			status: 400, code: "InvalidRequest", after: notStored("e7")},
		{name: "f11/empty UploadPart with a wrong sha256", req: hdr("PUT", "/atk/mp?partNumber=2&uploadId="+url.QueryEscape(uploadID), "",
			"X-Amz-Checksum-Sha256: "+wrongSum), status: 400, code: "BadDigest"},
		{name: "f11/empty POST Object with a wrong sha256", req: goodForm("form/e", "x-amz-checksum-sha256="+wrongSum),
			status: 400, code: "BadDigest", after: notStored("form/e")},
		{name: "f11/empty PUT with a wrong x-amz-content-sha256", req: func() *http.Request {
			return s3test.SignedRequest(t, s3test.Creds, "PUT", u+"/atk/e8", nil, s3test.SHA256Hex("abc"), now)
		}, status: 400, code: "XAmzContentSHA256Mismatch", after: notStored("e8")},

		// SigV4, header authentication.
		{name: "v4/wrong secret", req: v4As(aws.Credentials{AccessKeyID: "test:tester", SecretAccessKey: "guess"}, "us-east-1", "s3", now),
			status: 403, code: "SignatureDoesNotMatch"},
		{name: "v4/unknown access key", req: v4As(aws.Credentials{AccessKeyID: "nobody:none", SecretAccessKey: "x"}, "us-east-1", "s3", now),
			status: 403, code: "InvalidAccessKeyId"},
		{name: "v4/another user's key on the victim's object", req: v4As(evil, "us-east-1", "s3", now), status: 403, code: "AccessDenied"},
		{name: "v4/clock 20 minutes behind", req: v4As(s3test.Creds, "us-east-1", "s3", now.Add(-20*time.Minute)), status: 403, code: "RequestTimeTooSkewed"},
		{name: "v4/clock 20 minutes ahead", req: v4As(s3test.Creds, "us-east-1", "s3", now.Add(20*time.Minute)), status: 403, code: "RequestTimeTooSkewed"},
		{name: "v4/wrong region", req: v4As(s3test.Creds, "eu-west-1", "s3", now), status: 400, code: "AuthorizationHeaderMalformed"},
		{name: "v4/wrong service", req: v4As(s3test.Creds, "us-east-1", "ec2", now), status: 400, code: "AuthorizationHeaderMalformed"},
		{name: "v4/credential date unlike x-amz-date", req: func() *http.Request {
			r := v4As(s3test.Creds, "us-east-1", "s3", now)()
			r.Header.Set("X-Amz-Date", now.Add(-24*time.Hour).UTC().Format("20060102T150405Z"))
			return r
		}, status: 400, code: "AuthorizationHeaderMalformed"},
		{name: "v4/no signature in Authorization", req: editAuth(v4As(s3test.Creds, "us-east-1", "s3", now), ", Signature=", ", Sig="),
			status: 400, code: "AuthorizationHeaderMalformed"},
		{name: "v4/tampered signature", req: editAuth(v4As(s3test.Creds, "us-east-1", "s3", now), "Signature=", "Signature=0"),
			status: 403, code: "SignatureDoesNotMatch"},
		{name: "v4/tampered path", req: tamperURL(v4As(s3test.Creds, "us-east-1", "s3", now), func(x *url.URL) { x.Path = "/atk/other" }),
			status: 403, code: "SignatureDoesNotMatch"},
		{name: "v4/tampered query (GET turned into GET ?acl)", req: tamperURL(v4As(s3test.Creds, "us-east-1", "s3", now), func(x *url.URL) { x.RawQuery = "acl" }),
			status: 403, code: "SignatureDoesNotMatch"},
		{name: "v4/tampered signed header", req: addAfterSigning(hdr("PUT", "/atk/t1", "x", "Content-Type: text/plain"), "Content-Type: text/html"),
			status: 403, code: "SignatureDoesNotMatch", after: notStored("t1")},
		{name: "v4/signed header missing", req: func() *http.Request {
			r := hdr("PUT", "/atk/t2", "x", "Content-Type: text/plain")()
			r.Header.Del("Content-Type")
			return r
		}, status: 403, code: "SignatureDoesNotMatch", after: notStored("t2")},
		{name: "v4/no x-amz-content-sha256", req: func() *http.Request {
			r := v4As(s3test.Creds, "us-east-1", "s3", now)()
			r.Header.Del("X-Amz-Content-Sha256")
			return r
		}, status: 400, code: "InvalidRequest"},
		{name: "v4/body unlike the signed payload hash", req: func() *http.Request {
			return s3test.SignedRequest(t, s3test.Creds, "PUT", u+"/atk/t3", strings.NewReader("evil body"), s3test.SHA256Hex("good body"), now)
		}, status: 400, code: "XAmzContentSHA256Mismatch", after: notStored("t3")},
		{name: "v4/no date", req: func() *http.Request {
			r := v4As(s3test.Creds, "us-east-1", "s3", now)()
			r.Header.Del("X-Amz-Date")
			return r
		}, status: 403, code: "AccessDenied"},
		{name: "v4/header and presigned query together", req: func() *http.Request {
			r := v4As(s3test.Creds, "us-east-1", "s3", now)()
			p, _ := url.Parse(presigned("GET", "/atk/secret", 600, now, "us-east-1"))
			r.URL.RawQuery = p.RawQuery
			return r
		}, status: 400, code: "InvalidArgument", msg: "Only one auth mechanism"},
		{name: "v4/header and SigV2 query together", req: func() *http.Request {
			r := v4As(s3test.Creds, "us-east-1", "s3", now)()
			p, _ := url.Parse(v2Presigned("GET", "/atk/secret", strconv.FormatInt(now.Add(time.Hour).Unix(), 10)))
			r.URL.RawQuery = p.RawQuery
			return r
		}, status: 400, code: "InvalidArgument", msg: "Only one auth mechanism"},

		// SigV4, presigned.
		{name: "presigned/expired", req: raw("GET", presigned("GET", "/atk/secret", 60, now.Add(-2*time.Minute), "us-east-1")),
			status: 403, code: "AccessDenied", msg: "expired"},
		{name: "presigned/not valid yet", req: raw("GET", presigned("GET", "/atk/secret", 60, now.Add(time.Hour), "us-east-1")),
			status: 403, code: "AccessDenied", msg: "not valid yet"},
		{name: "presigned/expiry over a week", req: raw("GET", presigned("GET", "/atk/secret", 604801, now, "us-east-1")),
			status: 403, code: "AccessDenied", msg: "604800"},
		{name: "presigned/negative expiry", req: raw("GET", presigned("GET", "/atk/secret", -1, now, "us-east-1")),
			status: 403, code: "AccessDenied"},
		{name: "presigned/expiry extended after signing", req: raw("GET", strings.Replace(presigned("GET", "/atk/secret", 60, now, "us-east-1"), "X-Amz-Expires=60", "X-Amz-Expires=6000", 1)),
			status: 403, code: "SignatureDoesNotMatch"},
		{name: "presigned/query parameter added (?acl)", req: raw("GET", presigned("GET", "/atk/secret", 600, now, "us-east-1")+"&acl"),
			status: 403, code: "SignatureDoesNotMatch"},
		{name: "presigned/path changed", req: raw("GET", strings.Replace(presigned("GET", "/atk/secret", 600, now, "us-east-1"), "/atk/secret", "/atk/mp", 1)),
			status: 403, code: "SignatureDoesNotMatch"},
		{name: "presigned/method changed (GET URL used to DELETE)", req: raw("DELETE", presigned("GET", "/atk/secret", 600, now, "us-east-1")),
			status: 403, code: "SignatureDoesNotMatch"},
		{name: "presigned/wrong region", req: raw("GET", presigned("GET", "/atk/secret", 600, now, "eu-west-1")),
			status: 400, code: "AuthorizationQueryParametersError"},
		{name: "presigned/wrong algorithm", req: raw("GET", strings.Replace(presigned("GET", "/atk/secret", 600, now, "us-east-1"), "AWS4-HMAC-SHA256", "AWS4-HMAC-SHA1", 1)),
			status: 400, code: "AuthorizationQueryParametersError"},
		{name: "presigned/no X-Amz-Date", req: func() *http.Request {
			p, _ := url.Parse(presigned("GET", "/atk/secret", 600, now, "us-east-1"))
			q := p.Query()
			q.Del("X-Amz-Date")
			p.RawQuery = q.Encode()
			return withBody("GET", p.String(), "")
		}, status: 400, code: "AuthorizationQueryParametersError"},
		{name: "presigned/streaming payload header", req: func() *http.Request {
			return withBody("PUT", putURL, "5;chunk-signature=00\r\nhello\r\n0;chunk-signature=00\r\n\r\n", "X-Amz-Content-Sha256: STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
				"X-Amz-Decoded-Content-Length: 5")
		}, status: 403, code: "SignatureDoesNotMatch", after: notStored("upload")},

		// SigV2.
		{name: "v2/wrong secret", req: func() *http.Request { return v2Header("GET", "/atk/secret", httpDate(now), "guess") },
			status: 403, code: "SignatureDoesNotMatch"},
		{name: "v2/clock skew", req: func() *http.Request { return v2Header("GET", "/atk/secret", httpDate(now.Add(-time.Hour)), "testing") },
			status: 403, code: "RequestTimeTooSkewed"},
		{name: "v2/unknown access key", req: func() *http.Request {
			r := v2Header("GET", "/atk/secret", httpDate(now), "testing")
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), "test:tester", "nobody:none", 1))
			return r
		}, status: 403, code: "InvalidAccessKeyId"},
		{name: "v2/subresource added after signing (?acl)", req: tamperURL(func() *http.Request {
			return v2Header("GET", "/atk/secret", httpDate(now), "testing")
		}, func(x *url.URL) { x.RawQuery = "acl" }), status: 403, code: "SignatureDoesNotMatch"},
		{name: "v2/x-amz-date changed after signing", req: addAfterSigning(func() *http.Request {
			return v2Header("GET", "/atk/secret", httpDate(now), "testing", "x-amz-date:"+httpDate(now))
		}, "X-Amz-Date: "+httpDate(now.Add(time.Second))), status: 403, code: "SignatureDoesNotMatch"},
		{name: "v2/presigned expired", req: raw("GET", v2Presigned("GET", "/atk/secret", strconv.FormatInt(now.Add(-time.Minute).Unix(), 10))),
			status: 403, code: "AccessDenied", msg: "expired"},
		{name: "v2/presigned path changed", req: raw("GET", strings.Replace(v2Presigned("GET", "/atk/secret", strconv.FormatInt(now.Add(time.Hour).Unix(), 10)), "/atk/secret", "/atk/mp", 1)),
			status: 403, code: "SignatureDoesNotMatch"},
		{name: "v2/presigned expiry past 2038", req: raw("GET", v2Presigned("GET", "/atk/secret", "4102444800")),
			status: 403, code: "AccessDenied"},
		{name: "v2/presigned expiry not a number", req: raw("GET", v2Presigned("GET", "/atk/secret", "soon")),
			status: 403, code: "AccessDenied"},
		{name: "v2/presigned expiry extended after signing", req: func() *http.Request {
			exp := strconv.FormatInt(now.Add(time.Minute).Unix(), 10)
			later := strconv.FormatInt(now.Add(time.Hour).Unix(), 10)
			return withBody("GET", strings.Replace(v2Presigned("GET", "/atk/secret", exp), "Expires="+exp, "Expires="+later, 1), "")
		}, status: 403, code: "SignatureDoesNotMatch"},

		// aws-chunked uploads.
		{name: "chunked/bad chunk signature", req: func() *http.Request {
			return chunkedPut("c1", []string{strings.Repeat("a", 8192), "b"}, 1, "8193", same)
		}, status: 403, code: "SignatureDoesNotMatch", after: notStored("c1")},
		{name: "chunked/bad final chunk signature", req: func() *http.Request {
			return chunkedPut("c2", []string{strings.Repeat("a", 8192), "b"}, 2, "8193", same)
		}, status: 403, code: "SignatureDoesNotMatch", after: notStored("c2")},
		{name: "chunked/truncated", req: func() *http.Request {
			return chunkedPut("c3", []string{strings.Repeat("a", 8192), "b"}, -1, "8193", func(s string) string { return s[:len(s)/2] })
		}, status: 400, code: "IncompleteBody", after: notStored("c3")},
		{name: "chunked/decoded length longer than sent", req: func() *http.Request {
			return chunkedPut("c4", []string{"hello"}, -1, "6", same)
		}, status: 400, code: "IncompleteBody", after: notStored("c4")},
		{name: "chunked/decoded length shorter than sent", req: func() *http.Request {
			return chunkedPut("c5", []string{"hello"}, -1, "4", same)
		}, status: 400, code: "IncompleteBody", after: notStored("c5")},
		{name: "chunked/chunk longer than the decoded length, forged signature", req: func() *http.Request {
			return chunkedPut("c9", []string{"hello"}, -1, "5", func(string) string {
				return "400;chunk-signature=" + strings.Repeat("0", 64) + "\r\nEVIL!" + strings.Repeat("x", 1019) + "\r\n"
			})
		}, status: 400, code: "IncompleteBody", after: notStored("c9")},
		{name: "chunked/no decoded length", req: func() *http.Request {
			return chunkedPut("c6", []string{"hello"}, -1, "", same)
		}, status: 411, code: "MissingContentLength", after: notStored("c6")},
		{name: "chunked/chunk size not hex", req: func() *http.Request {
			return chunkedPut("c7", []string{"hello"}, -1, "5", func(s string) string { return "zz" + s[1:] })
		}, status: 400, code: "InvalidRequest", after: notStored("c7")},
		{name: "chunked/chunks swapped", req: func() *http.Request {
			return chunkedPut("c8", []string{"aaaa", "bbbb"}, -1, "8", func(s string) string {
				parts := strings.SplitAfterN(s, "\r\n", 5) // hdr1 data1 hdr2 data2 rest
				return parts[2] + parts[3] + parts[0] + parts[1] + parts[4]
			})
		}, status: 403, code: "SignatureDoesNotMatch", after: notStored("c8")},

		// POST Object policies.
		{name: "post/expired policy", req: func() *http.Request {
			p := policy(now.Add(-time.Minute), conds)
			return form(p, v2Sign("testing", p), "form/x", "test:tester", "file=x")()
		}, status: 403, code: "AccessDenied", msg: "expired", after: notStored("form/x")},
		{name: "post/policy without conditions", req: func() *http.Request {
			p := policy(now.Add(time.Hour), "-")
			return form(p, v2Sign("testing", p), "form/x", "test:tester", "file=x")()
		}, status: 400, code: "InvalidPolicyDocument", after: notStored("form/x")},
		{name: "post/policy without a bucket condition", req: func() *http.Request {
			p := policy(now.Add(time.Hour), `["starts-with", "$key", "form/"]`)
			return form(p, v2Sign("testing", p), "form/x", "test:tester", "file=x")()
		}, status: 403, code: "AccessDenied", after: notStored("form/x")},
		{name: "post/signature mismatch", req: form(good, v2Sign("guess", good), "form/x", "test:tester", "file=x"),
			status: 403, code: "SignatureDoesNotMatch", after: notStored("form/x")},
		{name: "post/unknown access key", req: form(good, v2Sign("testing", good), "form/x", "nobody:none", "file=x"),
			status: 403, code: "InvalidAccessKeyId", after: notStored("form/x")},
		{name: "post/over content-length-range", req: goodForm("form/x", "file=01234567890"),
			status: 400, code: "EntityTooLarge", after: notStored("form/x")},
		{name: "post/key outside the policy", req: goodForm("other/x", "file=x"),
			status: 403, code: "AccessDenied", after: notStored("other/x")},
		{name: "post/field the policy does not cover", req: goodForm("form/x", "x-amz-meta-evil=1", "file=x"),
			status: 403, code: "AccessDenied", msg: "Extra input fields", after: notStored("form/x")},
		{name: "post/acl field the policy does not cover", req: goodForm("form/x", "acl=public-read", "file=x"),
			status: 403, code: "AccessDenied", msg: "Extra input fields", after: notStored("form/x")},

		// Content-MD5 and oversized XML bodies.
		{name: "md5/not base64", req: hdr("PUT", "/atk/m1", "x", "Content-Md5: !!!"), status: 400, code: "InvalidDigest", after: notStored("m1")},
		{name: "md5/wrong length", req: hdr("PUT", "/atk/m2", "x", "Content-Md5: "+base64.StdEncoding.EncodeToString([]byte("short"))),
			status: 400, code: "InvalidDigest", after: notStored("m2")},
		{name: "md5/mismatch", req: hdr("PUT", "/atk/m3", "x", "Content-Md5: "+md5b64("y")), status: 400, code: "BadDigest", after: notStored("m3")},
		{name: "md5/mismatch on an XML body", req: hdr("POST", "/atk?delete", "<Delete><Object><Key>secret</Key></Object></Delete>", "Content-Md5: "+md5b64("y")),
			status: 400, code: "BadDigest", after: func(t *testing.T) {
				if st, _ := s3test.Do(t, s3test.SignedRequest(t, s3test.Creds, "HEAD", u+"/atk/secret", nil, empty, now)); st != 200 {
					t.Errorf("refused multi-delete deleted atk/secret: HEAD %d", st)
				}
			}},
		{name: "xml/oversized DeleteObjects", req: hdr("POST", "/atk?delete", "<Delete>"+strings.Repeat("<Object><Key>k</Key></Object>", 80000)+"</Delete>"),
			status: 400, code: "MalformedXML"},
		{name: "xml/oversized CompleteMultipartUpload", req: hdr("POST", "/atk/mp?uploadId="+url.QueryEscape(uploadID),
			"<CompleteMultipartUpload>"+strings.Repeat("<Part><PartNumber>1</PartNumber><ETag>x</ETag></Part>", 50000)+"</CompleteMultipartUpload>"),
			status: 400, code: "MalformedXML"},
		{name: "xml/oversized AccessControlPolicy", req: hdr("PUT", "/atk?acl", "<AccessControlPolicy>"+strings.Repeat(" ", 2<<20)+"</AccessControlPolicy>"),
			status: 400, code: "MalformedXML"},
		{name: "xml/entity expansion in Tagging", req: hdr("PUT", "/atk/secret?tagging",
			`<?xml version="1.0"?><!DOCTYPE t [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><Tagging><TagSet><Tag><Key>k</Key><Value>&b;</Value></Tag></TagSet></Tagging>`),
			status: 400, code: "MalformedXML"},
	}
	// Every name is unique: a case must not hide another.
	names := map[string]bool{}
	for _, a := range attacks {
		if names[a.name] {
			t.Fatalf("duplicate case %q", a.name)
		}
		names[a.name] = true
	}
	for _, a := range attacks {
		t.Run(a.name, func(t *testing.T) {
			st, body := s3test.Do(t, a.req())
			if st != a.status || a.code != "" && s3test.Between(body, "<Code>", "</Code>") != a.code || !strings.Contains(body, a.msg) {
				t.Fatalf("got %d %s, want %d %s %q", st, body, a.status, a.code, a.msg)
			}
			if a.after != nil {
				a.after(t)
			}
		})
	}
	t.Logf("%d attack cases", len(attacks))

	// The same requests, properly signed, still work: the refusals above
	// are about the attack, not the operation.
	t.Run("controls", func(t *testing.T) {
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
		if st, body := s3test.Do(t, goodForm("form/ok", "file=ok")()); st != 204 {
			t.Fatalf("POST Object as the policy allows: %d %s", st, body)
		}
		exp := strconv.FormatInt(now.Add(time.Hour).Unix(), 10)
		if st, body := s3test.Do(t, withBody("GET", v2Presigned("GET", "/atk/secret", exp), "")); st != 200 || body != "private data" {
			t.Fatalf("SigV2 presigned GET: %d %s", st, body)
		}
		if st, body := s3test.Do(t, v2Header("PUT", "/atk/v2amz", httpDate(now), "testing", "x-amz-meta-a:1")); st != 200 {
			t.Fatalf("SigV2 PUT with a signed x-amz-meta header: %d %s", st, body)
		}
	})
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
