package s3compat_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"swiftbox/s3compat/s3test"
)

func tagList(ts []types.Tag) string {
	var b strings.Builder
	for _, t := range ts {
		fmt.Fprintf(&b, "%s=%s;", aws.ToString(t.Key), aws.ToString(t.Value))
	}
	return b.String()
}

// Object and bucket tagging: x-amz-tagging on PUT, multipart and copy,
// Put/Get/DeleteObjectTagging keeping the object's metadata and expiry,
// the tag count on GET/HEAD, S3's limits, bucket tag sets.
func TestS3Tagging(t *testing.T) {
	t.Parallel()
	s := startS3(t, nil)
	c := s3Client(t, s, "test:tester", "testing")
	ctx := context.Background()
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("tags")}); err != nil {
		t.Fatal(err)
	}
	_, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("tags"), Key: aws.String("o"), Body: strings.NewReader("data"),
		Tagging: aws.String("b=2&a=1&empty"), Metadata: map[string]string{"color": "red"}, ContentType: aws.String("text/x-test")})
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.GetObjectTagging(ctx, &s3.GetObjectTaggingInput{Bucket: aws.String("tags"), Key: aws.String("o")})
	if err != nil || tagList(got.TagSet) != "a=1;b=2;empty=;" {
		t.Fatalf("tags after PUT: %v %v", tagList(got.TagSet), err)
	}
	head, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("tags"), Key: aws.String("o")})
	if err != nil || aws.ToInt32(head.TagCount) != 3 {
		t.Fatalf("HEAD tag count: %v %v", head.TagCount, err)
	}

	// Replacing the tags keeps metadata, content type and data.
	_, err = c.PutObjectTagging(ctx, &s3.PutObjectTaggingInput{Bucket: aws.String("tags"), Key: aws.String("o"),
		Tagging: &types.Tagging{TagSet: []types.Tag{{Key: aws.String("k"), Value: aws.String("v")}}}})
	if err != nil {
		t.Fatal(err)
	}
	obj, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("tags"), Key: aws.String("o")})
	if err != nil {
		t.Fatal(err)
	}
	obj.Body.Close()
	if obj.Metadata["color"] != "red" || aws.ToString(obj.ContentType) != "text/x-test" || aws.ToInt32(obj.TagCount) != 1 {
		t.Fatalf("after PutObjectTagging: meta %v type %q tags %v", obj.Metadata, aws.ToString(obj.ContentType), obj.TagCount)
	}

	// Limits: 11 tags, a 129-character key, a duplicate key, bad XML.
	var eleven []types.Tag
	for i := range 11 {
		eleven = append(eleven, types.Tag{Key: aws.String(fmt.Sprint(i)), Value: aws.String("v")})
	}
	for name, set := range map[string][]types.Tag{
		"11 tags":  eleven,
		"long key": {{Key: aws.String(strings.Repeat("k", 129)), Value: aws.String("v")}},
		"long val": {{Key: aws.String("k"), Value: aws.String(strings.Repeat("v", 257))}},
		"dup key":  {{Key: aws.String("k"), Value: aws.String("1")}, {Key: aws.String("k"), Value: aws.String("2")}},
	} {
		_, err = c.PutObjectTagging(ctx, &s3.PutObjectTaggingInput{Bucket: aws.String("tags"), Key: aws.String("o"),
			Tagging: &types.Tagging{TagSet: set}})
		if s3test.Code(err) != "InvalidTag" {
			t.Errorf("%s: %v, want InvalidTag", name, err)
		}
	}
	if _, err = c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("tags"), Key: aws.String("bad"), Body: strings.NewReader("x"),
		Tagging: aws.String(strings.Repeat("k", 129) + "=v")}); s3test.Code(err) != "InvalidTag" {
		t.Errorf("PUT with a 129-character tag key: %v, want InvalidTag", err)
	}
	if _, err = c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("tags"), Key: aws.String("bad")}); err == nil {
		t.Error("a PUT refused for its tags stored the object")
	}

	// Copy: tags follow x-amz-tagging-directive.
	_, err = c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String("tags"), Key: aws.String("copy"), CopySource: aws.String("tags/o")})
	if err != nil {
		t.Fatal(err)
	}
	got, _ = c.GetObjectTagging(ctx, &s3.GetObjectTaggingInput{Bucket: aws.String("tags"), Key: aws.String("copy")})
	if tagList(got.TagSet) != "k=v;" {
		t.Fatalf("copied tags: %s", tagList(got.TagSet))
	}
	_, err = c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String("tags"), Key: aws.String("copy2"), CopySource: aws.String("tags/o"),
		TaggingDirective: types.TaggingDirectiveReplace, Tagging: aws.String("new=1")})
	if err != nil {
		t.Fatal(err)
	}
	got, _ = c.GetObjectTagging(ctx, &s3.GetObjectTaggingInput{Bucket: aws.String("tags"), Key: aws.String("copy2")})
	if tagList(got.TagSet) != "new=1;" {
		t.Fatalf("replaced tags on copy: %s", tagList(got.TagSet))
	}

	// Multipart: tags given at create are on the finished object.
	up, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String("tags"), Key: aws.String("mp"), Tagging: aws.String("mp=yes")})
	if err != nil {
		t.Fatal(err)
	}
	part, err := c.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String("tags"), Key: aws.String("mp"), UploadId: up.UploadId,
		PartNumber: aws.Int32(1), Body: strings.NewReader("part")})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String("tags"), Key: aws.String("mp"), UploadId: up.UploadId,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: []types.CompletedPart{{PartNumber: aws.Int32(1), ETag: part.ETag}}}})
	if err != nil {
		t.Fatal(err)
	}
	got, _ = c.GetObjectTagging(ctx, &s3.GetObjectTaggingInput{Bucket: aws.String("tags"), Key: aws.String("mp")})
	if tagList(got.TagSet) != "mp=yes;" {
		t.Fatalf("multipart tags: %s", tagList(got.TagSet))
	}

	// Deleting the tags keeps an object's expiry (set through Swift).
	sc := swiftConn(t, s, "test:tester", "testing")
	at := time.Now().Add(time.Hour).Unix()
	if err := sc.ObjectUpdate(ctx, "tags", "o", map[string]string{"X-Delete-At": fmt.Sprint(at), "X-Object-Meta-Color": "red"}); err != nil {
		t.Fatal(err)
	}
	if _, err = c.DeleteObjectTagging(ctx, &s3.DeleteObjectTaggingInput{Bucket: aws.String("tags"), Key: aws.String("o")}); err != nil {
		t.Fatal(err)
	}
	_, h, err := sc.Object(ctx, "tags", "o")
	if err != nil || h["X-Delete-At"] != fmt.Sprint(at) || h["X-Object-Meta-Color"] != "red" {
		t.Fatalf("after DeleteObjectTagging: %v %v", h, err)
	}
	got, _ = c.GetObjectTagging(ctx, &s3.GetObjectTaggingInput{Bucket: aws.String("tags"), Key: aws.String("o")})
	if len(got.TagSet) != 0 {
		t.Fatalf("tags after delete: %s", tagList(got.TagSet))
	}

	// Bucket tags.
	if _, err = c.GetBucketTagging(ctx, &s3.GetBucketTaggingInput{Bucket: aws.String("tags")}); s3test.Code(err) != "NoSuchTagSet" {
		t.Fatalf("GetBucketTagging of an untagged bucket: %v", err)
	}
	_, err = c.PutBucketTagging(ctx, &s3.PutBucketTaggingInput{Bucket: aws.String("tags"),
		Tagging: &types.Tagging{TagSet: []types.Tag{{Key: aws.String("team"), Value: aws.String("ops")}}}})
	if err != nil {
		t.Fatal(err)
	}
	bt, err := c.GetBucketTagging(ctx, &s3.GetBucketTaggingInput{Bucket: aws.String("tags")})
	if err != nil || tagList(bt.TagSet) != "team=ops;" {
		t.Fatalf("bucket tags: %v %v", bt, err)
	}
	if _, err = c.DeleteBucketTagging(ctx, &s3.DeleteBucketTaggingInput{Bucket: aws.String("tags")}); err != nil {
		t.Fatal(err)
	}
	if _, err = c.GetBucketTagging(ctx, &s3.GetBucketTaggingInput{Bucket: aws.String("tags")}); s3test.Code(err) != "NoSuchTagSet" {
		t.Fatalf("GetBucketTagging after delete: %v", err)
	}
}

// GetObjectTagging with a versionId reads that version's tags.
func TestS3TaggingOfVersions(t *testing.T) {
	t.Parallel()
	s := startS3(t, nil)
	c := s3Client(t, s, "test:tester", "testing")
	ctx := context.Background()
	b := aws.String("vtags")
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: b}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: b,
		VersioningConfiguration: &types.VersioningConfiguration{Status: types.BucketVersioningStatusEnabled}}); err != nil {
		t.Fatal(err)
	}
	v1, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: b, Key: aws.String("k"), Body: strings.NewReader("1"), Tagging: aws.String("v=1")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: b, Key: aws.String("k"), Body: strings.NewReader("2"), Tagging: aws.String("v=2")}); err != nil {
		t.Fatal(err)
	}
	got, err := c.GetObjectTagging(ctx, &s3.GetObjectTaggingInput{Bucket: b, Key: aws.String("k"), VersionId: v1.VersionId})
	if err != nil || tagList(got.TagSet) != "v=1;" {
		t.Fatalf("tags of the first version: %v %v", tagList(got.TagSet), err)
	}
	got, err = c.GetObjectTagging(ctx, &s3.GetObjectTaggingInput{Bucket: b, Key: aws.String("k")})
	if err != nil || tagList(got.TagSet) != "v=2;" {
		t.Fatalf("tags of the current version: %v %v", tagList(got.TagSet), err)
	}
	_, err = c.PutObjectTagging(ctx, &s3.PutObjectTaggingInput{Bucket: b, Key: aws.String("k"), VersionId: v1.VersionId,
		Tagging: &types.Tagging{TagSet: []types.Tag{{Key: aws.String("x"), Value: aws.String("y")}}}})
	if s3test.Code(err) != "NotImplemented" {
		t.Fatalf("PutObjectTagging of an old version: %v, want NotImplemented", err)
	}
}
