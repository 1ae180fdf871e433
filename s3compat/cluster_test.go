package s3compat_test

import (
	"context"
	"crypto/rand"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/ncw/swift/v2"

	"swiftbox/config"
	"swiftbox/s3compat/s3test"
	"swiftbox/server/servertest"
)

// startS3 serves an in-process cluster with the S3 API in front, as serve
// does, with configure applied to its config (nil = defaults). Its users
// are servertest.Users: test:tester/testing is .admin of AUTH_test.
func startS3(t *testing.T, configure func(*config.Config)) *servertest.Cluster {
	t.Helper()
	return servertest.Start(t, servertest.Options{S3: true, Configure: configure})
}

// s3Client is an aws-sdk-go-v2 client of s's S3 API for user and key.
func s3Client(t *testing.T, s *servertest.Cluster, user, key string) *s3.Client {
	return s3test.Client(s.URL, http.DefaultClient, user, key)
}

// swiftConn is an authenticated ncw/swift connection to s.
func swiftConn(t *testing.T, s *servertest.Cluster, user, key string) *swift.Connection {
	t.Helper()
	c := &swift.Connection{UserName: user, ApiKey: key, AuthUrl: s.URL + "/auth/v1.0", Timeout: time.Minute}
	if err := c.Authenticate(context.Background()); err != nil {
		t.Fatalf("authenticate: %v", err)
	}
	return c
}

// swiftToken authenticates user/key with auth v1.0.
func swiftToken(t *testing.T, s *servertest.Cluster, user, key string) (storageURL, token string) {
	t.Helper()
	resp, _ := s.Do("GET", "/auth/v1.0", "", "X-Auth-Token:", "X-Auth-User: "+user, "X-Auth-Key: "+key)
	if resp.StatusCode != 200 {
		t.Fatalf("auth %s: %d", user, resp.StatusCode)
	}
	return resp.Header.Get("X-Storage-Url"), resp.Header.Get("X-Auth-Token")
}

func randBytes(t *testing.T, n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// anonymousAUTHtest makes unsigned S3 requests AUTH_test's (config
// s3.anonymous_account).
func anonymousAUTHtest(c *config.Config) { c.S3.AnonymousAccount = "AUTH_test" }

// startS3Listener serves a cluster with an S3 listener whose unsigned
// requests are AUTH_test's, and returns the listener's host:port.
func startS3Listener(t *testing.T) string {
	s := servertest.Start(t, servertest.Options{S3Listener: true, Configure: anonymousAUTHtest})
	return strings.TrimPrefix(s.S3URL, "http://")
}
