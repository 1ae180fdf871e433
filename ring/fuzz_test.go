package ring

import (
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

func gz(data []byte) []byte {
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	w.Write(data)
	w.Close()
	return b.Bytes()
}

// FuzzDecode reads ring files as a node receiving one from elsewhere
// would: damaged or hostile content must be refused without panics or
// allocations out of proportion to the file, and a ring that loads must
// encode to bytes that load as the same ring.
func FuzzDecode(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.ring.gz")
	for _, p := range files {
		raw, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		zr, err := gzip.NewReader(bytes.NewReader(raw))
		if err != nil {
			continue
		}
		if data, err := io.ReadAll(zr); err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte("R1NG\x00\x01\x00\x00\x00\x20{\"part_shift\": 1, \"replica_count\": 3}"))
	f.Add([]byte("R1NG\x00\x02" + string(make([]byte, 16))))
	// One short (fractional) replica row of a ring with 2^31 partitions:
	// encoding it must not size its buffer by the partition count.
	hdr := `{"devs": [{"id": 0, "device": "d", "ip": "1.2.3.4", "port": 1, "zone": 1, "region": 1, "weight": 1}], "part_shift": 1, "replica_count": 1}`
	f.Add([]byte("R1NG\x00\x01\x00\x00\x00" + string([]byte{byte(len(hdr))}) + hdr + "\x00\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		var r *Ring
		var err error
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		r, err = Decode(gz(data))
		runtime.ReadMemStats(&after)
		if n := after.TotalAlloc - before.TotalAlloc; n > uint64(len(data))*64+16<<20 {
			t.Fatalf("decoding %d bytes allocated %d", len(data), n)
		}
		if err != nil {
			return
		}
		// Lookups on whatever loaded stay in bounds. (A handoff walk may
		// visit every partition, as Swift's does: only small rings.)
		for _, part := range []int{0, r.PartitionCount() / 2, r.PartitionCount() - 1} {
			if r.PartitionCount() > 1<<16 {
				break
			}
			for _, d := range r.PrimaryNodes(part) {
				if d == nil {
					t.Fatalf("partition %d has a nil primary", part)
				}
			}
			n := 0
			for range r.Handoffs(part) {
				if n++; n > 3 {
					break
				}
			}
		}
		var enc []byte
		runtime.ReadMemStats(&before)
		enc = r.Encode()
		runtime.ReadMemStats(&after)
		if n := after.TotalAlloc - before.TotalAlloc; n > uint64(len(enc))*4+16<<20 {
			t.Fatalf("encoding %d bytes allocated %d", len(enc), n)
		}
		back, err := Decode(gz(enc))
		if err != nil {
			t.Fatalf("encoded ring does not load: %v", err)
		}
		if !bytes.Equal(back.Encode(), enc) {
			t.Fatal("ring changed through Encode and Decode")
		}
	})
}
