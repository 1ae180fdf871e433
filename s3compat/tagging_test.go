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
	"swiftbox/server/servertest"
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
	g := &tagTest{t: t, s: s, c: s3Client(t, s, "test:tester", "testing"), ctx: context.Background()}
	if _, err := g.c.CreateBucket(g.ctx, &s3.CreateBucketInput{Bucket: aws.String("tags")}); err != nil {
		t.Fatal(err)
	}
	g.putWithTags()
	g.replaceTags()
	g.limits()
	g.copyDirective()
	g.multipartTags()
	g.deleteKeepsExpiry()
	g.bucketTags()
}

// tagTest is TestS3Tagging's state: bucket tags with the object o.
type tagTest struct {
	t   *testing.T
	s   *servertest.Cluster
	c   *s3.Client
	ctx context.Context
}

// tagsOf is tagList of key's tags (none when it cannot read them).
func (g *tagTest) tagsOf(key string) string {
	got, _ := g.c.GetObjectTagging(g.ctx, &s3.GetObjectTaggingInput{Bucket: aws.String("tags"), Key: aws.String(key)})
	return tagList(got.TagSet)
}

// putWithTags writes o with x-amz-tagging, then reads its tags and count.
func (g *tagTest) putWithTags() {
	t, c, ctx := g.t, g.c, g.ctx
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
}

// replaceTags: replacing the tags keeps metadata, content type and data.
func (g *tagTest) replaceTags() {
	t, c, ctx := g.t, g.c, g.ctx
	_, err := c.PutObjectTagging(ctx, &s3.PutObjectTaggingInput{Bucket: aws.String("tags"), Key: aws.String("o"),
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
}

// invalidTagSets are tag sets past S3's limits: 11 tags, a 129-character
// key, a 257-character value, a duplicate key.
var invalidTagSets = map[string][]types.Tag{
	"11 tags":  elevenTags(),
	"long key": {{Key: aws.String(strings.Repeat("k", 129)), Value: aws.String("v")}},
	"long val": {{Key: aws.String("k"), Value: aws.String(strings.Repeat("v", 257))}},
	"dup key":  {{Key: aws.String("k"), Value: aws.String("1")}, {Key: aws.String("k"), Value: aws.String("2")}},
}

func elevenTags() []types.Tag {
	var eleven []types.Tag
	for i := range 11 {
		eleven = append(eleven, types.Tag{Key: aws.String(fmt.Sprint(i)), Value: aws.String("v")})
	}
	return eleven
}

// limits: the invalidTagSets, and a PUT whose x-amz-tagging has a
// 129-character key, are refused; the refused PUT stores nothing.
func (g *tagTest) limits() {
	t, c, ctx := g.t, g.c, g.ctx
	for name, set := range invalidTagSets {
		_, err := c.PutObjectTagging(ctx, &s3.PutObjectTaggingInput{Bucket: aws.String("tags"), Key: aws.String("o"),
			Tagging: &types.Tagging{TagSet: set}})
		if s3test.Code(err) != "InvalidTag" {
			t.Errorf("%s: %v, want InvalidTag", name, err)
		}
	}
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("tags"), Key: aws.String("bad"), Body: strings.NewReader("x"),
		Tagging: aws.String(strings.Repeat("k", 129) + "=v")}); s3test.Code(err) != "InvalidTag" {
		t.Errorf("PUT with a 129-character tag key: %v, want InvalidTag", err)
	}
	if _, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("tags"), Key: aws.String("bad")}); err == nil {
		t.Error("a PUT refused for its tags stored the object")
	}
}

// copyDirective: on copy, tags follow x-amz-tagging-directive.
func (g *tagTest) copyDirective() {
	t, c, ctx := g.t, g.c, g.ctx
	_, err := c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String("tags"), Key: aws.String("copy"), CopySource: aws.String("tags/o")})
	if err != nil {
		t.Fatal(err)
	}
	if got := g.tagsOf("copy"); got != "k=v;" {
		t.Fatalf("copied tags: %s", got)
	}
	_, err = c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String("tags"), Key: aws.String("copy2"), CopySource: aws.String("tags/o"),
		TaggingDirective: types.TaggingDirectiveReplace, Tagging: aws.String("new=1")})
	if err != nil {
		t.Fatal(err)
	}
	if got := g.tagsOf("copy2"); got != "new=1;" {
		t.Fatalf("replaced tags on copy: %s", got)
	}
}

// multipartTags: tags given at create are on the finished object.
func (g *tagTest) multipartTags() {
	t, c, ctx := g.t, g.c, g.ctx
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
	if got := g.tagsOf("mp"); got != "mp=yes;" {
		t.Fatalf("multipart tags: %s", got)
	}
}

// deleteKeepsExpiry: deleting the tags keeps an object's expiry (set
// through Swift).
func (g *tagTest) deleteKeepsExpiry() {
	t, c, ctx := g.t, g.c, g.ctx
	sc := swiftConn(t, g.s, "test:tester", "testing")
	at := time.Now().Add(time.Hour).Unix()
	if err := sc.ObjectUpdate(ctx, "tags", "o", map[string]string{"X-Delete-At": fmt.Sprint(at), "X-Object-Meta-Color": "red"}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DeleteObjectTagging(ctx, &s3.DeleteObjectTaggingInput{Bucket: aws.String("tags"), Key: aws.String("o")}); err != nil {
		t.Fatal(err)
	}
	_, h, err := sc.Object(ctx, "tags", "o")
	if err != nil || h["X-Delete-At"] != fmt.Sprint(at) || h["X-Object-Meta-Color"] != "red" {
		t.Fatalf("after DeleteObjectTagging: %v %v", h, err)
	}
	if got := g.tagsOf("o"); got != "" {
		t.Fatalf("tags after delete: %s", got)
	}
}

// bucketTags: a bucket's tags are put, read and deleted.
func (g *tagTest) bucketTags() {
	t, c, ctx := g.t, g.c, g.ctx
	if _, err := c.GetBucketTagging(ctx, &s3.GetBucketTaggingInput{Bucket: aws.String("tags")}); s3test.Code(err) != "NoSuchTagSet" {
		t.Fatalf("GetBucketTagging of an untagged bucket: %v", err)
	}
	_, err := c.PutBucketTagging(ctx, &s3.PutBucketTaggingInput{Bucket: aws.String("tags"),
		Tagging: &types.Tagging{TagSet: []types.Tag{{Key: aws.String("team"), Value: aws.String("ops")}}}})
	if err != nil {
		t.Fatal(err)
	}
	bt, err := c.GetBucketTagging(ctx, &s3.GetBucketTaggingInput{Bucket: aws.String("tags")})
	if err != nil || tagList(bt.TagSet) != "team=ops;" {
		t.Fatalf("bucket tags: %v %v", bt, err)
	}
	if _, err := c.DeleteBucketTagging(ctx, &s3.DeleteBucketTaggingInput{Bucket: aws.String("tags")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetBucketTagging(ctx, &s3.GetBucketTaggingInput{Bucket: aws.String("tags")}); s3test.Code(err) != "NoSuchTagSet" {
		t.Fatalf("GetBucketTagging after delete: %v", err)
	}
}

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
