package proxy_test

import (
	"bytes"
	"crypto/rand"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pkg/xattr"

	"swiftbox/server/servertest"
)

// flip inverts 4 bytes at off of the file at path.
func flip(t *testing.T, path string, off int64) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := make([]byte, 4)
	if _, err := f.ReadAt(b, off); err != nil {
		t.Fatal(err)
	}
	for i := range b {
		b[i] ^= 0xff
	}
	if _, err := f.WriteAt(b, off); err != nil {
		t.Fatal(err)
	}
}

// quarantined reports whether the replica at data (a .data path) has
// been moved to its device's quarantine.
func quarantined(data string) bool {
	hashDir := filepath.Dir(data)
	dev := filepath.Dir(filepath.Dir(filepath.Dir(filepath.Dir(hashDir))))
	_, gone := os.Stat(hashDir)
	_, moved := os.Stat(filepath.Join(dev, "quarantined", "objects", filepath.Base(hashDir), filepath.Base(data)))
	return gone != nil && moved == nil
}

// checkServed fails the test if a response delivered wrong bytes as a
// complete success; a response cut short (the corruption found while
// streaming) is fine, so are the right bytes.
func checkServed(t *testing.T, what string, status int, got []byte, err error, want []byte) {
	t.Helper()
	if err != nil {
		if !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Logf("%s: read error %v", what, err)
		}
		return
	}
	if (status == 200 || status == 206) && !bytes.Equal(got, want) {
		t.Fatalf("%s: %d with %d wrong bytes served as complete", what, status, len(got))
	}
}

func randomBody(t *testing.T, n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// Every byte a GET sends is verified: a replica damaged after a good GET
// (or before any) never completes a 200/206 with wrong bytes; it is
// quarantined, and the next GET is served whole from another replica.
func TestGetNeverServesCorruptBytes(t *testing.T) {
	t.Parallel()
	c := servertest.Start(t, servertest.Options{})
	c.Must(201, "PUT", "/v1/AUTH_test/c", "")
	const size = 3<<20 + 12345
	cases := []struct {
		name     string
		goodGet  bool  // a full GET before the damage
		flipAt   int64 // offset of the 4 flipped bytes
		rng      string
		from, to int64 // the range's bytes
		// clean: the damage is in the first chunk read, so it is found
		// before the headers and another replica serves this very GET.
		clean bool
	}{
		{name: "after-good-get-mid-body", goodGet: true, flipAt: 2<<20 + 100},
		{name: "after-good-get-first-block", goodGet: true, flipAt: 10, clean: true},
		{name: "first-get-tail", flipAt: size - 4},
		{name: "range-over-block", goodGet: true, flipAt: 2<<20 + 100, rng: "bytes=2097152-2097251", from: 2097152, to: 2097251, clean: true},
		{name: "range-later-chunk", goodGet: true, flipAt: 2<<20 + 100, rng: "bytes=100-2200000", from: 100, to: 2200000},
		{name: "suffix-range", flipAt: size - 4, rng: "bytes=-5000", from: size - 5000, to: size - 1, clean: true},
		{name: "multi-range", goodGet: true, flipAt: 3 << 20, rng: "bytes=0-99,3145728-3145827"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			body := randomBody(t, size)
			path := "/v1/AUTH_test/c/" + tc.name
			c.Must(201, "PUT", path, string(body))
			if tc.goodGet {
				st, got, err := c.Get(path)
				if st != 200 || err != nil || !bytes.Equal(got, body) {
					t.Fatalf("good GET: %d %v", st, err)
				}
			}
			reps := c.Replicas("AUTH_test", "c", tc.name)
			flip(t, reps[0], tc.flipAt)
			var hdr []string
			want := body
			if tc.rng != "" {
				hdr = append(hdr, "Range: "+tc.rng)
				if tc.to > 0 {
					want = body[tc.from : tc.to+1]
				}
			}
			for i := range 3 {
				st, got, err := c.Get(path, hdr...)
				if tc.to == 0 && tc.rng != "" {
					// multipart: the parts must carry the right bytes
					if err == nil && (st != 206 || !bytes.Contains(got, body[:100]) || !bytes.Contains(got, body[3<<20:3<<20+100])) {
						t.Fatalf("GET %d: %d multipart with wrong bytes", i, st)
					}
					continue
				}
				checkServed(t, "GET", st, got, err, want)
				if (i > 0 || tc.clean) && (err != nil || !bytes.Equal(got, want)) {
					t.Fatalf("GET %d after the damage: %d, %d bytes, %v; want the good replica's bytes", i, st, len(got), err)
				}
			}
			if !quarantined(reps[0]) {
				t.Errorf("damaged replica %s not quarantined", reps[0])
			}
			for _, r := range reps[1:] {
				if _, err := os.Stat(r); err != nil {
					t.Errorf("good replica: %v", err)
				}
			}
		})
	}
}

// An object without a block table (written by Swift, or by swiftbox
// before it kept one) is still served and verified: a whole GET checks
// the MD5 before the last chunk goes out and records the table; a range
// verifies the whole body first; a damaged one never completes a 200.
func TestLegacyObjectWithoutBlockTable(t *testing.T) {
	t.Parallel()
	c := servertest.Start(t, servertest.Options{})
	c.Must(201, "PUT", "/v1/AUTH_test/c", "")
	const size = 2<<20 + 777
	strip := func(o string) []string {
		reps := c.Replicas("AUTH_test", "c", o)
		for _, r := range reps {
			if err := xattr.Remove(r, "user.swiftbox.blocks"); err != nil {
				t.Fatalf("no block table on %s: %v", r, err)
			}
		}
		return reps
	}
	hasTable := func(r string) bool { _, err := xattr.Get(r, "user.swiftbox.blocks"); return err == nil }

	body := randomBody(t, size)
	c.Must(201, "PUT", "/v1/AUTH_test/c/whole", string(body))
	reps := strip("whole")
	st, got, err := c.Get("/v1/AUTH_test/c/whole")
	if st != 200 || err != nil || !bytes.Equal(got, body) {
		t.Fatalf("legacy GET: %d %v", st, err)
	}
	if !hasTable(reps[0]) {
		t.Errorf("a verified whole GET did not record the block table")
	}

	c.Must(201, "PUT", "/v1/AUTH_test/c/ranged", string(body))
	reps = strip("ranged")
	st, got, err = c.Get("/v1/AUTH_test/c/ranged", "Range: bytes=1000-1999")
	if st != 206 || err != nil || !bytes.Equal(got, body[1000:2000]) {
		t.Fatalf("legacy range: %d %v", st, err)
	}
	if !hasTable(reps[0]) {
		t.Errorf("a verified range did not record the block table")
	}

	c.Must(201, "PUT", "/v1/AUTH_test/c/rotten", string(body))
	reps = strip("rotten")
	flip(t, reps[0], size-10)
	st, got, err = c.Get("/v1/AUTH_test/c/rotten")
	checkServed(t, "legacy GET of a damaged replica", st, got, err, body)
	if !quarantined(reps[0]) {
		t.Errorf("damaged legacy replica not quarantined")
	}
	st, got, err = c.Get("/v1/AUTH_test/c/rotten")
	if st != 200 || err != nil || !bytes.Equal(got, body) {
		t.Fatalf("next GET: %d %v", st, err)
	}

	c.Must(201, "PUT", "/v1/AUTH_test/c/rotten-range", string(body))
	reps = strip("rotten-range")
	flip(t, reps[0], size-10)
	st, got, err = c.Get("/v1/AUTH_test/c/rotten-range", "Range: bytes=0-99")
	if st != 206 || err != nil || !bytes.Equal(got, body[:100]) {
		t.Fatalf("legacy range of a damaged replica: %d %v; want the good replica's bytes", st, err)
	}
	if !quarantined(reps[0]) {
		t.Errorf("damaged legacy replica not quarantined by a range")
	}
}

// Issue 12 item 5: 100 ranges of bytes=0- on a 5 MiB object returned
// 500 MB. Such a Range header is ignored: the object, once.
func TestRangeAmplification(t *testing.T) {
	t.Parallel()
	c := servertest.Start(t, servertest.Options{})
	c.Must(201, "PUT", "/v1/AUTH_test/c", "")
	body := randomBody(t, 5<<20)
	c.Must(201, "PUT", "/v1/AUTH_test/c/o", string(body))
	for _, n := range []int{100, 50, 3} {
		rng := "bytes=" + strings.TrimSuffix(strings.Repeat("0-,", n), ",")
		start := time.Now()
		st, got, err := c.Get("/v1/AUTH_test/c/o", "Range: "+rng)
		if st != 200 || err != nil || !bytes.Equal(got, body) {
			t.Fatalf("%d ranges of 0-: %d, %d bytes, %v; want 200 with the object once", n, st, len(got), err)
		}
		t.Logf("%d ranges: %d bytes in %v", n, len(got), time.Since(start))
	}
	st, got, _ := c.Get("/v1/AUTH_test/c/o", "Range: bytes=0-9,20-29")
	if st != 206 || !bytes.Contains(got, body[20:30]) {
		t.Fatalf("two ranges: %d", st)
	}
}

// A damaged replica that cannot be moved aside (its device went
// read-only, or has no room for the quarantine) must not hide the good
// replicas: the GET turns to the next one, each time.
func TestGetSkipsDamagedReplicaThatStays(t *testing.T) {
	t.Parallel()
	c := servertest.Start(t, servertest.Options{})
	c.Must(201, "PUT", "/v1/AUTH_test/c", "")
	body := randomBody(t, 300<<10)
	c.Must(201, "PUT", "/v1/AUTH_test/c/o", string(body))
	reps := c.Replicas("AUTH_test", "c", "o")
	flip(t, reps[0], 10)
	// A file where the quarantine folder would go: quarantining fails.
	dev := filepath.Dir(filepath.Dir(filepath.Dir(filepath.Dir(filepath.Dir(reps[0])))))
	if err := os.WriteFile(filepath.Join(dev, "quarantined"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		st, got, err := c.Get("/v1/AUTH_test/c/o")
		if st != 200 || err != nil || !bytes.Equal(got, body) {
			t.Fatalf("GET %d: %d, %d bytes, %v; want the good replicas' bytes", i, st, len(got), err)
		}
		st, got, err = c.Get("/v1/AUTH_test/c/o", "Range: bytes=5-20")
		if st != 206 || err != nil || !bytes.Equal(got, body[5:21]) {
			t.Fatalf("range GET %d: %d, %d bytes, %v", i, st, len(got), err)
		}
	}
	if _, err := os.Stat(reps[0]); err != nil {
		t.Fatalf("the damaged replica was moved after all: %v", err)
	}
}

// A COPY whose source replica fails its checksum mid-body stores nothing
// and says the server failed (503), not that the client went away (499);
// the damaged replica is moved aside, so the retry copies good bytes.
func TestCopyFromDamagedReplica(t *testing.T) {
	t.Parallel()
	c := servertest.Start(t, servertest.Options{})
	c.Must(201, "PUT", "/v1/AUTH_test/c", "")
	body := randomBody(t, 3<<20)
	c.Must(201, "PUT", "/v1/AUTH_test/c/src", string(body))
	reps := c.Replicas("AUTH_test", "c", "src")
	flip(t, reps[0], 2<<20+100) // past the first chunk: found while copying
	if resp, b := c.Do("COPY", "/v1/AUTH_test/c/src", "", "Destination: c/dst"); resp.StatusCode != 503 {
		t.Fatalf("COPY from a damaged replica: %d %s, want 503", resp.StatusCode, b)
	}
	if st, _, _ := c.Get("/v1/AUTH_test/c/dst"); st != 404 {
		t.Fatalf("GET of the failed copy: %d", st)
	}
	c.Must(201, "COPY", "/v1/AUTH_test/c/src", "", "Destination: c/dst")
	if st, got, err := c.Get("/v1/AUTH_test/c/dst"); st != 200 || err != nil || !bytes.Equal(got, body) {
		t.Fatalf("GET of the retried copy: %d %v", st, err)
	}
}

// A multi-range GET of an object without a block table (from Swift, or an
// older swiftbox) serves every part and moves no good replica aside: the
// first part's whole read builds the table the later parts then use.
func TestMultiRangeOfLegacyObject(t *testing.T) {
	t.Parallel()
	c := servertest.Start(t, servertest.Options{})
	c.Must(201, "PUT", "/v1/AUTH_test/c", "")
	body := randomBody(t, 1<<20+333)
	c.Must(201, "PUT", "/v1/AUTH_test/c/o", string(body))
	reps := c.Replicas("AUTH_test", "c", "o")
	for _, r := range reps {
		if err := xattr.Remove(r, "user.swiftbox.blocks"); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 3 {
		st, got, err := c.Get("/v1/AUTH_test/c/o", "Range: bytes=0-9,70000-70099,1048576-1048600")
		if st != 206 || err != nil || !bytes.Contains(got, body[:10]) || !bytes.Contains(got, body[70000:70100]) ||
			!bytes.Contains(got, body[1048576:1048601]) {
			t.Fatalf("multi-range GET %d: %d, %d bytes, %v", i, st, len(got), err)
		}
	}
	for _, r := range reps {
		if quarantined(r) {
			t.Errorf("good replica %s quarantined", r)
		}
	}
}
