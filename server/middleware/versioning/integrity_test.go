package versioning_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"swiftbox/server/servertest"
)

// rawPut sends a PUT over its own connection exactly as given: head is
// the header lines (with the token added), body is sent as is (a shorter
// body than Content-Length says ends with a half-close). It returns the
// status, or 0 when the server answered nothing.
func rawPut(t testing.TB, c *servertest.Cluster, path string, body string, head ...string) int {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(c.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	req := "PUT " + path + " HTTP/1.1\r\nHost: x\r\nX-Auth-Token: " + c.Token + "\r\nConnection: close\r\n"
	for _, h := range head {
		req += h + "\r\n"
	}
	if _, err := io.WriteString(conn, req+"\r\n"+body); err != nil {
		t.Fatal(err)
	}
	conn.(*net.TCPConn).CloseWrite()
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		return 0
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// chunked encodes body as one chunk and the last chunk.
func chunked(body string) string {
	return fmt.Sprintf("%x\r\n%s\r\n0\r\n\r\n", len(body), body)
}

// containerState is what a failed PUT must not change: the container's
// and its versions container's counts and bytes, read from the databases.
func containerState(t testing.TB, c *servertest.Cluster, account, container string) string {
	t.Helper()
	s := ""
	for _, name := range []string{container, container + "-versions", "\x00versions\x00" + container} {
		info, err := c.Proxy.ReadContainerInfo(nil, account, name, true)
		if err != nil {
			s += name + ": none; "
			continue
		}
		s += fmt.Sprintf("%q: %d objects, %d bytes; ", name, info.ObjectCount, info.BytesUsed)
	}
	return s
}

// failingPuts are PUTs that must each be refused with their status and
// leave nothing behind.
var failingPuts = []struct {
	name string
	want int // 0: the server may not get to answer
	body string
	head []string
}{
	{"length required", 411, "", nil},
	{"not chunked", 501, "", []string{"Transfer-Encoding: gzip"}},
	{"too large", 413, "", []string{"Content-Length: 99999999999"}},
	{"etag mismatch", 422, "hello", []string{"Content-Length: 5", "Etag: 00000000000000000000000000000000"}},
	{"chunked etag mismatch", 422, chunked("hello"), []string{"Transfer-Encoding: chunked", "Etag: 00000000000000000000000000000000"}},
	{"short body", 0, strings.Repeat("x", 200000), []string{"Content-Length: 300000"}},
	{"bad delete-at", 400, "hello", []string{"Content-Length: 5", "X-Delete-At: soon"}},
	{"delete-at in the past", 400, "hello", []string{"Content-Length: 5", "X-Delete-At: 1"}},
	{"metadata too long", 400, "hello", []string{"Content-Length: 5", "X-Object-Meta-Big: " + strings.Repeat("x", 300)}},
	{"bad if-none-match", 400, "hello", []string{"Content-Length: 5", "If-None-Match: abc"}},
	{"if-none-match exists", 412, "hello", []string{"Content-Length: 5", "If-None-Match: *"}},
	{"quota", 413, "hello world", []string{"Content-Length: 11", "X-Object-Meta-Q: 1"}},
}

// checkFailingPuts runs every failing PUT, each on its own object that
// prepare wrote, and verifies the containers, the ?versions listing (when
// versions is set) and the object stay as they were.
func checkFailingPuts(t *testing.T, c *servertest.Cluster, container string, versions bool, prepare func(path string)) {
	t.Helper()
	for i, fp := range failingPuts {
		path := fmt.Sprintf("/v1/AUTH_test/%s/f%d", container, i)
		prepare(path)
		before := containerState(t, c, "AUTH_test", container)
		var vlist []map[string]any
		if versions {
			vlist = listJSON(t, c, "/v1/AUTH_test/"+container+"?versions")
		}
		_, want := c.Must(200, "GET", path, "")
		if fp.name == "quota" {
			// A byte quota the objects already fill.
			c.Must(204, "POST", "/v1/AUTH_test/"+container, "", "X-Container-Meta-Quota-Bytes: 1")
		}
		got := rawPut(t, c, path, fp.body, fp.head...)
		if fp.name == "quota" {
			c.Must(204, "POST", "/v1/AUTH_test/"+container, "", "X-Remove-Container-Meta-Quota-Bytes: 1")
		}
		if fp.want != 0 && got != fp.want {
			t.Errorf("%s: status %d, want %d", fp.name, got, fp.want)
		}
		if fp.want == 0 && got >= 200 && got < 300 {
			t.Errorf("%s: status %d", fp.name, got)
		}
		if after := containerState(t, c, "AUTH_test", container); after != before {
			t.Errorf("%s left data behind:\nbefore %s\nafter  %s", fp.name, before, after)
		}
		if versions {
			if after := listJSON(t, c, "/v1/AUTH_test/"+container+"?versions"); len(after) != len(vlist) {
				t.Errorf("%s: %d versions listed, want %d: %v", fp.name, len(after), len(vlist), after)
			}
		}
		if _, body := c.Must(200, "GET", path, ""); body != want {
			t.Errorf("%s: object now %q, want %q", fp.name, body, want)
		}
	}
}

// A chunked PUT into a container with object versioning makes one version
// and the object links to it (Swift's object servers accept chunked
// bodies; only the proxy's constraints refuse requests without a length).
func TestObjectVersioningChunkedPut(t *testing.T) {
	t.Parallel()
	c := servertest.Start(t, servertest.Options{})
	c.Must(201, "PUT", "/v1/AUTH_test/c", "", "X-Versions-Enabled: true")
	if got := rawPut(t, c, "/v1/AUTH_test/c/o", chunked("chunky body"), "Transfer-Encoding: chunked"); got != 201 {
		t.Fatalf("chunked PUT: %d", got)
	}
	_, body := c.Must(200, "GET", "/v1/AUTH_test/c/o", "")
	if body != "chunky body" {
		t.Fatalf("GET: %q", body)
	}
	vers := listJSON(t, c, "/v1/AUTH_test/c?versions")
	if len(vers) != 1 || vers[0]["bytes"] != 11.0 || vers[0]["is_latest"] != true {
		t.Fatalf("?versions: %v", vers)
	}
	list := listJSON(t, c, "/v1/AUTH_test/c")
	if len(list) != 1 || list[0]["bytes"] != 11.0 || list[0]["hash"] != vers[0]["hash"] {
		t.Fatalf("listing: %v", list)
	}
	if s := containerState(t, c, "AUTH_test", "c"); !strings.Contains(s, `"\x00versions\x00c": 1 objects, 11 bytes`) {
		t.Fatalf("state: %s", s)
	}
}

// No failing PUT into a versioned container leaves a version, a link or
// a listing row behind.
func TestObjectVersioningFailedPutLeavesNothing(t *testing.T) {
	t.Parallel()
	c := servertest.Start(t, servertest.Options{})
	c.Must(201, "PUT", "/v1/AUTH_test/c", "", "X-Versions-Enabled: true")
	checkFailingPuts(t, c, "c", true, func(path string) { c.Must(201, "PUT", path, "first") })

	// An object written before versioning was enabled is archived only by
	// a PUT that succeeds.
	c.Must(201, "PUT", "/v1/AUTH_test/p", "", "X-Versions-Enabled: true")
	checkFailingPuts(t, c, "p", true, func(path string) {
		c.Must(204, "POST", "/v1/AUTH_test/p", "", "X-Versions-Enabled: false")
		c.Must(201, "PUT", path, "plain")
		c.Must(204, "POST", "/v1/AUTH_test/p", "", "X-Versions-Enabled: true")
	})
	c.Must(201, "PUT", "/v1/AUTH_test/p/f0", "second")
	vers := listJSON(t, c, "/v1/AUTH_test/p?prefix=f0&versions")
	if len(vers) != 2 || vers[0]["bytes"] != 6.0 || vers[1]["bytes"] != 5.0 {
		t.Fatalf("?versions: %v", vers)
	}
}

// Legacy versioned writes: a chunked PUT archives the object it replaces,
// and a failing PUT archives nothing.
func TestVersionedWritesChunkedAndFailedPut(t *testing.T) {
	t.Parallel()
	c := servertest.Start(t, servertest.Options{})
	for i, hdr := range []string{"X-Versions-Location: c1-versions", "X-History-Location: c2-versions"} {
		cont := "c" + strconv.Itoa(i+1)
		c.Must(201, "PUT", "/v1/AUTH_test/"+cont+"-versions", "")
		c.Must(201, "PUT", "/v1/AUTH_test/"+cont, "", hdr)
		c.Must(201, "PUT", "/v1/AUTH_test/"+cont+"/o", "first")
		if got := rawPut(t, c, "/v1/AUTH_test/"+cont+"/o", chunked("chunky"), "Transfer-Encoding: chunked"); got != 201 {
			t.Fatalf("%s: chunked PUT: %d", cont, got)
		}
		if _, body := c.Must(200, "GET", "/v1/AUTH_test/"+cont+"/o", ""); body != "chunky" {
			t.Fatalf("%s: GET %q", cont, body)
		}
		if list := listJSON(t, c, "/v1/AUTH_test/"+cont+"-versions"); len(list) != 1 || list[0]["bytes"] != 5.0 {
			t.Fatalf("%s: versions %v", cont, list)
		}
		checkFailingPuts(t, c, cont, false, func(path string) { c.Must(201, "PUT", path, "first") })
		// The archive left is still the one version a stack DELETE restores.
		if i == 0 {
			c.Must(204, "DELETE", "/v1/AUTH_test/"+cont+"/o", "")
			if _, body := c.Must(200, "GET", "/v1/AUTH_test/"+cont+"/o", ""); body != "first" {
				t.Fatalf("after pop: %q", body)
			}
		}
	}
}

// startLegacy serves a cluster whose container c keeps its versions in
// lv (legacy versioned writes, stack mode).
func startLegacy(t *testing.T) *servertest.Cluster {
	c := servertest.Start(t, servertest.Options{})
	c.Must(201, "PUT", "/v1/AUTH_test/lv", "")
	c.Must(201, "PUT", "/v1/AUTH_test/c", "", "X-Versions-Location: lv")
	return c
}

// waitFor waits up to ten seconds for cond.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("waited in vain for %s", what)
		}
	}
}

// A failing PUT leaves an archived copy alone while another write counts
// on it (that write copied the same version and is replacing the object).
func TestVersioningFailedPutKeepsClaimedArchive(t *testing.T) {
	t.Parallel()
	c := startLegacy(t)
	c.Must(201, "PUT", "/v1/AUTH_test/c/o", "first")
	resp, _ := c.Must(200, "HEAD", "/v1/AUTH_test/c/o", "")
	ts := resp.Header.Get("X-Timestamp")
	if ts == "" {
		t.Fatalf("no X-Timestamp: %v", resp.Header)
	}
	archive := fmt.Sprintf("%03xo/%s", 1, ts)
	// Another write archived o and is replacing it: a PUT whose body is
	// still on its way.
	conn, err := net.Dial("tcp", strings.TrimPrefix(c.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// Past what the server reads into memory before the handler runs.
	io.WriteString(conn, "PUT /v1/AUTH_test/c/o HTTP/1.1\r\nHost: x\r\nX-Auth-Token: "+c.Token+
		"\r\nContent-Length: 4000000\r\n\r\n"+strings.Repeat("s", 2<<20))
	waitFor(t, "the slow PUT to archive o", func() bool { return len(listJSON(t, c, "/v1/AUTH_test/lv")) == 1 })
	short := strings.Repeat("x", 200000)
	if got := rawPut(t, c, "/v1/AUTH_test/c/o", short, "Content-Length: 300000"); got >= 200 && got < 300 {
		t.Fatalf("short PUT: %d", got)
	}
	list := listJSON(t, c, "/v1/AUTH_test/lv")
	if len(list) != 1 || list[0]["name"] != archive {
		t.Fatalf("archive taken while claimed: %v", list)
	}
	// Once nobody counts on it, the last failure takes it back.
	conn.Close()
	waitFor(t, "the archive to go", func() bool { return len(listJSON(t, c, "/v1/AUTH_test/lv")) == 0 })
	if _, body := c.Must(200, "GET", "/v1/AUTH_test/c/o", ""); body != "first" {
		t.Fatalf("object now %q", body)
	}
}

// Failing PUTs racing with successful ones never take away an archive a
// successful PUT relies on: every version written stays, once.
func TestVersioningFailedPutsRacingGoodOnes(t *testing.T) {
	t.Parallel()
	c := startLegacy(t)
	c.Must(201, "PUT", "/v1/AUTH_test/ov", "", "X-Versions-Enabled: true")
	for _, cont := range []string{"c", "ov"} {
		path := "/v1/AUTH_test/" + cont + "/o"
		if cont == "ov" {
			// Written before versioning, so the first PUT archives it.
			c.Must(204, "POST", "/v1/AUTH_test/ov", "", "X-Versions-Enabled: false")
			c.Must(201, "PUT", path, "v00")
			c.Must(204, "POST", "/v1/AUTH_test/ov", "", "X-Versions-Enabled: true")
		} else {
			c.Must(201, "PUT", path, "v00")
		}
		const good = 8
		done := make(chan struct{})
		var wg sync.WaitGroup
		for w := 0; w < 2; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				body := strings.Repeat("b", 64<<10)
				for {
					select {
					case <-done:
						return
					default:
					}
					rawPut(t, c, path, body, "Content-Length: "+strconv.Itoa(len(body)), "Etag: 00000000000000000000000000000000")
				}
			}()
		}
		for i := 1; i <= good; i++ {
			c.Must(201, "PUT", path, fmt.Sprintf("v%02d", i)+strings.Repeat("g", 1<<20))
		}
		close(done)
		wg.Wait()
		// Every replaced version is archived exactly once.
		seen := map[string]int{}
		if cont == "c" {
			for _, item := range listJSON(t, c, "/v1/AUTH_test/lv") {
				_, b := c.Must(200, "GET", "/v1/AUTH_test/lv/"+item["name"].(string), "")
				seen[b[:3]]++
			}
		} else {
			for _, item := range listJSON(t, c, "/v1/AUTH_test/ov?versions") {
				_, b := c.Must(200, "GET", path+"?version-id="+item["version_id"].(string), "")
				seen[b[:3]]++
			}
			seen[fmt.Sprintf("v%02d", good)]-- // the current version is listed too
		}
		for i := 0; i < good; i++ {
			if v := fmt.Sprintf("v%02d", i); seen[v] != 1 {
				t.Errorf("%s: version %s archived %d times (%v)", cont, v, seen[v], seen)
			}
		}
		if seen[fmt.Sprintf("v%02d", good)] == 0 {
			delete(seen, fmt.Sprintf("v%02d", good))
		}
		if len(seen) != good {
			t.Errorf("%s: archives %v", cont, seen)
		}
	}
	// The object store writes noted hash invalidations up to 2 s after the
	// last write, and its Close does not wait for a flush under way: let
	// it finish before the test's directory goes.
	time.Sleep(2200 * time.Millisecond)
}
