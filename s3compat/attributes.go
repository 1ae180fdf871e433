package s3compat

import (
	"encoding/json"
	"encoding/xml"
	"io"
	"strconv"
	"strings"

	"github.com/valyala/fasthttp"
)

// GetObjectAttributes (GET ?attributes): an object's ETag, checksum, size,
// storage class and, for a multipart object, its parts, read from the
// object's metadata and its static large object manifest.

type checksums struct {
	CRC32     string `xml:"ChecksumCRC32,omitempty"`
	CRC32C    string `xml:"ChecksumCRC32C,omitempty"`
	CRC64NVME string `xml:"ChecksumCRC64NVME,omitempty"`
	SHA1      string `xml:"ChecksumSHA1,omitempty"`
	SHA256    string `xml:"ChecksumSHA256,omitempty"`
}

// set records one algorithm's value; false when alg is none S3 knows.
func (c *checksums) set(alg, v string) bool {
	switch strings.ToLower(alg) {
	case "crc32":
		c.CRC32 = v
	case "crc32c":
		c.CRC32C = v
	case "crc64nvme":
		c.CRC64NVME = v
	case "sha1":
		c.SHA1 = v
	case "sha256":
		c.SHA256 = v
	default:
		return false
	}
	return true
}

// get is alg's value ("" = none).
func (c *checksums) get(alg string) string {
	switch strings.ToLower(alg) {
	case "crc32":
		return c.CRC32
	case "crc32c":
		return c.CRC32C
	case "crc64nvme":
		return c.CRC64NVME
	case "sha1":
		return c.SHA1
	case "sha256":
		return c.SHA256
	}
	return ""
}

// checksumsOf reads the checksum sysmeta of an object's headers.
func checksumsOf(h *fasthttp.ResponseHeader) (checksums, bool) {
	var c checksums
	found := false
	for k, v := range h.All() {
		if alg, ok := cutPrefixFold(string(k), "X-Object-Sysmeta-S3api-Checksum-"); ok && c.set(alg, string(v)) {
			found = true
		}
	}
	return c, found
}

type attrPart struct {
	checksums
	PartNumber int   `xml:"PartNumber"`
	Size       int64 `xml:"Size"`
}

type objectParts struct {
	TotalPartsCount      int        `xml:"PartsCount"`
	PartNumberMarker     int        `xml:"PartNumberMarker"`
	NextPartNumberMarker int        `xml:"NextPartNumberMarker,omitempty"`
	MaxParts             int        `xml:"MaxParts"`
	IsTruncated          bool       `xml:"IsTruncated"`
	Parts                []attrPart `xml:"Part"`
}

type objectAttributes struct {
	XMLName      xml.Name     `xml:"GetObjectAttributesResponse"`
	Xmlns        string       `xml:"xmlns,attr"`
	ETag         string       `xml:"ETag,omitempty"`
	Checksum     *checksums   `xml:"Checksum,omitempty"`
	ObjectParts  *objectParts `xml:"ObjectParts,omitempty"`
	StorageClass string       `xml:"StorageClass,omitempty"`
	ObjectSize   *int64       `xml:"ObjectSize,omitempty"`
}

// segment is one entry of a manifest as multipart-manifest=get lists it.
type manifestSegment struct {
	Name   string `json:"name"`
	Bytes  int64  `json:"bytes"`
	SubSLO bool   `json:"sub_slo"`
}

// manifestSegments is the flattened segment list of a static large
// object (nested manifests of more than slo.max_manifest_segments parts
// expanded); false when object is not one.
func (r *req) manifestSegments(container, object string, depth int) ([]manifestSegment, bool) {
	resp := r.sub("GET", container, object, "multipart-manifest=get", nil)
	defer resp.CloseBodyStream()
	if resp.StatusCode()/100 != 2 || !strings.EqualFold(string(resp.Header.Peek("X-Static-Large-Object")), "true") {
		return nil, false
	}
	var segs []manifestSegment
	data, _ := io.ReadAll(readerOf(resp))
	json.Unmarshal(data, &segs)
	var out []manifestSegment
	for _, sg := range segs {
		if sg.SubSLO && depth < 2 {
			c, o, _ := strings.Cut(strings.TrimPrefix(sg.Name, "/"), "/")
			if sub, ok := r.manifestSegments(c, o, depth+1); ok {
				out = append(out, sub...)
				continue
			}
		}
		out = append(out, sg)
	}
	return out, true
}

func (r *req) getObjectAttributes() *Error {
	in := &r.ctx.Request.Header
	want := map[string]bool{}
	var names []string
	for _, v := range in.PeekAll("X-Amz-Object-Attributes") { // one header or several
		names = append(names, strings.Split(string(v), ",")...)
	}
	for _, a := range names {
		switch a = strings.TrimSpace(a); a {
		case "ETag", "Checksum", "ObjectParts", "StorageClass", "ObjectSize":
			want[a] = true
		case "":
		default:
			return errInvalidArgument.with("ArgumentName", "x-amz-object-attributes").with("ArgumentValue", a)
		}
	}
	if len(want) == 0 {
		return s3err(400, "InvalidRequest", "The x-amz-object-attributes header specifying the attributes to be retrieved is either missing or empty")
	}
	maxParts, e := intHeader(in, "X-Amz-Max-Parts", 1000)
	if e != nil {
		return e
	}
	marker, e := intHeader(in, "X-Amz-Part-Number-Marker", 0)
	if e != nil {
		return e
	}
	h, e := r.headVersion(false)
	if e != nil {
		return e
	}
	res := objectAttributes{Xmlns: xmlns}
	if want["ETag"] {
		etag := string(h.Peek("Etag"))
		if s3 := h.Peek("X-Object-Sysmeta-S3api-Etag"); len(s3) > 0 {
			etag = string(s3)
		}
		res.ETag = strings.Trim(etag, `"`)
	}
	sums, hasSums := checksumsOf(h)
	if want["Checksum"] && hasSums {
		res.Checksum = &sums
	}
	if want["StorageClass"] {
		res.StorageClass = "STANDARD"
	}
	if want["ObjectSize"] {
		size := int64(h.ContentLength())
		res.ObjectSize = &size
	}
	if want["ObjectParts"] && len(h.Peek(sysUploadID)) > 0 {
		if segs, ok := r.manifestSegments(r.bucket, r.key, 0); ok {
			op := &objectParts{TotalPartsCount: len(segs), PartNumberMarker: marker, MaxParts: maxParts}
			for i := marker; i < len(segs); i++ {
				if len(op.Parts) == maxParts {
					op.IsTruncated = true
					op.NextPartNumberMarker = i
					break
				}
				p := attrPart{PartNumber: i + 1, Size: segs[i].Bytes}
				if hasSums {
					// A part's checksum is on its segment object.
					c, o, _ := strings.Cut(strings.TrimPrefix(segs[i].Name, "/"), "/")
					seg := r.sub("HEAD", c, o, "", nil)
					p.checksums, _ = checksumsOf(&seg.Header)
					seg.CloseBodyStream()
				}
				op.Parts = append(op.Parts, p)
			}
			res.ObjectParts = op
		}
	}
	r.ctx.Response.Header.Set("Last-Modified", string(h.Peek("Last-Modified")))
	writeXML(r.ctx, res)
	return nil
}

// intHeader is a non-negative integer header, def when absent.
func intHeader(h *fasthttp.RequestHeader, name string, def int) (int, *Error) {
	v := h.Peek(name)
	if len(v) == 0 {
		return def, nil
	}
	n, err := strconv.Atoi(string(v))
	if err != nil || n < 0 {
		return 0, errInvalidArgument.with("ArgumentName", strings.ToLower(name)).with("ArgumentValue", string(v))
	}
	return n, nil
}
