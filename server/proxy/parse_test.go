package proxy

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"swiftbox/storage/db"
	"swiftbox/storage/timestamp"
)

// newSreq builds a request for the parsers; headers are name, value pairs.
func newSreq(method, uri string, headers ...string) *Request {
	ctx := &fasthttp.RequestCtx{}
	ctx.Request.SetRequestURI(uri)
	ctx.Request.Header.SetMethod(method)
	for i := 0; i+1 < len(headers); i += 2 {
		ctx.Request.Header.Set(headers[i], headers[i+1])
	}
	return &Request{Ctx: ctx, Method: method}
}

// code is the status err maps to, or 0 for no error.
func code(err error) int {
	if err == nil {
		return 0
	}
	return StatusOf(err)
}

func TestParseRange(t *testing.T) {
	tests := []struct {
		h     string
		size  int64
		want  []ByteRange
		ok    bool
		unsat bool
	}{
		{h: "bytes=0-9", size: 10, want: []ByteRange{{0, 9}}, ok: true},
		{h: "bytes=0-0", size: 10, want: []ByteRange{{0, 0}}, ok: true},
		{h: "bytes=5-", size: 10, want: []ByteRange{{5, 9}}, ok: true},
		{h: "bytes=9-", size: 10, want: []ByteRange{{9, 9}}, ok: true},
		{h: "bytes=-3", size: 10, want: []ByteRange{{7, 9}}, ok: true},
		{h: "bytes=-10", size: 10, want: []ByteRange{{0, 9}}, ok: true},
		{h: "bytes=-100", size: 10, want: []ByteRange{{0, 9}}, ok: true},
		{h: "bytes=5-100", size: 10, want: []ByteRange{{5, 9}}, ok: true},
		{h: "bytes=0-1,5-6", size: 10, want: []ByteRange{{0, 1}, {5, 6}}, ok: true},
		{h: "bytes=0-1, 5-6 ,-2", size: 10, want: []ByteRange{{0, 1}, {5, 6}, {8, 9}}, ok: true},
		{h: " Bytes = 2-3 ", size: 10, want: []ByteRange{{2, 3}}, ok: true},
		{h: "bytes=0-1,10-20", size: 10, want: []ByteRange{{0, 1}}, ok: true},
		{h: "bytes=10-", size: 10, ok: true, unsat: true},
		{h: "bytes=10-20", size: 10, ok: true, unsat: true},
		{h: "bytes=100-", size: 10, ok: true, unsat: true},
		{h: "bytes=-0", size: 10, ok: true, unsat: true},
		{h: "bytes=10-20,-0", size: 10, ok: true, unsat: true},
		{h: "bytes=-3", size: 0, ok: true, unsat: true},
		{h: "bytes=0-", size: 0, ok: true, unsat: true},
		{h: "bytes=0-0", size: 0, ok: true, unsat: true},
		{h: "bytes=x-y", size: 10},
		{h: "bytes=0-y", size: 10},
		{h: "bytes=x-1", size: 10},
		{h: "items=0-1", size: 10},
		{h: "bytes=5-2", size: 10},
		{h: "bytes=-", size: 10},
		{h: "bytes=5", size: 10},
		{h: "bytes=", size: 10},
		{h: "bytes=,", size: 10},
		{h: "bytes", size: 10},
		{h: "", size: 10},
		{h: "bytes=0-1,x", size: 10},
		{h: "bytes=--1", size: 10},
		{h: "bytes=1-2-3", size: 10},
		{h: "bytes=" + strings.Repeat("0-0,", 101), size: 10},

		// Swift's limits on multiple ranges (test_swob.py
		// test_ranges_for_length_*): egregious sets are ignored.
		{h: "bytes=10-19,15-24", size: 100, want: []ByteRange{{10, 19}, {15, 24}}, ok: true},
		{h: "bytes=10-19,15-24,20-29", size: 100, want: []ByteRange{{10, 19}, {15, 24}, {20, 29}}, ok: true},
		{h: "bytes=10-19,20-29,30-39", size: 100, want: []ByteRange{{10, 19}, {20, 29}, {30, 39}}, ok: true},
		{h: "bytes=10-20,20-30,30-40,40-50", size: 100},
		{h: "bytes=10-15,15-20,30-39,-9", size: 100, want: []ByteRange{{10, 15}, {15, 20}, {30, 39}, {91, 99}}, ok: true},
		{h: "bytes=10-15,15-20,30-39,-9", size: 20},
		{h: "bytes=100-109,200-209,300-309,500-509,400-409,600-609,700-709", size: 100000,
			want: []ByteRange{{100, 109}, {200, 209}, {300, 309}, {500, 509}, {400, 409}, {600, 609}, {700, 709}}, ok: true},
		{h: "bytes=100-109,200-209,300-309,500-509,400-409,600-609,700-709,800-809", size: 100000},
		{h: "bytes=" + strings.TrimSuffix(strings.Repeat("0-0,", 50), ","), size: 100, want: slices.Repeat([]ByteRange{{0, 0}}, 50), ok: true},
		{h: "bytes=" + strings.TrimSuffix(strings.Repeat("0-0,", 51), ","), size: 100},
		{h: "bytes=" + tenByteRanges(50), size: 1000, want: tenByteWant(50), ok: true},
		{h: "bytes=" + tenByteRanges(51), size: 2000},
		// Beyond Swift: ranges adding up to more than the object (identical
		// ranges pass Swift's overlap test) — the amplification of issue 12.
		{h: "bytes=" + strings.TrimSuffix(strings.Repeat("0-,", 100), ","), size: 5 << 20},
		{h: "bytes=" + strings.TrimSuffix(strings.Repeat("0-,", 2), ","), size: 5 << 20},
		{h: "bytes=0-5,0-5", size: 10},
		{h: "bytes=0-4,0-4", size: 10, want: []ByteRange{{0, 4}, {0, 4}}, ok: true},
	}
	for _, tc := range tests {
		got, ok, unsat := ParseRange(tc.h, tc.size)
		if !slices.Equal(got, tc.want) || ok != tc.ok || unsat != tc.unsat {
			t.Errorf("parseRange(%q, %d) = %v, %v, %v; want %v, %v, %v",
				tc.h, tc.size, got, ok, unsat, tc.want, tc.ok, tc.unsat)
		}
	}
}

// tenByteRanges is n ascending, disjoint 10-byte ranges.
func tenByteRanges(n int) string {
	var parts []string
	for i := range n {
		parts = append(parts, fmt.Sprintf("%d-%d", i*20, i*20+9))
	}
	return strings.Join(parts, ",")
}

func tenByteWant(n int) []ByteRange {
	var out []ByteRange
	for i := range n {
		out = append(out, ByteRange{int64(i * 20), int64(i*20 + 9)})
	}
	return out
}

func TestEtagMatches(t *testing.T) {
	tests := []struct {
		header, etag string
		want         bool
	}{
		{"abc", "abc", true},
		{`"abc"`, "abc", true},
		{`W/"abc"`, "abc", true},
		{`"x", "abc"`, "abc", true},
		{` "x" ,"abc" `, "abc", true},
		{"*", "abc", true},
		{`"x", *`, "abc", true},
		{`"xyz"`, "abc", false},
		{`"ab"`, "abc", false},
		{`"ABC"`, "abc", false},
		{`"x","y"`, "abc", false},
	}
	for _, tc := range tests {
		if got := etagMatches(tc.header, tc.etag); got != tc.want {
			t.Errorf("etagMatches(%q, %q) = %v, want %v", tc.header, tc.etag, got, tc.want)
		}
	}
}

func TestConditional(t *testing.T) {
	// Last-Modified rounds 1700000000.00001 up to 1700000001.
	ts := timestamp.Timestamp{Raw: 1700000000*100000 + 1}
	date := func(sec int64) string { return time.Unix(sec, 0).UTC().Format(http.TimeFormat) }
	lm := int64(1700000001)
	tests := []struct {
		name    string
		method  string
		headers []string
		want    int
	}{
		{"no headers", "GET", nil, 0},
		{"If-Match hit", "GET", []string{"If-Match", `"abc"`}, 0},
		{"If-Match star", "GET", []string{"If-Match", "*"}, 0},
		{"If-Match miss", "GET", []string{"If-Match", `"xyz"`}, 412},
		{"If-Match miss on HEAD", "HEAD", []string{"If-Match", `"xyz"`}, 412},
		{"If-Match miss on DELETE", "DELETE", []string{"If-Match", `"xyz"`}, 412},
		{"If-None-Match hit GET", "GET", []string{"If-None-Match", `"abc"`}, 304},
		{"If-None-Match hit HEAD", "HEAD", []string{"If-None-Match", `"abc"`}, 304},
		{"If-None-Match star GET", "GET", []string{"If-None-Match", "*"}, 304},
		{"If-None-Match hit POST", "POST", []string{"If-None-Match", `"abc"`}, 412},
		{"If-None-Match miss", "GET", []string{"If-None-Match", `"xyz"`}, 0},
		{"If-Match miss wins over If-None-Match", "GET", []string{"If-Match", `"xyz"`, "If-None-Match", `"abc"`}, 412},
		{"If-Modified-Since equal", "GET", []string{"If-Modified-Since", date(lm)}, 304},
		{"If-Modified-Since later", "GET", []string{"If-Modified-Since", date(lm + 60)}, 304},
		{"If-Modified-Since earlier", "GET", []string{"If-Modified-Since", date(lm - 1)}, 0},
		{"If-Modified-Since garbage", "GET", []string{"If-Modified-Since", "yesterday"}, 0},
		{"If-Modified-Since on POST", "POST", []string{"If-Modified-Since", date(lm)}, 0},
		{"If-Modified-Since ignored with If-None-Match", "GET",
			[]string{"If-None-Match", `"xyz"`, "If-Modified-Since", date(lm)}, 0},
		{"If-Unmodified-Since earlier", "GET", []string{"If-Unmodified-Since", date(lm - 1)}, 412},
		{"If-Unmodified-Since equal", "GET", []string{"If-Unmodified-Since", date(lm)}, 0},
		{"If-Unmodified-Since later", "GET", []string{"If-Unmodified-Since", date(lm + 1)}, 0},
		{"If-Unmodified-Since garbage", "GET", []string{"If-Unmodified-Since", "soon"}, 0},
		{"If-Unmodified-Since on DELETE", "DELETE", []string{"If-Unmodified-Since", date(lm - 1)}, 412},
		{"If-Unmodified-Since checked with a matching If-Match (Swift)", "GET",
			[]string{"If-Match", `"abc"`, "If-Unmodified-Since", date(lm - 1)}, 412},
		{"RFC 850 date", "GET", []string{"If-Modified-Since", time.Unix(lm, 0).UTC().Format(time.RFC850)}, 304},
		{"asctime date", "GET", []string{"If-Modified-Since", time.Unix(lm, 0).UTC().Format(time.ANSIC)}, 304},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newSreq(tc.method, "/v1/a/c/o", tc.headers...)
			if got := Conditional(r, "abc", ts); got != tc.want {
				t.Errorf("conditional(%s %q) = %d, want %d", tc.method, tc.headers, got, tc.want)
			}
		})
	}
}

func TestSplitPath(t *testing.T) {
	tests := []struct {
		uri                    string
		version, acct, cont, o string
		status                 int
		skip                   string
	}{
		{uri: "/v1/AUTH_a", version: "v1", acct: "AUTH_a"},
		{uri: "/v1/AUTH_a/", version: "v1", acct: "AUTH_a"},
		{uri: "/v1/AUTH_a/c", version: "v1", acct: "AUTH_a", cont: "c"},
		{uri: "/v1/AUTH_a/c/", version: "v1", acct: "AUTH_a", cont: "c"},
		{uri: "/v1/AUTH_a/c/o", version: "v1", acct: "AUTH_a", cont: "c", o: "o"},
		{uri: "/v1/AUTH_a/c/o?format=json&x=/y", version: "v1", acct: "AUTH_a", cont: "c", o: "o"},
		{uri: "/v1/AUTH_a/c/o/with//slashes/", version: "v1", acct: "AUTH_a", cont: "c", o: "o/with//slashes/"},
		{uri: "/v1/AUTH_a/c//o", version: "v1", acct: "AUTH_a", cont: "c", o: "/o"},
		{uri: "/v1/AUTH_a/c/./../o", version: "v1", acct: "AUTH_a", cont: "c", o: "./../o"},
		{uri: "/v1/AUTH_a/c/%E2%98%83", version: "v1", acct: "AUTH_a", cont: "c", o: "☃"},
		{uri: "/v1/AUTH_a/%E2%98%83/o", version: "v1", acct: "AUTH_a", cont: "☃", o: "o"},
		{uri: "/v1/AUTH_a/c/a%2Fb", version: "v1", acct: "AUTH_a", cont: "c", o: "a/b"},
		{uri: "/v1/AUTH_a/c/a%2fb%2F", version: "v1", acct: "AUTH_a", cont: "c", o: "a/b/"},
		{uri: "/v1/AUTH_a/c/a+b", version: "v1", acct: "AUTH_a", cont: "c", o: "a+b"},
		{uri: "/v1/AUTH_a/c/a%20b", version: "v1", acct: "AUTH_a", cont: "c", o: "a b"},
		{uri: "/v1/AUTH_a/c/a%3Fb", version: "v1", acct: "AUTH_a", cont: "c", o: "a?b"},
		{uri: "/v1", version: "v1"},
		{uri: "http://example.com/v1/AUTH_a/c/o", version: "v1", acct: "AUTH_a", cont: "c", o: "o"},
		{uri: "/v1/AUTH_a/c/%FF", status: 412},
		{uri: "/v1/AUTH_a/%FF", status: 412},
		{uri: "/v1/AUTH_a/c/a%00b", status: 412},
		{uri: "/v1/AUTH_a/c/%C0%AF", status: 412},
		{uri: "/v1/AUTH_a/c/%zz", status: 400},
		{uri: "/v1/AUTH_a/c/%", status: 400},
		{uri: "/v1//c", status: 404},
		{uri: "/v1//c/o", status: 404},
		{uri: "/v1/AUTH_a//o", status: 404},
		{uri: "/v1/AUTH_a/c%2Fx/o", version: "v1", acct: "AUTH_a", cont: "c", o: "x/o"},
		{uri: "/v1/AUTH_a%2Fc", version: "v1", acct: "AUTH_a", cont: "c"},
	}
	for _, tc := range tests {
		t.Run(tc.uri, func(t *testing.T) {
			if tc.skip != "" {
				t.Skip(tc.skip)
			}
			ctx := &fasthttp.RequestCtx{}
			ctx.Request.SetRequestURI(tc.uri)
			v, a, c, o, err := SplitPath(ctx)
			if got := code(err); got != tc.status {
				t.Fatalf("splitPath(%q) error %v (status %d), want status %d", tc.uri, err, got, tc.status)
			}
			if err != nil {
				return
			}
			if v != tc.version || a != tc.acct || c != tc.cont || o != tc.o {
				t.Errorf("splitPath(%q) = %q %q %q %q; want %q %q %q %q", tc.uri, v, a, c, o, tc.version, tc.acct, tc.cont, tc.o)
			}
		})
	}
}

func TestListingFormat(t *testing.T) {
	tests := []struct {
		query, accept string
		want          string
		status        int
		skip          string
	}{
		{want: "plain"},
		{query: "format=json", want: "json"},
		{query: "format=JSON", want: "json"},
		{query: "format=xml", want: "xml"},
		{query: "format=plain", want: "plain"},
		{query: "format=txt", want: "plain"},
		{query: "format=bogus", want: "plain"},
		{query: "format=xml", accept: "application/json", want: "xml"},
		{query: "format=json", accept: "text/html", want: "json"},
		{accept: "application/json", want: "json"},
		{accept: "application/json; charset=utf-8", want: "json"},
		{accept: "Application/JSON", want: "json"},
		{accept: "application/xml", want: "xml"},
		{accept: "text/xml", want: "xml"},
		{accept: "text/plain", want: "plain"},
		{accept: "*/*", want: "plain"},
		{accept: "text/*", want: "plain"},
		{accept: "text/html", status: 406},
		{accept: "image/png", status: 406},
		{accept: "application/*", want: "json"},
	}
	for _, tc := range tests {
		t.Run(tc.query+"|"+tc.accept, func(t *testing.T) {
			if tc.skip != "" {
				t.Skip(tc.skip)
			}
			var hdr []string
			if tc.accept != "" {
				hdr = []string{"Accept", tc.accept}
			}
			got, err := ListingFormat(newSreq("GET", "/v1/a/c?"+tc.query, hdr...))
			if code(err) != tc.status || (err == nil && got != tc.want) {
				t.Errorf("listingFormat = %q, %v; want %q, status %d", got, err, tc.want, tc.status)
			}
		})
	}
}

func TestListOptions(t *testing.T) {
	const maxLimit = 10000
	tests := []struct {
		query  string
		want   db.ListOptions
		status int
	}{
		{query: "", want: db.ListOptions{Limit: maxLimit}},
		{query: "limit=1", want: db.ListOptions{Limit: 1}},
		{query: "limit=0", want: db.ListOptions{Limit: 0}},
		{query: "limit=10000", want: db.ListOptions{Limit: maxLimit}},
		{query: "limit=10001", status: 412},
		{query: "limit=99999999999999999999", status: 412},
		{query: "limit=-1", want: db.ListOptions{Limit: maxLimit}},  // Swift ignores a non-numeric limit
		{query: "limit=abc", want: db.ListOptions{Limit: maxLimit}}, // Swift ignores a non-numeric limit
		{query: "limit=1.5", want: db.ListOptions{Limit: maxLimit}}, // Swift ignores a non-numeric limit
		{query: "prefix=p&delimiter=/&marker=m&end_marker=z",
			want: db.ListOptions{Prefix: "p", Delimiter: "/", Marker: "m", EndMarker: "z", Limit: maxLimit}},
		{query: "prefix=%E2%98%83", want: db.ListOptions{Prefix: "☃", Limit: maxLimit}},
		{query: "marker=a%2Fb+c", want: db.ListOptions{Marker: "a/b c", Limit: maxLimit}},
		{query: "delimiter=ab", want: db.ListOptions{Delimiter: "ab", Limit: maxLimit}},
		{query: "delimiter=%2F%2F", want: db.ListOptions{Delimiter: "//", Limit: maxLimit}},
		{query: "prefix=%FF", status: 412},
		{query: "marker=a%00", want: db.ListOptions{Marker: "a\x00", Limit: maxLimit}},
		{query: "end_marker=%C0", status: 412},
		{query: "delimiter=%00", want: db.ListOptions{Delimiter: "\x00", Limit: maxLimit}}, // NUL is allowed in query parameters
		{query: "reverse=true", want: db.ListOptions{Limit: maxLimit, Reverse: true}},
		{query: "reverse=TRUE", want: db.ListOptions{Limit: maxLimit, Reverse: true}},
		{query: "reverse=1", want: db.ListOptions{Limit: maxLimit, Reverse: true}},
		{query: "reverse=yes", want: db.ListOptions{Limit: maxLimit, Reverse: true}},
		{query: "reverse=on", want: db.ListOptions{Limit: maxLimit, Reverse: true}},
		{query: "reverse=t", want: db.ListOptions{Limit: maxLimit, Reverse: true}},
		{query: "reverse=y", want: db.ListOptions{Limit: maxLimit, Reverse: true}},
		{query: "reverse=false", want: db.ListOptions{Limit: maxLimit}},
		{query: "reverse=0", want: db.ListOptions{Limit: maxLimit}},
		{query: "reverse=no", want: db.ListOptions{Limit: maxLimit}},
		{query: "reverse=", want: db.ListOptions{Limit: maxLimit}},
		{query: "reverse=2", want: db.ListOptions{Limit: maxLimit}},
	}
	for _, tc := range tests {
		t.Run(tc.query, func(t *testing.T) {
			got, err := listOptions(newSreq("GET", "/v1/a/c?"+tc.query), maxLimit)
			if c := code(err); c != tc.status {
				t.Fatalf("listOptions(%q) error %v, want status %d", tc.query, err, tc.status)
			}
			if err == nil && got != tc.want {
				t.Errorf("listOptions(%q) = %+v, want %+v", tc.query, got, tc.want)
			}
		})
	}
}

func TestHTTPDate(t *testing.T) {
	const sec = 1700000000 // Tue, 14 Nov 2023 22:13:20 GMT
	tests := []struct {
		ts      timestamp.Timestamp
		want    string
		wantSec int64
	}{
		{timestamp.FromUnix(sec), "Tue, 14 Nov 2023 22:13:20 GMT", sec},
		{timestamp.Timestamp{Raw: sec*100000 + 1}, "Tue, 14 Nov 2023 22:13:21 GMT", sec + 1},
		{timestamp.Timestamp{Raw: sec*100000 + 50000}, "Tue, 14 Nov 2023 22:13:21 GMT", sec + 1},
		{timestamp.Timestamp{Raw: sec*100000 + 99999}, "Tue, 14 Nov 2023 22:13:21 GMT", sec + 1},
		{timestamp.Timestamp{Raw: sec * 100000, Offset: 3}, "Tue, 14 Nov 2023 22:13:20 GMT", sec},
		{timestamp.Timestamp{}, "Thu, 01 Jan 1970 00:00:00 GMT", 0},
	}
	for _, tc := range tests {
		if got := HTTPDate(tc.ts); got != tc.want {
			t.Errorf("httpDate(%v) = %q, want %q", tc.ts, got, tc.want)
		}
		if got := lastModifiedSec(tc.ts); got != tc.wantSec {
			t.Errorf("lastModifiedSec(%v) = %d, want %d", tc.ts, got, tc.wantSec)
		}
		if p, ok := ParseHTTPDate(tc.want); !ok || p.Unix() != tc.wantSec {
			t.Errorf("ParseHTTPDate(%q) = %v, %v; want %d", tc.want, p, ok, tc.wantSec)
		}
	}
}

func TestDeleteAt(t *testing.T) {
	now := time.Unix(1700000000, 0)
	tests := []struct {
		name    string
		headers []string
		want    string
		status  int
		skip    string
	}{
		{name: "none"},
		{name: "after 60", headers: []string{"X-Delete-After", "60"}, want: "1700000060"},
		{name: "after 1", headers: []string{"X-Delete-After", "1"}, want: "1700000001"},
		{name: "after negative", headers: []string{"X-Delete-After", "-1"}, status: 400},
		{name: "after non-integer", headers: []string{"X-Delete-After", "soon"}, status: 400},
		{name: "after float", headers: []string{"X-Delete-After", "1.5"}, status: 400},
		{name: "after wins over at", headers: []string{"X-Delete-After", "10", "X-Delete-At", "1800000000"}, want: "1700000010"},
		{name: "after zero", headers: []string{"X-Delete-After", "0"}, status: 400},
		{name: "at future", headers: []string{"X-Delete-At", "1700000100"}, want: "1700000100"},
		{name: "at now", headers: []string{"X-Delete-At", "1700000000"}, status: 400},
		{name: "at past", headers: []string{"X-Delete-At", "1600000000"}, status: 400},
		{name: "at negative", headers: []string{"X-Delete-At", "-5"}, status: 400},
		{name: "at non-integer", headers: []string{"X-Delete-At", "tomorrow"}, status: 400},
		{name: "at float past", headers: []string{"X-Delete-At", "1699999999.9"}, status: 400},
		{name: "at float future", headers: []string{"X-Delete-At", "1700000100.5"}, status: 400},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.skip != "" {
				t.Skip(tc.skip)
			}
			got, err := deleteAt(newSreq("PUT", "/v1/a/c/o", tc.headers...), now)
			if c := code(err); c != tc.status || got != tc.want {
				t.Errorf("deleteAt(%q) = %q, %v; want %q, status %d", tc.headers, got, err, tc.want, tc.status)
			}
		})
	}
}

func TestGuessContentType(t *testing.T) {
	tests := []struct{ name, want string }{
		{"photo.jpg", "image/jpeg"},
		{"dir/photo.JPG", "image/jpeg"},
		{"a.png", "image/png"},
		{"notes.txt", "text/plain"},
		{"index.html", "text/html"},
		{"data.json", "application/json"},
		{"file.zzunknownzz", "application/octet-stream"},
		{"noext", "application/octet-stream"},
		{"dir.jpg/noext", "application/octet-stream"},
		{"", "application/octet-stream"},
	}
	for _, tc := range tests {
		if got := GuessContentType(tc.name); got != tc.want {
			t.Errorf("guessContentType(%q) = %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestWriteObjectListing(t *testing.T) {
	ts := timestamp.Timestamp{Raw: 1700000000*100000 + 12345}
	entries := []db.ObjectEntry{
		{ObjectRow: db.ObjectRow{Name: `a<&>"b`, Timestamp: ts, Size: 3, ContentType: "text/plain", ETag: "e1"}},
		{Subdir: "d<&>/"},
	}
	tests := []struct {
		format  string
		entries []db.ObjectEntry
		status  int
		ctype   string
		body    string
	}{
		{"json", entries, 200, "application/json; charset=utf-8",
			`[{"bytes": 3, "hash": "e1", "name": "a<&>\"b", "content_type": "text/plain", "last_modified": "2023-11-14T22:13:20.123450"}, {"subdir": "d<&>/"}]`},
		{"json", nil, 200, "application/json; charset=utf-8", `[]`},
		{"xml", entries, 200, "application/xml; charset=utf-8",
			`<?xml version="1.0" encoding="UTF-8"?>` + "\n" + `<container name="c&lt;&amp;&gt;">` +
				`<object><name>a&lt;&amp;&gt;&#34;b</name><hash>e1</hash><bytes>3</bytes>` +
				`<content_type>text/plain</content_type><last_modified>2023-11-14T22:13:20.123450</last_modified></object>` +
				`<subdir name="d&lt;&amp;&gt;/"><name>d&lt;&amp;&gt;/</name></subdir></container>`},
		{"xml", nil, 200, "application/xml; charset=utf-8",
			`<?xml version="1.0" encoding="UTF-8"?>` + "\n" + `<container name="c&lt;&amp;&gt;"></container>`},
		{"plain", entries, 200, "text/plain; charset=utf-8", "a<&>\"b\nd<&>/\n"},
		{"plain", nil, 204, "text/plain; charset=utf-8", ""},
	}
	for _, tc := range tests {
		t.Run(tc.format, func(t *testing.T) {
			ctx := &fasthttp.RequestCtx{}
			writeObjectListing(ctx, tc.format, "c<&>", tc.entries, nil)
			checkResponse(t, ctx, tc.status, tc.ctype, tc.body)
		})
	}
}

func TestWriteContainerListing(t *testing.T) {
	ts := timestamp.FromUnix(1700000000)
	entries := []db.ContainerEntry{
		{ContainerRow: db.ContainerRow{Name: "c<&>", PutTimestamp: ts, ObjectCount: 2, BytesUsed: 42}},
		{Subdir: "p/"},
	}
	tests := []struct {
		format  string
		entries []db.ContainerEntry
		status  int
		ctype   string
		body    string
	}{
		{"json", entries, 200, "application/json; charset=utf-8",
			`[{"name": "c<&>", "count": 2, "bytes": 42, "last_modified": "2023-11-14T22:13:20.000000"}, {"subdir": "p/"}]`},
		{"json", nil, 200, "application/json; charset=utf-8", `[]`},
		{"xml", entries, 200, "application/xml; charset=utf-8",
			`<?xml version="1.0" encoding="UTF-8"?>` + "\n" + `<account name="AUTH_a&amp;">` +
				`<container><name>c&lt;&amp;&gt;</name><count>2</count><bytes>42</bytes>` +
				`<last_modified>2023-11-14T22:13:20.000000</last_modified></container>` +
				`<subdir name="p/"><name>p/</name></subdir></account>`},
		{"plain", entries, 200, "text/plain; charset=utf-8", "c<&>\np/\n"},
		{"plain", nil, 204, "text/plain; charset=utf-8", ""},
	}
	for _, tc := range tests {
		t.Run(tc.format, func(t *testing.T) {
			ctx := &fasthttp.RequestCtx{}
			writeContainerListing(ctx, tc.format, "AUTH_a&", tc.entries)
			checkResponse(t, ctx, tc.status, tc.ctype, tc.body)
		})
	}
}

func checkResponse(t *testing.T, ctx *fasthttp.RequestCtx, status int, ctype, body string) {
	t.Helper()
	if got := ctx.Response.StatusCode(); got != status {
		t.Errorf("status = %d, want %d", got, status)
	}
	if got := string(ctx.Response.Header.ContentType()); got != ctype {
		t.Errorf("Content-Type = %q, want %q", got, ctype)
	}
	if got := string(ctx.Response.Body()); got != body {
		t.Errorf("body =\n%s\nwant\n%s", got, body)
	}
}

// jsonString writes what Python's json.dumps does (ensure_ascii).
func TestJSONStringLikePython(t *testing.T) {
	for in, want := range map[string]string{
		"plain":     `"plain"`,
		`q"b\s`:     `"q\"b\\s"`,
		"tab\tnl\n": `"tab\tnl\n"`,
		"snow☃":     `"snow\u2603"`,
		"emoji😀":    `"emoji\ud83d\ude00"`,
		"a/b":       `"a/b"`,
		"\x7f\x01":  `"\u007f\u0001"`,
	} {
		if got := JSONString(in); got != want {
			t.Errorf("jsonString(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestParseHTTPDateForms(t *testing.T) {
	want := time.Date(2015, 6, 27, 0, 0, 0, 0, time.UTC)
	for _, s := range []string{
		"Sat, 27 Jun 2015 00:00:00 GMT",    // RFC 1123
		"Saturday, 27-Jun-15 00:00:00 GMT", // RFC 850
		"Sat Jun 27 00:00:00 2015",         // asctime
		"Sat, 27 Jun 2015 00:00:00 -0000",  // Python's formatdate
		"Sat, 27 Jun 2015 02:00:00 +0200",
	} {
		got, ok := ParseHTTPDate(s)
		if !ok || !got.Equal(want) {
			t.Errorf("ParseHTTPDate(%q) = %v, %v; want %v", s, got, ok, want)
		}
	}
	if _, ok := ParseHTTPDate("yesterday"); ok {
		t.Error("ParseHTTPDate accepted \"yesterday\"")
	}
}
