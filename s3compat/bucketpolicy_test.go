package s3compat_test

import (
	"context"
	"crypto/md5"
	"encoding/base64"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"swiftbox/s3compat/s3test"
	"swiftbox/server/servertest"
)

// A bucket policy opens a private bucket to unsigned requests (a public
// bucket), only for the actions and keys it names; a Deny wins; bad
// policies are MalformedPolicy.
func TestS3BucketPolicy(t *testing.T) {
	t.Parallel()
	s3Addr := startS3Listener(t)
	c := s3test.Client("http://"+s3Addr, &http.Client{}, "test:tester", "testing")
	ctx := context.Background()
	b := aws.String("site")
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: b}); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"pub/a.txt", "pub/secret/b.txt", "private.txt"} {
		if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: b, Key: aws.String(k), Body: strings.NewReader("data " + k)}); err != nil {
			t.Fatal(err)
		}
	}
	anon := func(method, path string) int {
		t.Helper()
		req, _ := http.NewRequest(method, "http://"+s3Addr+path, strings.NewReader(""))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	if st := anon("GET", "/site/pub/a.txt"); st != 403 {
		t.Fatalf("anonymous GET before any policy: %d", st)
	}
	if _, err := c.GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: b}); s3test.Code(err) != "NoSuchBucketPolicy" {
		t.Fatalf("GetBucketPolicy with none: %v", err)
	}
	policy := `{"Version":"2012-10-17","Statement":[` +
		`{"Sid":"read","Effect":"Allow","Principal":"*","Action":["s3:GetObject"],"Resource":["arn:aws:s3:::site/pub/*"]},` +
		`{"Sid":"hide","Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::site/pub/secret/*"}]}`
	if _, err := c.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: b, Policy: aws.String(policy)}); err != nil {
		t.Fatal(err)
	}
	got, err := c.GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: b})
	if err != nil || aws.ToString(got.Policy) != policy {
		t.Fatalf("GetBucketPolicy: %v %v", got, err)
	}
	if st, err := c.GetBucketPolicyStatus(ctx, &s3.GetBucketPolicyStatusInput{Bucket: b}); err != nil || !aws.ToBool(st.PolicyStatus.IsPublic) {
		t.Fatalf("GetBucketPolicyStatus: %v %v", st, err)
	}
	for _, tc := range []struct {
		method, path string
		want         int
	}{
		{"GET", "/site/pub/a.txt", 200},
		{"HEAD", "/site/pub/a.txt", 200},
		{"GET", "/site/pub/secret/b.txt", 403}, // denied
		{"GET", "/site/private.txt", 403},      // not granted
		{"PUT", "/site/pub/new.txt", 403},      // GetObject only
		{"DELETE", "/site/pub/a.txt", 403},
		{"GET", "/site", 403}, // no ListBucket
	} {
		if st := anon(tc.method, tc.path); st != tc.want {
			t.Errorf("anonymous %s %s: %d, want %d", tc.method, tc.path, st, tc.want)
		}
	}
	// DeleteObjects (a request on the bucket) is also judged key by key:
	// the Deny on pub/secret/* holds.
	del := `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:DeleteObject","Resource":["arn:aws:s3:::site","arn:aws:s3:::site/*"]},` +
		`{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::site/pub/secret/*"}]}`
	if _, err := c.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: b, Policy: aws.String(del)}); err != nil {
		t.Fatal(err)
	}
	xmlBody := `<Delete><Object><Key>pub/a.txt</Key></Object><Object><Key>pub/secret/b.txt</Key></Object></Delete>`
	sum := md5.Sum([]byte(xmlBody))
	req, _ := http.NewRequest("POST", "http://"+s3Addr+"/site?delete", strings.NewReader(xmlBody))
	req.Header.Set("Content-MD5", base64.StdEncoding.EncodeToString(sum[:]))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	out, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(out), "<Deleted><Key>pub/a.txt</Key>") ||
		!strings.Contains(string(out), "<Key>pub/secret/b.txt</Key><Code>AccessDenied</Code>") {
		t.Fatalf("anonymous DeleteObjects under the policy: %d %s", resp.StatusCode, out)
	}
	if _, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: b, Key: aws.String("pub/secret/b.txt")}); err != nil {
		t.Fatalf("a denied key was deleted: %v", err)
	}
	_, err = c.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: b,
		Policy: aws.String(`{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::elsewhere/*"}]}`)})
	if s3test.Code(err) != "MalformedPolicy" {
		t.Fatalf("a policy for another bucket: %v", err)
	}
	if _, err := c.DeleteBucketPolicy(ctx, &s3.DeleteBucketPolicyInput{Bucket: b}); err != nil {
		t.Fatal(err)
	}
	if st := anon("GET", "/site/pub/a.txt"); st != 403 {
		t.Fatalf("anonymous GET after DeleteBucketPolicy: %d", st)
	}
}

// Another account's user reaches a bucket its policy names them in (or
// "*"), for the actions granted; a Deny for them wins over the ACLs.
func TestS3BucketPolicyOtherAccount(t *testing.T) {
	t.Parallel()
	s := servertest.Start(t, servertest.Options{S3: true, Users: []string{"test:tester:testing:.admin", "test2:tester2:testing2:.admin"}})
	owner := s3Client(t, s, "test:tester", "testing")
	other := s3Client(t, s, "test2:tester2", "testing2")
	ctx := context.Background()
	b := aws.String("shared")
	if _, err := owner.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: b}); err != nil {
		t.Fatal(err)
	}
	if _, err := owner.PutObject(ctx, &s3.PutObjectInput{Bucket: b, Key: aws.String("doc"), Body: strings.NewReader("shared doc")}); err != nil {
		t.Fatal(err)
	}
	if _, err := other.GetObject(ctx, &s3.GetObjectInput{Bucket: b, Key: aws.String("doc")}); s3test.Code(err) != "AccessDenied" {
		t.Fatalf("other account before the policy: %v", err)
	}
	policy := `{"Statement":[{"Effect":"Allow","Principal":{"AWS":["arn:aws:iam:::user/test2:tester2"]},` +
		`"Action":["s3:GetObject","s3:ListBucket"],"Resource":["arn:aws:s3:::shared","arn:aws:s3:::shared/*"]}]}`
	if _, err := owner.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: b, Policy: aws.String(policy)}); err != nil {
		t.Fatal(err)
	}
	obj, err := other.GetObject(ctx, &s3.GetObjectInput{Bucket: b, Key: aws.String("doc")})
	if err != nil {
		t.Fatalf("other account's GET under the policy: %v", err)
	}
	body, _ := io.ReadAll(obj.Body)
	obj.Body.Close()
	if string(body) != "shared doc" {
		t.Fatalf("read %q", body)
	}
	if _, err := other.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: b}); err != nil {
		t.Fatalf("other account's listing under the policy: %v", err)
	}
	if _, err := other.PutObject(ctx, &s3.PutObjectInput{Bucket: b, Key: aws.String("x"), Body: strings.NewReader("x")}); s3test.Code(err) != "AccessDenied" {
		t.Fatalf("other account's PUT (not granted): %v", err)
	}
	// Allowed to write into shared, the other user may not copy the
	// owner's private objects in: a copy source is judged by the copier's
	// own rights.
	if _, err := owner.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("vault")}); err != nil {
		t.Fatal(err)
	}
	if _, err := owner.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("vault"), Key: aws.String("secret"), Body: strings.NewReader("private")}); err != nil {
		t.Fatal(err)
	}
	write := `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:PutObject","Resource":"arn:aws:s3:::shared/*"}]}`
	if _, err := owner.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: b, Policy: aws.String(write)}); err != nil {
		t.Fatal(err)
	}
	if _, err := other.PutObject(ctx, &s3.PutObjectInput{Bucket: b, Key: aws.String("mine"), Body: strings.NewReader("x")}); err != nil {
		t.Fatalf("other account's PUT under a write policy: %v", err)
	}
	if _, err := other.CopyObject(ctx, &s3.CopyObjectInput{Bucket: b, Key: aws.String("stolen"), CopySource: aws.String("vault/secret")}); s3test.Code(err) != "AccessDenied" {
		t.Fatalf("copy of the owner's private object by a writer: %v, want AccessDenied", err)
	}
	// A public-read ACL, and a policy denying this user: the Deny wins.
	if _, err := owner.PutBucketAcl(ctx, &s3.PutBucketAclInput{Bucket: b, ACL: "public-read"}); err != nil {
		t.Fatal(err)
	}
	deny := `{"Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::shared/*"}]}`
	if _, err := owner.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: b, Policy: aws.String(deny)}); err != nil {
		t.Fatal(err)
	}
	if _, err := other.GetObject(ctx, &s3.GetObjectInput{Bucket: b, Key: aws.String("doc")}); s3test.Code(err) != "AccessDenied" {
		t.Fatalf("other account's GET under a Deny: %v", err)
	}
	// READ (public-read) does not show the bucket's settings.
	if _, err := other.GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: b}); s3test.Code(err) != "AccessDenied" {
		t.Fatalf("other account reading the policy with READ: %v", err)
	}
}

// What a policy grants on one bucket stays there: a symlink in it to
// another container is judged by the caller's own rights.
func TestS3PolicyGrantStaysInItsBucket(t *testing.T) {
	t.Parallel()
	s := servertest.Start(t, servertest.Options{S3Listener: true, Configure: anonymousAUTHtest})
	s3Addr := strings.TrimPrefix(s.S3URL, "http://")
	c := s3test.Client("http://"+s3Addr, &http.Client{}, "test:tester", "testing")
	ctx := context.Background()
	for _, b := range []string{"pub", "priv"} {
		if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(b)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("priv"), Key: aws.String("secret"), Body: strings.NewReader("secret data")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("pub"), Key: aws.String("page"), Body: strings.NewReader("public page")}); err != nil {
		t.Fatal(err)
	}
	sc := swiftConn(t, s, "test:tester", "testing")
	if _, err := sc.ObjectPut(ctx, "pub", "link", strings.NewReader(""), false, "", "application/symlink", map[string]string{"X-Symlink-Target": "priv/secret"}); err != nil {
		t.Fatal(err)
	}
	policy := `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::pub/*"}]}`
	if _, err := c.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String("pub"), Policy: aws.String(policy)}); err != nil {
		t.Fatal(err)
	}
	get := func(path string) (int, string) {
		resp, err := http.Get("http://" + s3Addr + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp.StatusCode, string(b)
	}
	if st, body := get("/pub/page"); st != 200 || body != "public page" {
		t.Fatalf("anonymous GET granted by the policy: %d %s", st, body)
	}
	if st, body := get("/pub/link"); st == 200 || strings.Contains(body, "secret data") {
		t.Fatalf("a symlink out of the granted bucket was followed: %d %s", st, body)
	}
}
