package s3compat

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"io"
	"net/url"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"

	"swiftbox/s3compat/s3detect"
)

// Fuzz targets for what an S3 client sends before it is authenticated or
// trusted: signatures, aws-chunked framing, XML and policy documents.
// Their seed corpora run in every `go test`; `make fuzz` runs each one.

// allocated is the heap bytes fn allocates (roughly: other goroutines
// count too, so bounds built on it are generous).
func allocated(fn func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	fn()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// checkAlloc fails when fn allocates more than per bytes for each input
// byte plus a fixed allowance: parsers must not size buffers by what a
// request claims.
func checkAlloc(t *testing.T, what string, inputLen int, per uint64, fn func()) {
	t.Helper()
	if n := allocated(fn); n > uint64(inputLen)*per+4<<20 {
		t.Fatalf("%s allocated %d bytes for %d bytes of input", what, n, inputLen)
	}
}

func FuzzSigV4Header(f *testing.F) {
	f.Add("Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41",
		"20130524T000000Z", emptySHA256, "x-amz-meta-a")
	f.Add("Credential=a/20130524/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=00", "20130524T000000Z", unsignedPayload, "x-amz-copy-source")
	f.Add("Credential=a/b/c/d/e,SignedHeaders=;;,Signature==", "Fri, 24 May 2013 00:00:00 GMT", streamingPayload, "")
	f.Add("Credential=/20130524/us-east-1/s3/aws4_request,,SignedHeaders=x-amz-date", "x", "", "X-Amz-Date")
	s := testS3()
	f.Fuzz(func(t *testing.T, authz, date, payload, extra string) {
		ctx := exampleCtx("GET", "/bucket/key", "Host:example.com")
		ctx.Request.Header.Set("Authorization", "AWS4-HMAC-SHA256 "+authz)
		// The header as the server holds it (fasthttp turns control
		// characters such as a newline into spaces).
		authz = strings.TrimPrefix(string(ctx.Request.Header.Peek("Authorization")), "AWS4-HMAC-SHA256 ")
		ctx.Request.Header.Set("X-Amz-Date", date)
		ctx.Request.Header.Set("X-Amz-Content-Sha256", payload)
		if extra != "" {
			ctx.Request.Header.Set(extra, "v")
		}
		a, e := s.parseAuth(ctx)
		a2, e2 := s.parseAuth(ctx)
		if fmt.Sprint(a, e) != fmt.Sprint(a2, e2) {
			t.Fatalf("parser disagrees with itself: %v %v / %v %v", a, e, a2, e2)
		}
		if e != nil {
			if e.Status != 400 && e.Status != 403 {
				t.Fatalf("parse error with status %d: %v", e.Status, e)
			}
			return
		}
		if !a.v4 || a.query || len(a.signed) == 0 || a.payload == "" {
			t.Fatalf("header auth parsed as %+v", a)
		}
		if a.scope != a.date.UTC().Format("20060102")+"/"+s.cfg.Location+"/s3/aws4_request" || !strings.HasPrefix(authz, "Credential="+a.access+"/") && !strings.Contains(authz, "Credential="+a.access+"/") {
			t.Fatalf("credential %q parsed as access %q scope %q", authz, a.access, a.scope)
		}
		checkSignedHeaders(t, ctx, a)
	})
}

// checkSignedHeaders: when unsignedAmzHeaders lets a SigV4 request
// through, every x-amz-* header (but a presigned request's payload hash)
// and the host are signed.
func checkSignedHeaders(t *testing.T, ctx *fasthttp.RequestCtx, a *authInfo) {
	t.Helper()
	e := unsignedAmzHeaders(&ctx.Request.Header, a)
	var missing []string
	if !slices.Contains(a.signed, "host") {
		missing = append(missing, "host")
	}
	for k := range ctx.Request.Header.All() {
		n := strings.ToLower(string(k))
		if strings.HasPrefix(n, "x-amz-") && !slices.Contains(a.signed, n) && !(a.query && n == "x-amz-content-sha256") {
			missing = append(missing, n)
		}
	}
	if (e == nil) != (len(missing) == 0) {
		t.Fatalf("unsigned headers %v, check said %v", missing, e)
	}
	if e != nil && (e.Status != 403 || e.Code != "AccessDenied") {
		t.Fatalf("unsigned headers refused with %v", e)
	}
}

func FuzzSigV4Query(f *testing.F) {
	f.Add("X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404",
		"secret", "x-amz-acl")
	f.Add("X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=a%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=604801&X-Amz-SignedHeaders=host%3Bx-amz-acl&X-Amz-Signature=0&acl&versionId=1",
		"", "")
	f.Add("X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=a%2F2013&X-Amz-Date=2013&X-Amz-Expires=-1&X-Amz-SignedHeaders=&X-Amz-Signature=", "k", "X-Amz-Content-Sha256")
	f.Add("X-Amz-Credential=x&X-Amz-Signature=y&X-Amz-Expires=99999999999999999999", "k", "")
	s := testS3()
	f.Fuzz(func(t *testing.T, query, secret, extra string) {
		ctx := exampleCtx("GET", "/bucket/key?"+query, "Host:example.com")
		if extra != "" {
			ctx.Request.Header.Set(extra, "v")
		}
		if !s3detect.IsS3Request(ctx) {
			return
		}
		a, e := s.parseAuth(ctx)
		a2, e2 := s.parseAuth(ctx)
		if fmt.Sprint(a, e) != fmt.Sprint(a2, e2) {
			t.Fatalf("parser disagrees with itself: %v %v / %v %v", a, e, a2, e2)
		}
		if e != nil || !a.v4 {
			return
		}
		if !a.query || a.expires < 0 || a.expires > maxPresignExpires || a.date.UTC().Format(amzDateFormat) != a.amzDate {
			t.Fatalf("presigned query parsed as %+v", a)
		}
		checkSignedHeaders(t, ctx, a)
		// The verifier agrees with the signer built on the same canonical
		// request, and only with it.
		cr, ok := requestForSigning(ctx, a.signed).canonicalRequest(a.signed, a.payload)
		if !ok {
			return
		}
		a.sig = v4Signature(secret, a.amzDate, a.scope, cr)
		if e := s.verify(ctx, a, secret, ""); e != nil {
			t.Fatalf("own signature refused: %v", e)
		}
		if e := s.verify(ctx, a, secret+"x", ""); e == nil {
			t.Fatal("signature accepted with another secret")
		}
	})
}

func FuzzCanonicalRequest(f *testing.F) {
	f.Add("GET", "/test.txt", "max-keys=2&prefix=J", "range", "bytes=0-9")
	f.Add("PUT", "/a b/ü/%2F", "b=2&a=1&a=0&X-Amz-Signature=x", "x-amz-meta-a", "  two   spaces\tand\ttabs  ")
	f.Add("", "", "=&&=", "", "")
	f.Fuzz(func(t *testing.T, method, path, query, name, value string) {
		if strings.ContainsAny(method, "\n") || strings.ContainsAny(name, "\n;") {
			return
		}
		q, _ := url.ParseQuery(query)
		r := &v4Request{method: method, path: path, headers: map[string][]string{"host": {"example.com"}}}
		for k, vs := range q {
			for _, v := range vs {
				r.query = append(r.query, [2]string{k, v})
			}
		}
		signed := []string{"host"}
		if name = strings.ToLower(name); name != "" && name != "host" {
			r.headers[name] = []string{value}
			signed = append(signed, name)
			slices.Sort(signed)
		}
		cr, ok := r.canonicalRequest(signed, emptySHA256)
		if !ok {
			t.Fatal("a signed header present in the request was missed")
		}
		if n := strings.Count(cr, "\n"); n != 5+len(signed) {
			t.Fatalf("canonical request of %d lines for %d headers:\n%s", n+1, len(signed), cr)
		}
		// The order of query parameters is not part of what is signed.
		rev := *r
		rev.query = slices.Clone(r.query)
		slices.Reverse(rev.query)
		if cr2, _ := rev.canonicalRequest(signed, emptySHA256); cr2 != cr {
			t.Fatalf("query order changed the canonical request:\n%s\n%s", cr, cr2)
		}
		// A header the request lacks cannot be signed.
		if _, ok := r.canonicalRequest(append(slices.Clone(signed), "x-absent\x00"), emptySHA256); ok {
			t.Fatal("a missing signed header was not noticed")
		}
		enc := uriEncode(path, true)
		for i := 0; i < len(enc); i++ {
			c := enc[i]
			if !(c == '%' || c == '/' || c == '-' || c == '_' || c == '.' || c == '~' || '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
				t.Fatalf("uriEncode(%q) = %q keeps %q", path, enc, c)
			}
		}
		if dec, err := url.PathUnescape(enc); err != nil || dec != path {
			t.Fatalf("uriEncode(%q) = %q decodes to %q, %v", path, enc, dec, err)
		}
	})
}

func FuzzSigV2StringToSign(f *testing.F) {
	f.Add("/photos/puppy.jpg", "x-amz-meta-a", "v", "Tue, 27 Mar 2007 19:36:42 +0000", false)
	f.Add("/b/k?acl&versionId=3&foo=bar&uploads", "X-Amz-Copy-Source", "/b/secret", "", true)
	f.Add("/b?Signature=x&AWSAccessKeyId=y&Expires=12", "x-amz-date", "Tue, 27 Mar 2007 19:36:42 +0000", "", true)
	s := testS3()
	f.Fuzz(func(t *testing.T, uri, name, value, date string, query bool) {
		if !strings.HasPrefix(uri, "/") {
			return
		}
		ctx := exampleCtx("PUT", uri, "Host:example.com")
		if name != "" {
			ctx.Request.Header.Set(name, value)
		}
		ctx.Request.Header.Set("Date", date)
		a := &authInfo{query: query, expires: 12}
		sts := v2StringToSign(ctx, a, "", false)
		if sts != v2StringToSign(ctx, a, "", false) {
			t.Fatal("string to sign differs between two builds")
		}
		// Every x-amz-* header the server sees is in what was signed.
		for k := range ctx.Request.Header.All() {
			n := strings.ToLower(string(k))
			if strings.HasPrefix(n, "x-amz-") && !strings.Contains(sts, "\n"+n+":") {
				t.Fatalf("header %s not in the string to sign %q", n, sts)
			}
		}
		for k := range ctx.QueryArgs().All() {
			if v2SubResources[string(k)] && !strings.Contains(sts, string(k)) {
				t.Fatalf("sub-resource %s not in the string to sign %q", k, sts)
			}
		}
		a.sig = v2Signature("secret", sts)
		if e := s.verify(ctx, a, "secret", ""); e != nil {
			t.Fatalf("own SigV2 signature refused: %v", e)
		}
		if e := s.verify(ctx, a, "other", ""); e == nil {
			t.Fatal("SigV2 signature accepted with another secret")
		}
	})
}

// chunkKey signs the test's aws-chunked bodies.
var chunkKey = signingKey(exampleSecret, exampleScope)

// encodeChunked frames data as signed aws-chunked with chunks of size n.
func encodeChunked(data []byte, n int, seed string) []byte {
	var out bytes.Buffer
	prev := seed
	for rest := data; ; {
		chunk := rest[:min(n, len(rest))]
		rest = rest[len(chunk):]
		sts := "AWS4-HMAC-SHA256-PAYLOAD\n20130524T000000Z\n" + exampleScope + "\n" + prev + "\n" + emptySHA256 + "\n" + sha256Hex(chunk)
		prev = hex.EncodeToString(hmacSHA256(chunkKey, sts))
		fmt.Fprintf(&out, "%x;chunk-signature=%s\r\n", len(chunk), prev)
		out.Write(chunk)
		out.WriteString("\r\n")
		if len(chunk) == 0 {
			return out.Bytes()
		}
	}
}

func chunkReader(framed []byte, size int64, signed bool, seed string) *bodyReader {
	b := &bodyReader{src: bufio.NewReaderSize(bytes.NewReader(framed), 64<<10), size: size, chunked: true, signed: signed}
	if signed {
		b.key, b.prevSig, b.amzDate, b.scope = chunkKey, seed, "20130524T000000Z", exampleScope
	}
	return b
}

func FuzzAWSChunked(f *testing.F) {
	f.Add([]byte("hello world"), uint16(4), uint32(7), []byte("5;chunk-signature=00\r\nhello\r\n0;chunk-signature=00\r\n\r\n"), int64(5))
	f.Add([]byte{}, uint16(1), uint32(0), []byte("ffffffffffffffff\r\n"), int64(-1))
	f.Add(bytes.Repeat([]byte("ab"), 5000), uint16(8192), uint32(1<<31), []byte("1\r\nx\r\n0\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n"), int64(1))
	const seed = "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9"
	f.Fuzz(func(t *testing.T, data []byte, chunk uint16, flip uint32, raw []byte, size int64) {
		// Decoding what the signer framed gives the data back.
		n := max(int(chunk), 1)
		framed := encodeChunked(data, n, seed)
		got, err := io.ReadAll(io.LimitReader(chunkReader(framed, int64(len(data)), true, seed), int64(len(data))+1))
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("round trip of %d bytes in chunks of %d: %v (%d bytes back)", len(data), n, err, len(got))
		}
		// Any changed bit is noticed before the body is all delivered.
		if i := int(flip % uint32(len(framed))); len(data) > 0 {
			bad := bytes.Clone(framed)
			bad[i] ^= 1 << (flip >> 29)
			got, err := io.ReadAll(io.LimitReader(chunkReader(bad, int64(len(data)), true, seed), int64(len(data))))
			if err == nil {
				t.Fatalf("bit %d of byte %d flipped in %q: read %q without error", flip>>29, i, framed, got)
			}
		}
		// Arbitrary framing: never more than the declared length, bounded
		// memory, and a clean end only with exactly that many bytes.
		for _, signed := range []bool{false, true} {
			var out []byte
			var err error
			checkAlloc(t, "aws-chunked decoder", len(raw), 16, func() {
				b := chunkReader(raw, size, signed, seed)
				out, err = io.ReadAll(io.LimitReader(b, 1<<20))
			})
			if size >= 0 && int64(len(out)) > size {
				t.Fatalf("%d bytes delivered for a declared %d", len(out), size)
			}
			if err == nil && size >= 0 && int64(len(out)) != size && len(out) < 1<<20 {
				t.Fatalf("clean end after %d bytes of %d", len(out), size)
			}
		}
	})
}

func FuzzTaggingXML(f *testing.F) {
	f.Add([]byte(`<Tagging><TagSet><Tag><Key>k</Key><Value>v</Value></Tag><Tag><Key>a&amp;b</Key><Value></Value></Tag></TagSet></Tagging>`))
	f.Add([]byte(`<?xml version="1.0"?><!DOCTYPE t [<!ENTITY a "x">]><Tagging><TagSet><Tag><Key>&a;</Key></Tag></TagSet></Tagging>`))
	f.Add([]byte(`<Tagging xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><TagSet><Tag><Key>=&amp;+%</Key><Value> </Value></Tag></TagSet></Tagging>`))
	f.Fuzz(func(t *testing.T, body []byte) {
		var tags []tag
		var e *Error
		checkAlloc(t, "Tagging", len(body), 64, func() { tags, e = parseTaggingXML(body, maxBucketTags) })
		if e != nil {
			return
		}
		if len(tags) > maxBucketTags {
			t.Fatalf("%d tags accepted", len(tags))
		}
		want := slices.Clone(tags)
		slices.SortFunc(want, func(a, b tag) int { return strings.Compare(a.Key, b.Key) })
		if back := decodeTags(encodeTags(tags)); !reflect.DeepEqual(back, want) && !(len(back) == 0 && len(want) == 0) {
			t.Fatalf("stored tags %v read back as %v", want, back)
		}
		doc, _ := xml.Marshal(tagging{TagSet: tags})
		again, e := parseTaggingXML(doc, maxBucketTags)
		if e != nil || !reflect.DeepEqual(again, tags) && !(len(again) == 0 && len(tags) == 0) {
			t.Fatalf("Tagging %v written as %s read back as %v, %v", tags, doc, again, e)
		}
	})
}

func FuzzCORSXML(f *testing.F) {
	f.Add([]byte(`<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod><MaxAgeSeconds>30</MaxAgeSeconds></CORSRule></CORSConfiguration>`))
	f.Add([]byte(`<CORSConfiguration><CORSRule><ID>x</ID><AllowedOrigin>http://*.a</AllowedOrigin><AllowedMethod>PUT</AllowedMethod><AllowedHeader>x-*</AllowedHeader><ExposeHeader>ETag</ExposeHeader></CORSRule></CORSConfiguration>`))
	f.Add([]byte(`<CORSConfiguration><CORSRule><AllowedOrigin>**</AllowedOrigin><AllowedMethod>PATCH</AllowedMethod></CORSRule></CORSConfiguration>`))
	f.Fuzz(func(t *testing.T, body []byte) {
		var c *corsConfig
		var e *Error
		checkAlloc(t, "CORS", len(body), 64, func() { c, e = parseCORS(body) })
		if e != nil {
			return
		}
		if len(c.Rules) == 0 || len(c.Rules) > maxCORSRules {
			t.Fatalf("%d rules accepted", len(c.Rules))
		}
		doc, err := xml.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		again, e := parseCORS(doc)
		if e != nil || !reflect.DeepEqual(again.Rules, c.Rules) {
			t.Fatalf("CORS %+v written as %s read back as %+v, %v", c.Rules, doc, again, e)
		}
	})
}

func FuzzAccessControlPolicyXML(f *testing.F) {
	acl := &s3ACL{Owner: "test:tester", Grants: []aclGrant{{"READ", "AllUsers"}, {"FULL_CONTROL", "test:tester"}, {"WRITE_ACP", "other:u"}}}
	seed, _ := xml.Marshal(acl.doc())
	f.Add(seed)
	f.Add([]byte(`<AccessControlPolicy><Owner><ID>test:tester</ID></Owner><AccessControlList><Grant><Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="AmazonCustomerByEmail"><EmailAddress>a@b</EmailAddress></Grantee><Permission>READ</Permission></Grant></AccessControlList></AccessControlPolicy>`))
	f.Add([]byte(`<AccessControlPolicy><Owner><ID>someone:else</ID></Owner></AccessControlPolicy>`))
	r := &req{s: &S3{}}
	f.Fuzz(func(t *testing.T, body []byte) {
		var got *s3ACL
		var e *Error
		checkAlloc(t, "AccessControlPolicy", len(body), 64, func() { got, e = r.bodyACL(body, "test:tester") })
		if e != nil {
			return
		}
		if got.Owner != "test:tester" {
			t.Fatalf("ACL given to %q", got.Owner)
		}
		for _, g := range got.Grants {
			if !validPermission(g.Permission) || g.Grantee == "" {
				t.Fatalf("grant %+v accepted", g)
			}
		}
		if back := decodeACL(got.encode()); !reflect.DeepEqual(back, got) {
			t.Fatalf("stored ACL %+v read back as %+v", got, back)
		}
		// What GetObjectAcl shows is what PutObjectAcl set.
		doc, _ := xml.Marshal(got.doc())
		again, e := r.bodyACL(doc, "test:tester")
		if e != nil {
			t.Fatalf("ACL %+v written as %s refused: %v", got, doc, e)
		}
		sortGrants := func(gs []aclGrant) []aclGrant {
			gs = slices.Clone(gs)
			slices.SortFunc(gs, func(a, b aclGrant) int {
				return strings.Compare(a.Grantee+"\x00"+a.Permission, b.Grantee+"\x00"+b.Permission)
			})
			return gs
		}
		if !reflect.DeepEqual(sortGrants(again.Grants), sortGrants(got.Grants)) {
			t.Fatalf("ACL %+v written as %s read back as %+v", got, doc, again)
		}
	})
}

func FuzzCompleteMultipartXML(f *testing.F) {
	f.Add([]byte(`<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>"a"</ETag></Part><Part><PartNumber>1</PartNumber><ETag>b</ETag><ChecksumCRC32>AAAAAA==</ChecksumCRC32></Part><Part><PartNumber>2</PartNumber><ETag>c</ETag></Part></CompleteMultipartUpload>`))
	f.Add([]byte(`<CompleteMultipartUpload><Part><PartNumber>-1</PartNumber></Part></CompleteMultipartUpload>`))
	f.Add([]byte(`<CompleteMultipartUpload></CompleteMultipartUpload>`))
	f.Fuzz(func(t *testing.T, body []byte) {
		var doc *completeMultipartDoc
		var e *Error
		checkAlloc(t, "CompleteMultipartUpload", len(body), 64, func() { doc, e = parseCompleteMultipart(body) })
		if e != nil {
			return
		}
		if len(doc.Parts) == 0 {
			t.Fatal("no parts accepted")
		}
		for i := 1; i < len(doc.Parts); i++ {
			if doc.Parts[i].PartNumber == doc.Parts[i-1].PartNumber {
				t.Fatalf("part %d listed twice in a row", doc.Parts[i].PartNumber)
			}
		}
		out, _ := xml.Marshal(doc)
		again, e := parseCompleteMultipart(out)
		if e != nil || !reflect.DeepEqual(again.Parts, doc.Parts) {
			t.Fatalf("parts %+v written as %s read back as %+v, %v", doc.Parts, out, again, e)
		}
	})
}

func FuzzDeleteObjectsXML(f *testing.F) {
	f.Add([]byte(`<Delete><Quiet>true</Quiet><Object><Key>a</Key></Object><Object><Key>b</Key><VersionId>v1</VersionId></Object></Delete>`))
	f.Add([]byte(`<Delete><Object><Key></Key></Object></Delete>`))
	f.Add([]byte(`<Delete><Object><Key>../../etc/passwd</Key></Object><Object><Key>a&#0;b</Key></Object></Delete>`))
	f.Fuzz(func(t *testing.T, body []byte) {
		var doc *deleteObjectsDoc
		var e *Error
		checkAlloc(t, "DeleteObjects", len(body), 64, func() { doc, e = parseDeleteObjects(body, 1000) })
		if e != nil {
			return
		}
		if len(doc.Objects) == 0 || len(doc.Objects) > 1000 {
			t.Fatalf("%d keys accepted", len(doc.Objects))
		}
		for _, o := range doc.Objects {
			if o.Key == "" {
				t.Fatal("an empty key accepted")
			}
		}
		out, _ := xml.Marshal(doc)
		again, e := parseDeleteObjects(out, 1000)
		if e != nil || !reflect.DeepEqual(again, doc) {
			t.Fatalf("%+v written as %s read back as %+v, %v", doc, out, again, e)
		}
	})
}

func FuzzParsePolicy(f *testing.F) {
	f.Add([]byte(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":["s3:GetObject"],"Resource":"arn:aws:s3:::b/*"}]}`), "b", "s3:GetObject", "arn:aws:s3:::b/k", "")
	f.Add([]byte(`{"Statement":[{"Effect":"Deny","NotPrincipal":{"AWS":["arn:aws:iam::123:user/x"]},"NotAction":"s3:Get*","Resource":["arn:aws:s3:::b","arn:aws:s3:::b/*"],"Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}}]}`), "b", "s3:PutObject", "arn:aws:s3:::b/x", "x")
	f.Add([]byte(`{"Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"*","Resource":"arn:aws:s3:::b*/*","Condition":{"StringLike":{"s3:prefix":["a*"]}}}]}`), "bb", "s3:ListBucket", "arn:aws:s3:::bb", "test:tester")
	f.Fuzz(func(t *testing.T, body []byte, bucket, action, resource, requester string) {
		var p *bucketPolicy
		var e *Error
		checkAlloc(t, "bucket policy", len(body), 64, func() { p, e = parsePolicy(body, bucket) })
		if e != nil {
			if e.Status != 400 || e.Code != "MalformedPolicy" {
				t.Fatalf("refused with %v", e)
			}
			return
		}
		for _, st := range p.Statement {
			if st.Effect != "Allow" && st.Effect != "Deny" || len(st.Action)+len(st.NotAction) == 0 || len(st.Resource)+len(st.NotResource) == 0 {
				t.Fatalf("statement %+v accepted", st)
			}
		}
		ctx := exampleCtx("GET", "/"+url.PathEscape(bucket)+"?prefix=a", "Host:example.com")
		q := policyRequest{requester: requester, action: action, resource: resource, ctx: ctx}
		allow, deny := p.decide(q)
		if allow && deny {
			t.Fatal("a policy both allows and denies")
		}
		if a2, d2 := p.decide(q); a2 != allow || d2 != deny {
			t.Fatal("a policy decides differently twice")
		}
		// Adding a Deny of everything for everyone wins over any Allow.
		withDeny := *p
		withDeny.Statement = append(slices.Clone(p.Statement), statement{Effect: "Deny", Principal: principal{set: true, ids: stringSet{"*"}}, Action: stringSet{"*"}, Resource: stringSet{"*"}})
		if a, d := withDeny.decide(q); a || !d {
			t.Fatalf("a Deny of everything decided allow=%v deny=%v", a, d)
		}
	})
}
