package s3compat

// CompleteMultipartUpload: the parts checked, the SLO manifest stored,
// the S3 answer.

import (
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"strconv"
	"strings"

	"github.com/valyala/fasthttp"
)

func (r *req) completeMultipartUpload() *Error {
	marker, e := r.uploadMarker()
	completed := ""
	if e != nil && e.Code == "NoSuchUpload" {
		// A retried completion: the object holds the upload's id (s3api).
		st, oh, _ := r.headObject()
		if st/100 == 2 && string(oh.Peek(sysUploadID)) == r.uploadID() {
			marker, completed, e = oh, string(oh.Peek(sysEtag)), nil
		}
	}
	if e != nil {
		return e
	}
	body, e := r.readBody(maxCompleteBody)
	if e != nil {
		return e
	}
	doc, e := parseCompleteMultipart(body)
	if e != nil {
		return e
	}
	uploaded, e := r.uploadedParts()
	if e != nil {
		return e
	}
	manifest, s3etag, e := r.completedManifest(doc.Parts, uploaded)
	if e != nil {
		return e
	}
	sumAlg := strings.ToLower(string(marker.Peek(sysChecksumAlg)))
	var composite string
	if completed != "" {
		if completed != s3etag {
			return errNoSuchUpload.with("UploadId", r.uploadID())
		}
		if sumAlg != "" {
			composite = string(marker.Peek(checksumSysmeta(sumAlg)))
		}
		r.completeResult(s3etag, sumAlg, composite)
		return nil
	}
	fullObject := string(marker.Peek(sysChecksumType)) == "FULL_OBJECT"
	if sumAlg != "" {
		nums := make([]int, len(doc.Parts))
		sizes := make([]int64, len(doc.Parts))
		listed := make([]string, len(doc.Parts))
		for i, p := range doc.Parts {
			nums[i], sizes[i] = p.PartNumber, uploaded[p.PartNumber].size
			listed[i] = p.checksums.get(sumAlg)
		}
		if composite, e = r.uploadChecksum(sumAlg, fullObject, nums, sizes, listed); e != nil {
			return e
		}
	}
	top, e := r.nestManifest(manifest)
	if e != nil {
		return e
	}
	mbody, _ := json.Marshal(top)
	mp := manifestPut{marker: marker, body: mbody, etag: s3etag, parts: len(manifest), alg: sumAlg, checksum: composite, fullObject: fullObject}
	resp := r.sub("PUT", r.bucket, r.key, "multipart-manifest=put", func(req *fasthttp.Request) { r.prepManifestPut(req, mp) })
	st := resp.StatusCode()
	rbody := string(resp.Body())
	resp.CloseBodyStream()
	if st/100 != 2 {
		if st == 400 && (strings.Contains(rbody, "Etag Mismatch") || strings.Contains(rbody, "404 Not Found") || strings.Contains(rbody, "Size Mismatch")) {
			return errInvalidPart.with("UploadId", r.uploadID())
		}
		return swiftError(st, "object", r.bucket, r.key)
	}
	r.versionHeaders(&resp.Header)
	r.sub("DELETE", r.segmentsContainer(), r.key+"/"+r.uploadID(), "", nil).CloseBodyStream()
	r.completeResult(s3etag, sumAlg, composite)
	return nil
}

// completedManifest checks the completion's parts against the uploaded
// ones and builds the SLO manifest and the S3 ETag of the whole.
func (r *req) completedManifest(parts []completePart, uploaded map[int]partEntry) ([]segment, string, *Error) {
	manifest := make([]segment, 0, len(parts))
	sum := md5.New()
	prev := 0
	for i, p := range parts {
		if p.PartNumber <= prev {
			return nil, "", errInvalidPartOrder.with("UploadId", r.uploadID())
		}
		prev = p.PartNumber
		etag := normalizeEtag(p.ETag)
		raw, err := hex.DecodeString(etag)
		got, ok := uploaded[p.PartNumber]
		if err != nil || len(raw) != md5.Size || !ok || got.etag != etag {
			return nil, "", errInvalidPart.with("UploadId", r.uploadID()).with("PartNumber", strconv.Itoa(p.PartNumber)).with("ETag", etag)
		}
		if i < len(parts)-1 && got.size < r.s.cfg.MinSegmentSize {
			return nil, "", errEntityTooSmall.with("ProposedSize", strconv.FormatInt(got.size, 10)).
				with("MinSizeAllowed", strconv.FormatInt(r.s.cfg.MinSegmentSize, 10)).
				with("PartNumber", strconv.Itoa(p.PartNumber)).with("ETag", etag)
		}
		sum.Write(raw)
		manifest = append(manifest, segment{Path: "/" + r.segmentsContainer() + "/" + r.partName(p.PartNumber), Etag: etag, SizeBytes: got.size})
	}
	return manifest, hex.EncodeToString(sum.Sum(nil)) + "-" + strconv.Itoa(len(manifest)), nil
}

// manifestPut is what the completed object's manifest PUT carries.
type manifestPut struct {
	marker     *fasthttp.ResponseHeader // the upload marker's headers
	body       []byte                   // the SLO manifest
	etag       string                   // the S3 ETag
	parts      int
	alg        string // the upload's checksum algorithm, if any
	checksum   string // its composite or full-object checksum
	fullObject bool
}

// prepManifestPut sets the manifest PUT's headers: the upload's metadata,
// tags, ACL and checksum from its marker, and the S3 ETag.
func (r *req) prepManifestPut(req *fasthttp.Request, mp manifestPut) {
	for k, v := range mp.marker.All() {
		ks := string(k)
		if _, ok := cutPrefixFold(ks, metaPrefix); ok || strings.EqualFold(ks, objectTagsSysmeta) {
			req.Header.Set(ks, string(v))
		}
	}
	for _, name := range passHeaders[1:] {
		if v := mp.marker.Peek(name); len(v) > 0 {
			req.Header.Set(name, string(v))
		}
	}
	if string(mp.marker.Peek(sysHasContentType)) == "yes" {
		req.Header.Set("Content-Type", string(mp.marker.Peek(sysContentType)))
	}
	if v := r.ctx.Request.Header.Peek("If-None-Match"); len(v) > 0 {
		req.Header.Set("If-None-Match", string(v))
	}
	if v := mp.marker.Peek(objectACLSys); len(v) > 0 {
		req.Header.Set(objectACLSys, string(v))
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set(sysUploadID, r.uploadID())
	req.Header.Set(sysEtag, mp.etag)
	req.Header.Set(sysParts, strconv.Itoa(mp.parts))
	req.Header.Set(overrideEtag, "; s3_etag="+mp.etag)
	if mp.checksum != "" {
		req.Header.Set(sysChecksumAlg, mp.alg)
		req.Header.Set(checksumSysmeta(mp.alg), mp.checksum)
		if mp.fullObject {
			req.Header.Set(sysChecksumType, "FULL_OBJECT")
		}
	}
	req.SetBodyStream(strings.NewReader(string(mp.body)), len(mp.body))
}

func (r *req) completeResult(s3etag, sumAlg, composite string) {
	type result struct {
		XMLName  xml.Name `xml:"CompleteMultipartUploadResult"`
		Xmlns    string   `xml:"xmlns,attr"`
		Location string   `xml:"Location"`
		Bucket   string   `xml:"Bucket"`
		Key      string   `xml:"Key"`
		ETag     string   `xml:"ETag"`
		checksums
		ChecksumType string `xml:"ChecksumType,omitempty"`
	}
	scheme := "http"
	if r.ctx.IsTLS() {
		scheme = "https"
	}
	res := result{Xmlns: xmlns, Location: scheme + "://" + string(r.ctx.Host()) + "/" + r.bucket + "/" + uriEncode(r.key, true),
		Bucket: r.bucket, Key: r.key, ETag: `"` + s3etag + `"`}
	if composite != "" {
		res.checksums.set(sumAlg, composite)
		r.ctx.Response.Header.Set("X-Amz-Checksum-"+sumAlg, composite)
		res.ChecksumType = checksumType(!strings.Contains(composite, "-"))
	}
	writeXML(r.ctx, res)
}

// completeMultipartDoc is a CompleteMultipartUpload request body.
type completeMultipartDoc struct {
	XMLName xml.Name       `xml:"CompleteMultipartUpload"`
	Parts   []completePart `xml:"Part"`
}

type completePart struct {
	PartNumber int    `xml:"PartNumber"`
	ETag       string `xml:"ETag"`
	checksums
}

// parseCompleteMultipart reads a CompleteMultipartUpload body: at least
// one part, and a part listed twice in a row (resent while the first
// upload of it was still going) counts once, with the ETag listed last,
// as S3 does.
func parseCompleteMultipart(body []byte) (*completeMultipartDoc, *Error) {
	var doc completeMultipartDoc
	if err := xml.Unmarshal(body, &doc); err != nil || len(doc.Parts) == 0 {
		return nil, errMalformedXML
	}
	parts := doc.Parts[:0]
	for _, p := range doc.Parts {
		if n := len(parts); n > 0 && parts[n-1].PartNumber == p.PartNumber {
			parts[n-1] = p
			continue
		}
		parts = append(parts, p)
	}
	doc.Parts = parts
	return &doc, nil
}
