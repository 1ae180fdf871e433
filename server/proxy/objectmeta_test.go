package proxy_test

import (
	"bufio"
	"crypto/md5"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"swiftbox/server/servertest"
)

// An object's user metadata keeps empty values, on PUT and POST, as
// Swift's object server stores them (S3 clients send x-amz-meta-x: "").
func TestObjectEmptyMetadataKept(t *testing.T) {
	t.Parallel()
	c := servertest.Start(t, servertest.Options{})
	c.Must(201, "PUT", "/v1/AUTH_test/c", "")
	c.Must(201, "PUT", "/v1/AUTH_test/c/o", "x", "X-Object-Meta-Empty:", "X-Object-Meta-Full: y")
	resp, _ := c.Must(200, "HEAD", "/v1/AUTH_test/c/o", "")
	if v, ok := resp.Header["X-Object-Meta-Empty"]; !ok || len(v) != 1 || v[0] != "" || resp.Header.Get("X-Object-Meta-Full") != "y" {
		t.Fatalf("after PUT: %v", resp.Header)
	}
	c.Must(202, "POST", "/v1/AUTH_test/c/o", "", "X-Object-Meta-Other:")
	resp, _ = c.Must(200, "HEAD", "/v1/AUTH_test/c/o", "")
	if _, ok := resp.Header["X-Object-Meta-Other"]; !ok || resp.Header.Get("X-Object-Meta-Full") != "" {
		t.Fatalf("after POST: %v", resp.Header)
	}
}

// Of two overlapping uploads of one name, the one whose body ends last
// wins, whichever started first (S3 clients, s3-tests, expect it).
func TestOverlappingPutsLastFinishedWins(t *testing.T) {
	t.Parallel()
	c := servertest.Start(t, servertest.Options{})
	c.Must(201, "PUT", "/v1/AUTH_test/c", "")
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
	c.Must(201, "PUT", "/v1/AUTH_test/c/o", "BBBB") // …a second one starts and ends
	pw.Write([]byte("AA"))                          // …then the first ends
	pw.Close()
	if resp := <-done; resp == nil || resp.StatusCode != 201 {
		t.Fatalf("first upload: %v", resp)
	}
	if _, body := c.Must(200, "GET", "/v1/AUTH_test/c/o", ""); body != "AAAA" {
		t.Fatalf("object is %q, want the upload that finished last (AAAA)", body)
	}
	_, listing := c.Must(200, "GET", "/v1/AUTH_test/c?format=json", "")
	if !strings.Contains(listing, fmt.Sprintf(`"hash": "%x"`, md5.Sum([]byte("AAAA")))) {
		t.Fatalf("listing does not show the winner: %s", listing)
	}
}

// An upload whose body ends after its own X-Delete-At keeps a timestamp
// before it, so the expirer's delete (timed at X-Delete-At) still wins.
func TestSlowUploadPastDeleteAtStaysExpirable(t *testing.T) {
	t.Parallel()
	c := servertest.Start(t, servertest.Options{})
	c.Must(201, "PUT", "/v1/AUTH_test/c", "")
	deleteAt := time.Now().Unix() + 2
	conn, err := net.Dial("tcp", strings.TrimPrefix(c.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// Larger than what fasthttp reads before calling the handler, so the
	// upload is under way while the clock passes X-Delete-At.
	const size = 3 << 20
	fmt.Fprintf(conn, "PUT /v1/AUTH_test/c/o HTTP/1.1\r\nHost: x\r\nX-Auth-Token: %s\r\nX-Delete-At: %d\r\nContent-Length: %d\r\n\r\n", c.Token, deleteAt, size)
	conn.Write(make([]byte, size/2))
	time.Sleep(time.Until(time.Unix(deleteAt, 0)) + 300*time.Millisecond)
	conn.Write(make([]byte, size-size/2))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil || resp.StatusCode != 201 {
		t.Fatalf("upload: %v %v", resp, err)
	}
	_, listing := c.Must(200, "GET", "/v1/AUTH_test/c?format=json", "")
	var rows []struct {
		LastModified string `json:"last_modified"`
	}
	if err := json.Unmarshal([]byte(listing), &rows); err != nil || len(rows) != 1 {
		t.Fatalf("listing %s: %v", listing, err)
	}
	lm, err := time.Parse("2006-01-02T15:04:05.999999", rows[0].LastModified)
	if err != nil || !lm.Before(time.Unix(deleteAt, 0)) {
		t.Fatalf("object timed %v, not before its X-Delete-At %v", lm, time.Unix(deleteAt, 0).UTC())
	}
}
