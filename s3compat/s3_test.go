package s3compat_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"swiftbox/config"
	"swiftbox/s3compat/s3test"
	"swiftbox/server/servertest"
)

func TestS3Basics(t *testing.T) {
	t.Parallel()
	s := startS3(t, nil)
	b := &basicsTest{t: t, s: s, c: s3Client(t, s, "test:tester", "testing"), ctx: context.Background(),
		body: []byte("hello, swiftbox")}
	b.wantETag = fmt.Sprintf(`"%x"`, md5.Sum(b.body))
	b.buckets()
	b.putAndGet()
	b.swiftInterop()
	b.copies()
	b.refusedUsers()
	b.deleteAll()
}

// basicsTest is TestS3Basics' state: bucket bkt of test:tester, and the
// object dir/hello.txt (body, ETag wantETag) in it.
type basicsTest struct {
	t        *testing.T
	s        *servertest.Cluster
	c        *s3.Client
	ctx      context.Context
	body     []byte
	wantETag string
}

// buckets creates bkt and checks creation's refusals, HEAD, listing and
// location.
func (b *basicsTest) buckets() {
	t, c, ctx := b.t, b.c, b.ctx
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("bkt")}); err != nil {
		t.Fatalf("CreateBucket: %v", err)
	}
	// us-east-1 lets the owner create its bucket again, as AWS does, but
	// not with another ACL.
	_, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("bkt")})
	if err != nil {
		t.Fatalf("CreateBucket again: %v", err)
	}
	_, err = c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("bkt"), ACL: types.BucketCannedACLPublicRead})
	if s3test.Code(err) != "BucketAlreadyExists" {
		t.Fatalf("CreateBucket again, public-read: %v, want BucketAlreadyExists", err)
	}
	_, err = c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("Bad_Name")})
	if s3test.Code(err) != "InvalidBucketName" {
		t.Fatalf("CreateBucket Bad_Name: %v", err)
	}
	_, err = c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("elsewhere"),
		CreateBucketConfiguration: &types.CreateBucketConfiguration{LocationConstraint: "eu-west-1"}})
	if s3test.Code(err) != "InvalidLocationConstraint" {
		t.Fatalf("CreateBucket eu-west-1: %v", err)
	}
	if _, err := c.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String("bkt")}); err != nil {
		t.Fatalf("HeadBucket: %v", err)
	}
	if _, err := c.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String("nope")}); err == nil {
		t.Fatal("HeadBucket of a missing bucket succeeded")
	}
	lb, err := c.ListBuckets(ctx, &s3.ListBucketsInput{})
	if err != nil || len(lb.Buckets) != 1 || *lb.Buckets[0].Name != "bkt" {
		t.Fatalf("ListBuckets: %v %+v", err, lb)
	}
	loc, err := c.GetBucketLocation(ctx, &s3.GetBucketLocationInput{Bucket: aws.String("bkt")})
	if err != nil || loc.LocationConstraint != "" {
		t.Fatalf("GetBucketLocation: %v %+v", err, loc)
	}
}

// putAndGet writes dir/hello.txt with the SDK's default checksum
// (aws-chunked trailer) and reads it whole, by range, conditionally and
// with response-* overrides.
func (b *basicsTest) putAndGet() {
	t, c, ctx, body, wantETag := b.t, b.c, b.ctx, b.body, b.wantETag
	put, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("bkt"), Key: aws.String("dir/hello.txt"),
		Body: bytes.NewReader(body), ContentType: aws.String("text/plain"),
		Metadata: map[string]string{"color": "blue"}})
	if err != nil {
		t.Fatalf("PutObject: %v", err)
	}
	if aws.ToString(put.ETag) != wantETag {
		t.Fatalf("PutObject ETag %s, want %s", aws.ToString(put.ETag), wantETag)
	}
	get, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("bkt"), Key: aws.String("dir/hello.txt"), ChecksumMode: types.ChecksumModeEnabled})
	if err != nil {
		t.Fatalf("GetObject: %v", err)
	}
	got, _ := io.ReadAll(get.Body)
	get.Body.Close()
	if !bytes.Equal(got, body) || get.Metadata["color"] != "blue" || aws.ToString(get.ContentType) != "text/plain" || aws.ToString(get.ETag) != wantETag {
		t.Fatalf("GetObject: %q meta %v type %s etag %s", got, get.Metadata, aws.ToString(get.ContentType), aws.ToString(get.ETag))
	}
	rg, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("bkt"), Key: aws.String("dir/hello.txt"), Range: aws.String("bytes=7-")})
	if err != nil {
		t.Fatalf("GetObject range: %v", err)
	}
	got, _ = io.ReadAll(rg.Body)
	rg.Body.Close()
	if string(got) != "swiftbox" || aws.ToString(rg.ContentRange) != "bytes 7-14/15" {
		t.Fatalf("GetObject range: %q %s", got, aws.ToString(rg.ContentRange))
	}
	b.getRefusals()
	ov, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("bkt"), Key: aws.String("dir/hello.txt"),
		ResponseContentType: aws.String("application/x-test"), ResponseContentDisposition: aws.String("attachment")})
	if err != nil || aws.ToString(ov.ContentType) != "application/x-test" || aws.ToString(ov.ContentDisposition) != "attachment" {
		t.Fatalf("GetObject response-*: %v", err)
	}
	ov.Body.Close()
	head, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("bkt"), Key: aws.String("dir/hello.txt")})
	if err != nil || aws.ToInt64(head.ContentLength) != int64(len(body)) || head.Metadata["color"] != "blue" {
		t.Fatalf("HeadObject: %v %+v", err, head)
	}
	// Content-MD5 mismatch.
	_, err = c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("bkt"), Key: aws.String("bad"),
		Body: strings.NewReader("data"), ContentMD5: aws.String(base64.StdEncoding.EncodeToString(make([]byte, 16)))})
	if s3test.Code(err) != "BadDigest" {
		t.Fatalf("PutObject bad Content-MD5: %v", err)
	}
}

// getRefusals: GETs of a bad range, a failed If-Match, a missing key and
// a missing bucket.
func (b *basicsTest) getRefusals() {
	t, c, ctx := b.t, b.c, b.ctx
	_, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("bkt"), Key: aws.String("dir/hello.txt"), Range: aws.String("bytes=100-")})
	if s3test.Code(err) != "InvalidRange" {
		t.Fatalf("GetObject bad range: %v", err)
	}
	_, err = c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("bkt"), Key: aws.String("dir/hello.txt"), IfMatch: aws.String(`"0000"`)})
	if s3test.Code(err) != "PreconditionFailed" {
		t.Fatalf("GetObject If-Match: %v", err)
	}
	_, err = c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("bkt"), Key: aws.String("missing")})
	if s3test.Code(err) != "NoSuchKey" {
		t.Fatalf("GetObject missing: %v", err)
	}
	_, err = c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("nobucket"), Key: aws.String("x")})
	if s3test.Code(err) != "NoSuchBucket" {
		t.Fatalf("GetObject missing bucket: %v", err)
	}
}

// swiftInterop: Swift sees what S3 wrote, and the other way round.
func (b *basicsTest) swiftInterop() {
	t, c, ctx := b.t, b.c, b.ctx
	sc := swiftConn(t, b.s, "test:tester", "testing")
	sb, err := sc.ObjectGetBytes(ctx, "bkt", "dir/hello.txt")
	if err != nil || !bytes.Equal(sb, b.body) {
		t.Fatalf("Swift GET of an S3 object: %v %q", err, sb)
	}
	if err := sc.ObjectPutBytes(ctx, "bkt", "from swift", []byte("swift data"), "text/plain"); err != nil {
		t.Fatal(err)
	}
	sg, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("bkt"), Key: aws.String("from swift")})
	if err != nil {
		t.Fatalf("S3 GET of a Swift object: %v", err)
	}
	got, _ := io.ReadAll(sg.Body)
	sg.Body.Close()
	if string(got) != "swift data" {
		t.Fatalf("S3 GET of a Swift object: %q", got)
	}
}

// copies: COPY keeps metadata, REPLACE takes the request's, to itself
// needs REPLACE.
func (b *basicsTest) copies() {
	t, c, ctx := b.t, b.c, b.ctx
	if _, err := c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String("bkt"), Key: aws.String("copy"), CopySource: aws.String("bkt/dir/hello.txt")}); err != nil {
		t.Fatalf("CopyObject: %v", err)
	}
	h2, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("bkt"), Key: aws.String("copy")})
	if err != nil || h2.Metadata["color"] != "blue" || aws.ToString(h2.ETag) != b.wantETag {
		t.Fatalf("copied object: %v %+v", err, h2)
	}
	_, err = c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String("bkt"), Key: aws.String("copy"), CopySource: aws.String("bkt/copy")})
	if s3test.Code(err) != "InvalidRequest" {
		t.Fatalf("CopyObject to itself: %v", err)
	}
	if _, err := c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String("bkt"), Key: aws.String("copy"), CopySource: aws.String("bkt/copy"),
		MetadataDirective: types.MetadataDirectiveReplace, Metadata: map[string]string{"color": "red"}}); err != nil {
		t.Fatalf("CopyObject REPLACE to itself: %v", err)
	}
	h3, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("bkt"), Key: aws.String("copy")})
	if err != nil || h3.Metadata["color"] != "red" {
		t.Fatalf("after REPLACE: %v %+v", err, h3)
	}
	_, err = c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String("bkt"), Key: aws.String("copy2"), CopySource: aws.String("bkt/copy"),
		CopySourceIfMatch: aws.String(`"nope"`)})
	if s3test.Code(err) != "PreconditionFailed" {
		t.Fatalf("CopyObject copy-source-if-match: %v", err)
	}
}

// refusedUsers: another user of the account without .admin gets
// AccessDenied; a wrong secret and an unknown access key are refused.
func (b *basicsTest) refusedUsers() {
	t, ctx, s := b.t, b.ctx, b.s
	c2 := s3Client(t, s, "test:tester2", "testing2")
	_, err := c2.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("bkt"), Key: aws.String("copy")})
	if s3test.Code(err) != "AccessDenied" {
		t.Fatalf("GetObject without access: %v", err)
	}
	bad := s3Client(t, s, "test:tester", "wrong")
	_, err = bad.ListBuckets(ctx, &s3.ListBucketsInput{})
	if s3test.Code(err) != "SignatureDoesNotMatch" {
		t.Fatalf("wrong secret: %v", err)
	}
	unknown := s3Client(t, s, "test:nobody", "x")
	_, err = unknown.ListBuckets(ctx, &s3.ListBucketsInput{})
	if s3test.Code(err) != "InvalidAccessKeyId" {
		t.Fatalf("unknown access key: %v", err)
	}
}

// deleteAll: DeleteBucket refuses a bucket with objects; DeleteObjects
// empties it.
func (b *basicsTest) deleteAll() {
	t, c, ctx := b.t, b.c, b.ctx
	_, err := c.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String("bkt")})
	if s3test.Code(err) != "BucketNotEmpty" {
		t.Fatalf("DeleteBucket non-empty: %v", err)
	}
	del, err := c.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: aws.String("bkt"), Delete: &types.Delete{Objects: []types.ObjectIdentifier{
		{Key: aws.String("dir/hello.txt")}, {Key: aws.String("copy")}, {Key: aws.String("from swift")}, {Key: aws.String("never there")}}}})
	if err != nil || len(del.Deleted) != 4 || len(del.Errors) != 0 {
		t.Fatalf("DeleteObjects: %v %+v", err, del)
	}
	if _, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("bkt"), Key: aws.String("never there")}); err != nil {
		t.Fatalf("DeleteObject of a missing key: %v", err)
	}
	if _, err := c.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String("bkt")}); err != nil {
		t.Fatalf("DeleteBucket: %v", err)
	}
	_, err = c.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String("bkt")})
	if s3test.Code(err) != "NoSuchBucket" {
		t.Fatalf("DeleteBucket again: %v", err)
	}
}

func TestS3Presigned(t *testing.T) {
	t.Parallel()
	s := startS3(t, nil)
	c := s3Client(t, s, "test:tester", "testing")
	ctx := context.Background()
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("pre")}); err != nil {
		t.Fatal(err)
	}
	ps := s3.NewPresignClient(c)
	pu, err := ps.PresignPutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("pre"), Key: aws.String("a b+c%d")}, s3.WithPresignExpires(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("PUT", pu.URL, strings.NewReader("presigned body"))
	for k, v := range pu.SignedHeader {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("presigned PUT: %d %s", resp.StatusCode, b)
	}
	pg, err := ps.PresignGetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("pre"), Key: aws.String("a b+c%d")}, s3.WithPresignExpires(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	resp, err = http.Get(pg.URL)
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(b) != "presigned body" {
		t.Fatalf("presigned GET: %d %s", resp.StatusCode, b)
	}
	// Expired: signed two hours ago for one hour.
	old, err := ps.PresignGetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("pre"), Key: aws.String("a b+c%d")},
		s3.WithPresignExpires(time.Hour), func(o *s3.PresignOptions) { o.Presigner = v4.NewSigner() },
		withSigningTime(time.Now().Add(-2*time.Hour)))
	if err != nil {
		t.Fatal(err)
	}
	resp, err = http.Get(old.URL)
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 403 || !strings.Contains(string(b), "<Code>AccessDenied</Code>") || !strings.Contains(string(b), "expired") {
		t.Fatalf("expired presigned GET: %d %s", resp.StatusCode, b)
	}
	// Tampered signature.
	resp, err = http.Get(strings.Replace(pg.URL, "X-Amz-Signature=", "X-Amz-Signature=0", 1))
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 403 || !strings.Contains(string(b), "SignatureDoesNotMatch") {
		t.Fatalf("tampered presigned GET: %d %s", resp.StatusCode, b)
	}
}

// withSigningTime presigns as if at t.
func withSigningTime(t time.Time) func(*s3.PresignOptions) {
	return func(o *s3.PresignOptions) {
		o.Presigner = timeSigner{o.Presigner, t}
	}
}

type timeSigner struct {
	s s3.HTTPPresignerV4
	t time.Time
}

func (ts timeSigner) PresignHTTP(ctx context.Context, creds aws.Credentials, r *http.Request, payloadHash, service, region string, _ time.Time, optFns ...func(*v4.SignerOptions)) (string, http.Header, error) {
	return ts.s.PresignHTTP(ctx, creds, r, payloadHash, service, region, ts.t, optFns...)
}

func TestS3Checksums(t *testing.T) {
	t.Parallel()
	s := startS3(t, nil)
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		client *s3.Client
	}{{"http", s3Client(t, s, "test:tester", "testing")}, {"tls-trailer", s3test.TLSClient(t, s.URL, "test:tester", "testing")}} {
		c := tc.client
		bucket := "sums-" + tc.name
		if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
			t.Fatal(err)
		}
		body := bytes.Repeat([]byte("checksummed data "), 20000)
		for _, alg := range []types.ChecksumAlgorithm{"", types.ChecksumAlgorithmCrc32, types.ChecksumAlgorithmCrc32c,
			types.ChecksumAlgorithmSha1, types.ChecksumAlgorithmSha256, types.ChecksumAlgorithmCrc64nvme} {
			key := "obj-" + string(alg)
			// A plain io.Reader: over TLS the SDK streams it aws-chunked.
			var rd io.Reader = bytes.NewReader(body)
			if tc.name == "tls-trailer" {
				rd = struct{ io.Reader }{rd}
			}
			put, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key),
				Body: rd, ChecksumAlgorithm: alg, ContentLength: aws.Int64(int64(len(body)))})
			if err != nil {
				t.Fatalf("%s PutObject %s: %v", tc.name, alg, err)
			}
			get, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), ChecksumMode: types.ChecksumModeEnabled})
			if err != nil {
				t.Fatalf("%s GetObject %s: %v", tc.name, alg, err)
			}
			got, err := io.ReadAll(get.Body) // the SDK validates the checksum while reading
			get.Body.Close()
			if err != nil || !bytes.Equal(got, body) {
				t.Fatalf("%s GetObject %s: %v (%d bytes)", tc.name, alg, err, len(got))
			}
			if get.ContentEncoding != nil {
				t.Errorf("%s: Content-Encoding %q stored", tc.name, *get.ContentEncoding)
			}
			sums := map[types.ChecksumAlgorithm][2]*string{
				types.ChecksumAlgorithmCrc32: {put.ChecksumCRC32, get.ChecksumCRC32}, types.ChecksumAlgorithmCrc32c: {put.ChecksumCRC32C, get.ChecksumCRC32C},
				types.ChecksumAlgorithmSha1: {put.ChecksumSHA1, get.ChecksumSHA1}, types.ChecksumAlgorithmSha256: {put.ChecksumSHA256, get.ChecksumSHA256},
				types.ChecksumAlgorithmCrc64nvme: {put.ChecksumCRC64NVME, get.ChecksumCRC64NVME}}
			want := alg
			if want == "" {
				want = types.ChecksumAlgorithmCrc32 // the SDK's default
			}
			if v := sums[want]; v[0] == nil || v[1] == nil || *v[0] != *v[1] {
				t.Errorf("%s %s: checksum put %v get %v", tc.name, want, aws.ToString(v[0]), aws.ToString(v[1]))
			}
		}
	}
}

func TestS3Listing(t *testing.T) {
	t.Parallel()
	s := startS3(t, nil)
	c := s3Client(t, s, "test:tester", "testing")
	ctx := context.Background()
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("lst")}); err != nil {
		t.Fatal(err)
	}
	keys := []string{"a/1", "a/2", "a/b/3", "b/", "c 100%+plus", "d/ünïcode", "e", "f/x", "f/y", "g"}
	for _, k := range keys {
		if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("lst"), Key: aws.String(k), Body: strings.NewReader(k)}); err != nil {
			t.Fatalf("put %q: %v", k, err)
		}
	}
	// v2, paginated by 3 with a delimiter: keys and prefixes once each, in order.
	var seen []string
	p := s3.NewListObjectsV2Paginator(c, &s3.ListObjectsV2Input{Bucket: aws.String("lst"), Delimiter: aws.String("/"), MaxKeys: aws.Int32(3)})
	pages := 0
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		if n := len(out.Contents) + len(out.CommonPrefixes); n > 3 || aws.ToInt32(out.KeyCount) != int32(n) {
			t.Fatalf("page of %d entries, KeyCount %d", n, aws.ToInt32(out.KeyCount))
		}
		for _, o := range out.Contents {
			seen = append(seen, *o.Key)
		}
		for _, cp := range out.CommonPrefixes {
			seen = append(seen, *cp.Prefix)
		}
	}
	want := "a/ b/ c 100%+plus d/ e f/ g"
	if got := strings.Join(sortedCopy(seen), " "); got != want || pages != 3 {
		t.Fatalf("v2 delimiter listing in %d pages: %q, want %q", pages, got, want)
	}
	// v1 with prefix and marker.
	out, err := c.ListObjects(ctx, &s3.ListObjectsInput{Bucket: aws.String("lst"), Prefix: aws.String("a/"), Marker: aws.String("a/1")})
	if err != nil || len(out.Contents) != 2 || *out.Contents[0].Key != "a/2" || out.Contents[0].Owner == nil {
		t.Fatalf("v1 prefix+marker: %v %+v", err, out)
	}
	// v1 truncation gives NextMarker with a delimiter.
	out, err = c.ListObjects(ctx, &s3.ListObjectsInput{Bucket: aws.String("lst"), Delimiter: aws.String("/"), MaxKeys: aws.Int32(2)})
	if err != nil || !aws.ToBool(out.IsTruncated) || aws.ToString(out.NextMarker) != "b/" {
		t.Fatalf("v1 truncated: %v %+v", err, out)
	}
	out, err = c.ListObjects(ctx, &s3.ListObjectsInput{Bucket: aws.String("lst"), Delimiter: aws.String("/"), Marker: out.NextMarker})
	if err != nil || len(out.Contents) == 0 || *out.Contents[0].Key != "c 100%+plus" {
		t.Fatalf("v1 after NextMarker: %v %+v", err, out)
	}
	// start-after, fetch-owner, encoding-type=url.
	v2, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("lst"), StartAfter: aws.String("c"), MaxKeys: aws.Int32(2),
		FetchOwner: aws.Bool(true), EncodingType: types.EncodingTypeUrl})
	if err != nil || len(v2.Contents) != 2 || v2.Contents[0].Owner == nil {
		t.Fatalf("v2 start-after: %v %+v", err, v2)
	}
	if k := aws.ToString(v2.Contents[0].Key); k != "c%20100%25%2Bplus" {
		t.Errorf("url-encoded key %q", k)
	}
	if k := aws.ToString(v2.Contents[1].Key); k != "d/%C3%BCn%C3%AFcode" {
		t.Errorf("url-encoded unicode key %q", k)
	}
	_, err = c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("nolist")})
	if s3test.Code(err) != "NoSuchBucket" {
		t.Fatalf("listing a missing bucket: %v", err)
	}
}

func sortedCopy(s []string) []string {
	out := append([]string(nil), s...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

// More parts than the SLO manifest limit: the upload is finished with
// nested manifests, reads back whole and by part, and deletes cleanly.
func TestS3MultipartNested(t *testing.T) {
	t.Parallel()
	s := startS3(t, func(c *config.Config) {
		c.S3.MinSegmentSize = 1
		c.SLO.MaxManifestSegments = 3
	})
	c := s3Client(t, s, "test:tester", "testing")
	ctx := context.Background()
	b, k := aws.String("nest"), aws.String("n")
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: b}); err != nil {
		t.Fatal(err)
	}
	cr, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: b, Key: k})
	if err != nil {
		t.Fatal(err)
	}
	var done []types.CompletedPart
	var all []byte
	for i := 1; i <= 5; i++ {
		p := bytes.Repeat([]byte{byte('a' + i)}, i*10)
		all = append(all, p...)
		up, err := c.UploadPart(ctx, &s3.UploadPartInput{Bucket: b, Key: k, UploadId: cr.UploadId, PartNumber: aws.Int32(int32(i)), Body: bytes.NewReader(p)})
		if err != nil {
			t.Fatal(err)
		}
		done = append(done, types.CompletedPart{ETag: up.ETag, PartNumber: aws.Int32(int32(i))})
	}
	if _, err := c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: b, Key: k, UploadId: cr.UploadId,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: done}}); err != nil {
		t.Fatalf("CompleteMultipartUpload of 5 parts with 3-segment manifests: %v", err)
	}
	get, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: b, Key: k})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(get.Body)
	get.Body.Close()
	if !bytes.Equal(got, all) || !strings.HasSuffix(aws.ToString(get.ETag), `-5"`) {
		t.Fatalf("nested object: %q etag %s", got, aws.ToString(get.ETag))
	}
	p4, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: b, Key: k, PartNumber: aws.Int32(4)})
	if err != nil {
		t.Fatal(err)
	}
	got, _ = io.ReadAll(p4.Body)
	p4.Body.Close()
	if string(got) != strings.Repeat("e", 40) || aws.ToInt32(p4.PartsCount) != 5 {
		t.Fatalf("part 4 of a nested object: %q (%d parts)", got, aws.ToInt32(p4.PartsCount))
	}
	if _, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: b, Key: k}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: b}); err != nil {
		t.Fatalf("DeleteBucket: %v", err)
	}
	sc := swiftConn(t, s, "test:tester", "testing")
	if names, err := sc.ContainerNamesAll(ctx, nil); err != nil || len(names) != 0 {
		t.Fatalf("containers left: %v %v", err, names)
	}
}
