package s3compat

import (
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"encoding/xml"
	"net/url"
	"strconv"
	"strings"
	"swiftbox/server/proxy"
	"time"

	"github.com/valyala/fasthttp"
)

// Headers an S3 object keeps as Swift keeps them.
var passHeaders = []string{"Content-Type", "Content-Encoding", "Content-Disposition", "Content-Language", "Cache-Control", "Expires", "X-Robots-Tag"}

const metaPrefix = "X-Object-Meta-"

// objectHeaders copies the S3 request's object headers (Content-Type …,
// x-amz-meta-*) to a Swift request; aws-chunked is transfer framing, not
// a content encoding to keep.
func (r *req) objectHeadersTo(dst *fasthttp.Request, withType bool) {
	in := &r.ctx.Request.Header
	for _, name := range passHeaders {
		v := string(in.Peek(name))
		if name == "Content-Encoding" {
			var keep []string
			for _, e := range strings.Split(v, ",") {
				if e = strings.TrimSpace(e); e != "" && !strings.EqualFold(e, "aws-chunked") {
					keep = append(keep, e)
				}
			}
			v = strings.Join(keep, ", ")
		}
		if v != "" && (withType || name != "Content-Type") {
			dst.Header.Set(name, v)
		}
	}
	r.userMeta(dst)
	if tags, e := r.requestTags(); e == nil && tags != "" {
		dst.Header.Set(objectTagsSysmeta, tags)
	}
}

// objectError maps a Swift status on an object to S3's error; a 404 is
// NoSuchBucket when the container is missing, NoSuchKey otherwise.
func (r *req) objectError(st int) *Error {
	if st == 404 {
		if cst, _ := r.headContainer(r.bucket); cst == 404 {
			return errNoSuchBucket.with("BucketName", r.bucket)
		}
	}
	if st == 401 && r.id == nil && !r.bucketExists() {
		// S3 tells anonymous clients too that a bucket does not exist.
		return errNoSuchBucket.with("BucketName", r.bucket)
	}
	return swiftError(st, "object", r.bucket, r.key)
}

// bucketExists checks the bucket's container past its ACLs (for
// anonymous requests, which may not HEAD it themselves).
func (r *req) bucketExists() bool {
	var st int
	r.preAuthed(func() { st, _ = r.headContainer(r.bucket) })
	return st != 404
}

func checkContentMD5(v string, data []byte) *Error {
	want, err := base64.StdEncoding.DecodeString(v)
	if err != nil || len(want) != md5.Size {
		return errInvalidDigest
	}
	got := md5.Sum(data)
	if string(got[:]) != string(want) {
		return errBadDigest
	}
	return nil
}

// contentMD5Etag turns Content-MD5 into the hex ETag Swift checks.
func contentMD5Etag(v string) (string, *Error) {
	raw, err := base64.StdEncoding.DecodeString(v)
	if err != nil || len(raw) != md5.Size {
		return "", errInvalidDigest
	}
	return hex.EncodeToString(raw), nil
}

// userMeta copies x-amz-meta-* of the S3 request to X-Object-Meta-*.
func (r *req) userMeta(dst *fasthttp.Request) {
	for k, v := range r.ctx.Request.Header.All() {
		if name, ok := cutPrefixFold(string(k), "X-Amz-Meta-"); ok {
			dst.Header.Set(metaPrefix+name, string(v))
		}
	}
}

func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix) {
		return s[len(prefix):], true
	}
	return "", false
}

// checkStorageClass refuses storage classes swiftbox cannot honour.
func (r *req) checkStorageClass() *Error {
	switch sc := string(r.ctx.Request.Header.Peek("X-Amz-Storage-Class")); sc {
	case "", "STANDARD", "REDUCED_REDUNDANCY":
		return nil
	}
	return errInvalidStorageClass
}

// putObject streams the body to a Swift object PUT.
func (r *req) putObject() *Error {
	if e := r.checkStorageClass(); e != nil {
		return e
	}
	h := &r.ctx.Request.Header
	if r.body.size > r.s.maxFileSize {
		return errEntityTooLarge
	}
	acl, e := r.newObjectACL()
	if e != nil {
		return e
	}
	if _, e := r.requestTags(); e != nil {
		return e
	}
	var etag string
	if v := h.Peek("Content-Md5"); len(v) > 0 {
		var e *Error
		if etag, e = contentMD5Etag(string(v)); e != nil {
			return e
		}
	}
	if im := string(h.Peek("If-Match")); im != "" {
		// S3's conditional overwrite; Swift's PUT knows only If-None-Match: *.
		st, oh, _ := r.headObject()
		if st == 404 {
			return r.objectError(404)
		}
		cur := strings.Trim(string(oh.Peek("Etag")), `"`)
		if s3 := oh.Peek("X-Object-Sysmeta-S3api-Etag"); len(s3) > 0 {
			cur = string(s3)
		}
		if st/100 != 2 || !etagListMatches(im, cur) {
			return errPreconditionFailed
		}
	}
	inm := string(h.Peek("If-None-Match"))
	if inm != "" && inm != "*" {
		// Swift's PUT takes only "*"; S3 also refuses a PUT over a listed etag.
		st, oh, _ := r.headObject()
		cur := strings.Trim(string(oh.Peek("Etag")), `"`)
		if s3 := oh.Peek("X-Object-Sysmeta-S3api-Etag"); len(s3) > 0 {
			cur = string(s3)
		}
		if st/100 == 2 && etagListMatches(inm, cur) {
			return errPreconditionFailed
		}
		inm = ""
	}
	resp := r.sub("PUT", r.bucket, r.key, "", func(req *fasthttp.Request) {
		r.objectHeadersTo(req, true)
		if etag != "" {
			req.Header.Set("Etag", etag)
		}
		if inm != "" {
			req.Header.Set("If-None-Match", inm)
		}
		if acl != nil {
			req.Header.Set(objectACLSys, acl.encode())
		}
		r.body.onDone = func(alg, value string) { req.Header.Set(checksumSysmeta(alg), value) }
		req.SetBodyStream(r.body, int(r.body.size))
	})
	defer resp.CloseBodyStream()
	if r.body.err != nil {
		return r.body.err
	}
	st := resp.StatusCode()
	if st/100 != 2 {
		if st == 400 && strings.Contains(string(resp.Body()), "Metadata") {
			return errMetadataTooLarge
		}
		return r.objectError(st)
	}
	out := &r.ctx.Response.Header
	out.Set("ETag", `"`+string(resp.Header.Peek("Etag"))+`"`)
	r.versionHeaders(&resp.Header)
	if r.body.sum != nil {
		out.Set("X-Amz-Checksum-"+strings.ToUpper(r.body.alg[:1])+r.body.alg[1:], base64.StdEncoding.EncodeToString(r.body.sum.Sum(nil)))
	}
	r.ctx.SetStatusCode(200)
	return nil
}

// headObject runs HEAD on the object and returns status and headers.
func (r *req) headObject() (int, *fasthttp.ResponseHeader, *Error) {
	resp := r.sub("HEAD", r.bucket, r.key, "", nil)
	defer resp.CloseBodyStream()
	h := &fasthttp.ResponseHeader{}
	resp.Header.CopyTo(h)
	return resp.StatusCode(), h, nil
}

// getObject serves GetObject and HeadObject from a Swift GET/HEAD.
func (r *req) getObject(m string) *Error {
	in := &r.ctx.Request.Header
	q := r.ctx.QueryArgs()
	if q.Has("partNumber") {
		return r.getObjectPart(m)
	}
	return r.getObjectRange(m, string(in.Peek("Range")))
}

// getObjectRange is GetObject/HeadObject of byte range rng ("" = all).
func (r *req) getObjectRange(m, rng string) *Error {
	in := &r.ctx.Request.Header
	q := r.ctx.QueryArgs()
	method := m
	if m == "HEAD" && rng != "" {
		// Swift's HEAD ignores Range; S3 answers it as the GET would.
		method = "GET"
	}
	v, hasVersion := r.versionID()
	if hasVersion {
		if e := r.checkReadVersion(r.bucket, r.key, v); e != nil {
			return e
		}
	}
	prep := func(req *fasthttp.Request) {
		for _, name := range []string{"If-Match", "If-None-Match", "If-Modified-Since", "If-Unmodified-Since"} {
			if v := in.Peek(name); len(v) > 0 {
				req.Header.Set(name, string(v))
			}
		}
		etagIsAtS3(req)
		if rng != "" {
			req.Header.Set("Range", rng)
		}
	}
	resp := r.sub(method, r.bucket, r.key, versionQuery(v, hasVersion), prep)
	st := resp.StatusCode()
	if st == 401 || st == 403 {
		if g := r.grantedRead(method, versionQuery(v, hasVersion), prep); g != nil {
			resp.CloseBodyStream()
			resp, st = g, g.StatusCode()
		}
	}
	if st/100 != 2 && st != 304 {
		resp.CloseBodyStream()
		if st == 416 {
			return errInvalidRange.with("RangeRequested", string(in.Peek("Range")))
		}
		if hasVersion {
			return r.versionedReadError(st, &resp.Header, r.key, v)
		}
		if st == 404 {
			return r.missingObject(r.bucket, r.key)
		}
		return r.objectError(st)
	}
	r.objectHeaders(&resp.Header)
	r.versionHeaders(&resp.Header)
	out := &r.ctx.Response.Header
	if st == 304 {
		resp.CloseBodyStream()
		r.ctx.SetStatusCode(304)
		r.ctx.Response.SkipBody = true
		return nil
	}
	if v := resp.Header.Peek("Content-Range"); len(v) > 0 {
		out.Set("Content-Range", string(v))
	}
	for _, o := range [][2]string{{"response-content-type", "Content-Type"}, {"response-content-language", "Content-Language"},
		{"response-expires", "Expires"}, {"response-cache-control", "Cache-Control"},
		{"response-content-disposition", "Content-Disposition"}, {"response-content-encoding", "Content-Encoding"}} {
		if v := q.Peek(o[0]); v != nil {
			out.Set(o[1], string(v))
		}
	}
	r.ctx.SetStatusCode(st)
	n := resp.Header.ContentLength()
	if m == "HEAD" {
		resp.CloseBodyStream()
		r.ctx.Response.SkipBody = true
		out.SetContentLength(n)
		return nil
	}
	if s := resp.BodyStream(); s != nil {
		proxy.SetBodyStream(r.ctx, s, n)
	} else {
		r.ctx.Response.SetBody(resp.Body())
	}
	return nil
}

// objectHeaders sets S3's object response headers from Swift's.
func (r *req) objectHeaders(h *fasthttp.ResponseHeader) {
	out := &r.ctx.Response.Header
	for _, name := range passHeaders {
		if v := h.Peek(name); len(v) > 0 {
			out.SetBytesV(name, v)
		}
	}
	etag := string(h.Peek("Etag"))
	if s3 := h.Peek("X-Object-Sysmeta-S3api-Etag"); len(s3) > 0 {
		etag = string(s3)
	}
	out.Set("ETag", `"`+strings.Trim(etag, `"`)+`"`)
	out.SetBytesV("Last-Modified", h.Peek("Last-Modified"))
	out.Set("Accept-Ranges", "bytes")
	withSums := strings.EqualFold(string(r.ctx.Request.Header.Peek("X-Amz-Checksum-Mode")), "ENABLED")
	for k, v := range h.All() {
		ks := string(k)
		if name, ok := cutPrefixFold(ks, metaPrefix); ok {
			out.Set("x-amz-meta-"+strings.ToLower(name), string(v))
		} else if alg, ok := cutPrefixFold(ks, "X-Object-Sysmeta-S3api-Checksum-"); ok && withSums {
			out.Set("X-Amz-Checksum-"+alg, string(v))
		}
	}
	if t := h.Peek(sysChecksumType); withSums && len(t) > 0 {
		out.SetBytesV("X-Amz-Checksum-Type", t)
	}
	if v := h.Peek("X-Object-Sysmeta-S3api-Parts"); len(v) > 0 {
		out.Set("X-Amz-Mp-Parts-Count", string(v))
	}
	setTagCount(out, h)
	out.Set("X-Amz-Storage-Class", "STANDARD")
	out.Del("X-Amz-Storage-Class")
}

func (r *req) deleteObjects() *Error {
	body, e := r.readBody(2 << 20)
	if e != nil {
		return e
	}
	doc, e := parseDeleteObjects(body, r.s.cfg.MaxMultiDeleteObjects)
	if e != nil {
		return e
	}
	// Whether the bucket exists is no secret here: each key is authorized
	// (and refused) on its own, as AWS answers.
	var cst int
	r.preAuthed(func() { cst, _ = r.headContainer(r.bucket) })
	if cst/100 != 2 {
		return swiftError(cst, "bucket", r.bucket, "")
	}
	type deleted struct {
		Key                   string `xml:"Key"`
		VersionID             string `xml:"VersionId,omitempty"`
		DeleteMarker          bool   `xml:"DeleteMarker,omitempty"`
		DeleteMarkerVersionID string `xml:"DeleteMarkerVersionId,omitempty"`
	}
	type failed struct {
		Key       string `xml:"Key"`
		VersionID string `xml:"VersionId,omitempty"`
		Code      string `xml:"Code"`
		Message   string `xml:"Message"`
	}
	type result struct {
		XMLName xml.Name  `xml:"DeleteResult"`
		Xmlns   string    `xml:"xmlns,attr"`
		Deleted []deleted `xml:"Deleted"`
		Errors  []failed  `xml:"Error"`
	}
	res := result{Xmlns: xmlns}
	for _, o := range doc.Objects {
		// Each key is its own DeleteObject (DeleteObjectVersion), with the
		// caller's identity: key scope, policy Allow and Deny, ACL grants.
		var out deleteOutcome
		a, e := r.authorize(opDeleteObject, r.bucket, o.Key, o.VersionID, o.VersionID != "")
		if e == nil {
			r.with(a, r.bucket, func() { out, e = r.deleteKey(o.Key, o.VersionID, o.VersionID != "") })
		}
		if e != nil {
			if e.Code == "NoSuchBucket" {
				return e
			}
			res.Errors = append(res.Errors, failed{Key: o.Key, VersionID: o.VersionID, Code: e.Code, Message: e.Message})
			continue
		}
		if doc.Quiet {
			continue
		}
		d := deleted{Key: o.Key, VersionID: o.VersionID}
		if out.deleteMarker {
			d.DeleteMarker = true
			d.DeleteMarkerVersionID = out.versionID
		}
		res.Deleted = append(res.Deleted, d)
	}
	writeXML(r.ctx, res)
	return nil
}

// deleteObjectsDoc is a DeleteObjects request body.
type deleteObjectsDoc struct {
	XMLName xml.Name `xml:"Delete"`
	Quiet   bool     `xml:"Quiet"`
	Objects []struct {
		Key       string `xml:"Key"`
		VersionID string `xml:"VersionId"`
	} `xml:"Object"`
}

// parseDeleteObjects reads a DeleteObjects body of 1 to max keys, none empty.
func parseDeleteObjects(body []byte, max int) (*deleteObjectsDoc, *Error) {
	var doc deleteObjectsDoc
	if err := xml.Unmarshal(body, &doc); err != nil || len(doc.Objects) == 0 || len(doc.Objects) > max {
		return nil, errMalformedXML
	}
	for _, o := range doc.Objects {
		if o.Key == "" {
			return nil, s3err(400, "UserKeyMustBeSpecified", "The bucket POST must contain the specified field name. If it is specified, please check the order of the fields.")
		}
	}
	return &doc, nil
}

// parseCopySource parses x-amz-copy-source: "[/]bucket/key[?versionId=…]".
func parseCopySource(v string) (*objectRef, *Error) {
	src := &objectRef{}
	if i := strings.Index(v, "?"); i >= 0 {
		q, err := url.ParseQuery(v[i+1:])
		if err != nil || len(q) != 1 || !q.Has("versionId") {
			return nil, errInvalidArgument.with("ArgumentName", "x-amz-copy-source").with("ArgumentValue", v)
		}
		if vid := q.Get("versionId"); !validVersionID(vid) {
			return nil, errInvalidVersionID(vid)
		}
		src.version, src.hasVersion = q.Get("versionId"), true
		v = v[:i]
	}
	p := strings.TrimPrefix(unquote(v), "/")
	bucket, key, ok := strings.Cut(p, "/")
	if !ok || bucket == "" || key == "" {
		return nil, errInvalidCopySource
	}
	src.bucket, src.key = bucket, key
	return src, nil
}

// copySource is the bucket and key of the request's copy source.
func (r *req) copySource() (bucket, key string, e *Error) {
	if r.src == nil {
		if r.srcErr == nil {
			return "", "", errInvalidCopySource
		}
		return "", "", r.srcErr
	}
	return r.src.bucket, r.src.key, nil
}

// unquote decodes %XX escapes and leaves any other '%' as it is, as
// Python's unquote (s3api's) does: clients send copy sources unencoded.
func unquote(s string) string {
	if !strings.Contains(s, "%") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+3], 16, 8); err == nil {
				b.WriteByte(byte(v))
				i += 2
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// copySourceVersion is the versionId x-amz-copy-source names, if any.
func (r *req) copySourceVersion() (string, bool) {
	if r.src == nil {
		return "", false
	}
	return r.src.version, r.src.hasVersion
}

// copySourceGet GETs the copy source (the version it names, if any)
// with prep's headers. The source is authorized as its own GetObject
// (GetObjectVersion) with the caller's identity — key scope, the source
// bucket's policy, its ACLs — and read with exactly what that gives, not
// what a grant or policy on the destination gave the request.
func (r *req) copySourceGet(sb, sk string, prep func(*fasthttp.Request)) (*fasthttp.Response, *Error) {
	v, has := r.copySourceVersion()
	a, e := r.authorize(opGetObject, sb, sk, v, has)
	if e != nil {
		return nil, e
	}
	var src *fasthttp.Response
	r.with(a, sb, func() { src, e = r.copySourceGetIn(sb, sk, prep) })
	return src, e
}

func (r *req) copySourceGetIn(sb, sk string, prep func(*fasthttp.Request)) (*fasthttp.Response, *Error) {
	v, has := r.copySourceVersion()
	if has {
		if e := r.checkReadVersion(sb, sk, v); e != nil {
			return nil, e
		}
	}
	src := r.sub("GET", sb, sk, versionQuery(v, has), prep)
	st := src.StatusCode()
	if st == 304 {
		st = 412
	}
	if st/100 == 2 {
		return src, nil
	}
	src.CloseBodyStream()
	switch {
	case st == 416:
		return nil, errInvalidRange.with("RangeRequested", string(r.ctx.Request.Header.Peek("X-Amz-Copy-Source-Range")))
	case has && st == 404 && isDeleteMarker(&src.Header):
		return nil, s3err(400, "InvalidRequest", "The source of a copy request may not specifically refer to a delete marker by version id.")
	case has && (st == 404 || st == 400):
		if _, e := r.bucketVersioned(sb); e != nil {
			return nil, e
		}
		if v == "null" {
			return nil, errNoSuchKey.with("Key", sk)
		}
		return nil, errNoSuchVersion.with("Key", sk).with("VersionId", v)
	case st == 404:
		if _, e := r.bucketVersioned(sb); e != nil {
			return nil, e
		}
		return nil, errNoSuchKey.with("Key", sk)
	}
	return nil, swiftError(st, "object", sb, sk)
}

// copyConditions maps x-amz-copy-source-if-* onto the source request.
func (r *req) copyConditions(req *fasthttp.Request) {
	in := &r.ctx.Request.Header
	for _, c := range [][2]string{{"X-Amz-Copy-Source-If-Match", "If-Match"}, {"X-Amz-Copy-Source-If-None-Match", "If-None-Match"},
		{"X-Amz-Copy-Source-If-Modified-Since", "If-Modified-Since"}, {"X-Amz-Copy-Source-If-Unmodified-Since", "If-Unmodified-Since"}} {
		if v := in.Peek(c[0]); len(v) > 0 {
			req.Header.Set(c[1], string(v))
		}
	}
	if v := in.Peek("X-Amz-Copy-Source-Range"); len(v) > 0 {
		req.Header.Set("Range", string(v))
	}
	etagIsAtS3(req)
}

// etagIsAtS3 makes If-Match/If-None-Match compare the ETag S3 clients see:
// a multipart object's "<md5 of part md5s>-N" (its sysmeta), not the SLO's
// etag beneath it (s3api's update_etag_is_at_header).
func etagIsAtS3(req *fasthttp.Request) {
	req.Header.Set("X-Backend-Etag-Is-At", sysEtag)
}

// copyObject is GET of the source streamed into a PUT of the
// destination, with the source's metadata (COPY) or the request's (REPLACE).
func (r *req) copyObject() *Error {
	if e := r.checkStorageClass(); e != nil {
		return e
	}
	sb, sk, e := r.copySource()
	if e != nil {
		return e
	}
	in := &r.ctx.Request.Header
	directive, e := copyDirective(in, "X-Amz-Metadata-Directive")
	if e != nil {
		return e
	}
	tagsDirective, e := copyDirective(in, "X-Amz-Tagging-Directive")
	if e != nil {
		return e
	}
	if _, e := r.requestTags(); e != nil {
		return e
	}
	acl, e := r.newObjectACL()
	if e != nil {
		return e
	}
	_, fromVersion := r.copySourceVersion()
	if sb == r.bucket && sk == r.key && directive != "REPLACE" && len(in.Peek("X-Amz-Storage-Class")) == 0 && !fromVersion {
		return errInvalidCopyRequest
	}
	src, e := r.copySourceGet(sb, sk, func(req *fasthttp.Request) {
		r.copyConditions(req)
		req.Header.Del("Range")
	})
	if e != nil {
		return e
	}
	defer src.CloseBodyStream()
	size := int64(src.Header.ContentLength())
	if size > r.s.maxFileSize {
		return errEntityTooLarge
	}
	resp := r.sub("PUT", r.bucket, r.key, "", func(req *fasthttp.Request) {
		if directive == "REPLACE" {
			r.objectHeadersTo(req, true)
		} else {
			for k, v := range src.Header.All() {
				ks := string(k)
				if _, ok := cutPrefixFold(ks, metaPrefix); ok {
					req.Header.Set(ks, string(v))
				}
			}
			for _, name := range passHeaders {
				if v := src.Header.Peek(name); len(v) > 0 {
					req.Header.Set(name, string(v))
				}
			}
		}
		for k, v := range src.Header.All() {
			if _, ok := cutPrefixFold(string(k), "X-Object-Sysmeta-S3api-Checksum-"); ok {
				req.Header.Set(string(k), string(v))
			}
		}
		// Tags follow x-amz-tagging-directive, not the metadata one.
		req.Header.Del(objectTagsSysmeta)
		if tagsDirective == "REPLACE" {
			if tags, _ := r.requestTags(); tags != "" {
				req.Header.Set(objectTagsSysmeta, tags)
			}
		} else if v := src.Header.Peek(objectTagsSysmeta); len(v) > 0 {
			req.Header.SetBytesV(objectTagsSysmeta, v)
		}
		if acl != nil {
			req.Header.Set(objectACLSys, acl.encode())
		}
		req.SetBodyStream(readerOf(src), int(size))
	})
	defer resp.CloseBodyStream()
	if st := resp.StatusCode(); st/100 != 2 {
		return r.objectError(st)
	}
	type result struct {
		XMLName      xml.Name `xml:"CopyObjectResult"`
		Xmlns        string   `xml:"xmlns,attr"`
		LastModified string   `xml:"LastModified"`
		ETag         string   `xml:"ETag"`
	}
	lm := time.Now().UTC()
	if t, err := time.Parse(time.RFC1123, string(resp.Header.Peek("Last-Modified"))); err == nil {
		lm = t.UTC()
	}
	if v := src.Header.Peek("Last-Modified"); len(v) > 0 {
		r.ctx.Response.Header.Set("X-Amz-Copy-Source-Last-Modified", string(v))
	}
	if v := src.Header.Peek("X-Object-Version-Id"); len(v) > 0 {
		r.ctx.Response.Header.Set("x-amz-copy-source-version-id", string(v))
	}
	r.versionHeaders(&resp.Header)
	writeXML(r.ctx, result{Xmlns: xmlns, LastModified: lm.Format("2006-01-02T15:04:05.000Z"), ETag: `"` + string(resp.Header.Peek("Etag")) + `"`})
	return nil
}

// copyDirective is a copy's COPY or REPLACE directive header ("" when absent).
func copyDirective(in *fasthttp.RequestHeader, name string) (string, *Error) {
	d := strings.ToUpper(string(in.Peek(name)))
	switch d {
	case "", "COPY", "REPLACE":
		return d, nil
	}
	return "", errInvalidArgument.with("ArgumentName", strings.ToLower(name)).with("ArgumentValue", d)
}

// etagListMatches reports whether an If-Match list names etag (or is *).
func etagListMatches(list, etag string) bool {
	for _, e := range strings.Split(list, ",") {
		e = strings.Trim(strings.TrimSpace(e), `"`)
		if e == "*" || e == etag {
			return true
		}
	}
	return false
}
