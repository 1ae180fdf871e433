package s3compat_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"swiftbox/s3compat/s3test"
)

// ListBuckets pages with max-buckets and continuation tokens, and filters
// by prefix.
func TestS3ListBucketsPaginated(t *testing.T) {
	t.Parallel()
	s := startS3(t, nil)
	c := s3Client(t, s, "test:tester", "testing")
	ctx := context.Background()
	for i := range 5 {
		if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(fmt.Sprintf("page-%d", i))}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("other")}); err != nil {
		t.Fatal(err)
	}
	var got []string
	var token *string
	for pages := 0; ; pages++ {
		out, err := c.ListBuckets(ctx, &s3.ListBucketsInput{MaxBuckets: aws.Int32(2), ContinuationToken: token, Prefix: aws.String("page-")})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Buckets) > 2 || pages > 3 {
			t.Fatalf("page %d: %d buckets", pages, len(out.Buckets))
		}
		for _, b := range out.Buckets {
			got = append(got, aws.ToString(b.Name))
		}
		if token = out.ContinuationToken; token == nil {
			break
		}
	}
	if fmt.Sprint(got) != "[page-0 page-1 page-2 page-3 page-4]" {
		t.Fatalf("paged listing: %v", got)
	}
	if _, err := c.ListBuckets(ctx, &s3.ListBucketsInput{MaxBuckets: aws.Int32(0)}); s3test.Code(err) != "InvalidArgument" {
		t.Fatalf("max-buckets 0: %v", err)
	}
}
