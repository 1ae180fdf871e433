package servertest_test

import (
	"context"
	"log/slog"
	"strings"
	"syscall"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"swiftbox/s3compat/s3test"
	"swiftbox/server/servertest"
	"swiftbox/storage/storagetest"
)

// The options put the front together as serve does: the identity
// endpoint logs a local user in, the S3 API serves a signed request, and
// the logger and file system given are the ones the proxy uses.
func TestOptions(t *testing.T) {
	t.Parallel()
	logs := &servertest.LogBuffer{}
	fs := storagetest.NewFaultFS(nil)
	c := servertest.Start(t, servertest.Options{Identity: true, S3: true, FS: fs, Log: slog.New(slog.NewTextHandler(logs, nil))})
	login := `{"auth":{"identity":{"methods":["password"],"password":{"user":{"name":"tester","domain":{"id":"default"},"password":"testing"}}},` +
		`"scope":{"project":{"name":"test","domain":{"id":"default"}}}}}`
	resp, _ := c.Must(201, "POST", "/v3/auth/tokens", login, "X-Auth-Token:", "Content-Type: application/json")
	tok := resp.Header.Get("X-Subject-Token")
	c.Must(204, "HEAD", "/v1/AUTH_test", "", "X-Auth-Token: "+tok)

	s3c := s3test.Client(c.URL, nil, "test:tester", "testing")
	ctx := context.Background()
	if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("bucket")}); err != nil {
		t.Fatal(err)
	}
	if _, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("bucket"), Key: aws.String("o"), Body: strings.NewReader("hello")}); err != nil {
		t.Fatal(err)
	}
	if st, body, err := c.Get("/v1/AUTH_test/bucket/o"); st != 200 || string(body) != "hello" || err != nil {
		t.Fatalf("Swift GET of an S3 PUT: %d %q %v", st, body, err)
	}
	if len(c.Replicas("AUTH_test", "bucket", "o")) != 3 {
		t.Fatal("not three replicas")
	}
	// The object store writes through fs: a failing rename fails the PUT.
	fs.Inject = func(op storagetest.Op, path string) error {
		if op == storagetest.OpRename && strings.HasSuffix(path, ".data") {
			return syscall.EIO
		}
		return nil
	}
	c.Must(503, "PUT", "/v1/AUTH_test/bucket/o2", "x")
	if !strings.Contains(logs.Take(), "input/output error") {
		t.Error("the fault was not logged with the proxy's logger")
	}
}
