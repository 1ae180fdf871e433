package s3compat_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"swiftbox/s3compat/s3test"
	"swiftbox/server/servertest"
)

func TestS3Multipart(t *testing.T) {
	t.Parallel()
	s := startS3(t, nil)
	m := &mpuTest{t: t, s: s, c: s3test.TLSClient(t, s.URL, "test:tester", "testing"), ctx: context.Background(), b: aws.String("mpu"),
		parts: [][]byte{bytes.Repeat([]byte("1"), 5<<20), bytes.Repeat([]byte("2"), 5<<20), []byte("three")}}
	if _, err := m.c.CreateBucket(m.ctx, &s3.CreateBucketInput{Bucket: m.b}); err != nil {
		t.Fatal(err)
	}
	id, completed := m.upload()
	m.badCompletions(id, completed)
	m.complete(id, completed)
	m.readBack()
	m.swiftReads()
	m.partCopyAndAbort()
	m.deleteAll()
}

// mpuTest is TestS3Multipart's state: bucket b, and the three parts of
// its object "big file" (wantETag once complete).
type mpuTest struct {
	t        *testing.T
	s        *servertest.Cluster
	c        *s3.Client
	ctx      context.Context
	b        *string
	parts    [][]byte
	wantETag string
}

// upload starts the upload of "big file", uploads its parts and lists
// them; it returns the upload's id and the parts to complete it with.
func (m *mpuTest) upload() (*string, []types.CompletedPart) {
	t, c, ctx, b := m.t, m.c, m.ctx, m.b
	cr, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: b, Key: aws.String("big file"),
		ContentType: aws.String("application/x-big"), Metadata: map[string]string{"k": "v"}})
	if err != nil {
		t.Fatalf("CreateMultipartUpload: %v", err)
	}
	id := cr.UploadId
	var completed []types.CompletedPart
	etagSum := md5.New()
	for i, p := range m.parts {
		up, err := c.UploadPart(ctx, &s3.UploadPartInput{Bucket: b, Key: aws.String("big file"), UploadId: id,
			PartNumber: aws.Int32(int32(i + 1)), Body: bytes.NewReader(p)})
		if err != nil {
			t.Fatalf("UploadPart %d: %v", i+1, err)
		}
		sum := md5.Sum(p)
		if aws.ToString(up.ETag) != fmt.Sprintf(`"%x"`, sum) {
			t.Fatalf("UploadPart %d ETag %s", i+1, aws.ToString(up.ETag))
		}
		etagSum.Write(sum[:])
		completed = append(completed, types.CompletedPart{ETag: up.ETag, PartNumber: aws.Int32(int32(i + 1))})
	}
	m.wantETag = fmt.Sprintf(`"%x-3"`, etagSum.Sum(nil))
	lp, err := c.ListParts(ctx, &s3.ListPartsInput{Bucket: b, Key: aws.String("big file"), UploadId: id})
	if err != nil || len(lp.Parts) != 3 || aws.ToInt64(lp.Parts[2].Size) != 5 {
		t.Fatalf("ListParts: %v %+v", err, lp)
	}
	lu, err := c.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: b})
	if err != nil || len(lu.Uploads) != 1 || aws.ToString(lu.Uploads[0].UploadId) != aws.ToString(id) || aws.ToString(lu.Uploads[0].Key) != "big file" {
		t.Fatalf("ListMultipartUploads: %v %+v", err, lu)
	}
	return id, completed
}

// badCompletions: out of order, wrong etag, too small.
func (m *mpuTest) badCompletions(id *string, completed []types.CompletedPart) {
	t, c, ctx, b := m.t, m.c, m.ctx, m.b
	_, err := c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: b, Key: aws.String("big file"), UploadId: id,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: []types.CompletedPart{completed[1], completed[0]}}})
	if s3test.Code(err) != "InvalidPartOrder" {
		t.Fatalf("out of order: %v", err)
	}
	_, err = c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: b, Key: aws.String("big file"), UploadId: id,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: []types.CompletedPart{{ETag: aws.String(`"00000000000000000000000000000000"`), PartNumber: aws.Int32(1)}}}})
	if s3test.Code(err) != "InvalidPart" {
		t.Fatalf("wrong etag: %v", err)
	}
	_, err = c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: b, Key: aws.String("big file"), UploadId: id,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: []types.CompletedPart{completed[2], {ETag: completed[2].ETag, PartNumber: aws.Int32(4)}}}})
	if s3test.Code(err) != "InvalidPart" && s3test.Code(err) != "EntityTooSmall" {
		t.Fatalf("too small / missing part: %v", err)
	}
}

// complete completes the upload, twice (a retry answers the same).
func (m *mpuTest) complete(id *string, completed []types.CompletedPart) {
	t, c, ctx, b, wantETag := m.t, m.c, m.ctx, m.b, m.wantETag
	done, err := c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: b, Key: aws.String("big file"), UploadId: id,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: completed}})
	if err != nil {
		t.Fatalf("CompleteMultipartUpload: %v", err)
	}
	if aws.ToString(done.ETag) != wantETag {
		t.Fatalf("multipart ETag %s, want %s", aws.ToString(done.ETag), wantETag)
	}
	again, err := c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: b, Key: aws.String("big file"), UploadId: id,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: completed}})
	if err != nil || aws.ToString(again.ETag) != wantETag {
		t.Fatalf("retried CompleteMultipartUpload: %v", err)
	}
}

// readBack reads "big file" whole, by part and in a listing.
func (m *mpuTest) readBack() {
	t, c, ctx, b, wantETag := m.t, m.c, m.ctx, m.b, m.wantETag
	_, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: b, Key: aws.String("big file"), PartNumber: aws.Int32(4)})
	if s3test.Code(err) != "InvalidPart" {
		t.Fatalf("GetObject partNumber past the parts: %v", err)
	}
	all := bytes.Join(m.parts, nil)
	get, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: b, Key: aws.String("big file")})
	if err != nil {
		t.Fatalf("GetObject: %v", err)
	}
	got, _ := io.ReadAll(get.Body)
	get.Body.Close()
	if !bytes.Equal(got, all) || aws.ToString(get.ETag) != wantETag || get.Metadata["k"] != "v" || aws.ToString(get.ContentType) != "application/x-big" {
		t.Fatalf("GetObject: %d bytes etag %s meta %v type %s", len(got), aws.ToString(get.ETag), get.Metadata, aws.ToString(get.ContentType))
	}
	p2, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: b, Key: aws.String("big file"), PartNumber: aws.Int32(3)})
	if err != nil {
		t.Fatalf("GetObject partNumber: %v", err)
	}
	got, _ = io.ReadAll(p2.Body)
	p2.Body.Close()
	if string(got) != "three" || aws.ToInt32(p2.PartsCount) != 3 {
		t.Fatalf("GetObject partNumber=3: %q parts %d", got, aws.ToInt32(p2.PartsCount))
	}
	lo, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: b})
	if err != nil || len(lo.Contents) != 1 || aws.ToString(lo.Contents[0].ETag) != wantETag || aws.ToInt64(lo.Contents[0].Size) != int64(len(all)) {
		t.Fatalf("listing of a multipart object: %v %+v", err, lo.Contents)
	}
}

// swiftReads: the Swift API reads it as a static large object, and no
// upload is left in progress.
func (m *mpuTest) swiftReads() {
	t, c, ctx, b := m.t, m.c, m.ctx, m.b
	sc := swiftConn(t, m.s, "test:tester", "testing")
	sb, err := sc.ObjectGetBytes(ctx, "mpu", "big file")
	if err != nil || !bytes.Equal(sb, bytes.Join(m.parts, nil)) {
		t.Fatalf("Swift GET of a multipart object: %v (%d bytes)", err, len(sb))
	}
	lu, err := c.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: b})
	if err != nil || len(lu.Uploads) != 0 {
		t.Fatalf("uploads after completion: %v %+v", err, lu.Uploads)
	}
}

// partCopyAndAbort: UploadPartCopy with a range, then abort.
func (m *mpuTest) partCopyAndAbort() {
	t, c, ctx, b := m.t, m.c, m.ctx, m.b
	cr2, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: b, Key: aws.String("copied")})
	if err != nil {
		t.Fatal(err)
	}
	upc, err := c.UploadPartCopy(ctx, &s3.UploadPartCopyInput{Bucket: b, Key: aws.String("copied"), UploadId: cr2.UploadId, PartNumber: aws.Int32(1),
		CopySource: aws.String("mpu/big%20file"), CopySourceRange: aws.String("bytes=0-9")})
	if err != nil || upc.CopyPartResult == nil || aws.ToString(upc.CopyPartResult.ETag) != fmt.Sprintf(`"%x"`, md5.Sum([]byte("1111111111"))) {
		t.Fatalf("UploadPartCopy: %v %+v", err, upc)
	}
	for rng, code := range map[string]string{"bytes=0-99999999": "InvalidRange", "0-2": "InvalidArgument", "bytes=5-2": "InvalidArgument"} {
		_, err = c.UploadPartCopy(ctx, &s3.UploadPartCopyInput{Bucket: b, Key: aws.String("copied"), UploadId: cr2.UploadId, PartNumber: aws.Int32(2),
			CopySource: aws.String("mpu/big%20file"), CopySourceRange: aws.String(rng)})
		if s3test.Code(err) != code {
			t.Errorf("UploadPartCopy range %s: %v, want %s", rng, err, code)
		}
	}
	_, err = c.UploadPart(ctx, &s3.UploadPartInput{Bucket: b, Key: aws.String("copied"), UploadId: cr2.UploadId, PartNumber: aws.Int32(10001), Body: strings.NewReader("x")})
	if s3test.Code(err) != "InvalidArgument" {
		t.Fatalf("part number 10001: %v", err)
	}
	if _, err := c.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: b, Key: aws.String("copied"), UploadId: cr2.UploadId}); err != nil {
		t.Fatalf("AbortMultipartUpload: %v", err)
	}
	_, err = c.UploadPart(ctx, &s3.UploadPartInput{Bucket: b, Key: aws.String("copied"), UploadId: cr2.UploadId, PartNumber: aws.Int32(1), Body: strings.NewReader("x")})
	if s3test.Code(err) != "NoSuchUpload" {
		t.Fatalf("UploadPart after abort: %v", err)
	}
}

// deleteAll: deleting the object removes its segments; the bucket can go.
func (m *mpuTest) deleteAll() {
	t, c, ctx, b := m.t, m.c, m.ctx, m.b
	if _, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: b, Key: aws.String("big file")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: b}); err != nil {
		t.Fatalf("DeleteBucket after multipart: %v", err)
	}
	names, err := swiftConn(t, m.s, "test:tester", "testing").ContainerNamesAll(ctx, nil)
	if err != nil || len(names) != 0 {
		t.Fatalf("containers left: %v %v", err, names)
	}
}
