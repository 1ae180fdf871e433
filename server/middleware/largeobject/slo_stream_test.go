package largeobject_test

import (
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"swiftbox/server/servertest"
)

// TestSLOStreams reads and server-side copies a 96 MiB SLO while watching
// the heap: segments stream through, nothing is buffered whole.
func TestSLOStreams(t *testing.T) {
	if testing.Short() {
		t.Skip("large body")
	}
	c := servertest.Start(t, servertest.Options{})
	c.Must(201, "PUT", "/v1/AUTH_test/segs", "")
	const segSize, nsegs = 16 << 20, 6
	whole := md5.New()
	var manifest []string
	for i := range nsegs {
		body := strings.Repeat(string(rune('a'+i)), segSize)
		io.WriteString(whole, body)
		c.Must(201, "PUT", fmt.Sprintf("/v1/AUTH_test/segs/%02d", i), body)
		manifest = append(manifest, fmt.Sprintf(`{"path": "segs/%02d"}`, i))
	}
	c.Must(201, "PUT", "/v1/AUTH_test/segs/big?multipart-manifest=put", "["+strings.Join(manifest, ",")+"]")

	var peak atomic.Uint64
	var base runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&base)
	done := make(chan struct{})
	go func() {
		var m runtime.MemStats
		for {
			select {
			case <-done:
				return
			case <-time.After(5 * time.Millisecond):
			}
			runtime.ReadMemStats(&m)
			if m.HeapInuse > peak.Load() {
				peak.Store(m.HeapInuse)
			}
		}
	}()
	req, _ := http.NewRequest("GET", c.URL+"/v1/AUTH_test/segs/big", nil)
	req.Header.Set("X-Auth-Token", c.Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	h := md5.New()
	n, err := io.Copy(h, resp.Body)
	resp.Body.Close()
	if err != nil || n != segSize*nsegs || hex.EncodeToString(h.Sum(nil)) != hex.EncodeToString(whole.Sum(nil)) {
		t.Fatalf("GET: %d bytes, %v", n, err)
	}
	// A server-side copy streams the segments into the new object.
	c.Must(201, "PUT", "/v1/AUTH_test/segs/flat", "", "X-Copy-From: segs/big")
	close(done)
	grew := int64(peak.Load()) - int64(base.HeapInuse)
	t.Logf("heap growth while streaming: %d MiB", grew>>20)
	if grew > 48<<20 {
		t.Fatalf("heap grew by %d MiB for a %d MiB object", grew>>20, segSize*nsegs>>20)
	}
	resp2, _ := c.Must(200, "HEAD", "/v1/AUTH_test/segs/flat", "")
	if resp2.Header.Get("Etag") != hex.EncodeToString(whole.Sum(nil)) {
		t.Fatalf("copy etag %v", resp2.Header)
	}
}
