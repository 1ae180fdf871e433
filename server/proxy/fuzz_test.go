package proxy

import (
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/valyala/fasthttp"
)

// Fuzz targets for what a Swift client controls before it is trusted:
// Range headers, listing parameters (tempurl and formpost signatures:
// server/middleware/signed).

func FuzzParseRange(f *testing.F) {
	for _, h := range []string{"bytes=0-9", "bytes=-5", "bytes=10-", "bytes=0-0,5-9,-1", "bytes= 1 - 2 , 3-", "BYTES=1-2",
		"bytes=9-1", "bytes=-0", "bytes=99999999999999999999-", "bytes=" + strings.Repeat("0-1,", 101), "items=0-1", "bytes=,,"} {
		f.Add(h, int64(100))
	}
	f.Add("bytes=0-", int64(0))
	f.Fuzz(func(t *testing.T, h string, size int64) {
		if size < 0 {
			size = -size
		}
		if size < 0 {
			return
		}
		ranges, ok, unsat := ParseRange(h, size)
		r2, ok2, unsat2 := ParseRange(h, size)
		if !slices.Equal(ranges, r2) || ok != ok2 || unsat != unsat2 {
			t.Fatal("parser disagrees with itself")
		}
		switch {
		case !ok && (ranges != nil || unsat):
			t.Fatalf("ignored header with ranges %v unsatisfiable %v", ranges, unsat)
		case unsat && len(ranges) != 0:
			t.Fatalf("unsatisfiable with ranges %v", ranges)
		case ok && !unsat && len(ranges) == 0:
			t.Fatal("satisfiable without ranges")
		case len(ranges) > 100:
			t.Fatalf("%d ranges", len(ranges))
		}
		for _, r := range ranges {
			if r.Start < 0 || r.Start > r.End || r.End >= size {
				t.Fatalf("range %d-%d of a %d-byte object from %q", r.Start, r.End, size, h)
			}
		}
		if !ok || unsat {
			return
		}
		// The ranges, written back as a header, parse to themselves.
		parts := make([]string, len(ranges))
		for i, r := range ranges {
			parts[i] = strconv.FormatInt(r.Start, 10) + "-" + strconv.FormatInt(r.End, 10)
		}
		back, ok, unsat := ParseRange("bytes="+strings.Join(parts, ","), size)
		if !ok || unsat || !slices.Equal(back, ranges) {
			t.Fatalf("%q gave %v, written back they give %v", h, ranges, back)
		}
	})
}

func FuzzListOptions(f *testing.F) {
	for _, q := range []string{"prefix=a&delimiter=/&marker=m&end_marker=z&limit=10", "limit=10001", "limit=-1", "limit=abc",
		"reverse=on&limit=0", "marker=%00", "prefix=%ff", "delimiter=%C3%28", "limit=99999999999999999999999"} {
		f.Add(q)
	}
	f.Fuzz(func(t *testing.T, query string) {
		const max = 10000
		r := newSreq("GET", "/v1/a/c?"+query)
		o, err := listOptions(r, max)
		o2, err2 := listOptions(r, max)
		if o != o2 || (err == nil) != (err2 == nil) {
			t.Fatal("parser disagrees with itself")
		}
		if err != nil {
			if code(err) != fasthttp.StatusPreconditionFailed {
				t.Fatalf("refused with %d: %v", code(err), err)
			}
			return
		}
		if o.Limit < 0 || o.Limit > max {
			t.Fatalf("limit %d", o.Limit)
		}
		for _, s := range []string{o.Prefix, o.Delimiter, o.Marker, o.EndMarker} {
			if !utf8.ValidString(s) {
				t.Fatalf("invalid UTF-8 %q accepted", s)
			}
		}
		if o.AllowReserved {
			t.Fatal("an outside request lists reserved names")
		}
		q := r.Ctx.QueryArgs()
		if o.Prefix != string(q.Peek("prefix")) || o.Marker != string(q.Peek("marker")) {
			t.Fatalf("prefix %q marker %q from %q", o.Prefix, o.Marker, query)
		}
	})
}
