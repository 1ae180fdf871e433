package largeobject

import (
	"strings"
	"testing"

	"swiftbox/server/proxy"
)

// A manifest PUT's body is the client's: whatever it holds, parsing ends
// in a 400 with a message or in entries that name objects, with ranges
// that fit the sizes given.
func FuzzParseSLOInput(f *testing.F) {
	for _, s := range []string{
		`[{"path": "/c/o", "etag": "e", "size_bytes": 10, "range": "2-5"}, {"data": "Zm9v"}]`,
		`[{"path": "c/o", "size_bytes": "12", "range": "-3"}]`,
		`[{"path": "/c/o", "range": "1-2,3-4"}]`, `[{"data": "!!"}]`, `{}`, `[null]`, `[`,
		`[{"path": "/c/o", "size_bytes": 1e3}]`, `[{"path": "/c/o", "size_bytes": true}]`,
		`[{"path": "0/0", "size_bytes": "0", "range": "-01"}]`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		in, err := parseSLOInput([]byte(body), "v1", "a", "/v1/a/c/m")
		if err != nil {
			if proxy.StatusOf(err) != 400 || proxy.ErrorBody(err) == "" {
				t.Fatalf("%q: %v", body, err)
			}
			return
		}
		for _, e := range in {
			if e.isData {
				continue
			}
			if !strings.Contains(strings.Trim(e.path, "/"), "/") {
				t.Fatalf("%q: entry %q names no object", body, e.path)
			}
			if e.rng != nil && e.sizeBytes != nil {
				// (an empty range of an empty last segment passes, as in Swift)
				if a, b, ok := e.rng.forLength(*e.sizeBytes); !ok || a < 0 || b > *e.sizeBytes || a > b {
					t.Fatalf("%q: range %+v does not fit %d bytes", body, *e.rng, *e.sizeBytes)
				}
			}
		}
	})
}
