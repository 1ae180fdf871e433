package cli_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// startS3Listener serves with config (YAML) and an --s3-addr listener,
// whose address it returns beside the server; user test:tester/testing.
func startS3Listener(t *testing.T, config string) (*server, string) {
	t.Helper()
	dir := t.TempDir()
	cfgFile := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfgFile, []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s3Addr := ln.Addr().String()
	ln.Close()
	return startServer(t, filepath.Join(dir, "devs"), "--config", cfgFile, "--s3-addr", s3Addr, "--user", "test:tester:testing:.admin"), s3Addr
}

// TestS3VirtualHostAndListener uses virtual-hosted-style addressing under
// s3.storage_domain and the --s3-addr listener.
func TestS3VirtualHostAndListener(t *testing.T) {
	s, s3Addr := startS3Listener(t, "s3:\n  storage_domain: s3.test\n  anonymous_account: AUTH_test\n")
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

// Per-application access keys: a key limited to one bucket, and a
// read-only key, as `swiftbox user key create` issues them.
func TestS3AccessKeys(t *testing.T) {
	dev := t.TempDir()
	s := startServer(t, dev)
	run(t, false, "user", "add", "test:alice", "--admin", "--key", "alicekey", "--devices", dev)
	pair := regexp.MustCompile(`access key: (\S+)\nsecret key: (\S+)`)
	m := pair.FindStringSubmatch(run(t, false, "user", "key", "create", "test:alice", "--bucket", "photos", "--devices", dev))
	r := pair.FindStringSubmatch(run(t, false, "user", "key", "create", "test:alice", "--read-only", "--devices", dev))
	if m == nil || r == nil {
		t.Fatal("user key create printed no key")
	}
	ctx := context.Background()
	admin := s3Client(t, s, "test:alice", "alicekey")
	eventually(t, "alice's S3 access", func() bool {
		_, err := admin.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("photos")})
		return err == nil
	})
	if _, err := admin.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("private")}); err != nil {
		t.Fatal(err)
	}
	photos := s3Client(t, s, m[1], m[2])
	eventually(t, "the bucket key works", func() bool {
		_, err := photos.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("photos"), Key: aws.String("p.jpg"), Body: strings.NewReader("jpg")})
		return err == nil
	})
	_, err := photos.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("private"), Key: aws.String("x"), Body: strings.NewReader("x")})
	if s3Code(err) != "AccessDenied" {
		t.Fatalf("bucket key writing another bucket: %v", err)
	}
	lb, err := photos.ListBuckets(ctx, &s3.ListBucketsInput{})
	if err != nil || len(lb.Buckets) != 1 || aws.ToString(lb.Buckets[0].Name) != "photos" {
		t.Fatalf("bucket key's ListBuckets: %v %+v", err, lb)
	}
	ro := s3Client(t, s, r[1], r[2])
	get, err := ro.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("photos"), Key: aws.String("p.jpg")})
	if err != nil {
		t.Fatalf("read-only key reading: %v", err)
	}
	get.Body.Close()
	_, err = ro.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("photos"), Key: aws.String("y"), Body: strings.NewReader("y")})
	if s3Code(err) != "AccessDenied" {
		t.Fatalf("read-only key writing: %v", err)
	}
	_, err = ro.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("photos"), Key: aws.String("p.jpg")})
	if s3Code(err) != "AccessDenied" {
		t.Fatalf("read-only key deleting: %v", err)
	}
}
