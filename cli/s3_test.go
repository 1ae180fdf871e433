package cli_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"io"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// A 1 GiB multipart upload (aws-chunked parts with trailing checksums)
// streams through with bounded server memory, and reads back whole.
func TestS3MultipartGiBBoundedMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("1 GiB upload")
	}
	const partSize, parts = 64 << 20, 16
	s := startServer(t, t.TempDir(), "--user", "test:tester:testing:.admin")
	c := s3TLSClient(t, s, "test:tester", "testing")
	ctx := context.Background()
	b, k := aws.String("gib"), aws.String("gib/object")
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: b}); err != nil {
		t.Fatal(err)
	}
	cr, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: b, Key: k})
	if err != nil {
		t.Fatal(err)
	}
	whole := md5.New()
	stop := sampleRSS(s.cmd.Process.Pid)
	var done []types.CompletedPart
	for i := 1; i <= parts; i++ {
		io.Copy(whole, newPatternReader(partSize))
		up, err := c.UploadPart(ctx, &s3.UploadPartInput{Bucket: b, Key: k, UploadId: cr.UploadId, PartNumber: aws.Int32(int32(i)),
			Body: struct{ io.Reader }{newPatternReader(partSize)}, ContentLength: aws.Int64(partSize)})
		if err != nil {
			t.Fatalf("UploadPart %d: %v", i, err)
		}
		done = append(done, types.CompletedPart{ETag: up.ETag, PartNumber: aws.Int32(int32(i))})
	}
	if _, err := c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: b, Key: k, UploadId: cr.UploadId,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: done}}); err != nil {
		t.Fatalf("CompleteMultipartUpload: %v", err)
	}
	putPeak := stop()
	stop = sampleRSS(s.cmd.Process.Pid)
	out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: b, Key: k})
	if err != nil {
		t.Fatal(err)
	}
	g := md5.New()
	n, err := io.Copy(g, out.Body)
	out.Body.Close()
	getPeak := stop()
	if err != nil || n != partSize*parts || !bytes.Equal(g.Sum(nil), whole.Sum(nil)) {
		t.Fatalf("read back %d bytes: %v", n, err)
	}
	t.Logf("peak server RSS: multipart PUT %.0f MiB, GET %.0f MiB", putPeak, getPeak)
	if putPeak > 150 || getPeak > 150 {
		t.Errorf("server RSS grew with the object: PUT %.0f MiB, GET %.0f MiB (limit 150)", putPeak, getPeak)
	}
}
