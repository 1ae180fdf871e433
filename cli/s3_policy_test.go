package cli_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// A bucket policy opens a private bucket to unsigned requests (a public
// bucket), only for the actions and keys it names; a Deny wins; bad
// policies are MalformedPolicy.
func TestS3BucketPolicy(t *testing.T) {
	_, s3Addr := startS3Listener(t, "s3:\n  anonymous_account: AUTH_test\n")
	c := s3ClientAt(t, "http://"+s3Addr, &http.Client{}, "test:tester", "testing")
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
	if _, err := c.GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: b}); s3Code(err) != "NoSuchBucketPolicy" {
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
	_, err = c.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: b,
		Policy: aws.String(`{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::elsewhere/*"}]}`)})
	if s3Code(err) != "MalformedPolicy" {
		t.Fatalf("a policy for another bucket: %v", err)
	}
	if _, err := c.DeleteBucketPolicy(ctx, &s3.DeleteBucketPolicyInput{Bucket: b}); err != nil {
		t.Fatal(err)
	}
	if st := anon("GET", "/site/pub/a.txt"); st != 403 {
		t.Fatalf("anonymous GET after DeleteBucketPolicy: %d", st)
	}
}
