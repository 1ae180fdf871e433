package s3compat_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"swiftbox/config"
	"swiftbox/s3compat/s3test"
	"swiftbox/server/servertest"
)

func TestS3BadInput(t *testing.T) {
	t.Parallel()
	s := startS3(t, nil)
	b := &badInput{t: t, u: s.URL, now: time.Now()}
	st, body := s3test.Do(t, b.signed("PUT", "/bad", nil, s3test.SHA256Hex(""), b.now))
	if st != 200 {
		t.Fatalf("create bucket: %d %s", st, body)
	}
	b.chunkedUploads()
	b.refusedRequests()
	b.sigV2()
}

// badInput is TestS3BadInput's state: the server at u, with bucket bad,
// and the time its requests are signed at.
type badInput struct {
	t   *testing.T
	u   string
	now time.Time
}

func (b *badInput) signed(method, path string, body io.Reader, payloadHash string, at time.Time, hdr ...string) *http.Request {
	return s3test.SignedRequest(b.t, s3test.Creds, method, b.u+path, body, payloadHash, at, hdr...)
}

// errCode is the <Code> of an S3 error body (the whole body if it has none).
func errCode(body string) string {
	i := strings.Index(body, "<Code>")
	j := strings.Index(body, "</Code>")
	if i < 0 || j < i {
		return body
	}
	return body[i+6 : j]
}

// badChunks are the chunks of chunkedUploads' aws-chunked uploads.
var badChunks = []string{strings.Repeat("x", 8192), strings.Repeat("y", 100)}

// chunkedPut is a signed aws-chunked PUT of badChunks to bad/key, the
// signature of chunk corrupt wrong (-1: none).
func (b *badInput) chunkedPut(key string, corrupt int) (int, string) {
	decoded := strconv.Itoa(8192 + 100)
	req := b.signed("PUT", "/bad/"+key, nil, "STREAMING-AWS4-HMAC-SHA256-PAYLOAD", b.now,
		"Content-Encoding: aws-chunked", "X-Amz-Decoded-Content-Length: "+decoded)
	framed := s3test.AWSChunked(s3test.Creds.SecretAccessKey, s3test.SeedSignature(req), b.now, badChunks, corrupt)
	req.Body = io.NopCloser(strings.NewReader(framed))
	req.ContentLength = int64(len(framed))
	return s3test.Do(b.t, req)
}

// chunkedUploads: a signed aws-chunked upload, good, then each chunk's
// signature wrong.
func (b *badInput) chunkedUploads() {
	t, now := b.t, b.now
	if st, body := b.chunkedPut("chunked", -1); st != 200 {
		t.Fatalf("aws-chunked PUT: %d %s", st, body)
	}
	st, body := s3test.Do(t, b.signed("GET", "/bad/chunked", nil, s3test.SHA256Hex(""), now))
	if st != 200 || body != badChunks[0]+badChunks[1] {
		t.Fatalf("GET of the aws-chunked object: %d %d bytes", st, len(body))
	}
	for i := range 3 {
		if st, body := b.chunkedPut("badchunk", i); st != 403 || errCode(body) != "SignatureDoesNotMatch" {
			t.Errorf("bad signature on chunk %d: %d %s", i, st, body)
		}
	}
	if st, body := s3test.Do(t, b.signed("HEAD", "/bad/badchunk", nil, s3test.SHA256Hex(""), now)); st != 404 {
		t.Errorf("object left by a refused upload: %d %s", st, body)
	}
}

// malformedXMLBodies are POSTs whose XML body S3 refuses as MalformedXML.
var malformedXMLBodies = []struct{ path, body string }{
	{"/bad?delete", "<Delete><Object><Key>x</Key>"},
	{"/bad?delete", "not xml"},
}

// refusedRequests: a body unlike its x-amz-content-sha256, clock skew,
// malformed XML, the wrong region, an operation swiftbox does not have.
func (b *badInput) refusedRequests() {
	t, now := b.t, b.now
	req := b.signed("PUT", "/bad/sha", strings.NewReader("actual body"), s3test.SHA256Hex("other body"), now)
	if st, body := s3test.Do(t, req); st != 400 || errCode(body) != "XAmzContentSHA256Mismatch" {
		t.Errorf("sha256 mismatch: %d %s", st, body)
	}
	if st, body := s3test.Do(t, b.signed("GET", "/bad", nil, s3test.SHA256Hex(""), now.Add(-20*time.Minute))); st != 403 || errCode(body) != "RequestTimeTooSkewed" {
		t.Errorf("skewed request: %d %s", st, body)
	}
	for _, tc := range malformedXMLBodies {
		req := b.signed("POST", tc.path, strings.NewReader(tc.body), s3test.SHA256Hex(tc.body), now)
		if st, body := s3test.Do(t, req); st != 400 || errCode(body) != "MalformedXML" {
			t.Errorf("POST %s %q: %d %s", tc.path, tc.body, st, body)
		}
	}
	req, _ = http.NewRequest("GET", b.u+"/bad", nil)
	req.Header.Set("X-Amz-Content-Sha256", s3test.SHA256Hex(""))
	v4.NewSigner().SignHTTP(context.Background(), s3test.Creds, req, s3test.SHA256Hex(""), "s3", "eu-west-1", now)
	if st, body := s3test.Do(t, req); st != 400 || errCode(body) != "AuthorizationHeaderMalformed" {
		t.Errorf("wrong region: %d %s", st, body)
	}
	if st, body := s3test.Do(t, b.signed("PUT", "/bad?lifecycle", nil, s3test.SHA256Hex(""), now)); st != 501 || errCode(body) != "NotImplemented" {
		t.Errorf("PUT lifecycle: %d %s", st, body)
	}
}

// sigV2: SigV2, header and query, good and bad.
func (b *badInput) sigV2() {
	t, now := b.t, b.now
	// v2 is the SigV2 signature of method and path at date (a Date
	// header or an Expires) by test:tester.
	v2 := func(method, path, date string) string {
		return v2Sign("testing", method+"\n\n\n"+date+"\n"+path)
	}
	date := now.UTC().Format(http.TimeFormat)
	req, _ := http.NewRequest("GET", b.u+"/bad/chunked", nil)
	req.Header.Set("Date", date)
	req.Header.Set("Authorization", "AWS test:tester:"+v2("GET", "/bad/chunked", date))
	if st, body := s3test.Do(t, req); st != 200 || len(body) != 8292 {
		t.Errorf("SigV2 header GET: %d %s", st, body)
	}
	req.Header.Set("Authorization", "AWS test:tester:"+v2("GET", "/bad/other", date))
	if st, body := s3test.Do(t, req); st != 403 || errCode(body) != "SignatureDoesNotMatch" {
		t.Errorf("SigV2 wrong signature: %d %s", st, body)
	}
	exp := strconv.FormatInt(now.Add(time.Minute).Unix(), 10)
	q := url.Values{"AWSAccessKeyId": {"test:tester"}, "Expires": {exp}, "Signature": {v2("GET", "/bad/chunked", exp)}}
	req, _ = http.NewRequest("GET", b.u+"/bad/chunked?"+q.Encode(), nil)
	if st, body := s3test.Do(t, req); st != 200 || len(body) != 8292 {
		t.Errorf("SigV2 query GET: %d %s", st, body)
	}
	exp = strconv.FormatInt(now.Add(-time.Minute).Unix(), 10)
	q = url.Values{"AWSAccessKeyId": {"test:tester"}, "Expires": {exp}, "Signature": {v2("GET", "/bad/chunked", exp)}}
	req, _ = http.NewRequest("GET", b.u+"/bad/chunked?"+q.Encode(), nil)
	if st, body := s3test.Do(t, req); st != 403 || errCode(body) != "AccessDenied" {
		t.Errorf("SigV2 expired query: %d %s", st, body)
	}
}

// TestS3IfNoneMatchRace: of writers racing with If-None-Match: *, exactly
// one wins and the others get 412 (Terraform's state locking).
func TestS3IfNoneMatchRace(t *testing.T) {
	t.Parallel()
	s := startS3(t, nil)
	c := s3Client(t, s, "test:tester", "testing")
	ctx := context.Background()
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("lock")}); err != nil {
		t.Fatal(err)
	}
	for round := range 5 {
		key := aws.String("state-" + strconv.Itoa(round))
		var wg sync.WaitGroup
		var mu sync.Mutex
		wins, fails := 0, 0
		for i := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("lock"), Key: key, IfNoneMatch: aws.String("*"),
					Body: strings.NewReader(strings.Repeat("w", 1000+i))})
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					wins++
				case s3test.Code(err) == "PreconditionFailed":
					fails++
				default:
					t.Errorf("racing PUT: %v", err)
				}
			}()
		}
		wg.Wait()
		if wins != 1 || fails != 7 {
			t.Fatalf("round %d: %d winners, %d refused", round, wins, fails)
		}
	}
	// If-Match: overwrite only the version read.
	put, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("lock"), Key: aws.String("m"), Body: strings.NewReader("one")})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("lock"), Key: aws.String("m"), IfMatch: aws.String(`"0123"`), Body: strings.NewReader("two")})
	if s3test.Code(err) != "PreconditionFailed" {
		t.Fatalf("If-Match mismatch: %v", err)
	}
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("lock"), Key: aws.String("m"), IfMatch: put.ETag, Body: strings.NewReader("two")}); err != nil {
		t.Fatalf("If-Match match: %v", err)
	}
	_, err = c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("lock"), Key: aws.String("absent"), IfMatch: put.ETag, Body: strings.NewReader("x")})
	if s3test.Code(err) != "NoSuchKey" {
		t.Fatalf("If-Match on a missing key: %v", err)
	}
}

func TestS3PostObject(t *testing.T) {
	t.Parallel()
	s := startS3(t, nil)
	c := s3Client(t, s, "test:tester", "testing")
	ctx := context.Background()
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("forms")}); err != nil {
		t.Fatal(err)
	}
	policy := func(exp time.Time, conds string) string {
		return base64.StdEncoding.EncodeToString([]byte(`{"expiration": "` + exp.UTC().Format("2006-01-02T15:04:05Z") + `", "conditions": [` + conds + `]}`))
	}
	sign := func(p string) string {
		m := hmac.New(sha1.New, []byte("testing"))
		m.Write([]byte(p))
		return base64.StdEncoding.EncodeToString(m.Sum(nil))
	}
	conds := `{"bucket": "forms"}, ["starts-with", "$key", "up/"], ["starts-with", "$Content-Type", "text/"], ["content-length-range", 0, 100], ["eq", "$x-amz-meta-tag", "t1"]`
	good := policy(time.Now().Add(time.Hour), conds)
	fields := func(p, sig, key string) [][2]string {
		return [][2]string{{"key", key}, {"AWSAccessKeyId", "test:tester"}, {"policy", p}, {"signature", sig},
			{"Content-Type", "text/plain"}, {"x-amz-meta-tag", "t1"}}
	}
	if st, body := s3test.PostForm(t, s.URL+"/forms", fields(good, sign(good), "up/${filename}"), "form data"); st != 204 {
		t.Fatalf("POST object: %d %s", st, body)
	}
	get, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("forms"), Key: aws.String("up/upload.txt")})
	if err != nil {
		t.Fatalf("GET of the posted object: %v", err)
	}
	b, _ := io.ReadAll(get.Body)
	get.Body.Close()
	if string(b) != "form data" || aws.ToString(get.ContentType) != "text/plain" || get.Metadata["tag"] != "t1" {
		t.Fatalf("posted object: %q %s %v", b, aws.ToString(get.ContentType), get.Metadata)
	}
	expired := policy(time.Now().Add(-time.Hour), conds)
	for _, tc := range []struct {
		name   string
		fields [][2]string
		file   string
		status int
		code   string
	}{
		{"bad signature", fields(good, sign(good+"x"), "up/a"), "x", 403, "SignatureDoesNotMatch"},
		{"expired", fields(expired, sign(expired), "up/a"), "x", 403, "AccessDenied"},
		{"key outside policy", fields(good, sign(good), "other/a"), "x", 403, "AccessDenied"},
		{"too large", fields(good, sign(good), "up/big"), strings.Repeat("x", 101), 400, "EntityTooLarge"},
		{"no key", fields(good, sign(good), "")[1:], "x", 400, "InvalidArgument"},
		{"bad checksum", append(fields(good, sign(good), "up/sum"), [2]string{"x-amz-checksum-sha256", "sailorjerry"}), "x", 400, "BadDigest"},
	} {
		st, body := s3test.PostForm(t, s.URL+"/forms", tc.fields, tc.file)
		if st != tc.status || !strings.Contains(body, "<Code>"+tc.code+"</Code>") {
			t.Errorf("%s: %d %s", tc.name, st, body)
		}
	}
	for _, key := range []string{"up/big", "up/sum"} {
		if _, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("forms"), Key: aws.String(key)}); err == nil {
			t.Errorf("a refused upload left its object %s", key)
		}
	}
	// A declared checksum (outside the policy's conditions, as S3 allows)
	// that matches is kept with the object.
	sum := sha256.Sum256([]byte("checked"))
	ok := append(fields(good, sign(good), "up/ok"), [2]string{"x-amz-checksum-sha256", base64.StdEncoding.EncodeToString(sum[:])})
	if st, body := s3test.PostForm(t, s.URL+"/forms", ok, "checked"); st != 204 {
		t.Fatalf("POST with a good checksum: %d %s", st, body)
	}
	head, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("forms"), Key: aws.String("up/ok"), ChecksumMode: types.ChecksumModeEnabled})
	if err != nil || aws.ToString(head.ChecksumSHA256) != base64.StdEncoding.EncodeToString(sum[:]) {
		t.Fatalf("posted object's checksum: %v %v", head, err)
	}
	// A form's signature is a login: with the bad one above, 10 failures
	// (the default max_failures) and the key is throttled from this
	// address: a bad signature is answered a second late, one at a time
	// (another meanwhile: 503 SlowDown), while the right one still uploads.
	for i := 0; i < 9; i++ {
		if st, body := s3test.PostForm(t, s.URL+"/forms", fields(good, sign(good+fmt.Sprint(i)), "up/g"), "x"); st != 403 || !strings.Contains(body, "SignatureDoesNotMatch") {
			t.Fatalf("bad signature %d: %d %s", i, st, body)
		}
	}
	held := make(chan time.Duration)
	go func() {
		start := time.Now()
		if st, body := s3test.PostForm(t, s.URL+"/forms", fields(good, sign(good+"y"), "up/g"), "x"); st != 403 || !strings.Contains(body, "SignatureDoesNotMatch") {
			t.Errorf("a bad signature while throttled: %d %s", st, body)
		}
		held <- time.Since(start)
	}()
	time.Sleep(300 * time.Millisecond)
	if st, body := s3test.PostForm(t, s.URL+"/forms", fields(good, sign(good), "up/g"), "x"); st != 503 || !strings.Contains(body, "<Code>SlowDown</Code>") {
		t.Errorf("POST while a throttled one is checked: %d %s, want 503 SlowDown", st, body)
	}
	if d := <-held; d < 900*time.Millisecond {
		t.Errorf("a bad signature while throttled answered after %v, want a second", d)
	}
	if st, body := s3test.PostForm(t, s.URL+"/forms", fields(good, sign(good), "up/g"), "x"); st != 204 {
		t.Errorf("the right signature while throttled: %d %s", st, body)
	}
}

// TestS3VirtualHostAndListener uses virtual-hosted-style addressing under
// s3.storage_domain and the --s3-addr listener.
func TestS3VirtualHostAndListener(t *testing.T) {
	t.Parallel()
	s := servertest.Start(t, servertest.Options{S3Listener: true, Configure: func(c *config.Config) {
		c.S3.StorageDomain = "s3.test"
		anonymousAUTHtest(c)
	}})
	s3Addr := strings.TrimPrefix(s.S3URL, "http://")
	_, port, _ := net.SplitHostPort(s3Addr)
	hc := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, s3Addr)
	}}}
	c := s3.New(s3.Options{Region: "us-east-1", BaseEndpoint: aws.String("http://s3.test:" + port), HTTPClient: hc,
		Credentials: credentials.NewStaticCredentialsProvider("test:tester", "testing", "")})
	ctx := context.Background()
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("vhost")}); err != nil {
		t.Fatalf("CreateBucket virtual-hosted: %v", err)
	}
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("vhost"), Key: aws.String("k/ey"), Body: strings.NewReader("v")}); err != nil {
		t.Fatalf("PutObject virtual-hosted: %v", err)
	}
	// Path-style on the main listener sees the same object.
	pc := s3Client(t, s, "test:tester", "testing")
	out, err := pc.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("vhost"), Key: aws.String("k/ey")})
	if err != nil {
		t.Fatalf("path-style GET: %v", err)
	}
	b, _ := io.ReadAll(out.Body)
	out.Body.Close()
	if string(b) != "v" {
		t.Fatalf("path-style GET: %q", b)
	}
	lo, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("vhost")})
	if err != nil || len(lo.Contents) != 1 {
		t.Fatalf("virtual-hosted listing: %v %+v", err, lo)
	}
	// Unsigned requests on the S3 listener reach anonymous_account's
	// buckets as far as their ACLs allow.
	anon := func(path string) (int, string) {
		resp, err := http.Get("http://" + s3Addr + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp.StatusCode, string(b)
	}
	if st, body := anon("/vhost/k/ey"); st != 403 || !strings.Contains(body, "<Code>AccessDenied</Code>") {
		t.Fatalf("anonymous GET of a private bucket: %d %s", st, body)
	}
	if _, err := pc.PutBucketAcl(ctx, &s3.PutBucketAclInput{Bucket: aws.String("vhost"), ACL: "public-read"}); err != nil {
		t.Fatalf("PutBucketAcl public-read: %v", err)
	}
	acl, err := pc.GetBucketAcl(ctx, &s3.GetBucketAclInput{Bucket: aws.String("vhost")})
	if err != nil || len(acl.Grants) != 2 {
		t.Fatalf("GetBucketAcl: %v %+v", err, acl)
	}
	if st, body := anon("/vhost/k/ey"); st != 200 || body != "v" {
		t.Fatalf("anonymous GET of a public-read bucket: %d %s", st, body)
	}
	if st, body := anon("/vhost"); st != 200 || !strings.Contains(body, "<Key>k/ey</Key>") {
		t.Fatalf("anonymous listing of a public-read bucket: %d %s", st, body)
	}
	if st, body := anon("/"); st != 403 {
		t.Fatalf("anonymous ListBuckets: %d %s", st, body)
	}
	if st, body := anon("/nosuchbucket/k"); st != 404 || !strings.Contains(body, "<Code>NoSuchBucket</Code>") {
		t.Fatalf("anonymous GET in a missing bucket: %d %s", st, body)
	}
	// The main listener leaves unsigned path-style requests to Swift.
	resp, err := http.Get(s.URL + "/vhost/k/ey")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode == 200 {
		t.Fatalf("unsigned path-style request on the Swift listener served as S3")
	}
}
