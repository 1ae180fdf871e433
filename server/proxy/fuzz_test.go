package proxy

import (
	"crypto/hmac"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/valyala/fasthttp"
)

// Fuzz targets for what a Swift client controls before it is trusted:
// Range headers, listing parameters, tempurl and formpost signatures.

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

// FuzzTempURLSignature: the signature forms Swift accepts name one
// digest each, and a signature this server would make is read back as
// that digest in every form.
func FuzzTempURLSignature(f *testing.F) {
	f.Add(strings.Repeat("ab", 20), "1440619048", "GET", "/v1/AUTH_a/c/o", "key", "")
	f.Add("sha512:"+base64.RawURLEncoding.EncodeToString([]byte{0xfb, 0xff}), "2015-08-26T20:04:08Z", "PUT", "/v1/a/c/o%2F..", "", "1.2.3.0/24")
	f.Add("sha256:!!", "-1", "HEAD", "/v1/a//o", "k", "")
	f.Fuzz(func(t *testing.T, sig, expires, method, path, key, ipRange string) {
		algo, hexSig, ok := splitSignature(sig)
		if ok {
			if algo == "" && !strings.Contains(sig, ":") {
				t.Fatalf("%q split without an algorithm", sig)
			}
			if _, err := hex.DecodeString(hexSig); err != nil {
				t.Fatalf("%q split to non-hex %q", sig, hexSig)
			}
		}
		now := time.Now()
		exp := parseExpires(expires, now)
		if exp != 0 && float64(exp) < float64(now.UnixNano())/1e9 {
			t.Fatalf("expiry %q read as %d, in the past", expires, exp)
		}
		if exp > 0 && exp < 1<<40 {
			iso := time.Unix(exp, 0).UTC().Format("2006-01-02T15:04:05Z")
			if back := parseExpires(iso, now); back != exp {
				t.Fatalf("expiry %d as %s read back as %d", exp, iso, back)
			}
		}
		for _, a := range []string{"sha1", "sha256", "sha512"} {
			want := signHMAC(a, method, exp, path, key, ipRange)
			raw, _ := hex.DecodeString(want)
			for _, form := range []string{want, a + ":" + base64.StdEncoding.EncodeToString(raw), a + ":" + base64.RawURLEncoding.EncodeToString(raw)} {
				ga, gs, ok := splitSignature(form)
				if !ok || ga != a || gs != want {
					t.Fatalf("%s signature %q read as %q %q %v", a, form, ga, gs, ok)
				}
			}
			// Only the digest of exactly these values matches: another
			// method or path signs differently.
			if signHMAC(a, method+"X", exp, path, key, ipRange) == want || signHMAC(a, method, exp, path+"X", key, ipRange) == want {
				t.Fatal("signature does not cover the method and path")
			}
		}
		ctx := &fasthttp.RequestCtx{}
		ctx.Request.SetRequestURI(path)
		if a, c, o, ok := tempURLPath(ctx); ok {
			if a == "" || c == "" || strings.Trim(o, "/") == "" || strings.Contains(a, "/") || strings.Contains(c, "/") {
				t.Fatalf("%q split as %q %q %q", path, a, c, o)
			}
		}
	})
}

// FuzzFormPostSignature drives formpost's upload step with fuzzed form
// fields: the upload goes ahead only with a signature of exactly the
// signed fields by the key, and before the form expires.
func FuzzFormPostSignature(f *testing.F) {
	in := time.Now().Add(time.Hour).Unix()
	msg := func(path, redirect, size, count string, exp int64) string {
		return path + "\n" + redirect + "\n" + size + "\n" + count + "\n" + strconv.FormatInt(exp, 10)
	}
	good := signHMACRaw("sha256", "key", msg("/v1/a/c/", "", "100", "1", in))
	f.Add("/v1/a/c/", "", "100", "1", strconv.FormatInt(in, 10), good, "key")
	f.Add("/v1/a/c/", "http://x", "100", "1", strconv.FormatInt(in, 10), "sha256:"+good, "key")
	f.Add("/v1/a/c/p", "", "x", "1", "0", "", "")
	f.Add("/v1/a/c/", "", "100", "1", "99999999999999999999", strings.Repeat("0", 64), "key")
	f.Fuzz(func(t *testing.T, path, redirect, maxSize, maxCount, expires, sig, key string) {
		if key == "" {
			return
		}
		attrs := map[string]string{"redirect": redirect, "max_file_size": maxSize, "max_file_count": maxCount,
			"expires": expires, "signature": sig, "filename": "f"}
		ctx := &fasthttp.RequestCtx{}
		ctx.Request.SetRequestURI(path)
		called := false
		next := func(sub *fasthttp.RequestCtx) { called = true; sub.SetStatusCode(201) }
		p := &Proxy{}
		code, _, err := p.formUpload(ctx, next, path, attrs, strings.NewReader(""), []string{key}, []string{"sha1", "sha256", "sha512"})
		if called != (err == nil) {
			t.Fatalf("upload ran %v with error %v (code %d)", called, err, code)
		}
		if !called {
			return
		}
		exp, errExp := strconv.ParseInt(orZero(expires), 10, 64)
		if errExp != nil || exp < time.Now().Unix() {
			t.Fatalf("upload with expiry %q", expires)
		}
		algo, hexSig, ok := splitSignature(sig)
		want := signHMACRaw(algo, key, path+"\n"+redirect+"\n"+orZero(maxSize)+"\n"+orZero(maxCount)+"\n"+orZero(expires))
		if !ok || !hmac.Equal([]byte(hexSig), []byte(want)) {
			t.Fatalf("upload with signature %q for %q", sig, fmt.Sprint(attrs))
		}
	})
}
