package cli_test

import (
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// Per-application access keys: a key limited to one bucket, and a
// read-only key, as `swiftbox user key create` issues them.
func TestS3AccessKeys(t *testing.T) {
	dev := t.TempDir()
	s := startServer(t, dev)
	run(t, false, "user", "add", "test:alice", "--admin", "--key", "alicekey", "--devices", dev)
	pair := regexp.MustCompile(`access key: (\S+)\nsecret key: (\S+)`)
	m := pair.FindStringSubmatch(run(t, false, "user", "key", "create", "test:alice", "--bucket", "photos", "--devices", dev))
	r := pair.FindStringSubmatch(run(t, false, "user", "key", "create", "test:alice", "--read-only", "--devices", dev))
	if m == nil || r == nil {
		t.Fatal("user key create printed no key")
	}
	ctx := context.Background()
	admin := s3Client(t, s, "test:alice", "alicekey")
	eventually(t, "alice's S3 access", func() bool {
		_, err := admin.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("photos")})
		return err == nil
	})
	if _, err := admin.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("private")}); err != nil {
		t.Fatal(err)
	}
	photos := s3Client(t, s, m[1], m[2])
	eventually(t, "the bucket key works", func() bool {
		_, err := photos.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("photos"), Key: aws.String("p.jpg"), Body: strings.NewReader("jpg")})
		return err == nil
	})
	_, err := photos.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("private"), Key: aws.String("x"), Body: strings.NewReader("x")})
	if s3Code(err) != "AccessDenied" {
		t.Fatalf("bucket key writing another bucket: %v", err)
	}
	lb, err := photos.ListBuckets(ctx, &s3.ListBucketsInput{})
	if err != nil || len(lb.Buckets) != 1 || aws.ToString(lb.Buckets[0].Name) != "photos" {
		t.Fatalf("bucket key's ListBuckets: %v %+v", err, lb)
	}
	ro := s3Client(t, s, r[1], r[2])
	get, err := ro.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("photos"), Key: aws.String("p.jpg")})
	if err != nil {
		t.Fatalf("read-only key reading: %v", err)
	}
	get.Body.Close()
	_, err = ro.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("photos"), Key: aws.String("y"), Body: strings.NewReader("y")})
	if s3Code(err) != "AccessDenied" {
		t.Fatalf("read-only key writing: %v", err)
	}
	_, err = ro.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("photos"), Key: aws.String("p.jpg")})
	if s3Code(err) != "AccessDenied" {
		t.Fatalf("read-only key deleting: %v", err)
	}
}
