package pickle

import (
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"testing"
)

// FuzzUnmarshal feeds the decoder what a corrupt or hostile xattr,
// hashes.pkl or async_pending file could hold: it must fail cleanly,
// allocate in proportion to its input, and whatever it accepts must
// survive Marshal and Unmarshal unchanged.
func FuzzUnmarshal(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.pkl")
	for _, p := range files {
		if data, err := os.ReadFile(p); err == nil {
			f.Add(data)
		}
	}
	for _, v := range []any{
		map[string]any{"name": "/a/c/o", "Content-Length": "0", "X-Timestamp": "1700000000.00000"},
		Tuple{int64(1), 2.5, nil, true, []any{"x", []byte{0xff}}},
		map[string]any{"big": int64(1) << 62, "neg": int64(-3)},
	} {
		if data, err := Marshal(v); err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte("\x80\x02X\xff\xff\xff\x7f"))          // BINUNICODE claiming 2 GiB
	f.Add([]byte("\x80\x02(((((((((((((((((((((((((.")) // marks, no values
	f.Add([]byte("\x80\x02h\x00h\x00."))                // memo get of nothing
	f.Fuzz(func(t *testing.T, data []byte) {
		var v any
		var err error
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		v, err = Unmarshal(data)
		runtime.ReadMemStats(&after)
		if n := after.TotalAlloc - before.TotalAlloc; n > uint64(len(data))*256+4<<20 {
			t.Fatalf("decoding %d bytes allocated %d", len(data), n)
		}
		if err != nil {
			return
		}
		enc, err := Marshal(v)
		if err != nil {
			t.Fatalf("decoded %#v does not encode: %v", v, err)
		}
		back, err := Unmarshal(enc)
		if err != nil || !reflect.DeepEqual(back, v) {
			t.Fatalf("%#v encoded as %q decodes to %#v, %v", v, enc, back, err)
		}
		if enc2, _ := Marshal(back); string(enc2) != string(enc) {
			t.Fatalf("encoding is not stable: %q then %q", enc, enc2)
		}
	})
}
