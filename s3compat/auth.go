package s3compat

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/valyala/fasthttp"

	"swiftbox/server/proxy"
)

// Payload hash values of x-amz-content-sha256 that are not a digest.
const (
	unsignedPayload        = "UNSIGNED-PAYLOAD"
	streamingPayload       = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
	streamingPayloadTrailr = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
	streamingUnsignedTrlr  = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
	emptySHA256            = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
	amzDateFormat          = "20060102T150405Z"
	maxPresignExpires      = 7 * 24 * 3600
)

// authInfo is what a request's signature claims, parsed but not yet verified.
type authInfo struct {
	v4       bool
	query    bool   // presigned URL
	access   string // "account:user"
	sig      string
	date     time.Time
	amzDate  string // as sent, for the string to sign
	scope    string // date/region/s3/aws4_request
	region   string
	signed   []string // SignedHeaders, v4
	expires  int64    // presigned: seconds (v4) or unix time (v2)
	payload  string   // x-amz-content-sha256 value (v4 header auth)
	v2Stored string   // string to sign (v2), for errors
}

var errTwoAuthMechanisms = s3err(400, "InvalidArgument", "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string parameter or the Authorization header should be specified").
	with("ArgumentName", "Authorization")

// parseAuth reads the request's credentials, signature and date.
func (s *S3) parseAuth(ctx *fasthttp.RequestCtx) (*authInfo, *Error) {
	h := string(ctx.Request.Header.Peek("Authorization"))
	q := ctx.QueryArgs()
	if h != "" && (q.Has("X-Amz-Algorithm") || q.Has("X-Amz-Credential") || q.Has("X-Amz-Signature") || q.Has("AWSAccessKeyId") && q.Has("Signature")) {
		// Two signatures: which one would vouch for the request?
		return nil, errTwoAuthMechanisms
	}
	switch {
	case strings.HasPrefix(h, "AWS4-HMAC-SHA256 "):
		return s.parseV4Header(ctx, h[len("AWS4-HMAC-SHA256 "):])
	case strings.HasPrefix(h, "AWS "):
		rest := strings.TrimSpace(h[4:])
		i := strings.LastIndexByte(rest, ':')
		if i <= 0 {
			return nil, errAccessDenied
		}
		a := &authInfo{access: rest[:i], sig: rest[i+1:]}
		d, e := requestDate(ctx)
		if e != nil {
			return nil, e
		}
		a.date = d
		return a, nil
	case q.Has("X-Amz-Credential") || q.Has("X-Amz-Signature"):
		return s.parseV4Query(ctx)
	default:
		a := &authInfo{query: true, access: string(q.Peek("AWSAccessKeyId")), sig: string(q.Peek("Signature"))}
		exp, err := strconv.ParseInt(string(q.Peek("Expires")), 10, 64)
		if err != nil {
			return nil, errAccessDenied
		}
		if exp >= 1<<31 {
			// s3api: past 2038 is no date a signer meant.
			return nil, s3err(403, "AccessDenied", "Invalid date (should be seconds since epoch): "+string(q.Peek("Expires")))
		}
		a.expires = exp
		return a, nil
	}
}

func (s *S3) parseV4Header(ctx *fasthttp.RequestCtx, rest string) (*authInfo, *Error) {
	a := &authInfo{v4: true}
	fields := map[string]string{}
	for _, part := range strings.Split(rest, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return nil, errAuthHeaderMalformed
		}
		fields[k] = v
	}
	cred, sh, sig := fields["Credential"], fields["SignedHeaders"], fields["Signature"]
	if cred == "" || sh == "" || sig == "" {
		return nil, errAuthHeaderMalformed
	}
	a.sig = sig
	a.signed = strings.Split(sh, ";")
	d, e := requestDate(ctx)
	if e != nil {
		return nil, e
	}
	a.date = d
	a.amzDate = d.UTC().Format(amzDateFormat)
	if e := s.parseCredential(a, cred, errAuthHeaderMalformed); e != nil {
		return nil, e
	}
	a.payload = string(ctx.Request.Header.Peek("X-Amz-Content-Sha256"))
	if a.payload == "" {
		return nil, s3err(400, "InvalidRequest", "Missing required header for this request: x-amz-content-sha256")
	}
	return a, nil
}

func (s *S3) parseV4Query(ctx *fasthttp.RequestCtx) (*authInfo, *Error) {
	q := ctx.QueryArgs()
	a := &authInfo{v4: true, query: true}
	if string(q.Peek("X-Amz-Algorithm")) != "AWS4-HMAC-SHA256" {
		return nil, s3err(400, "AuthorizationQueryParametersError", "X-Amz-Algorithm only supports \"AWS4-HMAC-SHA256\"")
	}
	a.sig = string(q.Peek("X-Amz-Signature"))
	sh := string(q.Peek("X-Amz-SignedHeaders"))
	cred := string(q.Peek("X-Amz-Credential"))
	a.amzDate = string(q.Peek("X-Amz-Date"))
	if a.sig == "" || sh == "" || cred == "" || a.amzDate == "" {
		return nil, s3err(400, "AuthorizationQueryParametersError", "Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.")
	}
	d, err := time.Parse(amzDateFormat, a.amzDate)
	if err != nil {
		return nil, errAccessDenied
	}
	a.date = d
	exp, err := strconv.ParseInt(string(q.Peek("X-Amz-Expires")), 10, 64)
	if err != nil {
		return nil, s3err(400, "AuthorizationQueryParametersError", "X-Amz-Expires should be a number")
	}
	if exp < 0 {
		return nil, errExpiredPresigned
	}
	if exp > maxPresignExpires {
		// 403 as AWS answers (s3-tests); s3api says 400.
		return nil, s3err(403, "AccessDenied", "X-Amz-Expires must be less than a week (in seconds); that is, the given X-Amz-Expires must be less than 604800 seconds")
	}
	a.expires = exp
	a.signed = strings.Split(sh, ";")
	if e := s.parseCredential(a, cred, errAuthQueryMalformed); e != nil {
		return nil, e
	}
	a.payload = string(ctx.Request.Header.Peek("X-Amz-Content-Sha256"))
	if a.payload == "" {
		a.payload = unsignedPayload
	}
	return a, nil
}

// parseCredential checks "access/yyyymmdd/region/s3/aws4_request".
func (s *S3) parseCredential(a *authInfo, cred string, malformed *Error) *Error {
	parts := strings.Split(cred, "/")
	if len(parts) != 5 {
		return malformed
	}
	a.access = parts[0]
	if parts[1] != a.date.UTC().Format("20060102") {
		return malformed.with("Message", "")
	}
	if parts[2] != s.cfg.Location {
		m := *malformed
		m.Message = "the region '" + parts[2] + "' is wrong; expecting '" + s.cfg.Location + "'"
		return m.with("Region", s.cfg.Location)
	}
	if parts[3] != "s3" || parts[4] != "aws4_request" {
		return malformed
	}
	a.region = parts[2]
	a.scope = strings.Join(parts[1:], "/")
	return nil
}

// requestDate is X-Amz-Date or Date (header authentication).
func requestDate(ctx *fasthttp.RequestCtx) (time.Time, *Error) {
	if v := string(ctx.Request.Header.Peek("X-Amz-Date")); v != "" {
		if t, err := time.Parse(amzDateFormat, v); err == nil {
			return t, nil
		}
		if t, err := parseHTTPDate(v); err == nil {
			return t, nil
		}
		return time.Time{}, errAccessDenied.with("Message", "")
	}
	v := string(ctx.Request.Header.Peek("Date"))
	if v == "" {
		return time.Time{}, s3err(403, "AccessDenied", "AWS authentication requires a valid Date or x-amz-date header")
	}
	t, err := parseHTTPDate(v)
	if err != nil {
		return time.Time{}, s3err(403, "AccessDenied", "AWS authentication requires a valid Date or x-amz-date header")
	}
	return t, nil
}

func parseHTTPDate(v string) (time.Time, error) {
	if t, ok := proxy.ParseHTTPDate(v); ok {
		return t, nil
	}
	return time.Time{}, strconv.ErrSyntax
}

// checkTime enforces the clock skew window and presigned expiry.
func (s *S3) checkTime(a *authInfo, now time.Time) *Error {
	skew := time.Duration(s.cfg.AllowableClockSkew) * time.Second
	switch {
	case a.query && a.v4:
		if now.Before(a.date.Add(-skew)) {
			return s3err(403, "AccessDenied", "Request is not valid yet")
		}
		if now.After(a.date.Add(time.Duration(a.expires) * time.Second)) {
			return errExpiredPresigned
		}
	case a.query:
		if now.Unix() > a.expires {
			return errExpiredPresigned
		}
	default:
		if d := now.Sub(a.date); d > skew || d < -skew {
			return errRequestTimeTooSkewed.with("RequestTime", a.date.UTC().Format(amzDateFormat)).
				with("ServerTime", now.UTC().Format(amzDateFormat)).
				with("MaxAllowedSkewMilliseconds", strconv.FormatInt(skew.Milliseconds(), 10))
		}
	}
	return nil
}

// signingKey derives SigV4's key for date/region/service.
// signingKey is SigV4's key for secret and scope (date/region/service/
// aws4_request). The four HMACs that derive it are most of a small
// request's signature check, and a key serves a whole day: derived keys
// are kept.
func signingKey(secret, scope string) []byte {
	id := secret + "\x00" + scope
	signingKeys.mu.Lock()
	k, ok := signingKeys.m[id]
	signingKeys.mu.Unlock()
	if ok {
		return k
	}
	k = []byte("AWS4" + secret)
	for _, p := range strings.Split(scope, "/") {
		k = hmacSHA256(k, p)
	}
	signingKeys.mu.Lock()
	if signingKeys.m == nil || len(signingKeys.m) >= 4096 {
		signingKeys.m = map[string][]byte{} // dates move on: start afresh
	}
	signingKeys.m[id] = k
	signingKeys.mu.Unlock()
	return k
}

var signingKeys struct {
	mu sync.Mutex
	m  map[string][]byte
}

func hmacSHA256(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// uriEncode escapes s as SigV4 does: everything but unreserved
// characters (and "/" when keepSlash) as %XX.
func uriEncode(s string, keepSlash bool) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~' || (keepSlash && c == '/') {
			b.WriteByte(c)
			continue
		}
		b.WriteString("%" + strings.ToUpper(hex.EncodeToString([]byte{c})))
	}
	return b.String()
}

// v4Request is the part of a request SigV4 signs.
type v4Request struct {
	method  string
	path    string              // decoded path
	query   [][2]string         // decoded pairs
	headers map[string][]string // lower-case names
}

// requestForSigning gathers what a SigV4 canonical request of ctx needs;
// signed are the signed header names (lower case), the only headers kept.
func requestForSigning(ctx *fasthttp.RequestCtx, signed []string) *v4Request {
	r := &v4Request{method: string(ctx.Method()), headers: make(map[string][]string, len(signed))}
	raw := string(ctx.Request.Header.RequestURI())
	if i := strings.IndexByte(raw, '?'); i >= 0 {
		raw = raw[:i]
	}
	if p, err := url.PathUnescape(raw); err == nil {
		r.path = p
	} else {
		r.path = raw
	}
	for k, v := range ctx.QueryArgs().All() {
		r.query = append(r.query, [2]string{string(k), string(v)})
	}
	for k, v := range ctx.Request.Header.All() {
		for _, name := range signed {
			if len(k) == len(name) && strings.EqualFold(string(k), name) {
				r.headers[name] = append(r.headers[name], string(v))
				break
			}
		}
	}
	r.headers["host"] = []string{clientHost(ctx)}
	if _, ok := r.headers["content-length"]; !ok && slices.Contains(signed, "content-length") &&
		ctx.Request.Header.ContentLength() >= 0 {
		if _, sent := proxy.RawHeader(&ctx.Request.Header, "content-length"); sent {
			r.headers["content-length"] = []string{strconv.Itoa(ctx.Request.Header.ContentLength())}
		}
	}
	return r
}

// clientHost is the Host header a client signed: the server accepts a
// "host:port:port" (old boto) by trimming the second port, so the header
// as sent is read back from the raw headers then.
func clientHost(ctx *fasthttp.RequestCtx) string {
	host := string(ctx.Request.Header.Host())
	if strings.Contains(host, ":") && bytes.Contains(ctx.Request.Header.RawHeaders(), []byte(host+":")) {
		if raw, ok := proxy.RawHeader(&ctx.Request.Header, "host"); ok && raw != host {
			return raw
		}
	}
	return host
}

// canonicalRequest builds SigV4's canonical request; ok is false when a
// signed header is missing from the request.
func (r *v4Request) canonicalRequest(signed []string, payload string) (string, bool) {
	var b strings.Builder
	b.WriteString(r.method + "\n")
	b.WriteString(uriEncode(r.path, true) + "\n")
	q := make([]string, 0, len(r.query))
	for _, kv := range r.query {
		if kv[0] == "X-Amz-Signature" {
			continue
		}
		q = append(q, uriEncode(kv[0], false)+"="+uriEncode(kv[1], false))
	}
	sort.Strings(q)
	b.WriteString(strings.Join(q, "&") + "\n")
	for _, name := range signed {
		vals, ok := r.headers[name]
		if !ok {
			return "", false
		}
		clean := make([]string, len(vals))
		for i, v := range vals {
			clean[i] = strings.Join(strings.Fields(v), " ")
		}
		b.WriteString(name + ":" + strings.Join(clean, ",") + "\n")
	}
	b.WriteString("\n" + strings.Join(signed, ";") + "\n" + payload)
	return b.String(), true
}

// v4Signature computes the signature of a canonical request.
func v4Signature(secret, amzDate, scope, canonical string) string {
	sts := "AWS4-HMAC-SHA256\n" + amzDate + "\n" + scope + "\n" + sha256Hex([]byte(canonical))
	return hex.EncodeToString(hmacSHA256(signingKey(secret, scope), sts))
}

// v2SubResources are the query parameters SigV2 signs (s3api's ALLOWED_SUB_RESOURCES).
var v2SubResources = map[string]bool{
	"acl": true, "delete": true, "lifecycle": true, "location": true, "logging": true, "notification": true,
	"partNumber": true, "policy": true, "requestPayment": true, "torrent": true, "uploads": true, "uploadId": true,
	"versionId": true, "versioning": true, "versions": true, "website": true,
	"response-cache-control": true, "response-content-disposition": true, "response-content-encoding": true,
	"response-content-language": true, "response-content-type": true, "response-expires": true,
	"cors": true, "tagging": true, "restore": true,
}

// v2StringToSign builds SigV2's string to sign; bucketInHost is the
// bucket of a virtual-hosted-style request.
func v2StringToSign(ctx *fasthttp.RequestCtx, a *authInfo, bucketInHost string, bucketSlash bool) string {
	h := &ctx.Request.Header
	lines := []string{string(ctx.Method()), strings.TrimSpace(string(h.Peek("Content-Md5"))), strings.TrimSpace(string(h.ContentType()))}
	amz := map[string][]string{}
	for k, v := range h.All() {
		lk := strings.ToLower(string(k))
		if strings.HasPrefix(lk, "x-amz-") {
			amz[lk] = append(amz[lk], strings.TrimSpace(string(v)))
		}
	}
	switch {
	case a.query:
		lines = append(lines, strconv.FormatInt(a.expires, 10))
	case amz["x-amz-date"] != nil:
		lines = append(lines, "")
	default:
		lines = append(lines, string(h.Peek("Date")))
	}
	keys := make([]string, 0, len(amz))
	for k := range amz {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		lines = append(lines, k+":"+strings.Join(amz[k], ","))
	}
	raw := string(h.RequestURI())
	if i := strings.IndexByte(raw, '?'); i >= 0 {
		raw = raw[:i]
	}
	if bucketInHost != "" {
		raw = "/" + bucketInHost + raw
	}
	if bucketSlash && strings.Count(raw, "/") == 1 && len(raw) > 1 {
		raw += "/"
	}
	var sub []string
	for k, v := range ctx.QueryArgs().All() {
		if v2SubResources[string(k)] {
			if len(v) > 0 {
				sub = append(sub, string(k)+"="+string(v))
			} else {
				sub = append(sub, string(k))
			}
		}
	}
	sort.Strings(sub)
	if len(sub) > 0 {
		raw += "?" + strings.Join(sub, "&")
	}
	lines = append(lines, raw)
	return strings.Join(lines, "\n")
}

func v2Signature(secret, sts string) string {
	m := hmac.New(sha1.New, []byte(secret))
	m.Write([]byte(sts))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// verify checks a's signature with secret.
func (s *S3) verify(ctx *fasthttp.RequestCtx, a *authInfo, secret, bucketInHost string) *Error {
	if !a.v4 {
		sts := v2StringToSign(ctx, a, bucketInHost, false)
		if subtle.ConstantTimeCompare([]byte(v2Signature(secret, sts)), []byte(a.sig)) == 1 {
			return nil
		}
		// botocore signs a path-style bucket request as "/bucket/".
		sts = v2StringToSign(ctx, a, bucketInHost, true)
		if subtle.ConstantTimeCompare([]byte(v2Signature(secret, sts)), []byte(a.sig)) == 1 {
			return nil
		}
		return errSignatureDoesNotMatch
	}
	cr, ok := requestForSigning(ctx, a.signed).canonicalRequest(a.signed, a.payload)
	if !ok {
		return errSignatureDoesNotMatch
	}
	want := v4Signature(secret, a.amzDate, a.scope, cr)
	if subtle.ConstantTimeCompare([]byte(want), []byte(a.sig)) != 1 {
		return errSignatureDoesNotMatch
	}
	return nil
}
