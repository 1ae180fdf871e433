package cli_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// GetObjectAttributes of a plain object (with a checksum) and of a
// multipart one, its parts paged with max-parts and part-number-marker.
func TestS3ObjectAttributes(t *testing.T) {
	s := startServer(t, t.TempDir(), "--user", "test:tester:testing:.admin")
	c := s3Client(t, s, "test:tester", "testing")
	ctx := context.Background()
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("attrs")}); err != nil {
		t.Fatal(err)
	}
	all := []types.ObjectAttributes{types.ObjectAttributesEtag, types.ObjectAttributesChecksum,
		types.ObjectAttributesObjectParts, types.ObjectAttributesStorageClass, types.ObjectAttributesObjectSize}

	put, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("attrs"), Key: aws.String("plain"),
		Body: strings.NewReader("foo"), ChecksumAlgorithm: types.ChecksumAlgorithmSha256})
	if err != nil {
		t.Fatal(err)
	}
	a, err := c.GetObjectAttributes(ctx, &s3.GetObjectAttributesInput{Bucket: aws.String("attrs"), Key: aws.String("plain"), ObjectAttributes: all})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(a.ETag) != strings.Trim(aws.ToString(put.ETag), `"`) || aws.ToInt64(a.ObjectSize) != 3 ||
		a.StorageClass != types.StorageClassStandard || a.ObjectParts != nil ||
		a.Checksum == nil || aws.ToString(a.Checksum.ChecksumSHA256) != aws.ToString(put.ChecksumSHA256) {
		t.Fatalf("plain object attributes: %+v (checksum %+v)", a, a.Checksum)
	}

	const partSize = 5 << 20
	up, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String("attrs"), Key: aws.String("mp")})
	if err != nil {
		t.Fatal(err)
	}
	var done []types.CompletedPart
	for n := int32(1); n <= 3; n++ {
		size := partSize
		if n == 3 {
			size = 1000
		}
		p, err := c.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String("attrs"), Key: aws.String("mp"), UploadId: up.UploadId,
			PartNumber: aws.Int32(n), Body: bytes.NewReader(bytes.Repeat([]byte{byte('a' + n)}, size))})
		if err != nil {
			t.Fatal(err)
		}
		done = append(done, types.CompletedPart{PartNumber: aws.Int32(n), ETag: p.ETag})
	}
	comp, err := c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String("attrs"), Key: aws.String("mp"),
		UploadId: up.UploadId, MultipartUpload: &types.CompletedMultipartUpload{Parts: done}})
	if err != nil {
		t.Fatal(err)
	}
	a, err = c.GetObjectAttributes(ctx, &s3.GetObjectAttributesInput{Bucket: aws.String("attrs"), Key: aws.String("mp"), ObjectAttributes: all,
		MaxParts: aws.Int32(1), PartNumberMarker: aws.String("1")})
	if err != nil {
		t.Fatal(err)
	}
	op := a.ObjectParts
	if aws.ToString(a.ETag) != strings.Trim(aws.ToString(comp.ETag), `"`) || aws.ToInt64(a.ObjectSize) != 2*partSize+1000 || op == nil ||
		aws.ToInt32(op.TotalPartsCount) != 3 || !aws.ToBool(op.IsTruncated) || aws.ToString(op.NextPartNumberMarker) != "2" ||
		len(op.Parts) != 1 || aws.ToInt32(op.Parts[0].PartNumber) != 2 || aws.ToInt64(op.Parts[0].Size) != partSize {
		t.Fatalf("multipart attributes: %+v parts %+v", a, op)
	}
	if _, err = c.GetObjectAttributes(ctx, &s3.GetObjectAttributesInput{Bucket: aws.String("attrs"), Key: aws.String("none"), ObjectAttributes: all}); s3Code(err) != "NoSuchKey" {
		t.Fatalf("attributes of a missing key: %v", err)
	}
}
