package s3compat_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"swiftbox/s3compat/s3test"
)

// If-Match/If-None-Match on a multipart object compare the ETag S3 gave
// it ("…-N"), not the static large object's beneath: aws-cli's ranged
// downloads send If-Match with every range. Through Swift the SLO's own
// etag still answers.
func TestS3MultipartConditionalETag(t *testing.T) {
	t.Parallel()
	s := startS3(t, nil)
	c := s3Client(t, s, "test:tester", "testing")
	ctx := context.Background()
	b, k := aws.String("cond"), aws.String("mp")
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: b}); err != nil {
		t.Fatal(err)
	}
	data := randBytes(t, 5<<20+100)
	cr, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: b, Key: k})
	if err != nil {
		t.Fatal(err)
	}
	var parts []types.CompletedPart
	for i, p := range [][]byte{data[:5<<20], data[5<<20:]} {
		up, err := c.UploadPart(ctx, &s3.UploadPartInput{Bucket: b, Key: k, UploadId: cr.UploadId,
			PartNumber: aws.Int32(int32(i + 1)), Body: bytes.NewReader(p)})
		if err != nil {
			t.Fatal(err)
		}
		parts = append(parts, types.CompletedPart{ETag: up.ETag, PartNumber: aws.Int32(int32(i + 1))})
	}
	done, err := c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: b, Key: k, UploadId: cr.UploadId,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: parts}})
	if err != nil {
		t.Fatal(err)
	}
	etag := aws.ToString(done.ETag)
	if want := s3test.MultipartETag(data, 5<<20); etag != want {
		t.Fatalf("ETag %s, want %s", etag, want)
	}

	get, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: b, Key: k, IfMatch: aws.String(etag), Range: aws.String("bytes=10-19")})
	if err != nil {
		t.Fatalf("ranged GET If-Match the multipart ETag: %v", err)
	}
	got, _ := io.ReadAll(get.Body)
	get.Body.Close()
	if !bytes.Equal(got, data[10:20]) {
		t.Fatalf("ranged GET: %x", got)
	}
	if _, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: b, Key: k, IfMatch: aws.String(etag)}); err != nil {
		t.Fatalf("HEAD If-Match the multipart ETag: %v", err)
	}
	if _, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: b, Key: k, IfMatch: aws.String(`"0123456789abcdef0123456789abcdef-2"`)}); s3test.Code(err) != "PreconditionFailed" {
		t.Fatalf("GET If-Match another ETag: %v", err)
	}
	_, err = c.GetObject(ctx, &s3.GetObjectInput{Bucket: b, Key: k, IfNoneMatch: aws.String(etag)})
	if s3test.Code(err) != "NotModified" {
		t.Fatalf("GET If-None-Match the multipart ETag: %v (%s), want 304", err, s3test.Code(err))
	}
	if _, err := c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: b, Key: aws.String("copy"), CopySource: aws.String("cond/mp"),
		CopySourceIfMatch: aws.String(etag)}); err != nil {
		t.Fatalf("CopyObject x-amz-copy-source-if-match the multipart ETag: %v", err)
	}

	// Swift clients see the SLO's etag and may condition on it.
	url, tok := swiftToken(t, s, "test:tester", "testing")
	req, _ := http.NewRequest("HEAD", url+"/cond/mp", nil)
	req.Header.Set("X-Auth-Token", tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	sloEtag := resp.Header.Get("Etag")
	for _, c := range []struct {
		etag string
		want int
	}{{sloEtag, 206}, {etag, 412}} {
		req, _ := http.NewRequest("GET", url+"/cond/mp", nil)
		req.Header.Set("X-Auth-Token", tok)
		req.Header.Set("If-Match", c.etag)
		req.Header.Set("Range", "bytes=0-3")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != c.want {
			t.Errorf("Swift GET If-Match %s (SLO etag %s): %d, want %d", c.etag, sloEtag, resp.StatusCode, c.want)
		}
	}
}
