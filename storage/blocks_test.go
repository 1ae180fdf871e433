package storage

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/pkg/xattr"

	"swiftbox/storage/storagetest"
)

func TestBlockShiftAndTable(t *testing.T) {
	for _, tc := range []struct {
		size  int64
		shift uint8
	}{
		{-1, 20}, {0, 16}, {4096, 16}, {32 << 20, 16}, {32<<20 + 1, 17},
		{64 << 20, 17}, {512 << 20, 20}, {5 << 30, 20},
	} {
		if got := blockShiftFor(tc.size); got != tc.shift {
			t.Errorf("blockShiftFor(%d) = %d, want %d", tc.size, got, tc.shift)
		}
	}
	// Up to 512 MiB the table stays within 2 KiB, room enough beside
	// Swift's metadata in ext4's one xattr block.
	if n := 4 * blockCount(512<<20, blockShiftFor(512<<20)); n > 2048 {
		t.Errorf("table of 512 MiB: %d bytes", n)
	}
	body := make([]byte, 200<<10+3)
	rand.Read(body)
	sum := newBlockSummer(16)
	for p := body; len(p) > 0; p = p[min(len(p), 7777):] {
		sum.Write(p[:min(len(p), 7777)])
	}
	tab := sum.table()
	if len(tab.crcs) != 4 || tab.size != int64(len(body)) {
		t.Fatalf("table: %d blocks, size %d", len(tab.crcs), tab.size)
	}
	if bad := tab.check(body, 0); bad != -1 {
		t.Errorf("good body fails at %d", bad)
	}
	if bad := tab.check(body[128<<10:], 128<<10); bad != -1 {
		t.Errorf("good tail fails at %d", bad)
	}
	enc := tab.encode()
	back, err := decodeBlockTable(enc)
	if err != nil || back.size != tab.size || back.shift != tab.shift || len(back.crcs) != 4 {
		t.Fatalf("decode: %+v %v", back, err)
	}
	body[70000] ^= 1
	if bad := tab.check(body, 0); bad != 64<<10 {
		t.Errorf("flipped bit found at %d, want %d", bad, 64<<10)
	}
	for i := range enc {
		d := bytes.Clone(enc)
		d[i] ^= 0x10
		if _, err := decodeBlockTable(d); err == nil {
			t.Fatalf("damaged table byte %d accepted", i)
		}
	}
}

// dataPath is the .data of obj (written at ts(sec)) on testDev.
func dataPath(s *ObjectStore, obj string, sec int64) string {
	return filepath.Join(s.HashDir(testDev, 1, "a", "c", obj), ts(sec).Internal()+".data")
}

func flipAt(t *testing.T, path string, off int64) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := []byte{0}
	f.ReadAt(b, off)
	b[0] ^= 0x5a
	if _, err := f.WriteAt(b, off); err != nil {
		t.Fatal(err)
	}
}

func readBody(t *testing.T, s *ObjectStore, obj string, off, n int64) ([]byte, error) {
	t.Helper()
	r, err := s.Open(testDev, 1, "a", "c", obj)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return io.ReadAll(r.Body(off, n))
}

// A range needs only its enclosing blocks; a range over a damaged block
// returns none of its bytes, quarantines the object and says so.
func TestBodyVerifiesBlocks(t *testing.T) {
	s := newStore(t, nil)
	body := make([]byte, 3<<20+5)
	rand.Read(body)
	mustPut(t, s, "o", 100, body, nil)
	if _, err := xattr.Get(dataPath(s, "o", 100), blocksXattr); err != nil {
		t.Fatalf("no block table xattr: %v", err)
	}
	for _, rg := range [][2]int64{{0, int64(len(body))}, {1, 10}, {65535, 2}, {1<<20 - 7, 1<<20 + 100}, {int64(len(body)) - 1, 1}} {
		got, err := readBody(t, s, "o", rg[0], rg[1])
		if err != nil || !bytes.Equal(got, body[rg[0]:rg[0]+rg[1]]) {
			t.Fatalf("range %v: %d bytes, %v", rg, len(got), err)
		}
	}
	flipAt(t, dataPath(s, "o", 100), 2<<20+10)
	if got, err := readBody(t, s, "o", 0, 1000); err != nil || !bytes.Equal(got, body[:1000]) {
		t.Fatalf("range away from the damage: %v", err)
	}
	got, err := readBody(t, s, "o", 0, int64(len(body)))
	if !errors.Is(err, ErrCorrupt) || !errors.Is(err, ErrQuarantined) {
		t.Fatalf("whole read over the damage: %v", err)
	}
	if len(got) > 2<<20 || !bytes.Equal(got, body[:len(got)]) {
		t.Fatalf("returned %d bytes, some past the damaged block or wrong", len(got))
	}
	if s.QuarantinedCount(testDev) != 1 {
		t.Errorf("not quarantined")
	}
}

// A reader whose version was replaced meanwhile reports the damage it
// read but never quarantines the new version.
func TestBodyDamageOfReplacedVersion(t *testing.T) {
	s := newStore(t, nil)
	old := bytes.Repeat([]byte("old "), 100000)
	mustPut(t, s, "o", 100, old, nil)
	r, err := s.Open(testDev, 1, "a", "c", "o")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	f, err := os.OpenFile(dataPath(s, "o", 100), os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	mustPut(t, s, "o", 200, []byte("new"), nil)
	f.WriteAt([]byte("XXXX"), 10)
	_, err = io.ReadAll(r.Body(0, r.Size()))
	if !errors.Is(err, ErrCorrupt) || errors.Is(err, ErrQuarantined) {
		t.Fatalf("read of the replaced, damaged version: %v", err)
	}
	mustGet(t, s, "o", []byte("new"))
	if s.QuarantinedCount(testDev) != 0 {
		t.Errorf("the new version was quarantined")
	}
}

// When the filesystem has no room for the table's xattr it goes into the
// metadata, invisible to callers, and still verifies.
func TestBlockTableInMetadataWhenXattrsFull(t *testing.T) {
	ffs := storagetest.NewFaultFS(OSFS{})
	ffs.XattrLimit = 300
	s := newStore(t, ffs)
	body := make([]byte, 5<<20)
	rand.Read(body)
	mustPut(t, s, "o", 100, body, nil)
	if _, err := xattr.Get(dataPath(s, "o", 100), blocksXattr); err == nil {
		t.Fatal("table xattr written past the limit")
	}
	r, err := s.Open(testDev, 1, "a", "c", "o")
	if err != nil {
		t.Fatal(err)
	}
	if r.blocks == nil {
		t.Fatal("no block table read back")
	}
	if _, ok := r.Metadata()[blocksMetaKey]; ok {
		t.Error("the table shows in the object's metadata")
	}
	r.Close()
	flipAt(t, dataPath(s, "o", 100), 4<<20)
	if _, err := readBody(t, s, "o", 4<<20, 10); !errors.Is(err, ErrQuarantined) {
		t.Fatalf("damaged range: %v", err)
	}
}

// Objects without a table: a whole read holds back its last chunk until
// the MD5 matches, then records the table; a range reads the whole body
// first. A damaged one returns an error, not its last bytes.
func TestBodyOfObjectWithoutTable(t *testing.T) {
	s := newStore(t, nil)
	body := make([]byte, 2<<20+100)
	rand.Read(body)
	for _, o := range []string{"whole", "range", "bad"} {
		mustPut(t, s, o, 100, body, nil)
		if err := xattr.Remove(dataPath(s, o, 100), blocksXattr); err != nil {
			t.Fatal(err)
		}
	}
	if got, err := readBody(t, s, "whole", 0, int64(len(body))); err != nil || !bytes.Equal(got, body) {
		t.Fatalf("whole: %v", err)
	}
	if got, err := readBody(t, s, "range", 5, 10); err != nil || !bytes.Equal(got, body[5:15]) {
		t.Fatalf("range: %v", err)
	}
	for _, o := range []string{"whole", "range"} {
		if _, err := xattr.Get(dataPath(s, o, 100), blocksXattr); err != nil {
			t.Errorf("%s: table not recorded after a verified read: %v", o, err)
		}
	}
	flipAt(t, dataPath(s, "bad", 100), 100)
	got, err := readBody(t, s, "bad", 0, int64(len(body)))
	if !errors.Is(err, ErrQuarantined) {
		t.Fatalf("damaged: %v", err)
	}
	if len(got) > 2<<20 {
		t.Errorf("%d bytes returned: the last chunk was not held back", len(got))
	}
}

// The replicator copies the table with the object, builds one for an
// object without, and never spreads a damaged replica (it quarantines
// it). The auditor checks the table and adds one where missing.
func TestReplicationAndAuditKeepBlockTables(t *testing.T) {
	s := newStore(t, nil)
	if err := os.Mkdir(filepath.Join(s.cfg.DevicesDir, "sdb"), 0o755); err != nil {
		t.Fatal(err)
	}
	body := make([]byte, 1<<20+3)
	rand.Read(body)
	for _, o := range []string{"tab", "legacy", "bad", "badlegacy"} {
		mustPut(t, s, o, 100, body, nil)
	}
	for _, o := range []string{"legacy", "badlegacy"} {
		xattr.Remove(dataPath(s, o, 100), blocksXattr)
	}
	flipAt(t, dataPath(s, "bad", 100), 1<<20)
	flipAt(t, dataPath(s, "badlegacy", 100), 0)
	dst := func(o string) string {
		return filepath.Join(s.HashDir("sdb", 1, "a", "c", o), ts(100).Internal()+".data")
	}
	for _, o := range []string{"tab", "legacy", "bad", "badlegacy"} {
		suffix := filepath.Base(filepath.Dir(s.HashDir(testDev, 1, "a", "c", o)))
		if _, err := s.SyncSuffix(testDev, "sdb", 1, suffix, nil); err != nil {
			t.Fatalf("sync %s: %v", o, err)
		}
	}
	for _, o := range []string{"tab", "legacy"} {
		if _, err := xattr.Get(dst(o), blocksXattr); err != nil {
			t.Errorf("%s: replica without a block table: %v", o, err)
		}
		r, err := s.Open("sdb", 1, "a", "c", o)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(r.Body(0, r.Size()))
		r.Close()
		if err != nil || !bytes.Equal(got, body) {
			t.Errorf("%s: replica reads %v", o, err)
		}
	}
	for _, o := range []string{"bad", "badlegacy"} {
		if _, err := os.Stat(dst(o)); err == nil {
			t.Errorf("%s: damaged replica copied", o)
		}
		if _, err := os.Stat(dataPath(s, o, 100)); err == nil {
			t.Errorf("%s: damaged source not quarantined", o)
		}
	}

	// The auditor: a damaged block is found, a legacy object gets a table.
	mustPut(t, s, "audit-bad", 100, body, nil)
	mustPut(t, s, "audit-legacy", 100, body, nil)
	xattr.Remove(dataPath(s, "audit-legacy", 100), blocksXattr)
	flipAt(t, dataPath(s, "audit-bad", 100), 5)
	for _, o := range []string{"audit-bad", "audit-legacy"} {
		hd := s.HashDir(testDev, 1, "a", "c", o)
		res, err := s.AuditObject(context.Background(), testDev, HashDirRef{Partition: 1, Suffix: filepath.Base(filepath.Dir(hd)), Path: hd}, false, nil)
		if err != nil {
			t.Fatal(err)
		}
		if res.Quarantined != (o == "audit-bad") {
			t.Errorf("%s: quarantined %v (%s)", o, res.Quarantined, res.Reason)
		}
	}
	if _, err := xattr.Get(dataPath(s, "audit-legacy", 100), blocksXattr); err != nil {
		t.Errorf("auditor did not record a table: %v", err)
	}
}

// Several ranges of one reader of an object without a table (a multi-range
// GET of an object from Swift): the first range's whole read builds the
// table; the others, opened before it, still read whole blocks and verify.
// A good object is never reported damaged, never quarantined.
func TestBodiesOfOneReaderWithoutTable(t *testing.T) {
	s := newStore(t, nil)
	body := make([]byte, 300<<10+11)
	rand.Read(body)
	mustPut(t, s, "o", 100, body, nil)
	if err := xattr.Remove(dataPath(s, "o", 100), blocksXattr); err != nil {
		t.Fatal(err)
	}
	r, err := s.Open(testDev, 1, "a", "c", "o")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	ranges := [][2]int64{{0, 10}, {70000, 5}, {200 << 10, 100 << 10}, {int64(len(body)) - 3, 3}}
	var bodies []*Body
	for _, rg := range ranges {
		bodies = append(bodies, r.Body(rg[0], rg[1]))
	}
	for i, b := range bodies {
		got, err := io.ReadAll(b)
		if err != nil || !bytes.Equal(got, body[ranges[i][0]:ranges[i][0]+ranges[i][1]]) {
			t.Errorf("range %v: %d bytes, %v", ranges[i], len(got), err)
		}
	}
	if n := s.QuarantinedCount(testDev); n != 0 {
		t.Errorf("a good object was quarantined (%d)", n)
	}
}

// A damaged block table (a bit flipped in its xattr) says nothing about
// the body: the object is verified by its MD5 as one without a table, then
// gets a good table again. A single replica stays servable; a damaged body
// is still refused.
func TestDamagedBlockTable(t *testing.T) {
	s := newStore(t, nil)
	body := make([]byte, 200<<10+1)
	rand.Read(body)
	for _, o := range []string{"good", "bad"} {
		mustPut(t, s, o, 100, body, nil)
		p := dataPath(s, o, 100)
		enc, err := xattr.Get(p, blocksXattr)
		if err != nil {
			t.Fatal(err)
		}
		enc[len(enc)/2] ^= 0x20
		if err := xattr.Set(p, blocksXattr, enc); err != nil {
			t.Fatal(err)
		}
	}
	flipAt(t, dataPath(s, "bad", 100), 100<<10)
	if got, err := readBody(t, s, "good", 70000, 10); err != nil || !bytes.Equal(got, body[70000:70010]) {
		t.Fatalf("range of a good body with a damaged table: %v", err)
	}
	if got, err := readBody(t, s, "good", 0, int64(len(body))); err != nil || !bytes.Equal(got, body) {
		t.Fatalf("good body with a damaged table: %v", err)
	}
	enc, err := xattr.Get(dataPath(s, "good", 100), blocksXattr)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := decodeBlockTable(enc); err != nil {
		t.Errorf("table not rebuilt: %v", err)
	}
	if n := s.QuarantinedCount(testDev); n != 0 {
		t.Fatalf("good body quarantined")
	}
	if _, err := readBody(t, s, "bad", 0, 10); !errors.Is(err, ErrQuarantined) {
		t.Fatalf("damaged body with a damaged table: %v", err)
	}
}

// A damaged object the auditor cannot move aside (the device cannot take
// the quarantine) is an error of the audit, not a silent pass.
func TestAuditReportsFailedQuarantine(t *testing.T) {
	s := newStore(t, nil)
	body := make([]byte, 100<<10)
	rand.Read(body)
	mustPut(t, s, "o", 100, body, nil)
	flipAt(t, dataPath(s, "o", 100), 70000)
	if err := os.WriteFile(filepath.Join(s.cfg.DevicesDir, testDev, "quarantined"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	hd := s.HashDir(testDev, 1, "a", "c", "o")
	res, err := s.AuditObject(context.Background(), testDev, HashDirRef{Partition: 1, Suffix: filepath.Base(filepath.Dir(hd)), Path: hd}, false, nil)
	if err == nil || res.Quarantined {
		t.Fatalf("audit of a damaged object that stays: %+v, %v; want an error", res, err)
	}
}
