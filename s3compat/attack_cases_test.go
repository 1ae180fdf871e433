package s3compat_test

// The cases of TestAttackS3Signing, by theme.

import (
	"bytes"
	"crypto/sha1"
	"encoding/base64"
	"hash"
	"hash/crc32"
	"hash/crc64"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"swiftbox/s3compat/s3test"
)

// f2: x-amz-* headers the signature does not cover (finding 2).
func (a *sigAttack) finding2() []s3Attack {
	t, u, now, putURL := a.t, a.u, a.now, a.putURL
	return []s3Attack{
		{name: "f2/presigned PUT replayed as a copy with a grant", req: func() *http.Request {
			return withBody("PUT", putURL, "", "X-Amz-Copy-Source: atk/secret", "X-Amz-Grant-Read: id=evil:attacker")
		}, status: 403, code: "AccessDenied", msg: "headers present in the request which were not signed",
			after: func(t *testing.T) { a.notStored("upload")(t); a.secretStaysPrivate(t) }},
		{name: "f2/presigned PUT with an unsigned x-amz-acl", req: func() *http.Request {
			return withBody("PUT", putURL, "data", "X-Amz-Acl: public-read-write")
		}, status: 403, code: "AccessDenied", msg: "not signed", after: a.notStored("upload")},
		{name: "f2/presigned GET with an unsigned x-amz-request-payer", req: func() *http.Request {
			return withBody("GET", a.presigned("GET", "/atk/secret", 600, now, "us-east-1"), "", "X-Amz-Request-Payer: requester")
		}, status: 403, code: "AccessDenied", msg: "not signed"},
		{name: "f2/header-signed PUT replayed with x-amz-copy-source", req: addAfterSigning(a.hdr("PUT", "/atk/upload", ""), "X-Amz-Copy-Source: /atk/secret"),
			status: 403, code: "AccessDenied", msg: "not signed", after: a.notStored("upload")},
		{name: "f2/header-signed PUT replayed with a grant to the attacker", req: addAfterSigning(a.hdr("PUT", "/atk/upload", "x"), "X-Amz-Grant-Full-Control: id=evil:attacker"),
			status: 403, code: "AccessDenied", msg: "not signed", after: a.notStored("upload")},
		{name: "f2/header-signed copy replayed with x-amz-metadata-directive", req: addAfterSigning(a.hdr("PUT", "/atk/copy", "", "X-Amz-Copy-Source: /atk/secret"), "X-Amz-Metadata-Directive: REPLACE"),
			status: 403, code: "AccessDenied", msg: "not signed", after: a.notStored("copy")},
		{name: "f2/SigV4 without host in SignedHeaders", req: func() *http.Request {
			return signV4Without(t, "GET", u+"/atk/secret", "host", now)
		}, status: 403, code: "AccessDenied", msg: "not signed"},
		{name: "f2/SigV2 header request replayed with x-amz-copy-source", req: addAfterSigning(func() *http.Request {
			return a.v2Header("PUT", "/atk/upload", httpDate(now), "testing")
		}, "X-Amz-Copy-Source: /atk/secret"), status: 403, code: "SignatureDoesNotMatch", after: a.notStored("upload")},
		{name: "f2/SigV2 presigned PUT replayed with x-amz-copy-source", req: func() *http.Request {
			return withBody("PUT", a.v2Presigned("PUT", "/atk/upload", strconv.FormatInt(now.Add(time.Hour).Unix(), 10)), "", "X-Amz-Copy-Source: /atk/secret")
		}, status: 403, code: "SignatureDoesNotMatch", after: a.notStored("upload")},
	}
}

// f10: encryption (and other features) asked for and not done (finding 10).
func (a *sigAttack) finding10() []s3Attack {
	u, now, uploadID, empty := a.u, a.now, a.uploadID, emptySHA256
	return []s3Attack{
		{name: "f10/PUT with SSE-C", req: a.hdr("PUT", "/atk/ssec", "plain",
			"X-Amz-Server-Side-Encryption-Customer-Algorithm: AES256",
			"X-Amz-Server-Side-Encryption-Customer-Key: "+base64.StdEncoding.EncodeToString(bytes.Repeat([]byte("k"), 32)),
			"X-Amz-Server-Side-Encryption-Customer-Key-Md5: "+md5b64(string(bytes.Repeat([]byte("k"), 32)))),
			status: 501, code: "NotImplemented", msg: "customer-provided keys", after: a.notStored("ssec")},
		{name: "f10/PUT with SSE-S3", req: a.hdr("PUT", "/atk/sses3", "plain", "X-Amz-Server-Side-Encryption: AES256"),
			status: 501, code: "NotImplemented", msg: "encryption", after: a.notStored("sses3")},
		{name: "f10/PUT with SSE-KMS", req: a.hdr("PUT", "/atk/kms", "plain", "X-Amz-Server-Side-Encryption: aws:kms", "X-Amz-Server-Side-Encryption-Aws-Kms-Key-Id: k1"),
			status: 501, code: "NotImplemented", after: a.notStored("kms")},
		{name: "f10/PUT with a KMS key id alone", req: a.hdr("PUT", "/atk/kms", "plain", "X-Amz-Server-Side-Encryption-Aws-Kms-Key-Id: k1"),
			status: 501, code: "NotImplemented", after: a.notStored("kms")},
		{name: "f10/PUT with an unknown encryption method", req: a.hdr("PUT", "/atk/sse", "plain", "X-Amz-Server-Side-Encryption: rot13"),
			status: 400, code: "InvalidArgument", msg: "encryption method", after: a.notStored("sse")},
		{name: "f10/copy with SSE-C of the source", req: a.hdr("PUT", "/atk/copy", "", "X-Amz-Copy-Source: /atk/secret",
			"X-Amz-Copy-Source-Server-Side-Encryption-Customer-Algorithm: AES256"), status: 501, code: "NotImplemented", after: a.notStored("copy")},
		{name: "f10/copy asking SSE-S3 for the copy", req: a.hdr("PUT", "/atk/copy", "", "X-Amz-Copy-Source: /atk/secret",
			"X-Amz-Server-Side-Encryption: AES256"), status: 501, code: "NotImplemented", after: a.notStored("copy")},
		{name: "f10/CreateMultipartUpload with SSE-C", req: a.hdr("POST", "/atk/mp2?uploads", "", "X-Amz-Server-Side-Encryption-Customer-Algorithm: AES256"),
			status: 501, code: "NotImplemented"},
		{name: "f10/UploadPart with SSE-C", req: a.hdr("PUT", "/atk/mp?partNumber=1&uploadId="+url.QueryEscape(uploadID), "part",
			"X-Amz-Server-Side-Encryption-Customer-Algorithm: AES256"), status: 501, code: "NotImplemented"},
		{name: "f10/GET with SSE-C", req: a.hdr("GET", "/atk/secret", "", "X-Amz-Server-Side-Encryption-Customer-Algorithm: AES256"),
			status: 501, code: "NotImplemented"},
		{name: "f10/HEAD with SSE-C", req: a.hdr("HEAD", "/atk/secret", "", "X-Amz-Server-Side-Encryption-Customer-Key-Md5: x"),
			status: 501},
		{name: "f10/POST Object with an encryption field", req: a.goodForm("form/enc", "x-amz-server-side-encryption=AES256", "file=x"),
			status: 501, code: "NotImplemented", after: a.notStored("form/enc")},
		{name: "f10/PutBucketEncryption", req: a.hdr("PUT", "/atk?encryption", "<ServerSideEncryptionConfiguration/>"),
			status: 501, code: "NotImplemented"},
		{name: "f10/PUT with an object lock retention", req: a.hdr("PUT", "/atk/locked", "x", "X-Amz-Object-Lock-Mode: COMPLIANCE",
			"X-Amz-Object-Lock-Retain-Until-Date: 2099-01-01T00:00:00Z"), status: 400, code: "InvalidRequest", msg: "Object Lock", after: a.notStored("locked")},
		{name: "f10/PUT with a legal hold", req: a.hdr("PUT", "/atk/locked", "x", "X-Amz-Object-Lock-Legal-Hold: ON"),
			status: 400, code: "InvalidRequest", msg: "Object Lock", after: a.notStored("locked")},
		{name: "f10/CreateBucket with object lock", req: a.hdr("PUT", "/locked-bucket", "", "X-Amz-Bucket-Object-Lock-Enabled: true"),
			status: 501, code: "NotImplemented", after: func(t *testing.T) {
				if st, _ := s3test.Do(t, s3test.SignedRequest(t, s3test.Creds, "HEAD", u+"/locked-bucket", nil, empty, now)); st != 404 {
					t.Errorf("refused CreateBucket made the bucket: HEAD %d", st)
				}
			}},
		{name: "f10/DELETE with x-amz-mfa", req: a.hdr("DELETE", "/atk/secret", "", "X-Amz-Mfa: 123456 789"),
			status: 501, code: "NotImplemented", msg: "MFA"},
		{name: "f10/append with x-amz-write-offset-bytes", req: a.hdr("PUT", "/atk/secret", "more", "X-Amz-Write-Offset-Bytes: 12"),
			status: 501, code: "NotImplemented", after: func(t *testing.T) {
				if st, body := s3test.Do(t, s3test.SignedRequest(t, s3test.Creds, "GET", u+"/atk/secret", nil, empty, now)); st != 200 || body != "private data" {
					t.Errorf("refused append changed atk/secret: %d %q", st, body)
				}
			}},
		{name: "f10/wrong x-amz-expected-bucket-owner", req: a.hdr("PUT", "/atk/owned", "x", "X-Amz-Expected-Bucket-Owner: evil:attacker"),
			status: 403, code: "AccessDenied", after: a.notStored("owned")},
		{name: "f10/wrong x-amz-source-expected-bucket-owner", req: a.hdr("PUT", "/atk/copy", "", "X-Amz-Copy-Source: /atk/secret",
			"X-Amz-Source-Expected-Bucket-Owner: 123456789012"), status: 403, code: "AccessDenied", after: a.notStored("copy")},
	}
}

// f11: checksums of empty bodies (finding 11).
func (a *sigAttack) finding11() []s3Attack {
	t, u, now, uploadID, wrongSum := a.t, a.u, a.now, a.uploadID, sha256b64("not empty")
	crc := func(h hash.Hash) string { return sumOf(h, "not empty") }
	return []s3Attack{
		{name: "f11/empty PUT with a wrong sha256", req: a.hdr("PUT", "/atk/e1", "", "X-Amz-Checksum-Sha256: "+wrongSum),
			status: 400, code: "BadDigest", after: a.notStored("e1")},
		{name: "f11/empty PUT with a malformed sha256", req: a.hdr("PUT", "/atk/e2", "", "X-Amz-Checksum-Sha256: sailorjerry"),
			status: 400, code: "InvalidRequest", msg: "x-amz-checksum-sha256", after: a.notStored("e2")},
		{name: "f11/empty PUT with a wrong crc32", req: a.hdr("PUT", "/atk/e3", "", "X-Amz-Checksum-Crc32: "+crc(crc32.NewIEEE())),
			status: 400, code: "BadDigest", after: a.notStored("e3")},
		{name: "f11/empty PUT with a wrong crc32c", req: a.hdr("PUT", "/atk/e4", "", "X-Amz-Checksum-Crc32c: "+crc(crc32.New(crc32.MakeTable(crc32.Castagnoli)))),
			status: 400, code: "BadDigest", after: a.notStored("e4")},
		{name: "f11/empty PUT with a wrong crc64nvme", req: a.hdr("PUT", "/atk/e5", "", "X-Amz-Checksum-Crc64nvme: "+crc(crc64.New(crc64.MakeTable(0x9a6c9329ac4bc9b5)))),
			status: 400, code: "BadDigest", after: a.notStored("e5")},
		{name: "f11/empty PUT with a wrong sha1", req: a.hdr("PUT", "/atk/e6", "", "X-Amz-Checksum-Sha1: "+crc(sha1.New())),
			status: 400, code: "BadDigest", after: a.notStored("e6")},
		{name: "f11/empty PUT with a malformed crc32", req: a.hdr("PUT", "/atk/e7", "", "X-Amz-Checksum-Crc32: AAAAAAAA"),
			status: 400, code: "InvalidRequest", after: a.notStored("e7")},
		{name: "f11/empty UploadPart with a wrong sha256", req: a.hdr("PUT", "/atk/mp?partNumber=2&uploadId="+url.QueryEscape(uploadID), "",
			"X-Amz-Checksum-Sha256: "+wrongSum), status: 400, code: "BadDigest"},
		{name: "f11/empty POST Object with a wrong sha256", req: a.goodForm("form/e", "x-amz-checksum-sha256="+wrongSum),
			status: 400, code: "BadDigest", after: a.notStored("form/e")},
		{name: "f11/empty PUT with a wrong x-amz-content-sha256", req: func() *http.Request {
			return s3test.SignedRequest(t, s3test.Creds, "PUT", u+"/atk/e8", nil, s3test.SHA256Hex("abc"), now)
		}, status: 400, code: "XAmzContentSHA256Mismatch", after: a.notStored("e8")},
	}
}

// v4: SigV4 header authentication.
func (a *sigAttack) v4Header() []s3Attack {
	t, u, now, evil := a.t, a.u, a.now, attackerCreds
	return []s3Attack{
		{name: "v4/wrong secret", req: a.v4As(aws.Credentials{AccessKeyID: "test:tester", SecretAccessKey: "guess"}, "us-east-1", "s3", now),
			status: 403, code: "SignatureDoesNotMatch"},
		{name: "v4/unknown access key", req: a.v4As(aws.Credentials{AccessKeyID: "nobody:none", SecretAccessKey: "x"}, "us-east-1", "s3", now),
			status: 403, code: "InvalidAccessKeyId"},
		{name: "v4/another user's key on the victim's object", req: a.v4As(evil, "us-east-1", "s3", now), status: 403, code: "AccessDenied"},
		{name: "v4/clock 20 minutes behind", req: a.v4As(s3test.Creds, "us-east-1", "s3", now.Add(-20*time.Minute)), status: 403, code: "RequestTimeTooSkewed"},
		{name: "v4/clock 20 minutes ahead", req: a.v4As(s3test.Creds, "us-east-1", "s3", now.Add(20*time.Minute)), status: 403, code: "RequestTimeTooSkewed"},
		{name: "v4/wrong region", req: a.v4As(s3test.Creds, "eu-west-1", "s3", now), status: 400, code: "AuthorizationHeaderMalformed"},
		{name: "v4/wrong service", req: a.v4As(s3test.Creds, "us-east-1", "ec2", now), status: 400, code: "AuthorizationHeaderMalformed"},
		{name: "v4/credential date unlike x-amz-date", req: func() *http.Request {
			r := a.v4As(s3test.Creds, "us-east-1", "s3", now)()
			r.Header.Set("X-Amz-Date", now.Add(-24*time.Hour).UTC().Format("20060102T150405Z"))
			return r
		}, status: 400, code: "AuthorizationHeaderMalformed"},
		{name: "v4/no signature in Authorization", req: editAuth(a.v4As(s3test.Creds, "us-east-1", "s3", now), ", Signature=", ", Sig="),
			status: 400, code: "AuthorizationHeaderMalformed"},
		{name: "v4/tampered signature", req: editAuth(a.v4As(s3test.Creds, "us-east-1", "s3", now), "Signature=", "Signature=0"),
			status: 403, code: "SignatureDoesNotMatch"},
		{name: "v4/tampered path", req: tamperURL(a.v4As(s3test.Creds, "us-east-1", "s3", now), func(x *url.URL) { x.Path = "/atk/other" }),
			status: 403, code: "SignatureDoesNotMatch"},
		{name: "v4/tampered query (GET turned into GET ?acl)", req: tamperURL(a.v4As(s3test.Creds, "us-east-1", "s3", now), func(x *url.URL) { x.RawQuery = "acl" }),
			status: 403, code: "SignatureDoesNotMatch"},
		{name: "v4/tampered signed header", req: addAfterSigning(a.hdr("PUT", "/atk/t1", "x", "Content-Type: text/plain"), "Content-Type: text/html"),
			status: 403, code: "SignatureDoesNotMatch", after: a.notStored("t1")},
		{name: "v4/signed header missing", req: func() *http.Request {
			r := a.hdr("PUT", "/atk/t2", "x", "Content-Type: text/plain")()
			r.Header.Del("Content-Type")
			return r
		}, status: 403, code: "SignatureDoesNotMatch", after: a.notStored("t2")},
		{name: "v4/no x-amz-content-sha256", req: func() *http.Request {
			r := a.v4As(s3test.Creds, "us-east-1", "s3", now)()
			r.Header.Del("X-Amz-Content-Sha256")
			return r
		}, status: 400, code: "InvalidRequest"},
		{name: "v4/body unlike the signed payload hash", req: func() *http.Request {
			return s3test.SignedRequest(t, s3test.Creds, "PUT", u+"/atk/t3", strings.NewReader("evil body"), s3test.SHA256Hex("good body"), now)
		}, status: 400, code: "XAmzContentSHA256Mismatch", after: a.notStored("t3")},
		{name: "v4/no date", req: func() *http.Request {
			r := a.v4As(s3test.Creds, "us-east-1", "s3", now)()
			r.Header.Del("X-Amz-Date")
			return r
		}, status: 403, code: "AccessDenied"},
		{name: "v4/header and presigned query together", req: func() *http.Request {
			r := a.v4As(s3test.Creds, "us-east-1", "s3", now)()
			p, _ := url.Parse(a.presigned("GET", "/atk/secret", 600, now, "us-east-1"))
			r.URL.RawQuery = p.RawQuery
			return r
		}, status: 400, code: "InvalidArgument", msg: "Only one auth mechanism"},
		{name: "v4/header and SigV2 query together", req: func() *http.Request {
			r := a.v4As(s3test.Creds, "us-east-1", "s3", now)()
			p, _ := url.Parse(a.v2Presigned("GET", "/atk/secret", strconv.FormatInt(now.Add(time.Hour).Unix(), 10)))
			r.URL.RawQuery = p.RawQuery
			return r
		}, status: 400, code: "InvalidArgument", msg: "Only one auth mechanism"},
	}
}

// presigned: SigV4 presigned URLs.
func (a *sigAttack) v4Presigned() []s3Attack {
	now, putURL := a.now, a.putURL
	return []s3Attack{
		{name: "presigned/expired", req: rawReq("GET", a.presigned("GET", "/atk/secret", 60, now.Add(-2*time.Minute), "us-east-1")),
			status: 403, code: "AccessDenied", msg: "expired"},
		{name: "presigned/not valid yet", req: rawReq("GET", a.presigned("GET", "/atk/secret", 60, now.Add(time.Hour), "us-east-1")),
			status: 403, code: "AccessDenied", msg: "not valid yet"},
		{name: "presigned/expiry over a week", req: rawReq("GET", a.presigned("GET", "/atk/secret", 604801, now, "us-east-1")),
			status: 403, code: "AccessDenied", msg: "604800"},
		{name: "presigned/negative expiry", req: rawReq("GET", a.presigned("GET", "/atk/secret", -1, now, "us-east-1")),
			status: 403, code: "AccessDenied"},
		{name: "presigned/expiry extended after signing", req: rawReq("GET", strings.Replace(a.presigned("GET", "/atk/secret", 60, now, "us-east-1"), "X-Amz-Expires=60", "X-Amz-Expires=6000", 1)),
			status: 403, code: "SignatureDoesNotMatch"},
		{name: "presigned/query parameter added (?acl)", req: rawReq("GET", a.presigned("GET", "/atk/secret", 600, now, "us-east-1")+"&acl"),
			status: 403, code: "SignatureDoesNotMatch"},
		{name: "presigned/path changed", req: rawReq("GET", strings.Replace(a.presigned("GET", "/atk/secret", 600, now, "us-east-1"), "/atk/secret", "/atk/mp", 1)),
			status: 403, code: "SignatureDoesNotMatch"},
		{name: "presigned/method changed (GET URL used to DELETE)", req: rawReq("DELETE", a.presigned("GET", "/atk/secret", 600, now, "us-east-1")),
			status: 403, code: "SignatureDoesNotMatch"},
		{name: "presigned/wrong region", req: rawReq("GET", a.presigned("GET", "/atk/secret", 600, now, "eu-west-1")),
			status: 400, code: "AuthorizationQueryParametersError"},
		{name: "presigned/wrong algorithm", req: rawReq("GET", strings.Replace(a.presigned("GET", "/atk/secret", 600, now, "us-east-1"), "AWS4-HMAC-SHA256", "AWS4-HMAC-SHA1", 1)),
			status: 400, code: "AuthorizationQueryParametersError"},
		{name: "presigned/no X-Amz-Date", req: func() *http.Request {
			p, _ := url.Parse(a.presigned("GET", "/atk/secret", 600, now, "us-east-1"))
			q := p.Query()
			q.Del("X-Amz-Date")
			p.RawQuery = q.Encode()
			return withBody("GET", p.String(), "")
		}, status: 400, code: "AuthorizationQueryParametersError"},
		{name: "presigned/streaming payload header", req: func() *http.Request {
			return withBody("PUT", putURL, "5;chunk-signature=00\r\nhello\r\n0;chunk-signature=00\r\n\r\n", "X-Amz-Content-Sha256: STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
				"X-Amz-Decoded-Content-Length: 5")
		}, status: 403, code: "SignatureDoesNotMatch", after: a.notStored("upload")},
	}
}

// v2: SigV2, header and presigned.
func (a *sigAttack) v2() []s3Attack {
	now := a.now
	return []s3Attack{
		{name: "v2/wrong secret", req: func() *http.Request { return a.v2Header("GET", "/atk/secret", httpDate(now), "guess") },
			status: 403, code: "SignatureDoesNotMatch"},
		{name: "v2/clock skew", req: func() *http.Request {
			return a.v2Header("GET", "/atk/secret", httpDate(now.Add(-time.Hour)), "testing")
		},
			status: 403, code: "RequestTimeTooSkewed"},
		{name: "v2/unknown access key", req: func() *http.Request {
			r := a.v2Header("GET", "/atk/secret", httpDate(now), "testing")
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), "test:tester", "nobody:none", 1))
			return r
		}, status: 403, code: "InvalidAccessKeyId"},
		{name: "v2/subresource added after signing (?acl)", req: tamperURL(func() *http.Request {
			return a.v2Header("GET", "/atk/secret", httpDate(now), "testing")
		}, func(x *url.URL) { x.RawQuery = "acl" }), status: 403, code: "SignatureDoesNotMatch"},
		{name: "v2/x-amz-date changed after signing", req: addAfterSigning(func() *http.Request {
			return a.v2Header("GET", "/atk/secret", httpDate(now), "testing", "x-amz-date:"+httpDate(now))
		}, "X-Amz-Date: "+httpDate(now.Add(time.Second))), status: 403, code: "SignatureDoesNotMatch"},
		{name: "v2/presigned expired", req: rawReq("GET", a.v2Presigned("GET", "/atk/secret", strconv.FormatInt(now.Add(-time.Minute).Unix(), 10))),
			status: 403, code: "AccessDenied", msg: "expired"},
		{name: "v2/presigned path changed", req: rawReq("GET", strings.Replace(a.v2Presigned("GET", "/atk/secret", strconv.FormatInt(now.Add(time.Hour).Unix(), 10)), "/atk/secret", "/atk/mp", 1)),
			status: 403, code: "SignatureDoesNotMatch"},
		{name: "v2/presigned expiry past 2038", req: rawReq("GET", a.v2Presigned("GET", "/atk/secret", "4102444800")),
			status: 403, code: "AccessDenied"},
		{name: "v2/presigned expiry not a number", req: rawReq("GET", a.v2Presigned("GET", "/atk/secret", "soon")),
			status: 403, code: "AccessDenied"},
		{name: "v2/presigned expiry extended after signing", req: func() *http.Request {
			exp := strconv.FormatInt(now.Add(time.Minute).Unix(), 10)
			later := strconv.FormatInt(now.Add(time.Hour).Unix(), 10)
			return withBody("GET", strings.Replace(a.v2Presigned("GET", "/atk/secret", exp), "Expires="+exp, "Expires="+later, 1), "")
		}, status: 403, code: "SignatureDoesNotMatch"},
	}
}

// chunked: aws-chunked uploads.
func (a *sigAttack) chunked() []s3Attack {
	return []s3Attack{
		{name: "chunked/bad chunk signature", req: func() *http.Request {
			return a.chunkedPut("c1", []string{strings.Repeat("a", 8192), "b"}, 1, "8193", keepFraming)
		}, status: 403, code: "SignatureDoesNotMatch", after: a.notStored("c1")},
		{name: "chunked/bad final chunk signature", req: func() *http.Request {
			return a.chunkedPut("c2", []string{strings.Repeat("a", 8192), "b"}, 2, "8193", keepFraming)
		}, status: 403, code: "SignatureDoesNotMatch", after: a.notStored("c2")},
		{name: "chunked/truncated", req: func() *http.Request {
			return a.chunkedPut("c3", []string{strings.Repeat("a", 8192), "b"}, -1, "8193", func(s string) string { return s[:len(s)/2] })
		}, status: 400, code: "IncompleteBody", after: a.notStored("c3")},
		{name: "chunked/decoded length longer than sent", req: func() *http.Request {
			return a.chunkedPut("c4", []string{"hello"}, -1, "6", keepFraming)
		}, status: 400, code: "IncompleteBody", after: a.notStored("c4")},
		{name: "chunked/decoded length shorter than sent", req: func() *http.Request {
			return a.chunkedPut("c5", []string{"hello"}, -1, "4", keepFraming)
		}, status: 400, code: "IncompleteBody", after: a.notStored("c5")},
		{name: "chunked/chunk longer than the decoded length, forged signature", req: func() *http.Request {
			return a.chunkedPut("c9", []string{"hello"}, -1, "5", func(string) string {
				return "400;chunk-signature=" + strings.Repeat("0", 64) + "\r\nEVIL!" + strings.Repeat("x", 1019) + "\r\n"
			})
		}, status: 400, code: "IncompleteBody", after: a.notStored("c9")},
		{name: "chunked/no decoded length", req: func() *http.Request {
			return a.chunkedPut("c6", []string{"hello"}, -1, "", keepFraming)
		}, status: 411, code: "MissingContentLength", after: a.notStored("c6")},
		{name: "chunked/chunk size not hex", req: func() *http.Request {
			return a.chunkedPut("c7", []string{"hello"}, -1, "5", func(s string) string { return "zz" + s[1:] })
		}, status: 400, code: "InvalidRequest", after: a.notStored("c7")},
		{name: "chunked/chunks swapped", req: func() *http.Request {
			return a.chunkedPut("c8", []string{"aaaa", "bbbb"}, -1, "8", func(s string) string {
				parts := strings.SplitAfterN(s, "\r\n", 5) // hdr1 data1 hdr2 data2 rest
				return parts[2] + parts[3] + parts[0] + parts[1] + parts[4]
			})
		}, status: 403, code: "SignatureDoesNotMatch", after: a.notStored("c8")},
	}
}

// post: POST Object policies.
func (a *sigAttack) postPolicies() []s3Attack {
	now, good, conds := a.now, a.good, formConds
	return []s3Attack{
		{name: "post/expired policy", req: func() *http.Request {
			p := policyDoc(now.Add(-time.Minute), conds)
			return a.form(p, v2Sign("testing", p), "form/x", "test:tester", "file=x")()
		}, status: 403, code: "AccessDenied", msg: "expired", after: a.notStored("form/x")},
		{name: "post/policy without conditions", req: func() *http.Request {
			p := policyDoc(now.Add(time.Hour), "-")
			return a.form(p, v2Sign("testing", p), "form/x", "test:tester", "file=x")()
		}, status: 400, code: "InvalidPolicyDocument", after: a.notStored("form/x")},
		{name: "post/policy without a bucket condition", req: func() *http.Request {
			p := policyDoc(now.Add(time.Hour), `["starts-with", "$key", "form/"]`)
			return a.form(p, v2Sign("testing", p), "form/x", "test:tester", "file=x")()
		}, status: 403, code: "AccessDenied", after: a.notStored("form/x")},
		{name: "post/signature mismatch", req: a.form(good, v2Sign("guess", good), "form/x", "test:tester", "file=x"),
			status: 403, code: "SignatureDoesNotMatch", after: a.notStored("form/x")},
		{name: "post/unknown access key", req: a.form(good, v2Sign("testing", good), "form/x", "nobody:none", "file=x"),
			status: 403, code: "InvalidAccessKeyId", after: a.notStored("form/x")},
		{name: "post/over content-length-range", req: a.goodForm("form/x", "file=01234567890"),
			status: 400, code: "EntityTooLarge", after: a.notStored("form/x")},
		{name: "post/key outside the policy", req: a.goodForm("other/x", "file=x"),
			status: 403, code: "AccessDenied", after: a.notStored("other/x")},
		{name: "post/field the policy does not cover", req: a.goodForm("form/x", "x-amz-meta-evil=1", "file=x"),
			status: 403, code: "AccessDenied", msg: "Extra input fields", after: a.notStored("form/x")},
		{name: "post/acl field the policy does not cover", req: a.goodForm("form/x", "acl=public-read", "file=x"),
			status: 403, code: "AccessDenied", msg: "Extra input fields", after: a.notStored("form/x")},
	}
}

// md5, xml: Content-MD5 and oversized XML bodies.
func (a *sigAttack) digestsAndXML() []s3Attack {
	u, now, uploadID, empty := a.u, a.now, a.uploadID, emptySHA256
	return []s3Attack{
		{name: "md5/not base64", req: a.hdr("PUT", "/atk/m1", "x", "Content-Md5: !!!"), status: 400, code: "InvalidDigest", after: a.notStored("m1")},
		{name: "md5/wrong length", req: a.hdr("PUT", "/atk/m2", "x", "Content-Md5: "+base64.StdEncoding.EncodeToString([]byte("short"))),
			status: 400, code: "InvalidDigest", after: a.notStored("m2")},
		{name: "md5/mismatch", req: a.hdr("PUT", "/atk/m3", "x", "Content-Md5: "+md5b64("y")), status: 400, code: "BadDigest", after: a.notStored("m3")},
		{name: "md5/mismatch on an XML body", req: a.hdr("POST", "/atk?delete", "<Delete><Object><Key>secret</Key></Object></Delete>", "Content-Md5: "+md5b64("y")),
			status: 400, code: "BadDigest", after: func(t *testing.T) {
				if st, _ := s3test.Do(t, s3test.SignedRequest(t, s3test.Creds, "HEAD", u+"/atk/secret", nil, empty, now)); st != 200 {
					t.Errorf("refused multi-delete deleted atk/secret: HEAD %d", st)
				}
			}},
		{name: "xml/oversized DeleteObjects", req: a.hdr("POST", "/atk?delete", "<Delete>"+strings.Repeat("<Object><Key>k</Key></Object>", 80000)+"</Delete>"),
			status: 400, code: "MalformedXML"},
		{name: "xml/oversized CompleteMultipartUpload", req: a.hdr("POST", "/atk/mp?uploadId="+url.QueryEscape(uploadID),
			"<CompleteMultipartUpload>"+strings.Repeat("<Part><PartNumber>1</PartNumber><ETag>x</ETag></Part>", 50000)+"</CompleteMultipartUpload>"),
			status: 400, code: "MalformedXML"},
		{name: "xml/oversized AccessControlPolicy", req: a.hdr("PUT", "/atk?acl", "<AccessControlPolicy>"+strings.Repeat(" ", 2<<20)+"</AccessControlPolicy>"),
			status: 400, code: "MalformedXML"},
		{name: "xml/entity expansion in Tagging", req: a.hdr("PUT", "/atk/secret?tagging",
			`<?xml version="1.0"?><!DOCTYPE t [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><Tagging><TagSet><Tag><Key>k</Key><Value>&b;</Value></Tag></TagSet></Tagging>`),
			status: 400, code: "MalformedXML"},
	}
}
