package s3compat_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"swiftbox/s3compat/s3test"
)

// Bucket CORS: Put/Get/DeleteBucketCors, preflights decided by the rules
// (origin wildcards, methods, requested headers) and CORS headers on
// actual requests, on the --s3-addr listener where unsigned requests are
// the anonymous account's.
func TestS3CORS(t *testing.T) {
	t.Parallel()
	s3Addr := startS3Listener(t)
	c := s3test.Client("http://"+s3Addr, &http.Client{}, "test:tester", "testing")
	ctx := context.Background()
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("web"), ACL: types.BucketCannedACLPublicRead}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetBucketCors(ctx, &s3.GetBucketCorsInput{Bucket: aws.String("web")}); s3test.Code(err) != "NoSuchCORSConfiguration" {
		t.Fatalf("GetBucketCors with none: %v", err)
	}
	preflight := func(path, origin, method, headers string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest("OPTIONS", "http://"+s3Addr+path, nil)
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		if method != "" {
			req.Header.Set("Access-Control-Request-Method", method)
		}
		if headers != "" {
			req.Header.Set("Access-Control-Request-Headers", headers)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	if resp := preflight("/web/o", "https://app.example", "PUT", ""); resp.StatusCode != 403 {
		t.Fatalf("preflight without a CORS configuration: %d, want 403", resp.StatusCode)
	}
	_, err := c.PutBucketCors(ctx, &s3.PutBucketCorsInput{Bucket: aws.String("web"), CORSConfiguration: &types.CORSConfiguration{
		CORSRules: []types.CORSRule{
			{AllowedOrigins: []string{"https://*.example"}, AllowedMethods: []string{"GET", "PUT"},
				AllowedHeaders: []string{"x-amz-*", "content-type"}, ExposeHeaders: []string{"ETag"}, MaxAgeSeconds: aws.Int32(600)},
			{AllowedOrigins: []string{"*"}, AllowedMethods: []string{"GET"}},
		}}})
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.GetBucketCors(ctx, &s3.GetBucketCorsInput{Bucket: aws.String("web")})
	if err != nil || len(got.CORSRules) != 2 || got.CORSRules[0].AllowedOrigins[0] != "https://*.example" || aws.ToInt32(got.CORSRules[0].MaxAgeSeconds) != 600 {
		t.Fatalf("GetBucketCors: %+v %v", got, err)
	}
	for _, tc := range []struct {
		origin, method, headers string
		status                  int
		allow, methods          string
	}{
		{"https://app.example", "PUT", "X-Amz-Meta-A, Content-Type", 200, "https://app.example", "GET, PUT"},
		{"https://app.example", "DELETE", "", 403, "", ""},
		{"https://app.example", "PUT", "x-other", 403, "", ""},
		{"https://elsewhere.org", "GET", "", 200, "*", "GET"},
		{"https://elsewhere.org", "PUT", "", 403, "", ""},
		{"", "GET", "", 400, "", ""},
		{"https://app.example", "", "", 400, "", ""},
	} {
		resp := preflight("/web/obj", tc.origin, tc.method, tc.headers)
		if resp.StatusCode != tc.status || resp.Header.Get("Access-Control-Allow-Origin") != tc.allow ||
			resp.Header.Get("Access-Control-Allow-Methods") != tc.methods {
			t.Errorf("preflight %s %s [%s]: %d allow %q methods %q, want %d %q %q", tc.origin, tc.method, tc.headers, resp.StatusCode,
				resp.Header.Get("Access-Control-Allow-Origin"), resp.Header.Get("Access-Control-Allow-Methods"), tc.status, tc.allow, tc.methods)
		}
		if tc.status == 200 && tc.allow != "*" && (resp.Header.Get("Access-Control-Max-Age") != "600" || resp.Header.Get("Access-Control-Expose-Headers") != "ETag") {
			t.Errorf("preflight %s: max-age %q expose %q", tc.origin, resp.Header.Get("Access-Control-Max-Age"), resp.Header.Get("Access-Control-Expose-Headers"))
		}
	}
	// An actual (anonymous) GET with an Origin gets the headers, even a 404.
	req, _ := http.NewRequest("GET", "http://"+s3Addr+"/web/missing", nil)
	req.Header.Set("Origin", "https://app.example")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 404 || resp.Header.Get("Access-Control-Allow-Origin") != "https://app.example" {
		t.Fatalf("GET with Origin: %d %v", resp.StatusCode, resp.Header)
	}
	// Bad configurations.
	_, err = c.PutBucketCors(ctx, &s3.PutBucketCorsInput{Bucket: aws.String("web"), CORSConfiguration: &types.CORSConfiguration{
		CORSRules: []types.CORSRule{{AllowedOrigins: []string{"*"}, AllowedMethods: []string{"PATCH"}}}}})
	if s3test.Code(err) != "InvalidRequest" {
		t.Fatalf("PATCH in a CORS rule: %v", err)
	}
	if _, err = c.DeleteBucketCors(ctx, &s3.DeleteBucketCorsInput{Bucket: aws.String("web")}); err != nil {
		t.Fatal(err)
	}
	if resp := preflight("/web/o", "https://elsewhere.org", "GET", ""); resp.StatusCode != 403 {
		t.Fatalf("preflight after DeleteBucketCors: %d", resp.StatusCode)
	}
}
