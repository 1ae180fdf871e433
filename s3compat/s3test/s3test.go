// Package s3test is test support for swiftbox's S3 API: aws-sdk-go-v2
// clients, SigV4-signed raw requests and aws-chunked bodies, and browser
// form uploads, shared by the in-process tests (s3compat) and the tests of
// the real binary (cli).
package s3test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
)

// Region is the region the tests sign for (s3.location's default).
const Region = "us-east-1"

// Creds are test:tester's (.admin of AUTH_test).
var Creds = aws.Credentials{AccessKeyID: "test:tester", SecretAccessKey: "testing"}

// Client is an aws-sdk-go-v2 client for the S3 API at endpoint through
// hc (nil = http.DefaultClient), path-style, with the SDK's defaults
// (checksums, aws-chunked trailers).
func Client(endpoint string, hc *http.Client, user, key string) *s3.Client {
	if hc == nil {
		hc = http.DefaultClient
	}
	// The SDK's defaults, spelled out: the environment may hold other settings.
	return s3.New(s3.Options{
		Region:                     Region,
		BaseEndpoint:               aws.String(endpoint),
		UsePathStyle:               true,
		HTTPClient:                 hc,
		Credentials:                credentials.NewStaticCredentialsProvider(user, key, ""),
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenSupported,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenSupported,
	})
}

// TLSClient is Client through a TLS-terminating proxy to target: the SDK
// sends aws-chunked bodies with trailing checksums only over TLS.
func TLSClient(t testing.TB, target, user, key string) *s3.Client {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewTLSServer(httputil.NewSingleHostReverseProxy(u))
	t.Cleanup(ts.Close)
	return Client(ts.URL, ts.Client(), user, key)
}

// Code is the S3 error code of err ("" when none).
func Code(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// SignedRequest signs a request with SigV4 as creds at time at (payload
// hash given), with headers as "Name: value" strings.
func SignedRequest(t testing.TB, creds aws.Credentials, method, u string, body io.Reader, payloadHash string, at time.Time, hdr ...string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range hdr {
		k, v, _ := strings.Cut(h, ":")
		req.Header.Set(k, strings.TrimSpace(v))
	}
	req.Header.Set("X-Amz-Content-Sha256", payloadHash)
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, payloadHash, "s3", Region, at); err != nil {
		t.Fatal(err)
	}
	return req
}

// Do sends req and returns status and body.
func Do(t testing.TB, req *http.Request) (int, string) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp.StatusCode, string(b)
}

// Must is Do that fails the test unless the status is want.
func Must(t testing.TB, req *http.Request, want int) {
	t.Helper()
	if st, body := Do(t, req); st != want {
		t.Fatalf("%s %s: %d %s", req.Method, req.URL, st, body)
	}
}

// SHA256Hex is the hex SHA-256 of s (a payload hash).
func SHA256Hex(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// HMAC is HMAC-SHA256 of s with key.
func HMAC(key []byte, s string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(s))
	return m.Sum(nil)
}

// AWSChunked frames chunks with chunk signatures of secret chained from
// seed; corrupt makes chunk i's signature wrong (-1: none).
func AWSChunked(secret, seed string, at time.Time, chunks []string, corrupt int) string {
	date := at.UTC().Format("20060102")
	scope := date + "/" + Region + "/s3/aws4_request"
	key := []byte("AWS4" + secret)
	for _, p := range []string{date, Region, "s3", "aws4_request"} {
		key = HMAC(key, p)
	}
	prev := seed
	var b strings.Builder
	for i, c := range append(chunks, "") {
		sts := "AWS4-HMAC-SHA256-PAYLOAD\n" + at.UTC().Format("20060102T150405Z") + "\n" + scope + "\n" + prev + "\n" + SHA256Hex("") + "\n" + SHA256Hex(c)
		sig := hex.EncodeToString(HMAC(key, sts))
		prev = sig
		if i == corrupt {
			sig = strings.Repeat("0", 64)
		}
		fmt.Fprintf(&b, "%x;chunk-signature=%s\r\n%s\r\n", len(c), sig, c)
	}
	return b.String()
}

// SeedSignature is the Signature of a signed request's Authorization.
func SeedSignature(req *http.Request) string {
	a := req.Header.Get("Authorization")
	return a[strings.Index(a, "Signature=")+len("Signature="):]
}

// PostForm sends a browser-form upload (S3 POST Object) to urlStr.
func PostForm(t testing.TB, urlStr string, fields [][2]string, file string) (int, string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for _, f := range fields {
		mw.WriteField(f[0], f[1])
	}
	fw, _ := mw.CreateFormFile("file", "upload.txt")
	fw.Write([]byte(file))
	mw.Close()
	resp, err := http.Post(urlStr, mw.FormDataContentType(), &buf)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp.StatusCode, string(b)
}

// Get reads key (at version v when not "") and returns its body.
func Get(t testing.TB, c *s3.Client, bucket, key, v string) (string, error) {
	t.Helper()
	in := &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)}
	if v != "" {
		in.VersionId = aws.String(v)
	}
	out, err := c.GetObject(context.Background(), in)
	if err != nil {
		return "", err
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	return string(b), err
}

// MultipartETag is the ETag S3 gives an object uploaded in parts of
// partSize bytes.
func MultipartETag(data []byte, partSize int) string {
	h := md5.New()
	n := 0
	for off := 0; off < len(data); off += partSize {
		end := min(off+partSize, len(data))
		sum := md5.Sum(data[off:end])
		h.Write(sum[:])
		n++
	}
	return fmt.Sprintf(`"%x-%d"`, h.Sum(nil), n)
}

// Between is the text of s between the first a and the b after it ("" if
// either is missing), e.g. an error document's <Code>.
func Between(s, a, b string) string {
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
