package s3compat_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"swiftbox/s3compat/s3test"
	"swiftbox/server/servertest"
)

// /info's s3api entry is the S3 layer's own, and says s3_acl: true, which
// Swift's functional tests read to expect s3_acl's behaviour: a listing's
// owner is the access key, and a bucket is another user's even in the
// same account.
func TestInfoS3ACL(t *testing.T) {
	t.Parallel()
	s := servertest.Start(t, servertest.Options{S3: true, Users: append([]string{"test:admin2:testing2:.admin"}, servertest.Users...)})
	_, body := s.Must(200, "GET", "/info", "")
	var doc map[string]map[string]any
	if err := json.Unmarshal([]byte(body), &doc); err != nil {
		t.Fatal(err)
	}
	if doc["s3api"]["s3_acl"] != true || doc["s3api"]["max_bucket_listing"] != float64(1000) {
		t.Fatalf("/info s3api: %v", doc["s3api"])
	}
	ctx := context.Background()
	c := s3Client(t, s, "test:tester", "testing")
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("bucket")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("bucket"), Key: aws.String("o"), Body: strings.NewReader("x")}); err != nil {
		t.Fatal(err)
	}
	list, err := c.ListObjects(ctx, &s3.ListObjectsInput{Bucket: aws.String("bucket")})
	if err != nil || len(list.Contents) != 1 || list.Contents[0].Owner == nil ||
		aws.ToString(list.Contents[0].Owner.ID) != "test:tester" || aws.ToString(list.Contents[0].Owner.DisplayName) != "test:tester" {
		t.Fatalf("listing owner: %+v %v", list, err)
	}
	// Another admin of the account meets the bucket as someone else's
	// (test_put_bucket_error_key2, run only with s3_acl).
	c2 := s3Client(t, s, "test:admin2", "testing2")
	if _, err := c2.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("bucket")}); s3test.Code(err) != "BucketAlreadyExists" {
		t.Fatalf("CreateBucket of an existing bucket by another user of the account: %v", err)
	}
}
