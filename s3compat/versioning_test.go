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
	"swiftbox/server/servertest"
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
	v := newVersTest(t)
	v.unversioned()
	v.setStatus(types.BucketVersioningStatusEnabled)
	ids := v.threeVersions()
	v.deleteMarker(ids)
	v.copyFromVersion(ids)
	v.swiftSeesVersions(ids)
	v.multipartVersion()
	v.listingPages()
	v.suspended()
	v.multiDelete()
}

// versTest is TestS3Versioning's state: one bucket, b, whose versions the
// steps write, read and delete in turn.
type versTest struct {
	t   *testing.T
	s   *servertest.Cluster
	c   *s3.Client
	ctx context.Context
	b   string
}

func newVersTest(t *testing.T) *versTest {
	s := startS3(t, nil)
	v := &versTest{t: t, s: s, c: s3Client(t, s, "test:tester", "testing"), ctx: context.Background(), b: "vers"}
	if _, err := v.c.CreateBucket(v.ctx, &s3.CreateBucketInput{Bucket: aws.String(v.b)}); err != nil {
		t.Fatal(err)
	}
	gv, err := v.c.GetBucketVersioning(v.ctx, &s3.GetBucketVersioningInput{Bucket: aws.String(v.b)})
	if err != nil || gv.Status != "" {
		t.Fatalf("GetBucketVersioning of a new bucket: %v %q", err, gv.Status)
	}
	return v
}

func (v *versTest) setVersioning(st types.BucketVersioningStatus) error {
	_, err := v.c.PutBucketVersioning(v.ctx, &s3.PutBucketVersioningInput{Bucket: aws.String(v.b),
		VersioningConfiguration: &types.VersioningConfiguration{Status: st}})
	return err
}

// setStatus sets the bucket's versioning and checks GetBucketVersioning
// answers it.
func (v *versTest) setStatus(st types.BucketVersioningStatus) {
	t, c, ctx, b := v.t, v.c, v.ctx, v.b
	if err := v.setVersioning(st); err != nil {
		t.Fatalf("set %s: %v", st, err)
	}
	if gv, err := c.GetBucketVersioning(ctx, &s3.GetBucketVersioningInput{Bucket: aws.String(b)}); err != nil || gv.Status != st {
		t.Fatalf("GetBucketVersioning: %v %q", err, gv.Status)
	}
}

func (v *versTest) put(key, body string) *s3.PutObjectOutput {
	out, err := v.c.PutObject(v.ctx, &s3.PutObjectInput{Bucket: aws.String(v.b), Key: aws.String(key), Body: bytes.NewReader([]byte(body))})
	if err != nil {
		v.t.Fatal(err)
	}
	return out
}

// unversioned: a bad status is refused, and an unversioned bucket lists
// each object once, as version "null".
func (v *versTest) unversioned() {
	t, c, ctx, b := v.t, v.c, v.ctx, v.b
	if err := v.setVersioning("Sometimes"); s3test.Code(err) != "MalformedXML" {
		t.Fatalf("bad status: %v", err)
	}
	v.put("plain", "p")
	lv, err := c.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: aws.String(b)})
	if err != nil || len(lv.Versions) != 1 || aws.ToString(lv.Versions[0].VersionId) != "null" || !aws.ToBool(lv.Versions[0].IsLatest) {
		t.Fatalf("unversioned listing: %v %+v", err, lv)
	}
	if _, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(b), Key: aws.String("plain")}); err != nil {
		t.Fatal(err)
	}
}

// threeVersions writes three versions of doc, each readable by its id,
// and returns their ids, oldest first.
func (v *versTest) threeVersions() []string {
	t, c, ctx, b := v.t, v.c, v.ctx, v.b
	var ids []string
	for _, body := range []string{"one", "two", "three"} {
		out, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(b), Key: aws.String("doc"), Body: bytes.NewReader([]byte(body))})
		if err != nil || aws.ToString(out.VersionId) == "" || aws.ToString(out.VersionId) == "null" {
			t.Fatalf("PutObject %s: %v %v", body, err, aws.ToString(out.VersionId))
		}
		ids = append(ids, aws.ToString(out.VersionId))
	}
	if got, want := allVersions(t, c, b, 1000), docVersions(ids); !equalStrings(got, want) {
		t.Fatalf("versions %v, want %v", got, want)
	}
	lv, _ := c.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: aws.String(b)})
	for i, ver := range lv.Versions {
		if aws.ToBool(ver.IsLatest) != (i == 0) || aws.ToString(ver.ETag) == "" {
			t.Fatalf("version %d: latest %v etag %q", i, aws.ToBool(ver.IsLatest), aws.ToString(ver.ETag))
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
	return ids
}

// docVersions is the listing of doc's versions ids (oldest first), newest
// first.
func docVersions(ids []string) []string {
	return []string{"doc@" + ids[2], "doc@" + ids[1], "doc@" + ids[0]}
}

// deleteMarker: a DELETE leaves a delete marker that hides the key;
// deleting the marker brings the newest version back; deleting that
// version, the one before it.
func (v *versTest) deleteMarker(ids []string) {
	t, c, ctx, b := v.t, v.c, v.ctx, v.b
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
	if got := allVersions(t, c, b, 1000); !equalStrings(got, append([]string{"doc@" + marker + "!"}, docVersions(ids)...)) {
		t.Fatalf("versions with the marker: %v", got)
	}
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
}

// copyFromVersion copies doc's oldest version to copy.
func (v *versTest) copyFromVersion(ids []string) {
	t, c, ctx, b := v.t, v.c, v.ctx, v.b
	cp, err := c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String(b), Key: aws.String("copy"),
		CopySource: aws.String(b + "/doc?versionId=" + ids[0])})
	if err != nil || aws.ToString(cp.CopySourceVersionId) != ids[0] || aws.ToString(cp.VersionId) == "" {
		t.Fatalf("CopyObject from a version: %v %+v", err, cp)
	}
	if got, err := s3test.Get(t, c, b, "copy", ""); err != nil || got != "one" {
		t.Fatalf("GET copy: %q %v", got, err)
	}
}

// swiftSeesVersions: versions written through S3 are Swift's object
// versions.
func (v *versTest) swiftSeesVersions(ids []string) {
	t := v.t
	url, token := swiftToken(t, v.s, "test:tester", "testing")
	req, _ := http.NewRequest("GET", url+"/"+v.b+"?versions&prefix=doc&format=json", nil)
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
}

// multipartVersion: a multipart upload makes a version too.
func (v *versTest) multipartVersion() {
	t, c, ctx, b := v.t, v.c, v.ctx, v.b
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
}

// listingPages: pages of one entry each add up to the whole listing;
// delimiter and prefix work on versions.
func (v *versTest) listingPages() {
	t, c, ctx, b := v.t, v.c, v.ctx, v.b
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
}

// suspended: a new write is the "null" version.
func (v *versTest) suspended() {
	t, c, ctx, b := v.t, v.c, v.ctx, v.b
	if err := v.setVersioning(types.BucketVersioningStatusSuspended); err != nil {
		t.Fatal(err)
	}
	if gv, _ := c.GetBucketVersioning(ctx, &s3.GetBucketVersioningInput{Bucket: aws.String(b)}); gv.Status != types.BucketVersioningStatusSuspended {
		t.Fatalf("status %q", gv.Status)
	}
	v.put("doc", "null one")
	if got, err := s3test.Get(t, c, b, "doc", "null"); err != nil || got != "null one" {
		t.Fatalf("GET null version: %q %v", got, err)
	}
	if got := allVersions(t, c, b, 1000); len(got) != 5 || got[2] != "doc@null" {
		t.Fatalf("versions when suspended: %v", got)
	}
}

// multiDelete: one multi-delete removes every version by id; in an
// enabled bucket it answers a key's delete marker, and the bucket with
// versions left cannot be deleted.
func (v *versTest) multiDelete() {
	t, c, ctx, b := v.t, v.c, v.ctx, v.b
	var objs []types.ObjectIdentifier
	lv, _ := c.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: aws.String(b)})
	for _, ver := range lv.Versions {
		objs = append(objs, types.ObjectIdentifier{Key: ver.Key, VersionId: ver.VersionId})
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
	if err := v.setVersioning(types.BucketVersioningStatusEnabled); err != nil {
		t.Fatal(err)
	}
	v.put("k", "k")
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
