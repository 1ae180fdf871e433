package s3compat

import (
	"encoding/xml"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/valyala/fasthttp"
)

// Object and bucket tagging. An object's tags are transient sysmeta, the
// kind of system metadata a POST may replace, so PutObjectTagging changes
// them without rewriting the data; a bucket's are container sysmeta. Both
// are kept as S3's x-amz-tagging form (url-encoded key=value pairs, in
// key order).

const (
	objectTagsSysmeta = "X-Object-Transient-Sysmeta-S3api-Tagging"
	bucketTagsSysmeta = "X-Container-Sysmeta-S3api-Tagging"
	maxObjectTags     = 10
	maxBucketTags     = 50
	maxTagKeyLen      = 128
	maxTagValueLen    = 256
)

type tag struct {
	Key   string `xml:"Key"`
	Value string `xml:"Value"`
}

type tagging struct {
	XMLName xml.Name `xml:"Tagging"`
	Xmlns   string   `xml:"xmlns,attr,omitempty"`
	TagSet  []tag    `xml:"TagSet>Tag"`
}

func errInvalidTag(msg string) *Error { return s3err(400, "InvalidTag", msg) }

// checkTags is S3's validation of a tag set.
func checkTags(tags []tag, max int) *Error {
	if len(tags) > max {
		return errInvalidTag("Object tags cannot be greater than " + strconv.Itoa(max))
	}
	seen := map[string]bool{}
	for _, t := range tags {
		switch {
		case t.Key == "" || utf8.RuneCountInString(t.Key) > maxTagKeyLen:
			return errInvalidTag("The TagKey you have provided is invalid")
		case utf8.RuneCountInString(t.Value) > maxTagValueLen:
			return errInvalidTag("The TagValue you have provided is invalid")
		case seen[t.Key]:
			return errInvalidTag("Cannot provide multiple Tags with the same key")
		}
		seen[t.Key] = true
	}
	return nil
}

// parseTagQuery reads x-amz-tagging's "k1=v1&k2" form.
func parseTagQuery(s string) ([]tag, *Error) {
	var tags []tag
	for _, pair := range strings.Split(s, "&") {
		if pair == "" {
			continue
		}
		k, v, _ := strings.Cut(pair, "=")
		key, err1 := url.QueryUnescape(k)
		value, err2 := url.QueryUnescape(v)
		if err1 != nil || err2 != nil {
			return nil, errInvalidArgument.with("ArgumentName", "x-amz-tagging").with("ArgumentValue", s)
		}
		tags = append(tags, tag{Key: key, Value: value})
	}
	return tags, checkTags(tags, maxObjectTags)
}

// parseTaggingXML reads a Tagging document.
func parseTaggingXML(body []byte, max int) ([]tag, *Error) {
	var doc tagging
	if err := xml.Unmarshal(body, &doc); err != nil {
		return nil, errMalformedXML
	}
	return doc.TagSet, checkTags(doc.TagSet, max)
}

// encodeTags keeps tags sorted by key, the order S3 lists them in.
func encodeTags(tags []tag) string {
	tags = slices.Clone(tags)
	slices.SortFunc(tags, func(a, b tag) int { return strings.Compare(a.Key, b.Key) })
	parts := make([]string, len(tags))
	for i, t := range tags {
		parts[i] = url.QueryEscape(t.Key) + "=" + url.QueryEscape(t.Value)
	}
	return strings.Join(parts, "&")
}

// decodeTags reads stored tags (written by encodeTags, so valid).
func decodeTags(s string) []tag {
	tags, _ := parseTagQuery(s)
	return tags
}

// requestTags is the request's x-amz-tagging, encoded for storage ("" =
// none).
func (r *req) requestTags() (string, *Error) {
	v := r.ctx.Request.Header.Peek("X-Amz-Tagging")
	if v == nil {
		return "", nil
	}
	tags, e := parseTagQuery(string(v))
	if e != nil {
		return "", e
	}
	return encodeTags(tags), nil
}

// setTagCount answers GET/HEAD of an object with its tag count.
func setTagCount(out *fasthttp.ResponseHeader, h *fasthttp.ResponseHeader) {
	if v := h.Peek(objectTagsSysmeta); len(v) > 0 {
		out.Set("X-Amz-Tagging-Count", strconv.Itoa(len(decodeTags(string(v)))))
	}
}

// objectTagging is Get/Put/DeleteObjectTagging.
func (r *req) objectTagging(m string) *Error {
	h, e := r.headVersion(m != "GET")
	if e != nil {
		return e
	}
	switch m {
	case "GET":
		writeXML(r.ctx, tagging{Xmlns: xmlns, TagSet: decodeTags(string(h.Peek(objectTagsSysmeta)))})
		return nil
	case "PUT":
		body, e := r.readBody(64 << 10)
		if e != nil {
			return e
		}
		tags, e := parseTaggingXML(body, maxObjectTags)
		if e != nil {
			return e
		}
		if e := r.setObjectTags(h, encodeTags(tags)); e != nil {
			return e
		}
		r.ctx.SetStatusCode(200)
		return nil
	case "DELETE":
		if e := r.setObjectTags(h, ""); e != nil {
			return e
		}
		r.ctx.SetStatusCode(204)
		return nil
	}
	return errMethodNotAllowed
}

// setObjectTags replaces the object's tags ("" = none).
func (r *req) setObjectTags(h *fasthttp.ResponseHeader, encoded string) *Error {
	return r.repostObject(h, objectTagsSysmeta, encoded)
}

// repostObject sets the object's transient sysmeta name to value ("" =
// removes it) with a POST. A POST replaces all of an object's user
// metadata, transient sysmeta and settings such as X-Delete-At, so
// everything the object has (h, from a HEAD) is sent again with it.
func (r *req) repostObject(h *fasthttp.ResponseHeader, name, value string) *Error {
	resp := r.sub("POST", r.bucket, r.key, "", func(req *fasthttp.Request) {
		for k, v := range h.All() {
			ks := string(k)
			_, meta := cutPrefixFold(ks, metaPrefix)
			_, transient := cutPrefixFold(ks, "X-Object-Transient-Sysmeta-")
			if (meta || transient) && !strings.EqualFold(ks, name) {
				req.Header.SetBytesV(ks, v)
			}
		}
		for _, hn := range append([]string{"X-Delete-At", "X-Object-Manifest"}, passHeaders[1:]...) {
			if v := h.Peek(hn); len(v) > 0 {
				req.Header.SetBytesV(hn, v)
			}
		}
		// A content type a POST set would fall back to the data's
		// (large objects keep theirs in the manifest).
		if ct := h.ContentType(); len(ct) > 0 && len(h.Peek("X-Static-Large-Object")) == 0 && len(h.Peek("X-Object-Manifest")) == 0 {
			req.Header.SetContentTypeBytes(ct)
		}
		if value != "" {
			req.Header.Set(name, value)
		}
	})
	st := resp.StatusCode()
	resp.CloseBodyStream()
	if st/100 != 2 {
		return r.objectError(st)
	}
	return nil
}

// bucketTagging is Get/Put/DeleteBucketTagging.
func (r *req) bucketTagging(m string) *Error {
	return r.bucketSettingOp(m, sysmetaSetting{
		sysmeta: bucketTagsSysmeta, maxBody: 64 << 10,
		none: s3err(404, "NoSuchTagSet", "The TagSet does not exist"),
		show: func(raw []byte) *Error {
			writeXML(r.ctx, tagging{Xmlns: xmlns, TagSet: decodeTags(string(raw))})
			return nil
		},
		store: func(body []byte) (string, *Error) {
			tags, e := parseTaggingXML(body, maxBucketTags)
			return encodeTags(tags), e
		},
	})
}

// sysmetaSetting is a bucket setting kept as container sysmeta, for
// bucketSettingOp.
type sysmetaSetting struct {
	sysmeta  string
	maxBody  int64
	none     *Error                             // GET when the bucket has none
	tooLarge *Error                             // PUT of a body over maxBody (nil: MalformedXML)
	show     func(raw []byte) *Error            // answers a GET with the stored value
	store    func(body []byte) (string, *Error) // validates a PUT's body into the stored form
}

// bucketSettingOp is Get/Put/Delete of one bucket setting.
func (r *req) bucketSettingOp(m string, s sysmetaSetting) *Error {
	st, h := r.headContainer(r.bucket)
	if st/100 != 2 {
		return swiftError(st, "bucket", r.bucket, "")
	}
	var stored string
	switch m {
	case "GET":
		raw := h.Peek(s.sysmeta)
		if len(raw) == 0 {
			return s.none.with("BucketName", r.bucket)
		}
		return s.show(raw)
	case "PUT":
		body, e := r.readBody(s.maxBody)
		if e != nil {
			if e.Code == "MalformedXML" && s.tooLarge != nil {
				return s.tooLarge
			}
			return e
		}
		if stored, e = s.store(body); e != nil {
			return e
		}
	case "DELETE":
	default:
		return errMethodNotAllowed
	}
	return r.setBucketSysmeta(s.sysmeta, stored, m)
}

// setBucketSysmeta stores (or with "" removes) one of the bucket's
// settings and answers the PUT (200) or DELETE (204) that changed it.
func (r *req) setBucketSysmeta(name, value, m string) *Error {
	resp := r.sub("POST", r.bucket, "", "", func(req *fasthttp.Request) { req.Header.Set(name, value) })
	st := resp.StatusCode()
	resp.CloseBodyStream()
	if st/100 != 2 {
		return swiftError(st, "bucket", r.bucket, "")
	}
	if m == "DELETE" {
		r.ctx.SetStatusCode(204)
	} else {
		r.ctx.SetStatusCode(200)
	}
	return nil
}
