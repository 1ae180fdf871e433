package server

import "testing"

// An object's user metadata keeps empty values, on PUT and POST, as
// Swift's object server stores them (S3 clients send x-amz-meta-x: "").
func TestObjectEmptyMetadataKept(t *testing.T) {
	c := startTestCluster(t)
	c.must(201, "PUT", "/v1/AUTH_test/c", "")
	c.must(201, "PUT", "/v1/AUTH_test/c/o", "x", "X-Object-Meta-Empty:", "X-Object-Meta-Full: y")
	resp, _ := c.must(200, "HEAD", "/v1/AUTH_test/c/o", "")
	if v, ok := resp.Header["X-Object-Meta-Empty"]; !ok || len(v) != 1 || v[0] != "" || resp.Header.Get("X-Object-Meta-Full") != "y" {
		t.Fatalf("after PUT: %v", resp.Header)
	}
	c.must(202, "POST", "/v1/AUTH_test/c/o", "", "X-Object-Meta-Other:")
	resp, _ = c.must(200, "HEAD", "/v1/AUTH_test/c/o", "")
	if _, ok := resp.Header["X-Object-Meta-Other"]; !ok || resp.Header.Get("X-Object-Meta-Full") != "" {
		t.Fatalf("after POST: %v", resp.Header)
	}
}
