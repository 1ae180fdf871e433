package server

import (
	"crypto/md5"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

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

// Of two overlapping uploads of one name, the one whose body ends last
// wins, whichever started first (S3 clients, s3-tests, expect it).
func TestOverlappingPutsLastFinishedWins(t *testing.T) {
	c := startTestCluster(t)
	c.must(201, "PUT", "/v1/AUTH_test/c", "")
	pr, pw := io.Pipe()
	req, _ := http.NewRequest("PUT", c.URL+"/v1/AUTH_test/c/o", pr)
	req.ContentLength = 4
	req.Header.Set("X-Auth-Token", c.Token)
	done := make(chan *http.Response, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Error(err)
		}
		done <- resp
	}()
	pw.Write([]byte("AA")) // the first upload is under way…
	time.Sleep(50 * time.Millisecond)
	c.must(201, "PUT", "/v1/AUTH_test/c/o", "BBBB") // …a second one starts and ends
	pw.Write([]byte("AA"))                          // …then the first ends
	pw.Close()
	if resp := <-done; resp == nil || resp.StatusCode != 201 {
		t.Fatalf("first upload: %v", resp)
	}
	if _, body := c.must(200, "GET", "/v1/AUTH_test/c/o", ""); body != "AAAA" {
		t.Fatalf("object is %q, want the upload that finished last (AAAA)", body)
	}
	_, listing := c.must(200, "GET", "/v1/AUTH_test/c?format=json", "")
	if !strings.Contains(listing, fmt.Sprintf(`"hash": "%x"`, md5.Sum([]byte("AAAA")))) {
		t.Fatalf("listing does not show the winner: %s", listing)
	}
}
