package largeobject

import (
	"testing"

	"swiftbox/server/proxy"
)

// The manifest validation messages of Swift's own unit tests.
func TestSLOParseInput(t *testing.T) {
	bad := []struct{ in, want string }{
		{`some non json`, "Manifest must be valid JSON.\n"},
		{`{}`, "Manifest must be a list.\n"},
		{`["zombocom"]`, "Index 0: not a JSON object\n"},
		{`[{"path": "/cont/object", "etag": "e", "size_bytes": 100, "foo": "bar", "baz": "quux"}]`, "Index 0: extraneous keys \"baz\", \"foo\"\n"},
		{`[{"path": "/cont/object", "egat": "e", "size_bytes": 100}]`, "Index 0: extraneous keys \"egat\"\n"},
		{`[{"path": "/cont/object", "etag": "blah", "size_bytes": 100, "range": "non-range value"}]`, "Index 0: invalid range\n"},
		{`[{"path": "/cont/object", "etag": "blah", "size_bytes": 100, "range": "1-20,30-40"}]`, "Index 0: multiple ranges (only one allowed)\n"},
		{`[{"path": "/cont/object", "etag": "blah", "size_bytes": 100, "range": "8888-9999"}]`, "Index 0: unsatisfiable range\n"},
		{`[{"path": "/cont", "etag": "e", "size_bytes": 100}, {"path": "/c-trailing-slash/", "etag": "e", "size_bytes": 100},
		  {"path": "/con/obj", "etag": "e", "size_bytes": 100}, {"path": "/con/obj/with/slashes", "etag": "e", "size_bytes": 100}]`,
			"Index 0: path does not refer to an object. Path must be of the form /container/object.\n" +
				"Index 1: path does not refer to an object. Path must be of the form /container/object.\n"},
		{`[{"path": "/cont/object", "etag": "e", "size_bytes": 100, "range": "non-range value"}, null]`, "Index 0: invalid range\nIndex 1: not a JSON object\n"},
		{`[{"path": "/cont/object", "etag": "blah", "size_bytes": "fht"}, {"path": "/cont/object", "size_bytes": null}]`, "Index 0: invalid size_bytes\n"},
		{`[{"path": "/cont/object", "etag": "blah", "size_bytes": []}]`, "Index 0: invalid size_bytes\n"},
		{`[{"path": "/c/the-manifest", "etag": "gate", "size_bytes": 100, "range": "non-range value"}]`, "Index 0: manifest must not include itself as a segment\n"},
		{`[{"path": "/c/s1", "etag": "a", "size_bytes": 1}, {"path": "/c/s2", "etag": "b", "size_bytes": 0},
		  {"path": "/c/s3", "etag": "c", "size_bytes": 0}, {"path": "/c/s4", "etag": "d", "size_bytes": null},
		  {"path": "/c/s5", "etag": "e", "size_bytes": 1000}]`,
			"Index 1: too small; each segment must be at least 1 byte.\nIndex 2: too small; each segment must be at least 1 byte.\n"},
		{`[{"data": "Zm9v"}]`, "Inline data segments require at least one object-backed segment.\n"},
		{`[{"data": "!!"}, {"path": "/c/o"}]`, "Index 0: data must be valid base64\n"},
		{`[{"nothing": 1}]`, "Index 0: expected keys to include one of 'data' or 'path'\n"},
		{`[{"path": 7}]`, "Index 0: \"path\" must be a string\n"},
		{`[{"path": "/c/o", "etag": 7}]`, "Index 0: \"etag\" must be a string or null (if provided)\n"},
	}
	for _, c := range bad {
		_, err := parseSLOInput([]byte(c.in), "v1", "a", "/v1/a/c/the-manifest")
		if err == nil || proxy.StatusOf(err) != 400 || proxy.ErrorBody(err) != c.want {
			t.Errorf("%s:\n got %v\nwant %q", c.in, err, c.want)
		}
	}
	// Size is optional: the range is checked against the segment later.
	in, err := parseSLOInput([]byte(`[{"path": "/cont/object", "size_bytes": null, "range": "8888-9999"},
		{"path": "/cont/o2", "size_bytes": "12", "range": "0-4"}]`), "v1", "a", "/v1/a/c/m")
	if err != nil || len(in) != 2 || in[0].rng == nil || *in[1].sizeBytes != 12 {
		t.Fatalf("valid input: %v %+v", err, in)
	}
	if e, s := splitSLOEtag("8de7; this=that;slo_etag=dc99"); e != "8de7; this=that" || s != "dc99" {
		t.Fatalf("listing etag %q %q", e, s)
	}
}
