package db

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"testing"
	"unicode/utf8"
)

// refList is a direct port of Swift's list_objects_iter over a sorted
// slice: one "query" per loop, as the SQL does, with code-point arithmetic
// on the bounds. The real listing must return exactly what it returns.
func refList(sorted []string, o ListOptions) []string {
	limit := o.Limit
	if limit <= 0 {
		limit = DefaultListLimit
	}
	marker, endMarker := o.Marker, o.EndMarker
	if o.Reverse {
		marker, endMarker = endMarker, marker
	}
	prefix, delim := o.Prefix, o.Delimiter
	incLast := func(s string) string {
		r, n := utf8.DecodeLastRuneInString(s)
		return s[:len(s)-n] + string(r+1)
	}
	endPrefix := ""
	if prefix != "" {
		endPrefix = incLast(prefix)
	}
	origMarker := marker
	forceGTE := false
	var results []string
	for len(results) < limit {
		var rows []string
		for _, n := range sorted {
			if endMarker != "" && (prefix == "" || endMarker < endPrefix) {
				if !(n < endMarker) {
					continue
				}
			} else if prefix != "" && !(n < endPrefix) {
				continue
			}
			if forceGTE {
				if !(n >= marker) {
					continue
				}
			} else if marker != "" && (prefix == "" || marker >= prefix) {
				if !(n > marker) {
					continue
				}
			} else if prefix != "" && !(n >= prefix) {
				continue
			}
			if !o.AllowReserved && !(n >= "\x01") {
				continue
			}
			rows = append(rows, n)
		}
		forceGTE = false
		if o.Reverse {
			slices.Reverse(rows)
		}
		if len(rows) > limit-len(results) {
			rows = rows[:limit-len(results)]
		}
		if delim == "" {
			return append(results, rows...)
		}
		for _, n := range rows {
			if o.Reverse {
				endMarker = n
			} else {
				marker = n
			}
			if len(results) >= limit {
				return results
			}
			if i := strings.Index(n[len(prefix):], delim); i >= 0 {
				end := len(prefix) + i
				if o.Reverse {
					endMarker = n[:end+len(delim)]
				} else {
					marker = n[:end] + incLast(delim)
					forceGTE = true
				}
				if dir := n[:end+len(delim)]; dir != origMarker {
					results = append(results, "sub:"+dir)
				}
				break
			}
			results = append(results, n)
		}
		if len(rows) == 0 {
			break
		}
	}
	return results
}

// fillContainer creates container c holding names (all live).
func fillContainer(t testing.TB, s *Store, c string, names []string) {
	t.Helper()
	mustCreateContainer(t, s, c)
	rows := make([]ObjectRow, len(names))
	for i, n := range names {
		rows[i] = ObjectRow{Name: n, Timestamp: ts(2), Size: 1}
	}
	if err := s.MergeObjectRows(dev, 1, "AUTH_a", c, rows); err != nil {
		t.Fatal(err)
	}
}

func TestListingTable(t *testing.T) {
	s, _ := newTestStore(t, 0)
	all := []string{
		"a", "a/", "a/b", "a/b/c", "a/c", "a-b", "a0", "b", "b/x", "b/y/z",
		"c/", "c//d", "é", "é/x", "z", "\uffff", "😀", "😀/a", "\x00hidden",
	}
	fillContainer(t, s, "c", all)
	for _, tc := range []struct {
		o    ListOptions
		want string
	}{
		{ListOptions{}, "[a a-b a/ a/b a/b/c a/c a0 b b/x b/y/z c/ c//d z é é/x \uffff 😀 😀/a]"},
		{ListOptions{AllowReserved: true, Limit: 2}, "[\x00hidden a]"},
		{ListOptions{Limit: 3}, "[a a-b a/]"},
		{ListOptions{Marker: "a/c"}, "[a0 b b/x b/y/z c/ c//d z é é/x \uffff 😀 😀/a]"},
		{ListOptions{Marker: "b", EndMarker: "c//d"}, "[b/x b/y/z c/]"},
		{ListOptions{Prefix: "a/"}, "[a/ a/b a/b/c a/c]"},
		{ListOptions{Prefix: "a/", Delimiter: "/"}, "[a/ a/b sub:a/b/ a/c]"},
		{ListOptions{Delimiter: "/"}, "[a a-b sub:a/ a0 b sub:b/ sub:c/ z é sub:é/ \uffff 😀 sub:😀/]"},
		{ListOptions{Delimiter: "/", Limit: 4}, "[a a-b sub:a/ a0]"},
		{ListOptions{Delimiter: "/", Marker: "a/"}, "[a0 b sub:b/ sub:c/ z é sub:é/ \uffff 😀 sub:😀/]"},
		{ListOptions{Delimiter: "/", Reverse: true}, "[sub:😀/ 😀 \uffff sub:é/ é z sub:c/ sub:b/ b a0 sub:a/ a-b a]"},
		{ListOptions{Reverse: true, Limit: 3}, "[😀/a 😀 \uffff]"},
		{ListOptions{Reverse: true, Marker: "b", EndMarker: "a/c"}, "[a0]"},
		{ListOptions{Reverse: true, Prefix: "a/", Delimiter: "/"}, "[a/c sub:a/b/ a/b a/]"},
		{ListOptions{Prefix: "c/", Delimiter: "/"}, "[c/ sub:c//]"},
		{ListOptions{Delimiter: "/b", Prefix: "a"}, "[a a-b a/ sub:a/b a/c a0]"},
		{ListOptions{Prefix: "é"}, "[é é/x]"},
		{ListOptions{Prefix: "zz"}, "[]"},
		{ListOptions{EndMarker: "a0", Prefix: "a/"}, "[a/ a/b a/b/c a/c]"},
	} {
		got, err := s.ListObjects(dev, 1, "AUTH_a", "c", tc.o)
		if err != nil {
			t.Fatal(err)
		}
		if names(got) != tc.want {
			t.Errorf("%+v:\n got %s\nwant %s", tc.o, names(got), tc.want)
		}
		sorted := slices.Clone(all)
		sort.Strings(sorted)
		if ref := fmt.Sprint(refList(sorted, tc.o)); ref != tc.want {
			t.Errorf("%+v: reference gives %s", tc.o, ref)
		}
	}
}

// TestListingMatchesSwift compares random listings against refList.
func TestListingMatchesSwift(t *testing.T) {
	s, _ := newTestStore(t, 0)
	rng := rand.New(rand.NewPCG(3, 4))
	alphabet := []string{"a", "b", "/", "-", "é", "😀", "\uffff", "ab"}
	word := func(max int) string {
		var b strings.Builder
		for range 1 + rng.IntN(max) {
			b.WriteString(alphabet[rng.IntN(len(alphabet))])
		}
		return b.String()
	}
	seen := map[string]bool{}
	for range 400 {
		n := word(5)
		if rng.IntN(50) == 0 {
			n = "\x00" + n
		}
		seen[n] = true
	}
	var all []string
	for n := range seen {
		all = append(all, n)
	}
	sort.Strings(all)
	fillContainer(t, s, "c", all)
	// Delete some rows: they must vanish from listings unless asked for.
	var live []string
	for i, n := range all {
		if i%5 == 0 {
			if err := s.PutObjectRow(dev, 1, "AUTH_a", "c", ObjectRow{Name: n, Timestamp: ts(3), Deleted: true}); err != nil {
				t.Fatal(err)
			}
		} else {
			live = append(live, n)
		}
	}
	pick := func() string {
		switch rng.IntN(4) {
		case 0:
			return ""
		case 1:
			return all[rng.IntN(len(all))]
		default:
			return word(3)
		}
	}
	delims := []string{"", "", "/", "-", "é", "b/", "😀"}
	for i := range 3000 {
		o := ListOptions{
			Delimiter:      delims[rng.IntN(len(delims))],
			Marker:         pick(),
			EndMarker:      pick(),
			Limit:          rng.IntN(30),
			Reverse:        rng.IntN(2) == 0,
			IncludeDeleted: rng.IntN(4) == 0,
			AllowReserved:  rng.IntN(4) == 0,
		}
		if rng.IntN(2) == 0 {
			p := all[rng.IntN(len(all))]
			o.Prefix = p[:rng.IntN(len(p)+1)]
			if !utf8.ValidString(o.Prefix) || rng.IntN(5) == 0 {
				o.Prefix = word(2)
			}
		}
		src := live
		if o.IncludeDeleted {
			src = all
		}
		want := fmt.Sprint(refList(src, o))
		got, err := s.ListObjects(dev, 1, "AUTH_a", "c", o)
		if err != nil {
			t.Fatal(err)
		}
		if names(got) != want {
			t.Fatalf("case %d %#v:\n got %s\nwant %s", i, o, names(got), want)
		}
	}
}

// TestDelimiterSkipsAhead lists a 200k-row container with a delimiter:
// every roll-up must cost a seek, not a walk over the rows beneath it.
func TestDelimiterSkipsAhead(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a 200k-row container")
	}
	s, _ := newTestStore(t, 0)
	mustCreateContainer(t, s, "big")
	const dirs, per = 200, 1000
	rows := make([]ObjectRow, 0, per)
	for d := range dirs {
		rows = rows[:0]
		for o := range per {
			rows = append(rows, ObjectRow{Name: fmt.Sprintf("d%03d/o%04d", d, o), Timestamp: ts(2), Size: 1})
		}
		if d%2 == 0 {
			// Half the names are deleted, so live listings must not
			// step over tombstones either.
			for i := range rows {
				rows[i].Deleted = i%2 == 0
			}
		}
		if err := s.MergeObjectRows(dev, 1, "AUTH_a", "big", rows); err != nil {
			t.Fatal(err)
		}
	}
	for _, o := range []ListOptions{
		{Delimiter: "/", Limit: 50},
		{Delimiter: "/", Limit: 50, Reverse: true},
		{Delimiter: "/", Limit: 50, IncludeDeleted: true},
		{Prefix: "d100/", Limit: 100},
		{Marker: "d150/o0500", Limit: 100, Reverse: true},
	} {
		got, visited, err := s.listObjects(dev, 1, "AUTH_a", "big", o)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != o.Limit {
			t.Fatalf("%+v: %d entries", o, len(got))
		}
		if visited > 3*o.Limit+4 {
			t.Fatalf("%+v: read %d keys for %d entries", o, visited, len(got))
		}
	}
	info, err := s.ContainerInfo(dev, 1, "AUTH_a", "big")
	if err != nil || info.ObjectCount != dirs*per*3/4 {
		t.Fatalf("count %d %v", info.ObjectCount, err)
	}
}

// BenchmarkList lists 10000 names from a container of 1,000,000.
func BenchmarkList(b *testing.B) {
	s, _ := newTestStore(b, 0)
	mustCreateContainer(b, s, "big")
	rows := make([]ObjectRow, 0, 10000)
	for i := range 1_000_000 {
		rows = append(rows, ObjectRow{Name: fmt.Sprintf("obj/%07d", i), Timestamp: ts(2), Size: 1, ContentType: "text/plain", ETag: "d41d8cd98f00b204e9800998ecf8427e"})
		if len(rows) == cap(rows) {
			if err := s.MergeObjectRows(dev, 1, "AUTH_a", "big", rows); err != nil {
				b.Fatal(err)
			}
			rows = rows[:0]
		}
	}
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		marker := fmt.Sprintf("obj/%07d", (i*10000)%990000)
		got, err := s.ListObjects(dev, 1, "AUTH_a", "big", ListOptions{Marker: marker, Limit: 10000})
		if err != nil || len(got) != 10000 {
			b.Fatal(len(got), err)
		}
	}
}
