package s3compat_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"swiftbox/s3compat/s3test"
)

// errHeader is header name of the HTTP response behind an SDK error.
func errHeader(err error, name string) string {
	var re *awshttp.ResponseError
	if errors.As(err, &re) && re.Response != nil {
		return re.Response.Header.Get(name)
	}
	return ""
}

// allVersions lists every version and delete marker of bucket, maxKeys a
// page, following NextKeyMarker/NextVersionIdMarker; "key@version" each,
// delete markers as "key@version!".
func allVersions(t *testing.T, c *s3.Client, bucket string, maxKeys int32) []string {
	t.Helper()
	var got []string
	in := &s3.ListObjectVersionsInput{Bucket: aws.String(bucket), MaxKeys: aws.Int32(maxKeys)}
	for pages := 0; ; pages++ {
		if pages > 100 {
			t.Fatal("ListObjectVersions does not end")
		}
		out, err := c.ListObjectVersions(context.Background(), in)
		if err != nil {
			t.Fatalf("ListObjectVersions: %v", err)
		}
		// The SDK splits Version and DeleteMarker; merge them back in S3's
		// order (key ascending, newest first within a key) via the
		// timestamps object_versioning uses as version ids.
		type item struct {
			key, v string
			marker bool
		}
		var items []item
		for _, v := range out.Versions {
			items = append(items, item{aws.ToString(v.Key), aws.ToString(v.VersionId), false})
		}
		for _, m := range out.DeleteMarkers {
			items = append(items, item{aws.ToString(m.Key), aws.ToString(m.VersionId), true})
		}
		for i := 1; i < len(items); i++ {
			for j := i; j > 0 && (items[j].key < items[j-1].key || items[j].key == items[j-1].key && newer(items[j].v, items[j-1].v)); j-- {
				items[j], items[j-1] = items[j-1], items[j]
			}
		}
		for _, it := range items {
			s := it.key + "@" + it.v
			if it.marker {
				s += "!"
			}
			got = append(got, s)
		}
		if !aws.ToBool(out.IsTruncated) {
			return got
		}
		in.KeyMarker, in.VersionIdMarker = out.NextKeyMarker, out.NextVersionIdMarker
	}
}

// newer reports whether version a is newer than b ("null" is newest).
func newer(a, b string) bool {
	if a == "null" || b == "null" {
		return a == "null" && b != "null"
	}
	return a > b
}

func TestS3Versioning(t *testing.T) {
	t.Parallel()
	s := startS3(t, nil)
	c := s3Client(t, s, "test:tester", "testing")
	ctx := context.Background()
	b := "vers"
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(b)}); err != nil {
		t.Fatal(err)
	}
	gv, err := c.GetBucketVersioning(ctx, &s3.GetBucketVersioningInput{Bucket: aws.String(b)})
	if err != nil || gv.Status != "" {
		t.Fatalf("GetBucketVersioning of a new bucket: %v %q", err, gv.Status)
	}
	setVersioning := func(st types.BucketVersioningStatus) error {
		_, err := c.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: aws.String(b),
			VersioningConfiguration: &types.VersioningConfiguration{Status: st}})
		return err
	}
	if err := setVersioning("Sometimes"); s3test.Code(err) != "MalformedXML" {
		t.Fatalf("bad status: %v", err)
	}
	// An unversioned bucket lists each object once, as version "null".
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(b), Key: aws.String("plain"), Body: bytes.NewReader([]byte("p"))}); err != nil {
		t.Fatal(err)
	}
	lv, err := c.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: aws.String(b)})
	if err != nil || len(lv.Versions) != 1 || aws.ToString(lv.Versions[0].VersionId) != "null" || !aws.ToBool(lv.Versions[0].IsLatest) {
		t.Fatalf("unversioned listing: %v %+v", err, lv)
	}
	if _, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(b), Key: aws.String("plain")}); err != nil {
		t.Fatal(err)
	}

	if err := setVersioning(types.BucketVersioningStatusEnabled); err != nil {
		t.Fatalf("enable: %v", err)
	}
	if gv, err = c.GetBucketVersioning(ctx, &s3.GetBucketVersioningInput{Bucket: aws.String(b)}); err != nil || gv.Status != types.BucketVersioningStatusEnabled {
		t.Fatalf("GetBucketVersioning: %v %q", err, gv.Status)
	}

	// Three versions of one key, each readable by its id.
	var ids []string
	for _, body := range []string{"one", "two", "three"} {
		out, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(b), Key: aws.String("doc"), Body: bytes.NewReader([]byte(body))})
		if err != nil || aws.ToString(out.VersionId) == "" || aws.ToString(out.VersionId) == "null" {
			t.Fatalf("PutObject %s: %v %v", body, err, aws.ToString(out.VersionId))
		}
		ids = append(ids, aws.ToString(out.VersionId))
	}
	want := []string{"doc@" + ids[2], "doc@" + ids[1], "doc@" + ids[0]}
	if got := allVersions(t, c, b, 1000); !equalStrings(got, want) {
		t.Fatalf("versions %v, want %v", got, want)
	}
	lv, _ = c.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: aws.String(b)})
	for i, v := range lv.Versions {
		if aws.ToBool(v.IsLatest) != (i == 0) || aws.ToString(v.ETag) == "" {
			t.Fatalf("version %d: latest %v etag %q", i, aws.ToBool(v.IsLatest), aws.ToString(v.ETag))
		}
	}
	for i, body := range []string{"one", "two", "three"} {
		if got, err := s3test.Get(t, c, b, "doc", ids[i]); err != nil || got != body {
			t.Fatalf("GET version %s: %q %v", ids[i], got, err)
		}
		h, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(b), Key: aws.String("doc"), VersionId: aws.String(ids[i])})
		if err != nil || aws.ToString(h.VersionId) != ids[i] || aws.ToInt64(h.ContentLength) != int64(len(body)) {
			t.Fatalf("HEAD version %s: %v %+v", ids[i], err, h)
		}
	}
	if _, err := s3test.Get(t, c, b, "doc", "1234567890.12345"); s3test.Code(err) != "NoSuchVersion" {
		t.Fatalf("missing version: %v", err)
	}

	// A DELETE leaves a delete marker that hides the key.
	del, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(b), Key: aws.String("doc")})
	if err != nil || !aws.ToBool(del.DeleteMarker) || aws.ToString(del.VersionId) == "" {
		t.Fatalf("DeleteObject: %v %+v", err, del)
	}
	marker := aws.ToString(del.VersionId)
	_, err = s3test.Get(t, c, b, "doc", "")
	if s3test.Code(err) != "NoSuchKey" || errHeader(err, "x-amz-delete-marker") != "true" || errHeader(err, "x-amz-version-id") != marker {
		t.Fatalf("GET behind a delete marker: %v %q", err, errHeader(err, "x-amz-delete-marker"))
	}
	if _, err = s3test.Get(t, c, b, "doc", marker); s3test.Code(err) != "MethodNotAllowed" || errHeader(err, "x-amz-delete-marker") != "true" {
		t.Fatalf("GET of the delete marker: %v", err)
	}
	if got := allVersions(t, c, b, 1000); !equalStrings(got, append([]string{"doc@" + marker + "!"}, want...)) {
		t.Fatalf("versions with the marker: %v", got)
	}
	// Deleting the marker brings the newest version back; deleting that
	// version, the one before it.
	del, err = c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(b), Key: aws.String("doc"), VersionId: aws.String(marker)})
	if err != nil || !aws.ToBool(del.DeleteMarker) || aws.ToString(del.VersionId) != marker {
		t.Fatalf("delete the marker: %v %+v", err, del)
	}
	if got, err := s3test.Get(t, c, b, "doc", ""); err != nil || got != "three" {
		t.Fatalf("GET after removing the marker: %q %v", got, err)
	}
	if _, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(b), Key: aws.String("doc"), VersionId: aws.String(ids[2])}); err != nil {
		t.Fatal(err)
	}
	if got, err := s3test.Get(t, c, b, "doc", ""); err != nil || got != "two" {
		t.Fatalf("GET after deleting the newest version: %q %v", got, err)
	}

	// Copy from an old version.
	cp, err := c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String(b), Key: aws.String("copy"),
		CopySource: aws.String(b + "/doc?versionId=" + ids[0])})
	if err != nil || aws.ToString(cp.CopySourceVersionId) != ids[0] || aws.ToString(cp.VersionId) == "" {
		t.Fatalf("CopyObject from a version: %v %+v", err, cp)
	}
	if got, err := s3test.Get(t, c, b, "copy", ""); err != nil || got != "one" {
		t.Fatalf("GET copy: %q %v", got, err)
	}

	// Versions written through S3 are Swift's object versions.
	url, token := swiftToken(t, s, "test:tester", "testing")
	req, _ := http.NewRequest("GET", url+"/"+b+"?versions&prefix=doc&format=json", nil)
	req.Header.Set("X-Auth-Token", token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var sv []struct {
		Name      string `json:"name"`
		VersionID string `json:"version_id"`
		IsLatest  bool   `json:"is_latest"`
	}
	err = json.NewDecoder(resp.Body).Decode(&sv)
	resp.Body.Close()
	if err != nil || len(sv) != 2 || sv[0].VersionID != ids[1] || !sv[0].IsLatest || sv[1].VersionID != ids[0] {
		t.Fatalf("Swift ?versions: %v %+v", err, sv)
	}

	// A multipart upload makes a version too.
	cr, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(b), Key: aws.String("dir/mpu")})
	if err != nil {
		t.Fatal(err)
	}
	up, err := c.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String(b), Key: aws.String("dir/mpu"), UploadId: cr.UploadId,
		PartNumber: aws.Int32(1), Body: bytes.NewReader([]byte("part"))})
	if err != nil {
		t.Fatal(err)
	}
	done, err := c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String(b), Key: aws.String("dir/mpu"), UploadId: cr.UploadId,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: []types.CompletedPart{{ETag: up.ETag, PartNumber: aws.Int32(1)}}}})
	if err != nil || aws.ToString(done.VersionId) == "" {
		t.Fatalf("CompleteMultipartUpload: %v %+v", err, done)
	}
	if got, err := s3test.Get(t, c, b, "dir/mpu", aws.ToString(done.VersionId)); err != nil || got != "part" {
		t.Fatalf("GET multipart version: %q %v", got, err)
	}

	// Pages of one entry each add up to the whole listing.
	whole := allVersions(t, c, b, 1000)
	if paged := allVersions(t, c, b, 1); !equalStrings(paged, whole) || len(whole) != 4 {
		t.Fatalf("paged %v, whole %v", paged, whole)
	}
	dl, err := c.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: aws.String(b), Delimiter: aws.String("/")})
	if err != nil || len(dl.CommonPrefixes) != 1 || aws.ToString(dl.CommonPrefixes[0].Prefix) != "dir/" || len(dl.Versions) != 3 {
		t.Fatalf("delimited listing: %v %+v", err, dl)
	}
	pl, err := c.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: aws.String(b), Prefix: aws.String("dir/")})
	if err != nil || len(pl.Versions) != 1 || aws.ToString(pl.Versions[0].Key) != "dir/mpu" {
		t.Fatalf("prefixed listing: %v %+v", err, pl)
	}

	// Suspended: a new write is the "null" version.
	if err := setVersioning(types.BucketVersioningStatusSuspended); err != nil {
		t.Fatal(err)
	}
	if gv, _ = c.GetBucketVersioning(ctx, &s3.GetBucketVersioningInput{Bucket: aws.String(b)}); gv.Status != types.BucketVersioningStatusSuspended {
		t.Fatalf("status %q", gv.Status)
	}
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(b), Key: aws.String("doc"), Body: bytes.NewReader([]byte("null one"))}); err != nil {
		t.Fatal(err)
	}
	if got, err := s3test.Get(t, c, b, "doc", "null"); err != nil || got != "null one" {
		t.Fatalf("GET null version: %q %v", got, err)
	}
	if got := allVersions(t, c, b, 1000); len(got) != 5 || got[2] != "doc@null" {
		t.Fatalf("versions when suspended: %v", got)
	}

	// One multi-delete removes every version by id.
	var objs []types.ObjectIdentifier
	lv, _ = c.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: aws.String(b)})
	for _, v := range lv.Versions {
		objs = append(objs, types.ObjectIdentifier{Key: v.Key, VersionId: v.VersionId})
	}
	md, err := c.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: aws.String(b), Delete: &types.Delete{Objects: objs}})
	if err != nil || len(md.Deleted) != len(objs) || len(md.Errors) != 0 {
		t.Fatalf("DeleteObjects: %v %+v", err, md)
	}
	for _, d := range md.Deleted {
		if aws.ToString(d.VersionId) == "" {
			t.Fatalf("deleted without its version: %+v", d)
		}
	}
	if got := allVersions(t, c, b, 1000); len(got) != 0 {
		t.Fatalf("versions left: %v", got)
	}
	// A multi-delete of a key in an enabled bucket answers its delete marker.
	if err := setVersioning(types.BucketVersioningStatusEnabled); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(b), Key: aws.String("k"), Body: bytes.NewReader([]byte("k"))}); err != nil {
		t.Fatal(err)
	}
	md, err = c.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: aws.String(b), Delete: &types.Delete{Objects: []types.ObjectIdentifier{{Key: aws.String("k")}}}})
	if err != nil || len(md.Deleted) != 1 || !aws.ToBool(md.Deleted[0].DeleteMarker) || aws.ToString(md.Deleted[0].DeleteMarkerVersionId) == "" {
		t.Fatalf("DeleteObjects making a marker: %v %+v", err, md)
	}
	if _, err := c.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String(b)}); s3test.Code(err) != "BucketNotEmpty" {
		t.Fatalf("DeleteBucket with versions left: %v", err)
	}
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
