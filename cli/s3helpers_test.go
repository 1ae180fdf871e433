package cli_test

import (
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"swiftbox/s3compat/s3test"
)

// The S3 test helpers are s3test's (shared with s3compat's in-process
// tests), under the names the tests of the binary use.

var testCreds = s3test.Creds

// s3Client is an aws-sdk-go-v2 client for s's S3 API, path-style, with
// the SDK's defaults (checksums, aws-chunked trailers).
func s3Client(t *testing.T, s *server, user, key string) *s3.Client {
	return s3test.Client(s.URL, http.DefaultClient, user, key)
}

func s3ClientAt(t *testing.T, endpoint string, hc *http.Client, user, key string) *s3.Client {
	return s3test.Client(endpoint, hc, user, key)
}

// s3TLSClient talks to s through a TLS-terminating proxy.
func s3TLSClient(t *testing.T, s *server, user, key string) *s3.Client {
	return s3test.TLSClient(t, s.URL, user, key)
}

func s3Code(err error) string { return s3test.Code(err) }

func s3Get(t *testing.T, c *s3.Client, bucket, key, v string) (string, error) {
	return s3test.Get(t, c, bucket, key, v)
}

// signedReq signs a request as testCreds with SigV4 at time at.
func signedReq(t *testing.T, method, u string, body io.Reader, payloadHash string, at time.Time, hdr ...string) *http.Request {
	return s3test.SignedRequest(t, testCreds, method, u, body, payloadHash, at, hdr...)
}

func doS3(t *testing.T, req *http.Request) (int, string) { return s3test.Do(t, req) }

func mustS3(t *testing.T, req *http.Request, want int) { s3test.Must(t, req, want) }

func sha256hex(s string) string { return s3test.SHA256Hex(s) }

func hmacSHA(key []byte, s string) []byte { return s3test.HMAC(key, s) }

// awsChunked frames chunks signed with testCreds' secret.
func awsChunked(seed string, at time.Time, chunks []string, corrupt int) string {
	return s3test.AWSChunked(testCreds.SecretAccessKey, seed, at, chunks, corrupt)
}

func seedSignature(req *http.Request) string { return s3test.SeedSignature(req) }

func postForm(t *testing.T, urlStr string, fields [][2]string, file string) (int, string) {
	return s3test.PostForm(t, urlStr, fields, file)
}

func multipartETag(data []byte, partSize int) string { return s3test.MultipartETag(data, partSize) }
