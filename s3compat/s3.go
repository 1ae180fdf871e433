// Package s3compat is swiftbox's S3 API: it recognises S3 requests by their
// signature, verifies it against the local users and translates each S3
// operation into Swift requests on the rest of the pipeline, as Swift's
// s3api middleware does (buckets are containers, objects are objects,
// multipart uploads are segments plus a static large object).
package s3compat

import (
	"bufio"
	"crypto/sha256"
	"encoding/xml"
	"io"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/valyala/fasthttp"

	"swiftbox/config"
	"swiftbox/keystone"
	"swiftbox/s3compat/s3detect"
	"swiftbox/server/keylock"
	"swiftbox/server/proxy"
)

// S3 is the S3 API front middleware.
type S3 struct {
	cfg         config.S3Config
	auth        *keystone.TempAuth
	log         *slog.Logger
	maxFileSize int64
	// sloMaxSegments is the SLO middleware's manifest limit: uploads with
	// more parts are finished with nested manifests.
	sloMaxSegments int
	now            func() time.Time
	ks             *keystone.Keystone // EC2 credentials (s3token); nil = none
	logins         *keystone.LoginThrottle
	deletes        keylock.Locks // one key's version deletes are several Swift requests
	accounts       struct {      // localAccounts' memo
		mu   sync.Mutex
		at   time.Time
		list []string
	}
}

// New makes the S3 API over auth's users with cfg's settings.
func New(cfg *config.Config, auth *keystone.TempAuth, log *slog.Logger) *S3 {
	if log == nil {
		log = slog.Default()
	}
	return &S3{cfg: cfg.S3, auth: auth, log: log, maxFileSize: cfg.Constraints.MaxFileSize,
		sloMaxSegments: cfg.SLO.MaxManifestSegments, now: time.Now}
}

// Middleware serves S3 requests and passes every other request to next.
//
// An S3 request's errors are S3's XML documents, written by writeError
// (errors.go), the one place S3 errors are written: the S3 layer answers
// every S3 request itself and returns nil, translating the Swift
// subrequests' responses (proxy.Subrequest writes their errors as Swift's).
func (s *S3) Middleware(next proxy.Handler) proxy.Handler {
	return func(ctx *fasthttp.RequestCtx) error {
		if !s3detect.IsS3Request(ctx) && !isPostObject(ctx, s.bucketInHost(ctx)) && (s.cfg.AnonymousAccount == "" || s.bucketInHost(ctx) == "") {
			return next(ctx)
		}
		s.serve(ctx, next)
		return nil
	}
}

// Info is the S3 API's /info entry, as Swift's s3api registers it. s3_acl
// is true: S3 ACLs are kept and enforced as s3api does with s3_acl on
// (acl.go), bucket names are one namespace across the accounts and a
// listing's owner is the access key; Swift's functional tests choose
// their expectations by it.
func (s *S3) Info() map[string]any {
	return map[string]any{
		"max_bucket_listing":       s.cfg.MaxBucketListing,
		"max_parts_listing":        s.cfg.MaxPartsListing,
		"max_upload_part_num":      s.cfg.MaxUploadPartNum,
		"max_multi_delete_objects": s.cfg.MaxMultiDeleteObjects,
		"allow_multipart_uploads":  true,
		"min_segment_size":         s.cfg.MinSegmentSize,
		"s3_acl":                   true,
	}
}

// Handler serves every request as S3 (the --s3-addr listener); unsigned
// ones are anonymous requests to the buckets of s3.anonymous_account.
func (s *S3) Handler(next proxy.Handler) proxy.Handler {
	return func(ctx *fasthttp.RequestCtx) error {
		s.serve(ctx, next)
		return nil
	}
}

// req is one S3 request being served.
type req struct {
	s       *S3
	ctx     *fasthttp.RequestCtx
	next    proxy.Handler
	id      *keystone.Identity
	account string
	bucket  string
	key     string
	auth    *authInfo
	secret  string
	s3key   config.S3Key // the access key's restrictions
	body    *bodyReader
	// foreign is the ACL of a bucket found in another account than the
	// requester's (nil: the requester's own).
	foreign *s3ACL
	// op is what the request does, classified once (operation.go); src
	// is the copy source it names (srcErr: why that is unreadable).
	op     *operation
	src    *objectRef
	srcErr *Error
	// located memoizes where buckets are (authz.go).
	located map[string]*bucketPlace
}

func (s *S3) serve(ctx *fasthttp.RequestCtx, next proxy.Handler) {
	switch string(ctx.Method()) {
	case "GET", "HEAD", "PUT", "POST", "DELETE", "OPTIONS":
	default:
		// No S3 operation has another verb (s3api refuses it before auth).
		writeError(ctx, errMethodNotAllowed.with("Method", string(ctx.Method())).with("ResourceType", "BUCKET"))
		return
	}
	if string(ctx.Method()) == fasthttp.MethodOptions {
		// A CORS preflight: unsigned, decided by the bucket's CORS rules.
		r := &req{s: s, ctx: ctx, next: next, account: s.preflightAccount(ctx), auth: &authInfo{}}
		if e := r.preflight(s.bucketInHost(ctx)); e != nil {
			writeError(ctx, e)
		}
		return
	}
	if e := checkUnhonoured(ctx); e != nil {
		writeError(ctx, e)
		return
	}
	if !s3detect.IsS3Request(ctx) {
		if bh := s.bucketInHost(ctx); isPostObject(ctx, bh) {
			s.servePostObject(ctx, next, bh)
			return
		}
		s.serveAnonymous(ctx, next)
		return
	}
	a, e := s.parseAuth(ctx)
	if e != nil {
		writeError(ctx, e)
		return
	}
	if e := s.checkTime(a, s.now()); e != nil {
		writeError(ctx, e)
		return
	}
	// Before the signature is checked, so a throttled key learns nothing.
	if _, throttled := s.logins.Throttled("s3", ctx.RemoteIP(), a.access); throttled {
		writeError(ctx, errSlowDown)
		return
	}
	id, secret, key, ok := s.auth.LookupS3(a.access)
	bucketInHost := s.bucketInHost(ctx)
	switch {
	case ok:
		e = s.verify(ctx, a, secret, bucketInHost)
	case s.ks != nil:
		id, secret, e = s.keystoneAuth(ctx, a, bucketInHost)
	default:
		e = errInvalidAccessKeyID.with("AWSAccessKeyId", a.access)
	}
	if e != nil && (e.Code == "SignatureDoesNotMatch" || e.Code == "InvalidAccessKeyId") {
		s.logins.Record("s3", ctx.RemoteIP(), a.access, false)
	} else {
		s.logins.Release(ctx.RemoteIP(), a.access)
	}
	if e != nil {
		writeError(ctx, e)
		return
	}
	if e := unsignedAmzHeaders(&ctx.Request.Header, a); e != nil {
		writeError(ctx, e)
		return
	}
	proxy.SetIdentity(ctx, id)
	if len(key.Buckets) > 0 {
		// The key's buckets hold for every container the request reaches,
		// link targets included.
		proxy.SetKeyScope(ctx, keyContainers(key.Buckets))
	}
	// S3 sends x-amz-meta-* names in lower case; the rest are set canonical.
	ctx.Response.Header.DisableNormalizing()
	r := &req{s: s, ctx: ctx, next: next, id: id, account: id.Account, auth: a, secret: secret, s3key: key}
	r.run(bucketInHost)
}

// emptyResponse finishes a bodyless success as s3api's swob does, with
// Content-Type text/html. (swob also sends Content-Length: 0 on a 204,
// which RFC 9110 forbids and fasthttp never writes.)
func emptyResponse(ctx *fasthttp.RequestCtx) {
	ctx.Response.Header.SetContentType("text/html; charset=UTF-8")
}

// serveAnonymous serves an unsigned request as the anonymous user of
// s3.anonymous_account: container ACLs (public-read) decide.
func (s *S3) serveAnonymous(ctx *fasthttp.RequestCtx, next proxy.Handler) {
	if s.cfg.AnonymousAccount == "" {
		writeError(ctx, errAccessDenied)
		return
	}
	ctx.Response.Header.DisableNormalizing()
	r := &req{s: s, ctx: ctx, next: next, account: s.cfg.AnonymousAccount, auth: &authInfo{}}
	r.run(s.bucketInHost(ctx))
}

func (r *req) run(bucketInHost string) {
	ctx := r.ctx
	if e := r.parsePath(bucketInHost); e != nil {
		writeError(ctx, e)
	} else if r.op, e = r.classify(); e != nil {
		writeError(ctx, e)
	} else if e := r.authorizeRequest(); e != nil {
		writeError(ctx, e)
	} else if e := r.prepareBody(); e != nil {
		writeError(ctx, e)
	} else if e := r.checkExpectedOwner(); e != nil {
		writeError(ctx, e)
	} else if e := r.route(); e != nil {
		writeError(ctx, e)
	}
	r.corsResponse()
	if string(ctx.Method()) == fasthttp.MethodHead {
		ctx.Response.SkipBody = true
	} else if ctx.Response.StatusCode()/100 == 2 && len(ctx.Response.Header.ContentType()) == 0 && !ctx.Response.IsBodyStream() && len(ctx.Response.Body()) == 0 {
		emptyResponse(ctx)
	}
	tid := string(ctx.Response.Header.Peek("X-Trans-Id"))
	ctx.Response.Header.Set("X-Amz-Id-2", tid)
	ctx.Response.Header.Set("X-Amz-Request-Id", tid)
}

// bucketInHost is the bucket of a virtual-hosted-style request: the
// host's label(s) before one of the configured storage domains.
func (s *S3) bucketInHost(ctx *fasthttp.RequestCtx) string {
	host := string(ctx.Host())
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	for _, d := range s.cfg.StorageDomains() {
		if b, ok := strings.CutSuffix(host, "."+d); ok && b != "" {
			return b
		}
	}
	return ""
}

func (r *req) parsePath(bucketInHost string) *Error {
	raw := string(r.ctx.Request.Header.RequestURI())
	if i := strings.IndexByte(raw, '?'); i >= 0 {
		raw = raw[:i]
	}
	if strings.HasPrefix(raw, "http://") || strings.HasPrefix(raw, "https://") {
		if u, err := url.Parse(raw); err == nil {
			raw = u.EscapedPath()
		}
	}
	p, err := url.PathUnescape(raw)
	if err != nil || !strings.HasPrefix(p, "/") {
		return errInvalidArgument
	}
	p = p[1:]
	if bucketInHost != "" {
		r.bucket, r.key = bucketInHost, p
	} else {
		r.bucket, r.key, _ = strings.Cut(p, "/")
	}
	if r.bucket != "" && !validBucketName(r.bucket, false) {
		return errInvalidBucketName.with("BucketName", r.bucket)
	}
	if len(r.key) > 1024 {
		return errKeyTooLong
	}
	return nil
}

// validBucketName follows s3api's validate_bucket_name.
func validBucketName(name string, dnsCompliant bool) bool {
	maxLen := 255
	if dnsCompliant {
		maxLen = 63
	}
	if len(name) < 3 || len(name) > maxLen || !isAlnum(name[0]) || name[len(name)-1] == '.' {
		return false
	}
	if dnsCompliant && (strings.Contains(name, ".-") || strings.Contains(name, "-.") || strings.Contains(name, "..") || !isAlnum(name[len(name)-1])) {
		return false
	}
	if ip := net.ParseIP(name); ip != nil && ip.To4() != nil {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		ok := c == '-' || c == '.' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9'
		if !dnsCompliant {
			ok = ok || 'A' <= c && c <= 'Z' || c == '_'
		}
		if !ok {
			return false
		}
	}
	return true
}

func isAlnum(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

// prepareBody sets up the verifying body reader for requests with a body.
func (r *req) prepareBody() *Error {
	h := &r.ctx.Request.Header
	var src io.Reader
	if s := r.ctx.RequestBodyStream(); s != nil {
		src = s
	} else {
		src = strings.NewReader(string(r.ctx.Request.Body()))
	}
	b := &bodyReader{size: int64(h.ContentLength())}
	if b.size < 0 {
		b.size = -1
	}
	payload := r.auth.payload
	switch payload {
	case streamingPayload, streamingPayloadTrailr, streamingUnsignedTrlr:
		if !r.auth.v4 || (payload != streamingUnsignedTrlr && r.auth.query) {
			return errInvalidRequest
		}
		b.chunked = true
		b.signed = payload != streamingUnsignedTrlr
		b.trailer = payload != streamingPayload
		dl := string(h.Peek("X-Amz-Decoded-Content-Length"))
		if dl == "" {
			return errMissingContentLength
		}
		n, err := parseInt64(dl)
		if err != nil || n < 0 {
			return errInvalidArgument
		}
		b.size = n
		if b.signed {
			b.key = signingKey(r.secret, r.auth.scope)
			b.prevSig = r.auth.sig
			b.amzDate = r.auth.amzDate
			b.scope = r.auth.scope
		}
	case "", unsignedPayload:
	default:
		if !r.auth.v4 {
			break
		}
		if len(payload) != 64 {
			return s3err(400, "InvalidArgument", "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-TRAILER, STREAMING-AWS4-HMAC-SHA256-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER or a valid sha256 value.")
		}
		b.payload = sha256.New()
		b.wantSHA = payload
	}
	if b.trailer {
		t := strings.ToLower(strings.TrimSpace(string(h.Peek("X-Amz-Trailer"))))
		if alg, ok := strings.CutPrefix(t, "x-amz-checksum-"); ok && newChecksum(alg) != nil {
			b.alg, b.sum = alg, newChecksum(alg)
		} else if t != "" {
			return s3err(400, "InvalidRequest", "The value specified in the x-amz-trailer header is not supported")
		} else {
			b.trailer = false
		}
	}
	// CompleteMultipartUpload's x-amz-checksum-* is the object's composite
	// checksum, not its XML body's.
	if b.sum == nil && r.op != opCompleteMultipartUpload {
		for i, alg := range checksumAlgorithms {
			if v := h.Peek(checksumHeaders[i]); len(v) > 0 {
				if !validChecksum(alg, string(v)) {
					return errInvalidChecksum(alg)
				}
				b.alg, b.sum, b.wantSum = alg, newChecksum(alg), string(v)
				break
			}
		}
	}
	if b.sum == nil {
		if alg := strings.ToLower(string(h.Peek("X-Amz-Sdk-Checksum-Algorithm"))); newChecksum(alg) != nil {
			b.alg, b.sum = alg, newChecksum(alg)
		}
	}
	if b.size == 0 && !b.chunked {
		// Nothing to stream: a wrong payload hash or checksum of an empty
		// body is refused now, whether or not the operation reads it.
		if e := b.finish(); e != nil {
			return e
		}
	}
	// aws-chunked framing is read by lines; a plain body's reads of 4 KiB
	// and more pass the buffer by; most requests (GET, HEAD, DELETE) have
	// no body at all and should not allocate 64 KiB for it.
	bufSize := 4 << 10
	switch {
	case b.chunked:
		bufSize = 64 << 10
	case h.ContentLength() == 0 || h.ContentLength() == -2: // -2: a GET or HEAD without one
		bufSize = 16
	}
	b.src = bufio.NewReaderSize(src, bufSize)
	r.body = b
	return nil
}

// swiftPath is "/v1/<account>/<container>/<object>" escaped for a subrequest.
func (r *req) swiftPath(container, object string) string {
	p := "/v1/" + uriEncode(r.account, false)
	if container != "" {
		p += "/" + uriEncode(container, false)
		if object != "" {
			p += "/" + uriEncode(object, true)
		}
	}
	return p
}

// sub runs a Swift subrequest on the rest of the pipeline. query is
// appended as is (already escaped).
func (r *req) sub(method, container, object, query string, prep func(*fasthttp.Request)) *fasthttp.Response {
	uri := r.swiftPath(container, object)
	if query != "" {
		uri += "?" + query
	}
	return proxy.Subrequest(r.ctx, r.next, method, uri, prep)
}

// readBody reads a small request body (XML documents) through the
// verifying reader, refusing more than limit bytes.
// maxDrain is how much of an oversized XML body is read and dropped so
// that its sender gets the error.
const maxDrain = 256 << 20

func (r *req) readBody(limit int64) ([]byte, *Error) {
	data, err := io.ReadAll(io.LimitReader(r.body, limit+1))
	if r.body.err != nil {
		return nil, r.body.err
	}
	if err != nil {
		return nil, errIncompleteBody
	}
	if int64(len(data)) > limit {
		// Read the rest (within reason) before answering: a client still
		// sending its body would otherwise see the connection reset
		// instead of the error.
		io.Copy(io.Discard, io.LimitReader(r.body, maxDrain))
		return nil, errMalformedXML
	}
	if md := r.ctx.Request.Header.Peek("Content-Md5"); len(md) > 0 {
		if e := checkContentMD5(string(md), data); e != nil {
			return nil, e
		}
	}
	return data, nil
}

const xmlns = "http://s3.amazonaws.com/doc/2006-03-01/"

// writeXML answers 200 with v as an XML document.
func writeXML(ctx *fasthttp.RequestCtx, v any) {
	body, err := xml.Marshal(v)
	if err != nil {
		writeError(ctx, errInternal)
		return
	}
	ctx.SetStatusCode(fasthttp.StatusOK)
	ctx.Response.Header.SetContentType("application/xml")
	ctx.SetBody(append([]byte(xml.Header), body...))
}

// keyAllows reports whether the access key may use bucket.
func (r *req) keyAllows(bucket string) bool {
	if len(r.s3key.Buckets) == 0 {
		return true
	}
	for _, b := range r.s3key.Buckets {
		if b == bucket {
			return true
		}
	}
	return false
}
