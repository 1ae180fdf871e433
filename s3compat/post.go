package s3compat

import (
	"bufio"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"hash"
	"io"
	"mime"
	"mime/multipart"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"swiftbox/keystone"
	"swiftbox/server/proxy"
)

// isPostObject recognises a browser-form upload (S3's POST Object): a
// multipart/form-data POST to a bucket, not to a Swift path (/v1/…,
// where Swift's formpost answers).
func isPostObject(ctx *fasthttp.RequestCtx, bucketInHost string) bool {
	if string(ctx.Method()) != fasthttp.MethodPost || !strings.HasPrefix(strings.ToLower(string(ctx.Request.Header.ContentType())), "multipart/form-data") {
		return false
	}
	p := strings.Trim(string(ctx.Path()), "/")
	if bucketInHost != "" {
		return p == ""
	}
	return p != "" && !strings.Contains(p, "/") && p != "v1" && p != "v1.0"
}

const (
	maxPostField  = 64 << 10
	maxPostFields = 100
)

// postForm is the fields of a POST Object form before its file.
type postForm struct {
	fields   map[string]string // lower-case names
	names    map[string]string // lower-case → as sent
	filename string
}

func (s *S3) servePostObject(ctx *fasthttp.RequestCtx, next proxy.Handler, bucketInHost string) {
	ctx.Response.Header.DisableNormalizing()
	r := &req{s: s, ctx: ctx, next: next, auth: &authInfo{}}
	if e := r.parsePath(bucketInHost); e != nil {
		writeError(ctx, e)
		return
	}
	if e := r.postObject(); e != nil {
		writeError(ctx, e)
	}
	ctx.Response.Header.Set("X-Amz-Request-Id", string(ctx.Response.Header.Peek("X-Trans-Id")))
}

func (r *req) postObject() *Error {
	_, params, err := mime.ParseMediaType(string(r.ctx.Request.Header.ContentType()))
	if err != nil || params["boundary"] == "" {
		return errMalformedPOST
	}
	var src io.Reader
	if s := r.ctx.RequestBodyStream(); s != nil {
		src = s
	} else {
		src = strings.NewReader(string(r.ctx.Request.Body()))
	}
	mr := multipart.NewReader(bufio.NewReaderSize(src, 64<<10), params["boundary"])
	form, file, e := readPostForm(mr)
	if e != nil {
		return e
	}
	if file == nil {
		return s3err(400, "InvalidArgument", "POST requires exactly one file upload per request.").with("ArgumentName", "file")
	}
	if e := unhonouredFeature(func(name string) string { return form.fields[name] }, true); e != nil {
		return e
	}
	key, ok := form.fields["key"]
	if !ok || key == "" {
		return s3err(400, "InvalidArgument", "Bucket POST must contain a field named 'key'.  If it is specified, please check the order of the fields.").
			with("ArgumentName", "key")
	}
	key = strings.ReplaceAll(key, "${filename}", form.filename)
	r.key = key
	minLen, maxLen, e := r.checkPostAuth(&form)
	if e != nil {
		return e
	}
	var tags string
	if v, ok := form.fields["tagging"]; ok && v != "" {
		set, e := parseTaggingXML([]byte(v), maxObjectTags)
		if e != nil {
			return e
		}
		tags = encodeTags(set)
	}
	body := &postBody{r: file, min: minLen, max: maxLen}
	for _, alg := range checksumAlgorithms {
		if v, ok := form.fields["x-amz-checksum-"+alg]; ok {
			body.sum, body.alg, body.wantSum = newChecksum(alg), alg, v
			break
		}
	}
	resp := r.sub("PUT", r.bucket, r.key, "", func(req *fasthttp.Request) {
		for lk, v := range form.fields {
			switch {
			case lk == "content-type" || lk == "cache-control" || lk == "content-disposition" || lk == "content-encoding" || lk == "expires":
				req.Header.Set(form.names[lk], v)
			case strings.HasPrefix(lk, "x-amz-meta-"):
				req.Header.Set(metaPrefix+lk[len("x-amz-meta-"):], v)
			}
		}
		if tags != "" {
			req.Header.Set(objectTagsSysmeta, tags)
		}
		if body.sum != nil {
			// Kept only if the body matches: postBody fails the read otherwise.
			req.Header.Set(checksumSysmeta(body.alg), body.wantSum)
		}
		req.SetBodyStream(body, -1)
	})
	defer resp.CloseBodyStream()
	if body.err != nil {
		return body.err
	}
	if st := resp.StatusCode(); st/100 != 2 {
		return r.objectError(st)
	}
	r.postAnswer(form, `"`+string(resp.Header.Peek("Etag"))+`"`)
	return nil
}

// readPostForm reads the form's fields up to its file part (S3 ignores
// fields after the file).
func readPostForm(mr *multipart.Reader) (postForm, *multipart.Part, *Error) {
	form := postForm{fields: map[string]string{}, names: map[string]string{}}
	var file *multipart.Part
	for n := 0; file == nil; n++ {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil || n > maxPostFields {
			return form, nil, errMalformedPOST
		}
		name := part.FormName()
		if strings.EqualFold(name, "file") {
			file, form.filename = part, part.FileName()
			break
		}
		v, err := io.ReadAll(io.LimitReader(part, maxPostField+1))
		if err != nil || len(v) > maxPostField {
			return form, nil, errMalformedPOST
		}
		form.fields[strings.ToLower(name)] = string(v)
		form.names[strings.ToLower(name)] = name
	}
	return form, file, nil
}

// postAnswer answers a successful POST upload as the form asks:
// success_action_redirect, or success_action_status 200, 201 or 204.
func (r *req) postAnswer(form postForm, etag string) {
	location := "/" + r.bucket + "/" + uriEncode(r.key, true)
	out := &r.ctx.Response.Header
	out.Set("ETag", etag)
	out.Set("Location", location)
	if redirect := form.fields["success_action_redirect"]; redirect != "" {
		if u, err := url.Parse(redirect); err == nil && u.Scheme != "" {
			q := u.Query()
			q.Set("bucket", r.bucket)
			q.Set("key", r.key)
			q.Set("etag", etag)
			u.RawQuery = q.Encode()
			out.Set("Location", u.String())
			r.ctx.SetStatusCode(303)
			return
		}
	}
	switch form.fields["success_action_status"] {
	case "200":
		r.ctx.SetStatusCode(200)
	case "201":
		type result struct {
			XMLName  xml.Name `xml:"PostResponse"`
			Location string   `xml:"Location"`
			Bucket   string   `xml:"Bucket"`
			Key      string   `xml:"Key"`
			ETag     string   `xml:"ETag"`
		}
		writeXML(r.ctx, result{Location: location, Bucket: r.bucket, Key: r.key, ETag: etag})
		r.ctx.SetStatusCode(201)
	default:
		r.ctx.SetStatusCode(204)
	}
}

var errMalformedPOST = s3err(400, "MalformedPOSTRequest", "The body of your POST request is not well-formed multipart/form-data.")

func policyErr(msg string) *Error {
	return s3err(403, "AccessDenied", "Invalid according to Policy: "+msg)
}

// checkPostAuth verifies the form's policy signature (V2 or V4) and its
// conditions; unsigned forms are anonymous uploads. It returns the
// content-length-range (max -1 = none).
func (r *req) checkPostAuth(form *postForm) (int64, int64, *Error) {
	f := form.fields
	policyB64, hasPolicy := f["policy"]
	access, v4 := f["awsaccesskeyid"], false
	if c := f["x-amz-credential"]; c != "" {
		access, v4 = strings.SplitN(c, "/", 2)[0], true
	}
	sig := f["signature"]
	if v4 {
		sig = f["x-amz-signature"]
	}
	if !hasPolicy {
		if access != "" || sig != "" {
			return 0, 0, s3err(400, "InvalidArgument", "Bucket POST must contain a field named 'policy'.")
		}
		if r.s.cfg.AnonymousAccount == "" {
			return 0, 0, errAccessDenied
		}
		r.account = r.s.cfg.AnonymousAccount
		return 0, -1, nil
	}
	if access == "" {
		return 0, 0, s3err(400, "InvalidArgument", "Bucket POST must contain a field named 'AWSAccessKeyId'.")
	}
	if sig == "" {
		return 0, 0, s3err(400, "InvalidArgument", "Bucket POST must contain a field named 'signature'.")
	}
	// A form's signature is a login like a header's: throttled before it
	// is checked, its failures counted.
	ip := r.ctx.RemoteIP()
	if _, throttled := r.s.logins.Throttled("s3", ip, access); throttled {
		return 0, 0, errSlowDown
	}
	defer r.s.logins.Release(ip, access) // a failure Recorded meanwhile released it already
	id, secret, key, ok := r.s.auth.LookupS3(access)
	if !ok {
		r.s.logins.Record("s3", ip, access, false)
		return 0, 0, errInvalidAccessKeyID.with("AWSAccessKeyId", access)
	}
	r.s3key = key
	if e := r.keyScope(opPutObject, r.bucket); e != nil {
		return 0, 0, e
	}
	if len(key.Buckets) > 0 {
		proxy.SetKeyScope(r.ctx, keyContainers(key.Buckets))
	}
	var want string
	if v4 {
		parts := strings.Split(f["x-amz-credential"], "/")
		if len(parts) != 5 || f["x-amz-algorithm"] != "AWS4-HMAC-SHA256" {
			return 0, 0, errAuthQueryMalformed
		}
		want = hex.EncodeToString(hmacSHA256(signingKey(secret, strings.Join(parts[1:], "/")), policyB64))
	} else {
		m := hmac.New(sha1.New, []byte(secret))
		m.Write([]byte(policyB64))
		want = base64.StdEncoding.EncodeToString(m.Sum(nil))
	}
	if !hmac.Equal([]byte(want), []byte(sig)) {
		r.s.logins.Record("s3", ip, access, false)
		return 0, 0, errSignatureDoesNotMatch
	}
	r.id, r.account = id, id.Account
	proxy.SetIdentity(r.ctx, id)
	return r.checkPolicy(form, policyB64, id)
}

func (r *req) checkPolicy(form *postForm, policyB64 string, id *keystone.Identity) (int64, int64, *Error) {
	raw, err := base64.StdEncoding.DecodeString(policyB64)
	if err != nil {
		return 0, 0, s3err(400, "InvalidPolicyDocument", "Invalid Policy: Invalid Base64 encoding.")
	}
	var doc map[string]json.RawMessage
	if json.Unmarshal(raw, &doc) != nil {
		return 0, 0, s3err(400, "InvalidPolicyDocument", "Invalid Policy: Invalid JSON.")
	}
	var expStr string
	if json.Unmarshal(doc["expiration"], &expStr) != nil || expStr == "" {
		return 0, 0, s3err(400, "InvalidPolicyDocument", "Invalid Policy: Policy missing expiration.")
	}
	exp, err := time.Parse(time.RFC3339, expStr)
	if err != nil {
		return 0, 0, s3err(400, "InvalidPolicyDocument", "Invalid Policy: Invalid 'expiration' value: '"+expStr+"'")
	}
	if r.s.now().After(exp) {
		return 0, 0, policyErr("Policy expired.")
	}
	var conds []json.RawMessage
	if c, ok := doc["conditions"]; !ok || json.Unmarshal(c, &conds) != nil {
		return 0, 0, s3err(400, "InvalidPolicyDocument", "Invalid Policy: Policy missing conditions.")
	}
	f := form.fields
	value := func(field string) (string, bool) {
		field = strings.ToLower(strings.TrimPrefix(field, "$"))
		if field == "bucket" {
			return r.bucket, true
		}
		if field == "key" {
			return r.key, true
		}
		v, ok := f[field]
		return v, ok
	}
	covered := map[string]bool{"bucket": true}
	minLen, maxLen := int64(0), int64(-1)
	for _, c := range conds {
		var obj map[string]string
		if json.Unmarshal(c, &obj) == nil {
			if len(obj) != 1 {
				return 0, 0, s3err(400, "InvalidPolicyDocument", "Invalid Policy: Invalid Simple-Condition: Simple-Conditions must have exactly one property specified.")
			}
			for k, want := range obj {
				got, _ := value(k)
				if got != want {
					return 0, 0, policyErr("Policy Condition failed: [\"eq\", \"$" + k + "\", \"" + want + "\"]")
				}
				covered[strings.ToLower(k)] = true
			}
			continue
		}
		var arr []json.RawMessage
		if json.Unmarshal(c, &arr) != nil || len(arr) == 0 {
			return 0, 0, s3err(400, "InvalidPolicyDocument", "Invalid Policy: Invalid Condition.")
		}
		var op string
		json.Unmarshal(arr[0], &op)
		op = strings.ToLower(op) // operations match case-insensitively, unlike the document's keys
		switch op {
		case "content-length-range":
			var lo, hi int64
			if len(arr) != 3 || json.Unmarshal(arr[1], &lo) != nil || json.Unmarshal(arr[2], &hi) != nil || lo < 0 || hi < lo {
				return 0, 0, s3err(400, "InvalidPolicyDocument", "Invalid Policy: Invalid content-length-range.")
			}
			minLen, maxLen = lo, hi
		case "eq", "starts-with":
			var field, want string
			if len(arr) != 3 || json.Unmarshal(arr[1], &field) != nil || json.Unmarshal(arr[2], &want) != nil {
				return 0, 0, s3err(400, "InvalidPolicyDocument", "Invalid Policy: Invalid Condition.")
			}
			got, ok := value(field)
			if op == "eq" && got != want || op == "starts-with" && (!ok && want != "" || !strings.HasPrefix(got, want)) {
				return 0, 0, policyErr("Policy Condition failed: [\"" + op + "\", \"" + field + "\", \"" + want + "\"]")
			}
			covered[strings.ToLower(strings.TrimPrefix(field, "$"))] = true
		default:
			return 0, 0, s3err(400, "InvalidPolicyDocument", "Invalid Policy: Invalid Condition: unknown operation "+op)
		}
	}
	if !covered["bucket"] || !hasBucketCondition(conds) {
		return 0, 0, policyErr("Policy Condition failed: [\"eq\", \"$bucket\", \"" + r.bucket + "\"]")
	}
	for lk := range f {
		switch {
		case lk == "policy" || lk == "signature" || lk == "awsaccesskeyid" || lk == "x-amz-signature" || lk == "file" || strings.HasPrefix(lk, "x-ignore-"),
			strings.HasPrefix(lk, "x-amz-checksum-"),
			lk == "x-amz-algorithm" || lk == "x-amz-credential" || lk == "x-amz-date" || lk == "x-amz-security-token":
		case !covered[lk]:
			return 0, 0, policyErr("Extra input fields: " + form.names[lk])
		}
	}
	return minLen, maxLen, nil
}

func hasBucketCondition(conds []json.RawMessage) bool {
	for _, c := range conds {
		var obj map[string]string
		if json.Unmarshal(c, &obj) == nil {
			for k := range obj {
				if strings.EqualFold(k, "bucket") {
					return true
				}
			}
		}
		var arr []string
		if json.Unmarshal(c, &arr) == nil && len(arr) == 3 && strings.EqualFold(arr[1], "$bucket") {
			return true
		}
	}
	return false
}

// postBody streams the form's file, enforcing content-length-range before
// the last byte, so a refused upload is never committed.
type postBody struct {
	r        io.Reader
	min, max int64
	n        int64
	err      *Error
	// a declared x-amz-checksum-<alg>, checked at the end
	sum     hash.Hash
	alg     string
	wantSum string
}

func (b *postBody) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	n, err := b.r.Read(p)
	b.n += int64(n)
	if b.max >= 0 && b.n > b.max {
		b.err = s3err(400, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size").
			with("ProposedSize", strconv.FormatInt(b.n, 10)).with("MaxSizeAllowed", strconv.FormatInt(b.max, 10))
		return 0, b.err
	}
	if err == io.EOF && b.n < b.min {
		b.err = s3err(400, "EntityTooSmall", "Your proposed upload is smaller than the minimum allowed size").
			with("ProposedSize", strconv.FormatInt(b.n, 10)).with("MinSizeAllowed", strconv.FormatInt(b.min, 10))
		return 0, b.err
	}
	if b.sum != nil {
		b.sum.Write(p[:n])
		if err == io.EOF && base64.StdEncoding.EncodeToString(b.sum.Sum(nil)) != b.wantSum {
			b.err = s3err(400, "BadDigest", "The "+strings.ToUpper(b.alg)+" you specified did not match the calculated checksum.")
			return 0, b.err
		}
	}
	return n, err
}
