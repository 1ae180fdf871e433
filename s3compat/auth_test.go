package s3compat

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"swiftbox/config"
	"swiftbox/s3compat/s3detect"
)

// The examples of AWS's "Signature Version 4 … Amazon S3" documentation.
const (
	exampleAccess = "AKIAIOSFODNN7EXAMPLE"
	exampleSecret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
	exampleScope  = "20130524/us-east-1/s3/aws4_request"
)

func testS3() *S3 {
	cfg := config.Default()
	return &S3{cfg: cfg.S3, maxFileSize: cfg.Constraints.MaxFileSize, now: time.Now}
}

func exampleCtx(method, uri string, headers ...string) *fasthttp.RequestCtx {
	ctx := &fasthttp.RequestCtx{}
	ctx.Request.Header.SetMethod(method)
	ctx.Request.SetRequestURI(uri)
	for _, h := range headers {
		k, v, _ := strings.Cut(h, ":")
		if strings.EqualFold(k, "host") {
			ctx.Request.Header.SetHost(v)
			continue
		}
		ctx.Request.Header.Set(k, v)
	}
	return ctx
}

func TestSigV4Vectors(t *testing.T) {
	auth := func(signed, sig string) string {
		return "AWS4-HMAC-SHA256 Credential=" + exampleAccess + "/" + exampleScope + ",SignedHeaders=" + signed + ",Signature=" + sig
	}
	cases := []struct {
		name string
		ctx  *fasthttp.RequestCtx
	}{
		{"GET object", exampleCtx("GET", "/test.txt", "Host:examplebucket.s3.amazonaws.com", "Range:bytes=0-9",
			"x-amz-content-sha256:"+emptySHA256, "x-amz-date:20130524T000000Z",
			"Authorization:"+auth("host;range;x-amz-content-sha256;x-amz-date", "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"))},
		{"PUT object", exampleCtx("PUT", "/test$file.text", "Host:examplebucket.s3.amazonaws.com", "Date:Fri, 24 May 2013 00:00:00 GMT",
			"x-amz-content-sha256:44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072", "x-amz-date:20130524T000000Z",
			"x-amz-storage-class:REDUCED_REDUNDANCY",
			"Authorization:"+auth("date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class", "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd"))},
		{"GET lifecycle", exampleCtx("GET", "/?lifecycle", "Host:examplebucket.s3.amazonaws.com",
			"x-amz-content-sha256:"+emptySHA256, "x-amz-date:20130524T000000Z",
			"Authorization:"+auth("host;x-amz-content-sha256;x-amz-date", "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543"))},
		{"list objects", exampleCtx("GET", "/?max-keys=2&prefix=J", "Host:examplebucket.s3.amazonaws.com",
			"x-amz-content-sha256:"+emptySHA256, "x-amz-date:20130524T000000Z",
			"Authorization:"+auth("host;x-amz-content-sha256;x-amz-date", "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7"))},
		{"presigned GET", exampleCtx("GET", "/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404",
			"Host:examplebucket.s3.amazonaws.com")},
		{"chunked seed", exampleCtx("PUT", "/examplebucket/chunkObject.txt", "Host:s3.amazonaws.com",
			"x-amz-date:20130524T000000Z", "x-amz-storage-class:REDUCED_REDUNDANCY", "x-amz-content-sha256:"+streamingPayload,
			"Content-Encoding:aws-chunked", "x-amz-decoded-content-length:66560", "Content-Length:66824",
			"Authorization:"+auth("content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class",
				"4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9"))},
	}
	s := testS3()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if !s3detect.IsS3Request(tc.ctx) {
				t.Fatal("not recognised as S3")
			}
			a, e := s.parseAuth(tc.ctx)
			if e != nil {
				t.Fatal(e)
			}
			if e := s.verify(tc.ctx, a, exampleSecret, ""); e != nil {
				cr, _ := requestForSigning(tc.ctx, a.signed).canonicalRequest(a.signed, a.payload)
				t.Fatalf("%v\ncanonical request:\n%s", e, cr)
			}
			if e := s.verify(tc.ctx, a, exampleSecret+"x", ""); e != errSignatureDoesNotMatch {
				t.Fatalf("wrong secret: %v", e)
			}
		})
	}
}

// chunkedExample is AWS's aws-chunked example: 65536 + 1024 bytes of 'a'.
func chunkedExample(sigs [3]string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "10000;chunk-signature=%s\r\n%s\r\n", sigs[0], strings.Repeat("a", 65536))
	fmt.Fprintf(&b, "400;chunk-signature=%s\r\n%s\r\n", sigs[1], strings.Repeat("a", 1024))
	fmt.Fprintf(&b, "0;chunk-signature=%s\r\n\r\n", sigs[2])
	return b.String()
}

var exampleChunkSigs = [3]string{
	"ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648",
	"0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497",
	"b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9",
}

func signedChunkReader(body string) *bodyReader {
	return &bodyReader{src: bufio.NewReader(strings.NewReader(body)), size: 66560, chunked: true, signed: true,
		key: signingKey(exampleSecret, exampleScope), prevSig: "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9",
		amzDate: "20130524T000000Z", scope: exampleScope}
}

func TestAWSChunkedSignatures(t *testing.T) {
	b := signedChunkReader(chunkedExample(exampleChunkSigs))
	data, err := io.ReadAll(io.LimitReader(b, 66560))
	if err != nil || len(data) != 66560 || b.err != nil {
		t.Fatalf("good body: %v %d %v", err, len(data), b.err)
	}
	for i := range 3 {
		bad := exampleChunkSigs
		bad[i] = strings.Repeat("0", 64)
		b := signedChunkReader(chunkedExample(bad))
		// Read as the object PUT does: stops at the decoded length.
		_, err := io.ReadAll(io.LimitReader(b, 66560))
		if !errors.Is(err, errSignatureDoesNotMatch) {
			t.Errorf("bad signature of chunk %d: %v", i, err)
		}
	}
	// Tampered data under a good signature.
	body := chunkedExample(exampleChunkSigs)
	body = strings.Replace(body, "aaaa\r\n", "aaab\r\n", 1)
	if _, err := io.ReadAll(io.LimitReader(signedChunkReader(body), 66560)); !errors.Is(err, errSignatureDoesNotMatch) {
		t.Errorf("tampered data: %v", err)
	}
	// Truncated body.
	if _, err := io.ReadAll(io.LimitReader(signedChunkReader(body[:1000]), 66560)); err == nil {
		t.Errorf("truncated body accepted")
	}
}

func TestUnsignedTrailer(t *testing.T) {
	mk := func(sum string) *bodyReader {
		body := "5\r\nhello\r\n0\r\nx-amz-checksum-crc32:" + sum + "\r\n\r\n"
		return &bodyReader{src: bufio.NewReader(strings.NewReader(body)), size: 5, chunked: true, trailer: true,
			alg: "crc32", sum: newChecksum("crc32")}
	}
	var got string
	b := mk("NhCmhg==")
	b.onDone = func(alg, v string) { got = alg + "=" + v }
	data, err := io.ReadAll(io.LimitReader(b, 5))
	if err != nil || string(data) != "hello" || got != "crc32=NhCmhg==" {
		t.Fatalf("good trailer: %v %q %q", err, data, got)
	}
	if _, err := io.ReadAll(io.LimitReader(mk("AAAAAA=="), 5)); err == nil || !strings.Contains(err.Error(), "BadDigest") {
		t.Fatalf("bad trailer checksum: %v", err)
	}
}

func TestPayloadSHA256(t *testing.T) {
	mk := func(body, sum string) *bodyReader {
		b := &bodyReader{src: bufio.NewReader(strings.NewReader(body)), size: int64(len(body)), wantSHA: sum}
		b.payload = newChecksum("sha256")
		return b
	}
	if _, err := io.ReadAll(io.LimitReader(mk("Welcome to Amazon S3.", "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072"), 21)); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadAll(io.LimitReader(mk("Welcome to Amazon S4.", "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072"), 21)); !errors.Is(err, errContentSHA256Mismatch) {
		t.Fatalf("mismatch: %v", err)
	}
	var buf bytes.Buffer
	buf.WriteString("short")
	if _, err := io.ReadAll(io.LimitReader(&bodyReader{src: bufio.NewReader(&buf), size: 10}, 10)); !errors.Is(err, errIncompleteBody) {
		t.Fatalf("short body: %v", err)
	}
}

func TestSigV2(t *testing.T) {
	// AWS's SigV2 documentation example (GET object, virtual-hosted).
	ctx := exampleCtx("GET", "/photos/puppy.jpg", "Host:johnsmith.s3.amazonaws.com", "Date:Tue, 27 Mar 2007 19:36:42 +0000",
		"Authorization:AWS AKIAIOSFODNN7EXAMPLE:bWq2s1WEIj+Ydj0vQ697zp+IXMU=")
	s := testS3()
	a, e := s.parseAuth(ctx)
	if e != nil {
		t.Fatal(e)
	}
	if e := s.verify(ctx, a, exampleSecret, "johnsmith"); e != nil {
		t.Fatalf("%v: %q", e, v2StringToSign(ctx, a, "johnsmith", false))
	}
}

func TestClockSkew(t *testing.T) {
	s := testS3()
	now := time.Date(2013, 5, 24, 0, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		a    authInfo
		want *Error
	}{
		{authInfo{date: now.Add(14 * time.Minute)}, nil},
		{authInfo{date: now.Add(-16 * time.Minute)}, errRequestTimeTooSkewed},
		{authInfo{v4: true, query: true, date: now.Add(-time.Hour), expires: 3599}, errExpiredPresigned},
		{authInfo{v4: true, query: true, date: now.Add(-time.Hour), expires: 3601}, nil},
		{authInfo{query: true, expires: now.Unix() - 1}, errExpiredPresigned},
	} {
		e := s.checkTime(&c.a, now)
		if (e == nil) != (c.want == nil) || e != nil && e.Code != c.want.Code {
			t.Errorf("%+v: %v, want %v", c.a, e, c.want)
		}
	}
}

func TestValidBucketName(t *testing.T) {
	for name, want := range map[string]bool{"abc": true, "a.b-c": true, "ab": false, "Abc": false, "a..b": false,
		"a-.b": false, "192.168.1.1": false, "abc-": false, "abc+segments": false, strings.Repeat("a", 64): false} {
		if got := validBucketName(name, true); got != want {
			t.Errorf("%q: %v", name, got)
		}
	}
}
