package pickle

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// asJSON normalises a value for comparison with the .json fixtures.
func asJSON(t *testing.T, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("json.Marshal: %v", err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestGoldenCPython(t *testing.T) {
	files, err := filepath.Glob("testdata/*.pkl")
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			want, err := os.ReadFile(strings.TrimSuffix(f, ".pkl") + ".json")
			if err != nil {
				t.Fatal(err)
			}
			got, err := Unmarshal(data)
			if err != nil {
				t.Fatalf("Unmarshal: %v", err)
			}
			var w any
			if err := json.Unmarshal(want, &w); err != nil {
				t.Fatal(err)
			}
			if g := asJSON(t, got); !reflect.DeepEqual(g, w) {
				t.Errorf("decoded\n%v\nwant\n%v", g, w)
			}
		})
	}
}

func TestStringMapFromPy3Bytes(t *testing.T) {
	data, err := os.ReadFile("testdata/meta_bytes_p2.pkl")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(data[:32], []byte("_codecs\nencode")) {
		t.Fatalf("fixture is not a py3 bytes pickle")
	}
	m, err := UnmarshalStringMap(data)
	if err != nil {
		t.Fatal(err)
	}
	if m["name"] != "/AUTH_test/cé/o☃" || m["Content-Length"] != "11" {
		t.Errorf("got %q", m)
	}
}

func TestRoundTrip(t *testing.T) {
	in := map[string]any{
		"s":      "hé☃",
		"bin":    "\xff\xfe",
		"long":   strings.Repeat("y", 70000),
		"ints":   []any{int64(0), int64(255), int64(256), int64(65535), int64(65536), int64(-1), int64(math.MaxInt32), int64(math.MinInt32), int64(math.MaxInt64), int64(math.MinInt64), int64(1 << 40), int64(-128), int64(-129)},
		"f":      3.25,
		"b":      true,
		"nb":     false,
		"none":   nil,
		"tuple":  Tuple{"a", int64(1)},
		"tuple5": Tuple{int64(1), int64(2), int64(3), int64(4), int64(5)},
		"nested": map[string]any{"k": []any{}},
	}
	data, err := Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	out, err := Unmarshal(data)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(in, out) {
		t.Errorf("round trip\n%#v\n%#v", in, out)
	}
}

func TestManyItemsBatch(t *testing.T) {
	m := map[string]string{}
	for i := range 2500 {
		m[strings.Repeat("k", i%7)+string(rune('a'+i%26))+json.Number(strings.Repeat("1", i%5)).String()+string(rune(0x100+i))] = "v"
	}
	data, err := Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	got, err := UnmarshalStringMap(data)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, m) {
		t.Errorf("lost items: %d vs %d", len(got), len(m))
	}
}

func TestMalformed(t *testing.T) {
	good, _ := Marshal(map[string]string{"a": "b"})
	for i := range len(good) - 1 {
		if _, err := Unmarshal(good[:i]); err == nil {
			t.Errorf("truncated at %d: no error", i)
		}
	}
	for _, bad := range [][]byte{
		[]byte("\x80\x02}q\x00(K\x01K\x02u."), // int key
		[]byte("\x80\x02cos\nsystem\n)R."),    // arbitrary callable
		[]byte("\x80\x02X\xff\xff\xff\xff"),   // huge length
		[]byte("\x80\x02a."),                  // append on empty stack
	} {
		if _, err := Unmarshal(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

// TestPythonReadsOurs checks that CPython unpickles our encoding to the
// same value.
func TestPythonReadsOurs(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 not installed")
	}
	in := map[string]any{
		"name":           "/AUTH_test/cé/o☃",
		"X-Timestamp":    "1402464677.04188",
		"Content-Length": "11",
		"n":              int64(1 << 40),
		"neg":            int64(-300),
		"f":              1.5,
		"t":              true,
		"none":           nil,
		"l":              []any{"a", int64(2)},
		"d":              map[string]any{"x": "y"},
		"big":            strings.Repeat("z", 70000),
	}
	data, err := Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(py, "-c", `import sys, pickle, json
print(json.dumps(pickle.loads(sys.stdin.buffer.read()), sort_keys=True))`)
	cmd.Stdin = bytes.NewReader(data)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("python3: %v\n%s", err, out)
	}
	var got any
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatal(err)
	}
	if want := asJSON(t, in); !reflect.DeepEqual(got, want) {
		t.Errorf("python3 read\n%v\nwant\n%v", got, want)
	}
}
