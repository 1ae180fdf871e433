package s3compat_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"hash/crc32"
	"io"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"swiftbox/s3compat/s3test"
)

// GetObjectAttributes of a plain object (with a checksum) and of a
// multipart one, its parts paged with max-parts and part-number-marker.
func TestS3ObjectAttributes(t *testing.T) {
	t.Parallel()
	s := startS3(t, nil)
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
	if _, err = c.GetObjectAttributes(ctx, &s3.GetObjectAttributesInput{Bucket: aws.String("attrs"), Key: aws.String("none"), ObjectAttributes: all}); s3test.Code(err) != "NoSuchKey" {
		t.Fatalf("attributes of a missing key: %v", err)
	}
}

// A multipart upload created with a checksum algorithm ends with S3's
// composite checksum (of the parts' checksums, "-N"), checked against the
// one the client declares and returned with checksum mode.
func TestS3MultipartCompositeChecksum(t *testing.T) {
	t.Parallel()
	s := startS3(t, nil)
	c := s3Client(t, s, "test:tester", "testing")
	ctx := context.Background()
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("sums")}); err != nil {
		t.Fatal(err)
	}
	upload := func(key string, declared func(parts []types.CompletedPart) *string) (*s3.CompleteMultipartUploadOutput, string, error) {
		up, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String("sums"), Key: aws.String(key),
			ChecksumAlgorithm: types.ChecksumAlgorithmSha256})
		if err != nil {
			t.Fatal(err)
		}
		if up.ChecksumAlgorithm != types.ChecksumAlgorithmSha256 {
			t.Fatalf("CreateMultipartUpload checksum algorithm %q", up.ChecksumAlgorithm)
		}
		var parts []types.CompletedPart
		h := sha256.New()
		for n := int32(1); n <= 2; n++ {
			body := bytes.Repeat([]byte{byte('0' + n)}, 5<<20)
			sum := sha256.Sum256(body)
			h.Write(sum[:])
			p, err := c.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String("sums"), Key: aws.String(key), UploadId: up.UploadId,
				PartNumber: aws.Int32(n), Body: bytes.NewReader(body), ChecksumAlgorithm: types.ChecksumAlgorithmSha256})
			if err != nil {
				t.Fatal(err)
			}
			if aws.ToString(p.ChecksumSHA256) != base64.StdEncoding.EncodeToString(sum[:]) {
				t.Fatalf("part %d checksum %q", n, aws.ToString(p.ChecksumSHA256))
			}
			parts = append(parts, types.CompletedPart{PartNumber: aws.Int32(n), ETag: p.ETag, ChecksumSHA256: p.ChecksumSHA256})
		}
		composite := base64.StdEncoding.EncodeToString(h.Sum(nil)) + "-2"
		out, err := c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String("sums"), Key: aws.String(key),
			UploadId: up.UploadId, MultipartUpload: &types.CompletedMultipartUpload{Parts: parts}, ChecksumSHA256: declared(parts)})
		return out, composite, err
	}
	out, composite, err := upload("good", func([]types.CompletedPart) *string { return nil })
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(out.ChecksumSHA256) != composite {
		t.Fatalf("composite checksum %q, want %q", aws.ToString(out.ChecksumSHA256), composite)
	}
	head, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("sums"), Key: aws.String("good"), ChecksumMode: types.ChecksumModeEnabled})
	if err != nil || aws.ToString(head.ChecksumSHA256) != composite {
		t.Fatalf("HEAD with checksum mode: %v %v", aws.ToString(head.ChecksumSHA256), err)
	}
	bad := "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=-2"
	if _, _, err = upload("bad", func([]types.CompletedPart) *string { return &bad }); s3test.Code(err) != "BadDigest" {
		t.Fatalf("complete with a wrong composite checksum: %v, want BadDigest", err)
	}
	if _, err = c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("sums"), Key: aws.String("bad")}); err == nil {
		t.Fatal("an upload refused for its checksum was completed")
	}
}

// A part uploaded twice and listed twice in a row at completion counts
// once, with the ETag listed last (S3's behaviour for resent parts).
func TestS3MultipartResentPart(t *testing.T) {
	t.Parallel()
	s := startS3(t, nil)
	c := s3Client(t, s, "test:tester", "testing")
	ctx := context.Background()
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("resend")}); err != nil {
		t.Fatal(err)
	}
	up, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String("resend"), Key: aws.String("k")})
	if err != nil {
		t.Fatal(err)
	}
	var listed []types.CompletedPart
	for _, body := range []string{"first", "second"} {
		p, err := c.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String("resend"), Key: aws.String("k"), UploadId: up.UploadId,
			PartNumber: aws.Int32(1), Body: strings.NewReader(body)})
		if err != nil {
			t.Fatal(err)
		}
		listed = append(listed, types.CompletedPart{PartNumber: aws.Int32(1), ETag: p.ETag})
	}
	if _, err = c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String("resend"), Key: aws.String("k"),
		UploadId: up.UploadId, MultipartUpload: &types.CompletedMultipartUpload{Parts: listed}}); err != nil {
		t.Fatal(err)
	}
	obj, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("resend"), Key: aws.String("k")})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(obj.Body)
	obj.Body.Close()
	if string(b) != "second" {
		t.Fatalf("object %q, want the part uploaded last", b)
	}
}

// FULL_OBJECT multipart checksums: the whole object's CRC, from the
// parts' CRCs, checked against the client's and returned.
func TestS3MultipartFullObjectCRC(t *testing.T) {
	t.Parallel()
	s := startS3(t, nil)
	c := s3Client(t, s, "test:tester", "testing")
	ctx := context.Background()
	b := aws.String("crc")
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: b}); err != nil {
		t.Fatal(err)
	}
	up, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: b, Key: aws.String("k"),
		ChecksumAlgorithm: types.ChecksumAlgorithmCrc32, ChecksumType: types.ChecksumTypeFullObject})
	if err != nil {
		t.Fatal(err)
	}
	var parts []types.CompletedPart
	whole := crc32.NewIEEE()
	for n := int32(1); n <= 2; n++ {
		body := bytes.Repeat([]byte{byte('a' + n)}, 5<<20+int(n))
		whole.Write(body)
		p, err := c.UploadPart(ctx, &s3.UploadPartInput{Bucket: b, Key: aws.String("k"), UploadId: up.UploadId, PartNumber: aws.Int32(n),
			Body: bytes.NewReader(body), ChecksumAlgorithm: types.ChecksumAlgorithmCrc32})
		if err != nil {
			t.Fatal(err)
		}
		parts = append(parts, types.CompletedPart{PartNumber: aws.Int32(n), ETag: p.ETag, ChecksumCRC32: p.ChecksumCRC32})
	}
	want := base64.StdEncoding.EncodeToString(whole.Sum(nil))
	out, err := c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: b, Key: aws.String("k"), UploadId: up.UploadId,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: parts}, ChecksumCRC32: aws.String(want), ChecksumType: types.ChecksumTypeFullObject})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(out.ChecksumCRC32) != want {
		t.Fatalf("full-object CRC32 %q, want %q", aws.ToString(out.ChecksumCRC32), want)
	}
	head, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: b, Key: aws.String("k"), ChecksumMode: types.ChecksumModeEnabled})
	if err != nil || aws.ToString(head.ChecksumCRC32) != want || head.ChecksumType != types.ChecksumTypeFullObject {
		t.Fatalf("HEAD: %v %v %v", aws.ToString(head.ChecksumCRC32), head.ChecksumType, err)
	}
	// The object's data reads back whole, the SDK checking the CRC.
	obj, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: b, Key: aws.String("k"), ChecksumMode: types.ChecksumModeEnabled})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(io.Discard, obj.Body); err != nil {
		t.Fatalf("GET with checksum validation: %v", err)
	}
	obj.Body.Close()
	if _, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: b, Key: aws.String("x"),
		ChecksumAlgorithm: types.ChecksumAlgorithmSha256, ChecksumType: types.ChecksumTypeFullObject}); s3test.Code(err) != "InvalidRequest" {
		t.Fatalf("SHA256 FULL_OBJECT: %v, want InvalidRequest", err)
	}
}
