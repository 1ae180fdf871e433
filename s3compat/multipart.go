package s3compat

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"swiftbox/server/proxy"
)

// Multipart uploads are laid out as s3api lays them out, in the bucket's
// segments container "<bucket>+segments":
//
//	<key>/<upload id>              the upload marker: metadata for the object
//	<key>/<upload id>/<part>       one object per part
//
// CompleteMultipartUpload writes a static large object manifest of the
// parts at <key>; its S3 ETag (md5 of the parts' md5s, "-N") is sysmeta.
const (
	sysUploadID       = "X-Object-Sysmeta-S3api-Upload-Id"
	sysEtag           = "X-Object-Sysmeta-S3api-Etag"
	sysParts          = "X-Object-Sysmeta-S3api-Parts"
	sysHasContentType = "X-Object-Sysmeta-S3api-Has-Content-Type"
	sysContentType    = "X-Object-Sysmeta-S3api-Content-Type"
	overrideEtag      = "X-Object-Sysmeta-Container-Update-Override-Etag"
	maxCompleteBody   = 2048 * 1024
)

// segmentsContainer holds the parts of the bucket's multipart uploads.
func (r *req) segmentsContainer() string { return segmentsContainer(r.bucket) }

func segmentsContainer(bucket string) string { return bucket + "+segments" }

// versionsContainer is where object versioning (Swift's
// object_versioning, which S3 versioning is built on) keeps bucket's
// versions.
func versionsContainer(bucket string) string { return "\x00versions\x00" + bucket }

// bucketContainers are the containers bucket's data lives in: a grant
// or an access key's scope on the bucket reaches all of them (the proxy
// core knows no S3 naming and is told).
func bucketContainers(bucket string) []string {
	if bucket == "" {
		return []string{""} // the account itself
	}
	return []string{bucket, segmentsContainer(bucket), versionsContainer(bucket)}
}

// keyContainers are the containers of an access key's buckets.
func keyContainers(buckets []string) []string {
	var out []string
	for _, b := range buckets {
		out = append(out, bucketContainers(b)...)
	}
	return out
}

func readerOf(resp *fasthttp.Response) io.Reader { return proxy.ResponseBody(resp) }

// newUploadID is a random upload id. It never starts with '-' or '_':
// command lines (aws s3api … --upload-id ID) would read "-…" as an option.
func newUploadID() string {
	for {
		var b [16]byte
		rand.Read(b[:])
		if id := base64.RawURLEncoding.EncodeToString(b[:]); id[0] != '-' && id[0] != '_' {
			return id
		}
	}
}

func (r *req) uploadID() string { return string(r.ctx.QueryArgs().Peek("uploadId")) }

// uploadMarker HEADs the marker of the request's upload: NoSuchUpload
// when it is not there.
func (r *req) uploadMarker() (*fasthttp.ResponseHeader, *Error) {
	id := r.uploadID()
	if id == "" || strings.Contains(id, "/") {
		return nil, errNoSuchUpload.with("UploadId", id)
	}
	resp := r.sub("HEAD", r.segmentsContainer(), r.key+"/"+id, "", nil)
	defer resp.CloseBodyStream()
	switch st := resp.StatusCode(); {
	case st/100 == 2:
		h := &fasthttp.ResponseHeader{}
		resp.Header.CopyTo(h)
		return h, nil
	case st == 404:
		if cst, _ := r.headContainer(r.bucket); cst == 404 {
			return nil, errNoSuchBucket.with("BucketName", r.bucket)
		}
		return nil, errNoSuchUpload.with("UploadId", id)
	default:
		return nil, swiftError(st, "object", r.bucket, r.key)
	}
}

func (r *req) createMultipartUpload() *Error {
	if e := r.checkStorageClass(); e != nil {
		return e
	}
	if _, e := r.requestTags(); e != nil {
		return e
	}
	sumAlg, fullObject, e := uploadChecksumAlg(&r.ctx.Request.Header)
	if e != nil {
		return e
	}
	st, h := r.headContainer(r.bucket)
	if st/100 != 2 {
		return swiftError(st, "bucket", r.bucket, "")
	}
	seg := r.segmentsContainer()
	if sst, _ := r.headContainer(seg); sst == 404 {
		// Created like the bucket, with its ACLs (s3api).
		resp := r.sub("PUT", seg, "", "", func(req *fasthttp.Request) {
			for _, name := range []string{"X-Container-Read", "X-Container-Write"} {
				if v := h.Peek(name); len(v) > 0 {
					req.Header.Set(name, string(v))
				}
			}
		})
		resp.CloseBodyStream()
	}
	acl, e := r.newObjectACL()
	if e != nil {
		return e
	}
	id := newUploadID()
	in := &r.ctx.Request.Header
	resp := r.sub("PUT", seg, r.key+"/"+id, "", func(req *fasthttp.Request) {
		r.objectHeadersTo(req, false)
		if acl != nil {
			req.Header.Set(objectACLSys, acl.encode())
		}
		if ct := in.ContentType(); len(ct) > 0 {
			req.Header.Set(sysHasContentType, "yes")
			req.Header.Set(sysContentType, string(ct))
		} else {
			req.Header.Set(sysHasContentType, "no")
		}
		req.Header.Set("Content-Type", "application/directory")
		if sumAlg != "" {
			req.Header.Set(sysChecksumAlg, sumAlg)
			if fullObject {
				req.Header.Set(sysChecksumType, "FULL_OBJECT")
			}
		}
		req.SetBodyStream(strings.NewReader(""), 0)
	})
	st = resp.StatusCode()
	resp.CloseBodyStream()
	if st/100 != 2 {
		return swiftError(st, "object", r.bucket, r.key)
	}
	type result struct {
		XMLName  xml.Name `xml:"InitiateMultipartUploadResult"`
		Xmlns    string   `xml:"xmlns,attr"`
		Bucket   string   `xml:"Bucket"`
		Key      string   `xml:"Key"`
		UploadID string   `xml:"UploadId"`
	}
	if sumAlg != "" {
		r.ctx.Response.Header.Set("X-Amz-Checksum-Algorithm", strings.ToUpper(sumAlg))
		r.ctx.Response.Header.Set("X-Amz-Checksum-Type", checksumType(fullObject))
	}
	writeXML(r.ctx, result{Xmlns: xmlns, Bucket: r.bucket, Key: r.key, UploadID: id})
	return nil
}

func (r *req) partNumber() (int, *Error) {
	n, err := strconv.Atoi(string(r.ctx.QueryArgs().Peek("partNumber")))
	if err != nil || n < 1 || n > r.s.cfg.MaxUploadPartNum {
		return 0, s3err(400, "InvalidArgument", "Part number must be an integer between 1 and "+strconv.Itoa(r.s.cfg.MaxUploadPartNum)+", inclusive").
			with("ArgumentName", "partNumber").with("ArgumentValue", string(r.ctx.QueryArgs().Peek("partNumber")))
	}
	return n, nil
}

func (r *req) partName(n int) string { return r.key + "/" + r.uploadID() + "/" + strconv.Itoa(n) }

func (r *req) uploadPart() *Error {
	n, e := r.partNumber()
	if e != nil {
		return e
	}
	if _, e := r.uploadMarker(); e != nil {
		return e
	}
	if r.op == opUploadPartCopy {
		return r.uploadPartCopy(n)
	}
	if r.body.size < 0 {
		return errMissingContentLength
	}
	if r.body.size > r.s.maxFileSize {
		return errEntityTooLarge
	}
	var etag string
	if v := r.ctx.Request.Header.Peek("Content-Md5"); len(v) > 0 {
		if etag, e = contentMD5Etag(string(v)); e != nil {
			return e
		}
	}
	resp := r.sub("PUT", r.segmentsContainer(), r.partName(n), "", func(req *fasthttp.Request) {
		if etag != "" {
			req.Header.Set("Etag", etag)
		}
		r.body.onDone = func(alg, value string) { req.Header.Set(checksumSysmeta(alg), value) }
		req.SetBodyStream(r.body, int(r.body.size))
	})
	defer resp.CloseBodyStream()
	if r.body.err != nil {
		return r.body.err
	}
	if st := resp.StatusCode(); st/100 != 2 {
		return r.objectError(st)
	}
	out := &r.ctx.Response.Header
	out.Set("ETag", `"`+string(resp.Header.Peek("Etag"))+`"`)
	if lm := resp.Header.Peek("Last-Modified"); len(lm) > 0 {
		out.SetBytesV("Last-Modified", lm)
	}
	if r.body.sum != nil {
		out.Set("X-Amz-Checksum-"+r.body.alg, base64.StdEncoding.EncodeToString(r.body.sum.Sum(nil)))
	}
	r.ctx.SetStatusCode(200)
	return nil
}

// uploadPartCopy copies (a range of) an object into part n.
func (r *req) uploadPartCopy(n int) *Error {
	sb, sk, e := r.copySource()
	if e != nil {
		return e
	}
	rng := string(r.ctx.Request.Header.Peek("X-Amz-Copy-Source-Range"))
	var first, last int64
	if rng != "" {
		a, b, ok := strings.Cut(strings.TrimPrefix(rng, "bytes="), "-")
		var err1, err2 error
		first, err1 = strconv.ParseInt(a, 10, 64)
		last, err2 = strconv.ParseInt(b, 10, 64)
		if !strings.HasPrefix(rng, "bytes=") || !ok || err1 != nil || err2 != nil || first < 0 || last < first {
			return s3err(400, "InvalidArgument", "The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy").
				with("ArgumentName", "x-amz-copy-source-range").with("ArgumentValue", rng)
		}
	}
	src, e := r.copySourceGet(sb, sk, r.copyConditions)
	if e != nil {
		return e
	}
	defer src.CloseBodyStream()
	if v := src.Header.Peek("X-Object-Version-Id"); len(v) > 0 {
		r.ctx.Response.Header.Set("x-amz-copy-source-version-id", string(v))
	}
	if rng != "" {
		// Swift clamps a range to the object; S3 refuses one past its end.
		total := int64(src.Header.ContentLength())
		if cr := string(src.Header.Peek("Content-Range")); cr != "" {
			if i := strings.LastIndexByte(cr, '/'); i >= 0 {
				total, _ = strconv.ParseInt(cr[i+1:], 10, 64)
			}
		}
		if last >= total {
			return errInvalidRange.with("RangeRequested", rng)
		}
	}
	size := src.Header.ContentLength()
	resp := r.sub("PUT", r.segmentsContainer(), r.partName(n), "", func(req *fasthttp.Request) {
		req.SetBodyStream(readerOf(src), size)
	})
	defer resp.CloseBodyStream()
	if st := resp.StatusCode(); st/100 != 2 {
		return r.objectError(st)
	}
	type result struct {
		XMLName      xml.Name `xml:"CopyPartResult"`
		Xmlns        string   `xml:"xmlns,attr"`
		LastModified string   `xml:"LastModified"`
		ETag         string   `xml:"ETag"`
	}
	lm := time.Now().UTC()
	if t, err := time.Parse(time.RFC1123, string(resp.Header.Peek("Last-Modified"))); err == nil {
		lm = t.UTC() // as ListParts will show it
	}
	writeXML(r.ctx, result{Xmlns: xmlns, LastModified: lm.Format("2006-01-02T15:04:05.000Z"),
		ETag: `"` + string(resp.Header.Peek("Etag")) + `"`})
	return nil
}

type partEntry struct {
	number       int
	etag         string
	size         int64
	lastModified string
}

// uploadedParts lists the parts of the request's upload, by number.
func (r *req) uploadedParts() (map[int]partEntry, *Error) {
	prefix := r.key + "/" + r.uploadID() + "/"
	parts := map[int]partEntry{}
	marker := ""
	for {
		var items []listEntry
		q := "format=json&limit=10000&prefix=" + uriEncode(prefix, false)
		if marker != "" {
			q += "&marker=" + uriEncode(marker, false)
		}
		if st := r.swiftJSON(r.segmentsContainer(), q, &items); st != 200 {
			return nil, swiftError(st, "bucket", r.bucket, "")
		}
		for _, it := range items {
			n, err := strconv.Atoi(strings.TrimPrefix(it.Name, prefix))
			if err != nil || strconv.Itoa(n) != strings.TrimPrefix(it.Name, prefix) {
				continue
			}
			parts[n] = partEntry{number: n, etag: it.Hash, size: it.Bytes, lastModified: it.LastModified}
		}
		if len(items) < 10000 {
			return parts, nil
		}
		marker = items[len(items)-1].Name
	}
}

func (r *req) listParts() *Error {
	if _, e := r.uploadMarker(); e != nil {
		return e
	}
	q := r.ctx.QueryArgs()
	maxParts := r.s.cfg.MaxPartsListing
	if v := q.Peek("max-parts"); v != nil {
		n, err := strconv.Atoi(string(v))
		if err != nil || n < 0 {
			return errInvalidArgument.with("ArgumentName", "max-parts").with("ArgumentValue", string(v))
		}
		maxParts = min(n, maxParts)
	}
	marker := 0
	if v := q.Peek("part-number-marker"); v != nil {
		n, err := strconv.Atoi(string(v))
		if err != nil || n < 0 {
			return errInvalidArgument.with("ArgumentName", "part-number-marker").with("ArgumentValue", string(v))
		}
		marker = n
	}
	parts, e := r.uploadedParts()
	if e != nil {
		return e
	}
	var nums []int
	for n := range parts {
		if n > marker {
			nums = append(nums, n)
		}
	}
	sort.Ints(nums)
	type part struct {
		PartNumber   int    `xml:"PartNumber"`
		LastModified string `xml:"LastModified"`
		ETag         string `xml:"ETag"`
		Size         int64  `xml:"Size"`
	}
	type result struct {
		XMLName              xml.Name `xml:"ListPartsResult"`
		Xmlns                string   `xml:"xmlns,attr"`
		Bucket               string   `xml:"Bucket"`
		Key                  string   `xml:"Key"`
		UploadID             string   `xml:"UploadId"`
		Initiator            owner    `xml:"Initiator"`
		Owner                owner    `xml:"Owner"`
		StorageClass         string   `xml:"StorageClass"`
		PartNumberMarker     int      `xml:"PartNumberMarker"`
		NextPartNumberMarker int      `xml:"NextPartNumberMarker"`
		MaxParts             int      `xml:"MaxParts"`
		IsTruncated          bool     `xml:"IsTruncated"`
		Parts                []part   `xml:"Part"`
	}
	res := result{Xmlns: xmlns, Bucket: r.bucket, Key: r.key, UploadID: r.uploadID(), Initiator: r.owner(), Owner: r.owner(),
		StorageClass: "STANDARD", PartNumberMarker: marker, MaxParts: maxParts}
	if len(nums) > maxParts {
		nums = nums[:maxParts]
		res.IsTruncated = true
	}
	for _, n := range nums {
		p := parts[n]
		res.Parts = append(res.Parts, part{PartNumber: n, LastModified: s3Time(p.lastModified), ETag: `"` + p.etag + `"`, Size: p.size})
		res.NextPartNumberMarker = n
	}
	writeXML(r.ctx, res)
	return nil
}

func (r *req) abortMultipartUpload() *Error {
	if _, e := r.uploadMarker(); e != nil {
		return e
	}
	parts, e := r.uploadedParts()
	if e != nil {
		return e
	}
	for n := range parts {
		r.sub("DELETE", r.segmentsContainer(), r.partName(n), "", nil).CloseBodyStream()
	}
	r.sub("DELETE", r.segmentsContainer(), r.key+"/"+r.uploadID(), "", nil).CloseBodyStream()
	r.ctx.SetStatusCode(204)
	return nil
}

// segment is one entry of a static large object manifest.
type segment struct {
	Path      string `json:"path"`
	Etag      string `json:"etag,omitempty"`
	SizeBytes int64  `json:"size_bytes"`
}

// nestManifest keeps a manifest within the SLO segment limit: more parts
// than that go into sub-manifests (in the segments container) that the
// object's manifest lists, as Swift's nested SLOs.
func (r *req) nestManifest(parts []segment) ([]segment, *Error) {
	limit := r.s.sloMaxSegments
	if limit <= 0 || len(parts) <= limit {
		return parts, nil
	}
	if (len(parts)+limit-1)/limit > limit {
		return nil, s3err(400, "InvalidArgument", "The upload has more parts than two levels of manifests hold ("+strconv.Itoa(limit*limit)+").")
	}
	var top []segment
	for i := 0; i < len(parts); i += limit {
		group := parts[i:min(i+limit, len(parts))]
		var size int64
		for _, g := range group {
			size += g.SizeBytes
		}
		name := r.key + "/" + r.uploadID() + "/manifest-" + strconv.Itoa(len(top)+1)
		body, _ := json.Marshal(group)
		resp := r.sub("PUT", r.segmentsContainer(), name, "multipart-manifest=put", func(req *fasthttp.Request) {
			req.Header.Set("Accept", "application/json")
			req.SetBodyStream(strings.NewReader(string(body)), len(body))
		})
		st := resp.StatusCode()
		resp.CloseBodyStream()
		if st/100 != 2 {
			return nil, swiftError(st, "object", r.bucket, r.key)
		}
		top = append(top, segment{Path: "/" + r.segmentsContainer() + "/" + name, SizeBytes: size})
	}
	return top, nil
}

// manifestParts lists an SLO's data segments in order, descending into
// sub-manifests.
func (r *req) manifestParts(container, object string, depth int) ([]int64, bool) {
	segs, ok := r.manifestSegments(container, object, depth)
	sizes := make([]int64, len(segs))
	for i, sg := range segs {
		sizes[i] = sg.Bytes
	}
	return sizes, ok
}

func normalizeEtag(s string) string { return strings.ToLower(strings.Trim(strings.TrimSpace(s), `"`)) }

func (r *req) listMultipartUploads() *Error {
	if st, _ := r.headContainer(r.bucket); st/100 != 2 {
		return swiftError(st, "bucket", r.bucket, "")
	}
	q := r.ctx.QueryArgs()
	maxUploads := 1000
	if v := q.Peek("max-uploads"); v != nil {
		n, err := strconv.Atoi(string(v))
		if err != nil || n < 0 {
			return errInvalidArgument.with("ArgumentName", "max-uploads").with("ArgumentValue", string(v))
		}
		maxUploads = min(n, maxUploads)
	}
	keyMarker := string(q.Peek("key-marker"))
	idMarker := string(q.Peek("upload-id-marker"))
	l := &uploadLister{r: r, max: maxUploads, seen: map[string]bool{}, res: uploadsResult{Xmlns: xmlns, Bucket: r.bucket,
		KeyMarker: keyMarker, UploadIDMarker: idMarker, Delimiter: string(q.Peek("delimiter")), Prefix: string(q.Peek("prefix")), MaxUploads: maxUploads}}
	marker := ""
	if keyMarker != "" {
		marker = keyMarker + "/" + idMarker
		if idMarker == "" {
			marker = keyMarker + "/~"
		}
	}
	for l.count <= maxUploads {
		var items []listEntry
		query := "format=json&limit=10000&prefix=" + uriEncode(l.res.Prefix, false)
		if marker != "" {
			query += "&marker=" + uriEncode(marker, false)
		}
		st := r.swiftJSON(r.segmentsContainer(), query, &items)
		if st == 404 {
			break
		}
		if st != 200 {
			return swiftError(st, "bucket", r.bucket, "")
		}
		l.take(items)
		if len(items) < 10000 || l.res.IsTruncated {
			break
		}
		marker = items[len(items)-1].Name
	}
	res := &l.res
	if len(res.Uploads) < 2 && !res.IsTruncated {
		// s3api names a next marker only past a listing of two or more
		// (kept for a truncated page, which clients continue from).
		res.NextKeyMarker, res.NextUploadIDMarker = "", ""
	}
	writeXML(r.ctx, res)
	return nil
}

type uploadEntry struct {
	Key          string `xml:"Key"`
	UploadID     string `xml:"UploadId"`
	Initiator    owner  `xml:"Initiator"`
	Owner        owner  `xml:"Owner"`
	StorageClass string `xml:"StorageClass"`
	Initiated    string `xml:"Initiated"`
}

type uploadsResult struct {
	XMLName            xml.Name       `xml:"ListMultipartUploadsResult"`
	Xmlns              string         `xml:"xmlns,attr"`
	Bucket             string         `xml:"Bucket"`
	KeyMarker          string         `xml:"KeyMarker"`
	UploadIDMarker     string         `xml:"UploadIdMarker"`
	NextKeyMarker      string         `xml:"NextKeyMarker"`
	NextUploadIDMarker string         `xml:"NextUploadIdMarker"`
	Delimiter          string         `xml:"Delimiter,omitempty"`
	Prefix             string         `xml:"Prefix,omitempty"`
	MaxUploads         int            `xml:"MaxUploads"`
	IsTruncated        bool           `xml:"IsTruncated"`
	Uploads            []uploadEntry  `xml:"Upload"`
	CommonPrefixes     []commonPrefix `xml:"CommonPrefixes"`
}

// uploadLister gathers a ListMultipartUploads page from the segments
// container's upload markers.
type uploadLister struct {
	r          *req
	res        uploadsResult
	max, count int
	seen       map[string]bool // common prefixes listed
}

// take adds the upload markers among items, up to max entries.
func (l *uploadLister) take(items []listEntry) {
	prefix, delim := l.res.Prefix, l.res.Delimiter
	for _, it := range items {
		if it.ContentType != "application/directory" {
			continue
		}
		i := strings.LastIndexByte(it.Name, '/')
		if i < 0 {
			continue
		}
		key, id := it.Name[:i], it.Name[i+1:]
		if delim != "" {
			if j := strings.Index(key[len(prefix):], delim); j >= 0 {
				cp := key[:len(prefix)+j+len(delim)]
				if !l.seen[cp] {
					l.seen[cp] = true
					l.res.CommonPrefixes = append(l.res.CommonPrefixes, commonPrefix{Prefix: cp})
					l.count++
				}
				continue
			}
		}
		if l.count == l.max {
			l.res.IsTruncated = true
			l.count++
			return
		}
		l.res.Uploads = append(l.res.Uploads, uploadEntry{Key: key, UploadID: id, Initiator: l.r.owner(), Owner: l.r.owner(),
			StorageClass: "STANDARD", Initiated: s3Time(it.LastModified)})
		l.res.NextKeyMarker, l.res.NextUploadIDMarker = key, id
		l.count++
	}
}

// getObjectPart serves GET/HEAD ?partNumber=N: the bytes of part N of a
// multipart object (the whole object is part 1 of a simple one).
func (r *req) getObjectPart(m string) *Error {
	n, e := r.partNumber()
	if e != nil {
		return e
	}
	head := r.sub("HEAD", r.bucket, r.key, "", nil)
	st := head.StatusCode()
	head.CloseBodyStream()
	if st/100 != 2 {
		return r.objectError(st)
	}
	segs, isSLO := r.manifestParts(r.bucket, r.key, 0)
	if !isSLO {
		if n != 1 {
			return errInvalidPart.with("PartNumber", strconv.Itoa(n))
		}
		return r.getObjectRange(m, "")
	}
	if n > len(segs) {
		return errInvalidPart.with("PartNumber", strconv.Itoa(n))
	}
	var start int64
	for _, b := range segs[:n-1] {
		start += b
	}
	end := start + segs[n-1] - 1
	if e := r.getObjectRange(m, "bytes="+strconv.FormatInt(start, 10)+"-"+strconv.FormatInt(end, 10)); e != nil {
		return e
	}
	r.ctx.Response.Header.Set("X-Amz-Mp-Parts-Count", strconv.Itoa(len(segs)))
	return nil
}
