package storage

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestWriteRead(t *testing.T) {
	s := newStore(t, nil)
	body := []byte("hello world")
	mustPut(t, s, "o", 100, body, map[string]string{
		"Content-Type": "text/plain", "X-Object-Meta-Color": "blue", "X-Timestamp": "ignored",
	})
	r := mustGet(t, s, "o", body)
	md := r.Metadata()
	want := map[string]string{
		"name": "/a/c/o", "X-Timestamp": ts(100).Internal(), "Content-Length": "11",
		"ETag": "5eb63bbbe01eeed093cb22bb8f5acdc3", "Content-Type": "text/plain",
		"X-Object-Meta-Color": "blue",
	}
	if !reflect.DeepEqual(md, want) {
		t.Errorf("metadata %v\nwant %v", md, want)
	}
	if r.Size() != 11 || r.ETag() != want["ETag"] || r.Timestamp() != ts(100) || !r.MetaTimestamp().IsZero() {
		t.Errorf("size %d etag %s ts %v meta %v", r.Size(), r.ETag(), r.Timestamp(), r.MetaTimestamp())
	}
	if got := files(t, s, "o"); !reflect.DeepEqual(got, []string{ts(100).Internal() + ".data"}) {
		t.Errorf("files %v", got)
	}
	if got := tmpFiles(t, s); len(got) != 0 {
		t.Errorf("tmp leftovers %v", got)
	}
	// Swift's layout.
	h := s.ObjectHash("a", "c", "o")
	p := filepath.Join(s.cfg.DevicesDir, testDev, "objects", "1", h[29:], h, ts(100).Internal()+".data")
	if _, err := os.Stat(p); err != nil {
		t.Error(err)
	}
	if err := s.FlushInvalidations(); err != nil {
		t.Fatal(err)
	}
	inv, _ := os.ReadFile(filepath.Join(s.cfg.DevicesDir, testDev, "objects", "1", "hashes.invalid"))
	if string(inv) != h[29:]+"\n" {
		t.Errorf("hashes.invalid %q", inv)
	}
	buf := make([]byte, 5)
	r2, _ := s.Open(testDev, 1, "a", "c", "o")
	defer r2.Close()
	if n, err := r2.ReadAt(buf, 6); err != nil || string(buf[:n]) != "world" {
		t.Errorf("ReadAt %q %v", buf[:n], err)
	}
}

func TestOverwriteNewestWinsAndConflict(t *testing.T) {
	s := newStore(t, nil)
	mustPut(t, s, "o", 100, []byte("one"), nil)
	mustPut(t, s, "o", 200, []byte("two"), nil)
	mustGet(t, s, "o", []byte("two"))
	if got := files(t, s, "o"); len(got) != 1 || got[0] != ts(200).Internal()+".data" {
		t.Errorf("old version not cleaned: %v", got)
	}
	for _, sec := range []int64{150, 200} {
		_, err := s.NewWriter(testDev, 1, "a", "c", "o", ts(sec), 3)
		var ce *ConflictError
		if !errors.As(err, &ce) || !errors.Is(err, ErrConflict) || ce.Timestamp != ts(200) {
			t.Errorf("put @%d: %v", sec, err)
		}
	}
	// An older .data renamed in late (a slow concurrent writer) loses.
	w, err := s.NewWriter(testDev, 1, "a", "c", "o", ts(300), 5)
	if err != nil {
		t.Fatal(err)
	}
	mustPut(t, s, "o", 400, []byte("four"), nil)
	w.Write([]byte("three"))
	if err := w.Commit(nil); err != nil {
		t.Fatal(err)
	}
	mustGet(t, s, "o", []byte("four"))
	if got := files(t, s, "o"); len(got) != 1 {
		t.Errorf("files %v", got)
	}
}

func TestDeleteTombstone(t *testing.T) {
	s := newStore(t, nil)
	if err := s.Delete(testDev, 1, "a", "c", "nothing", ts(50), nil); !errors.Is(err, ErrNotFound) {
		t.Errorf("delete of missing: %v", err)
	}
	if got := files(t, s, "nothing"); len(got) != 1 || got[0] != ts(50).Internal()+".ts" {
		t.Errorf("tombstone not written for missing object: %v", got)
	}
	mustPut(t, s, "o", 100, []byte("x"), nil)
	if err := s.Delete(testDev, 1, "a", "c", "o", ts(100), nil); !errors.Is(err, ErrConflict) {
		t.Errorf("delete at same ts: %v", err)
	}
	if err := s.Delete(testDev, 1, "a", "c", "o", ts(200), map[string]string{"X-Backend-Something": "1"}); err != nil {
		t.Fatal(err)
	}
	_, err := s.Open(testDev, 1, "a", "c", "o")
	var de *DeletedError
	if !errors.As(err, &de) || !errors.Is(err, ErrNotFound) || de.Timestamp != ts(200) {
		t.Fatalf("open deleted: %v", err)
	}
	if got := files(t, s, "o"); len(got) != 1 || !strings.HasSuffix(got[0], ".ts") {
		t.Errorf("files %v", got)
	}
	md, err := s.readFileMetadata(filepath.Join(s.HashDir(testDev, 1, "a", "c", "o"), ts(200).Internal()+".ts"))
	if err != nil || md["name"] != "/a/c/o" || md["X-Timestamp"] != ts(200).Internal() || md["X-Backend-Something"] != "1" {
		t.Errorf("tombstone metadata %v %v", md, err)
	}
	if _, err := s.NewWriter(testDev, 1, "a", "c", "o", ts(150), 1); !errors.Is(err, ErrConflict) {
		t.Errorf("put older than tombstone: %v", err)
	}
	if err := s.Post(testDev, 1, "a", "c", "o", ts(300), nil); !errors.As(err, &de) {
		t.Errorf("post to deleted: %v", err)
	}
	mustPut(t, s, "o", 300, []byte("back"), nil)
	mustGet(t, s, "o", []byte("back"))
	if got := files(t, s, "o"); len(got) != 1 {
		t.Errorf("tombstone not cleaned: %v", got)
	}
}

func TestTombstoneReclaim(t *testing.T) {
	s := newStore(t, nil)
	now := ts(1000).Time().Add(s.cfg.ReclaimAge + time.Second)
	s.now = func() time.Time { return now }
	if err := s.Delete(testDev, 1, "a", "c", "o", ts(1000), nil); !errors.Is(err, ErrNotFound) {
		t.Fatal(err)
	}
	if _, err := s.Open(testDev, 1, "a", "c", "o"); !errors.Is(err, ErrNotFound) {
		t.Fatal(err)
	}
	if _, err := os.Stat(s.HashDir(testDev, 1, "a", "c", "o")); !os.IsNotExist(err) {
		t.Errorf("reclaimed tombstone's dir still there: %v", err)
	}
}

func TestPostMetadata(t *testing.T) {
	s := newStore(t, nil)
	if err := s.Post(testDev, 1, "a", "c", "o", ts(10), nil); !errors.Is(err, ErrNotFound) {
		t.Errorf("post to missing: %v", err)
	}
	mustPut(t, s, "o", 100, []byte("body"), map[string]string{
		"Content-Type": "text/plain", "X-Object-Meta-A": "1", "X-Object-Meta-B": "2",
		"X-Object-Sysmeta-S": "sys", "X-Static-Large-Object": "True",
		"X-Object-Transient-Sysmeta-T": "t",
	})
	if err := s.Post(testDev, 1, "a", "c", "o", ts(100), nil); !errors.Is(err, ErrConflict) {
		t.Errorf("post not newer: %v", err)
	}
	if err := s.Post(testDev, 1, "a", "c", "o", ts(200), map[string]string{"X-Object-Meta-C": "3"}); err != nil {
		t.Fatal(err)
	}
	r := mustGet(t, s, "o", []byte("body"))
	md := r.Metadata()
	if md["X-Object-Meta-C"] != "3" || md["X-Object-Meta-A"] != "" || md["X-Object-Transient-Sysmeta-T"] != "" ||
		md["X-Object-Sysmeta-S"] != "sys" || md["X-Static-Large-Object"] != "True" ||
		md["Content-Type"] != "text/plain" || md["ETag"] != r.ETag() || md["Content-Length"] != "4" ||
		md["X-Timestamp"] != ts(200).Internal() {
		t.Errorf("after post: %v", md)
	}
	if r.MetaTimestamp() != ts(200) || r.DataTimestamp() != ts(100) {
		t.Errorf("timestamps %v %v", r.MetaTimestamp(), r.DataTimestamp())
	}
	if err := s.Post(testDev, 1, "a", "c", "o", ts(300), map[string]string{"Content-Type": "image/png", "X-Object-Meta-D": "4"}); err != nil {
		t.Fatal(err)
	}
	if got := files(t, s, "o"); !reflect.DeepEqual(got, []string{ts(100).Internal() + ".data", ts(300).Internal() + "+0.meta"}) {
		t.Errorf("files %v", got)
	}
	r = mustGet(t, s, "o", []byte("body"))
	if md := r.Metadata(); md["Content-Type"] != "image/png" || md["X-Object-Meta-D"] != "4" || md["X-Object-Meta-C"] != "" {
		t.Errorf("after content-type post: %v", md)
	}
	// A later POST without Content-Type keeps the POSTed content type (the
	// older .meta is retained for it, as in Swift).
	if err := s.Post(testDev, 1, "a", "c", "o", ts(400), map[string]string{"X-Object-Meta-E": "5"}); err != nil {
		t.Fatal(err)
	}
	r = mustGet(t, s, "o", []byte("body"))
	if md := r.Metadata(); md["Content-Type"] != "image/png" || md["X-Object-Meta-E"] != "5" || md["X-Object-Meta-D"] != "" {
		t.Errorf("after third post: %v (files %v)", md, files(t, s, "o"))
	}
	// A new PUT obsoletes all .meta files.
	mustPut(t, s, "o", 500, []byte("new"), nil)
	if got := files(t, s, "o"); len(got) != 1 {
		t.Errorf("files after PUT %v", got)
	}
}

func TestParseMetaNames(t *testing.T) {
	for _, c := range []struct {
		name  string
		ts    string
		ctype string
	}{
		{"1402464677.04188.meta", "1402464677.04188", ""},
		{"1402464677.04188+0.meta", "1402464677.04188", "1402464677.04188"},
		{"1402464677.04188-a.meta", "1402464677.04188", "1402464677.04178"},
		{"1402464677.04188_1f+64.meta", "1402464677.04188_000000000000001f", "1402464677.04288"},
	} {
		fi, ok := parseFileName(c.name)
		if !ok || fi.ts.Internal() != c.ts || (c.ctype == "") != fi.ctype.IsZero() || (c.ctype != "" && fi.ctype.Internal() != c.ctype) {
			t.Errorf("%s: %v %v %v", c.name, ok, fi.ts, fi.ctype)
		}
	}
	for _, bad := range []string{"x.data", "1402464677.04188.data.meta-overflow", "1402464677.04188", ".data"} {
		if _, ok := parseFileName(bad); ok {
			t.Errorf("%s parsed", bad)
		}
	}
	c := ts(100)
	if n := metaFileName(ts(90), &c); n != ts(90).Internal()+"+f4240.meta" {
		t.Errorf("meta name %s", n)
	}
}

func TestSizeAndETagMismatchLeaveNothing(t *testing.T) {
	s := newStore(t, nil)
	w, err := s.NewWriter(testDev, 1, "a", "c", "o", ts(100), 10)
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("short"))
	if err := w.Commit(nil); !errors.Is(err, ErrSizeMismatch) {
		t.Errorf("short body: %v", err)
	}
	w, _ = s.NewWriter(testDev, 1, "a", "c", "o", ts(100), -1)
	w.Write([]byte("body"))
	if err := w.Commit(map[string]string{"ETag": "00000000000000000000000000000000"}); !errors.Is(err, ErrETagMismatch) {
		t.Errorf("bad etag: %v", err)
	}
	w, _ = s.NewWriter(testDev, 1, "a", "c", "o", ts(100), -1)
	w.Write([]byte("abandoned"))
	w.Abort()
	w.Abort()
	if got := files(t, s, "o"); got != nil {
		t.Errorf("files %v", got)
	}
	if got := tmpFiles(t, s); len(got) != 0 {
		t.Errorf("tmp %v", got)
	}
	if _, err := s.Open(testDev, 1, "a", "c", "o"); !errors.Is(err, ErrNotFound) {
		t.Errorf("open: %v", err)
	}
	// Abort after Commit is a no-op.
	w, _ = s.NewWriter(testDev, 1, "a", "c", "o", ts(100), -1)
	w.Write([]byte("kept"))
	if err := w.Commit(map[string]string{"ETag": `"` + w.ETag() + `"`}); err != nil {
		t.Fatal(err)
	}
	w.Abort()
	mustGet(t, s, "o", []byte("kept"))
}

func TestCheckDevice(t *testing.T) {
	s := newStore(t, nil)
	for _, dev := range []string{"missing", "", "..", "a/b"} {
		if err := s.CheckDevice(dev); !errors.Is(err, ErrDeviceUnavailable) {
			t.Errorf("%q: %v", dev, err)
		}
	}
	os.WriteFile(filepath.Join(s.cfg.DevicesDir, "file"), nil, 0o644)
	if err := s.CheckDevice("file"); !errors.Is(err, ErrDeviceUnavailable) {
		t.Errorf("file: %v", err)
	}
	if _, err := s.NewWriter("missing", 1, "a", "c", "o", ts(1), 0); !errors.Is(err, ErrDeviceUnavailable) {
		t.Errorf("writer: %v", err)
	}
	if _, err := s.Open("missing", 1, "a", "c", "o"); !errors.Is(err, ErrDeviceUnavailable) {
		t.Errorf("open: %v", err)
	}
	if err := s.CheckDevice(testDev); err != nil {
		t.Error(err)
	}
	s.cfg.MountCheck = true
	if err := s.CheckDevice(testDev); !errors.Is(err, ErrDeviceUnavailable) || !strings.Contains(err.Error(), "mount point") {
		t.Errorf("mount check: %v", err)
	}
}

func TestVerifyingReaderQuarantines(t *testing.T) {
	s := newStore(t, nil)
	mustPut(t, s, "o", 100, []byte("good data"), nil)
	hashDir := s.HashDir(testDev, 1, "a", "c", "o")
	data := filepath.Join(hashDir, ts(100).Internal()+".data")
	f, err := os.OpenFile(data, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteAt([]byte("B"), 0)
	f.Close()
	s.FlushInvalidations()
	os.Truncate(filepath.Join(s.cfg.DevicesDir, testDev, "objects", "1", "hashes.invalid"), 0)
	_, _, err = get(t, s, "o")
	if !errors.Is(err, ErrQuarantined) || !errors.Is(err, ErrNotFound) {
		t.Fatalf("corrupt read: %v", err)
	}
	h := filepath.Base(hashDir)
	if _, err := os.Stat(filepath.Join(s.cfg.DevicesDir, testDev, "quarantined", "objects", h, ts(100).Internal()+".data")); err != nil {
		t.Errorf("not quarantined: %v", err)
	}
	if _, err := s.Open(testDev, 1, "a", "c", "o"); !errors.Is(err, ErrNotFound) {
		t.Errorf("after quarantine: %v", err)
	}
	inv, _ := os.ReadFile(filepath.Join(s.cfg.DevicesDir, testDev, "objects", "1", "hashes.invalid"))
	if string(inv) != h[29:]+"\n" {
		t.Errorf("suffix not invalidated: %q", inv)
	}
	// A second quarantine of the same hash gets a distinct name.
	mustPut(t, s, "o", 200, []byte("again"), nil)
	if err := s.Quarantine(testDev, 1, h); err != nil {
		t.Fatal(err)
	}
	q, _ := os.ReadDir(filepath.Join(s.cfg.DevicesDir, testDev, "quarantined", "objects"))
	if len(q) != 2 {
		t.Errorf("quarantined entries %d", len(q))
	}
}

func TestBadMetadataQuarantines(t *testing.T) {
	for _, c := range []struct {
		name    string
		corrupt func(f *os.File) error
	}{
		{"checksum", func(f *os.File) error { return fsetx(f, checksumKey, []byte("0123")) }},
		{"pickle", func(f *os.File) error {
			b := []byte("\x80\x02garbage")
			if err := fsetx(f, metaKey, b); err != nil {
				return err
			}
			return fsetx(f, checksumKey, []byte(checksumOf(b)))
		}},
		{"size", func(f *os.File) error { return f.Truncate(2) }},
		{"missing", func(f *os.File) error { return fremovex(f, metaKey) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := newStore(t, nil)
			mustPut(t, s, "o", 100, []byte("body"), nil)
			p := filepath.Join(s.HashDir(testDev, 1, "a", "c", "o"), ts(100).Internal()+".data")
			f, err := os.OpenFile(p, os.O_RDWR, 0)
			if err != nil {
				t.Fatal(err)
			}
			if err := c.corrupt(f); err != nil {
				t.Fatal(err)
			}
			f.Close()
			if _, err := s.Open(testDev, 1, "a", "c", "o"); !errors.Is(err, ErrQuarantined) {
				t.Errorf("open: %v", err)
			}
			if got := files(t, s, "o"); got != nil {
				t.Errorf("left %v", got)
			}
		})
	}
}

func TestMetadataChunking(t *testing.T) {
	s := newStoreIn(t, bigXattrDir(t), nil)
	big := strings.Repeat("m", 150000)
	mustPut(t, s, "o", 100, []byte("x"), map[string]string{"X-Object-Meta-Big": big})
	r := mustGet(t, s, "o", []byte("x"))
	if r.Metadata()["X-Object-Meta-Big"] != big {
		t.Error("big metadata lost")
	}
	f, _ := os.Open(filepath.Join(s.HashDir(testDev, 1, "a", "c", "o"), ts(100).Internal()+".data"))
	defer f.Close()
	var total int
	for i, k := range []string{metaKey, metaKey + "1", metaKey + "2"} {
		v, err := fgetx(f, k)
		if err != nil {
			t.Fatalf("%s: %v", k, err)
		}
		if i < 2 && len(v) != xattrChunk {
			t.Errorf("%s is %d bytes", k, len(v))
		}
		total += len(v)
	}
	if _, err := fgetx(f, metaKey+"3"); err == nil {
		t.Error("unexpected 4th chunk")
	}
	if total < 150000 {
		t.Errorf("total %d", total)
	}
}

// TestConcurrentWriters races writers of one object at distinct and
// identical timestamps; the newest must win and the directory must hold
// exactly one consistent version.
func TestConcurrentWriters(t *testing.T) {
	s := newStore(t, nil)
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sec := int64(100 + i%8)
			body := []byte(fmt.Sprintf("body-%d-%d", sec, i))
			meta := map[string]string{"X-Object-Meta-Big": strings.Repeat("b", 5000*(i%2))}
			if err := put(t, s, "o", sec, body, meta); err != nil && !errors.Is(err, ErrConflict) {
				t.Errorf("writer %d: %v", i, err)
			}
			if i%4 == 0 {
				s.SuffixHashes(testDev, 1, nil)
			}
		}()
	}
	wg.Wait()
	r, body, err := get(t, s, "o")
	if err != nil {
		t.Fatal(err)
	}
	if r.Timestamp() != ts(107) || !bytes.HasPrefix(body, []byte("body-107-")) {
		t.Errorf("newest: %v %q", r.Timestamp(), body)
	}
	got := files(t, s, "o")
	if len(got) == 2 && got[1] == got[0]+overflowSuffix {
		got = got[:1]
	}
	if len(got) != 1 {
		t.Errorf("files %v", got)
	}
	if got := tmpFiles(t, s); len(got) != 0 {
		t.Errorf("tmp %v", got)
	}
}
