package s3compat

import (
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"swiftbox/server/proxy"
)

type owner struct {
	ID          string `xml:"ID"`
	DisplayName string `xml:"DisplayName"`
}

func (r *req) owner() owner {
	if r.id == nil {
		return owner{ID: r.account, DisplayName: r.account}
	}
	return owner{ID: r.id.User, DisplayName: r.id.User}
}

// swiftJSON runs a GET listing subrequest and decodes its JSON into v;
// the status is returned for error mapping.
func (r *req) swiftJSON(container, query string, v any) int {
	resp := r.sub("GET", container, "", query, nil)
	defer resp.CloseBodyStream()
	st := resp.StatusCode()
	if st != 200 && st != 204 {
		return st
	}
	if st == 204 {
		return 200
	}
	data, err := io.ReadAll(proxy.ResponseBody(resp))
	if err != nil || json.Unmarshal(data, v) != nil {
		return 500
	}
	return 200
}

// s3Time formats a Swift listing time ("2006-01-02T15:04:05.000000") as S3 does.
func s3Time(swift string) string {
	t, err := time.Parse("2006-01-02T15:04:05.999999", swift)
	if err != nil {
		return swift
	}
	// Rounded up to the second, as Last-Modified of the object is.
	if t.Nanosecond() != 0 {
		t = t.Truncate(time.Second).Add(time.Second)
	}
	return t.UTC().Format("2006-01-02T15:04:05.000Z")
}

func (r *req) listBuckets() *Error {
	type bucket struct {
		Name         string `xml:"Name"`
		CreationDate string `xml:"CreationDate"`
	}
	type result struct {
		XMLName           xml.Name `xml:"ListAllMyBucketsResult"`
		Xmlns             string   `xml:"xmlns,attr"`
		Owner             owner    `xml:"Owner"`
		Buckets           []bucket `xml:"Buckets>Bucket"`
		ContinuationToken string   `xml:"ContinuationToken,omitempty"`
		Prefix            string   `xml:"Prefix,omitempty"`
	}
	q := r.ctx.QueryArgs()
	res := result{Xmlns: xmlns, Owner: r.owner(), Buckets: []bucket{}, Prefix: string(q.Peek("prefix"))}
	maxBuckets := 10000
	if v := q.Peek("max-buckets"); v != nil {
		n, err := strconv.Atoi(string(v))
		if err != nil || n < 1 || n > 10000 {
			return errInvalidArgument.with("ArgumentName", "max-buckets").with("ArgumentValue", string(v))
		}
		maxBuckets = n
	}
	// The continuation token is the last bucket name of the previous page.
	marker := string(q.Peek("continuation-token"))
	if marker != "" {
		raw, err := base64.RawURLEncoding.DecodeString(marker)
		if err != nil {
			return errInvalidArgument.with("ArgumentName", "continuation-token").with("ArgumentValue", marker)
		}
		marker = string(raw)
	}
	for len(res.Buckets) <= maxBuckets {
		var items []struct {
			Name         string `json:"name"`
			LastModified string `json:"last_modified"`
		}
		sq := "format=json&limit=10000"
		if marker != "" {
			sq += "&marker=" + uriEncode(marker, false)
		}
		if res.Prefix != "" {
			sq += "&prefix=" + uriEncode(res.Prefix, false)
		}
		if st := r.swiftJSON("", sq, &items); st != 200 {
			return swiftError(st, "bucket", "", "")
		}
		for _, c := range items {
			if validBucketName(c.Name, r.s.cfg.DNSCompliantBucketNames) && r.keyAllows(c.Name) {
				res.Buckets = append(res.Buckets, bucket{Name: c.Name, CreationDate: s3Time(c.LastModified)})
			}
		}
		if len(items) < 10000 {
			break
		}
		marker = items[len(items)-1].Name
	}
	if len(res.Buckets) > maxBuckets {
		res.Buckets = res.Buckets[:maxBuckets]
		res.ContinuationToken = base64.RawURLEncoding.EncodeToString([]byte(res.Buckets[maxBuckets-1].Name))
	}
	writeXML(r.ctx, res)
	return nil
}

// headContainer returns the status of HEAD on the bucket's container.
func (r *req) headContainer(container string) (int, *fasthttp.ResponseHeader) {
	resp := r.sub("HEAD", container, "", "", nil)
	defer resp.CloseBodyStream()
	h := &fasthttp.ResponseHeader{}
	resp.Header.CopyTo(h)
	return resp.StatusCode(), h
}

func (r *req) headBucket() *Error {
	st, _ := r.headContainer(r.bucket)
	if st/100 != 2 {
		return swiftError(st, "bucket", r.bucket, "")
	}
	r.ctx.SetStatusCode(200)
	r.ctx.Response.Header.SetContentType("application/xml")
	r.ctx.Response.Header.Set("X-Amz-Bucket-Region", r.s.cfg.Location)
	return nil
}

func (r *req) createBucket() *Error {
	if !validBucketName(r.bucket, r.s.cfg.DNSCompliantBucketNames) {
		return errInvalidBucketName.with("BucketName", r.bucket)
	}
	owner := r.owner().ID
	acl, e := r.headerACL(owner, owner)
	if e != nil {
		return e
	}
	if acl == nil {
		acl = &s3ACL{Owner: owner, Grants: []aclGrant{{"FULL_CONTROL", owner}}}
	}
	body, e := r.readBody(64 << 10)
	if e != nil {
		return e
	}
	if len(strings.TrimSpace(string(body))) > 0 {
		var conf struct {
			XMLName            xml.Name `xml:"CreateBucketConfiguration"`
			LocationConstraint string   `xml:"LocationConstraint"`
		}
		if err := xml.Unmarshal(body, &conf); err != nil {
			return errMalformedXML
		}
		if conf.LocationConstraint != r.s.cfg.Location && !(conf.LocationConstraint == "" && r.s.cfg.Location == "us-east-1") {
			return errInvalidLocation.with("LocationConstraint", conf.LocationConstraint)
		}
	}
	if st, h := r.headContainer(r.bucket); st/100 == 2 {
		if r.s.cfg.Location != "us-east-1" {
			return errBucketAlreadyOwned.with("BucketName", r.bucket)
		}
		// us-east-1 lets the owner create its bucket again (AWS's legacy
		// region), but not with another ACL than it has.
		if r.bucketACLOf(h).encode() != acl.encode() {
			return errBucketAlreadyExists.with("BucketName", r.bucket)
		}
		r.ctx.SetStatusCode(200)
		r.ctx.Response.Header.Set("Location", "/"+r.bucket)
		return nil
	}
	resp := r.sub("PUT", r.bucket, "", "", func(req *fasthttp.Request) { setContainerACL(req, acl) })
	st := resp.StatusCode()
	resp.CloseBodyStream()
	switch {
	case st == 202 && r.s.cfg.Location != "us-east-1":
		return errBucketAlreadyOwned.with("BucketName", r.bucket)
	case st/100 != 2:
		return swiftError(st, "bucket", r.bucket, "")
	}
	r.ctx.SetStatusCode(200)
	r.ctx.Response.Header.Set("Location", "/"+r.bucket)
	return nil
}

func (r *req) deleteBucket() *Error {
	resp := r.sub("DELETE", r.bucket, "", "", nil)
	st := resp.StatusCode()
	resp.CloseBodyStream()
	if st/100 != 2 {
		if st == 409 {
			return errBucketNotEmpty.with("BucketName", r.bucket)
		}
		return swiftError(st, "bucket", r.bucket, "")
	}
	// The segments container of finished or aborted uploads goes too.
	seg := r.segmentsContainer()
	if st, _ := r.headContainer(seg); st/100 == 2 {
		r.emptyContainer(seg)
		r.sub("DELETE", seg, "", "", nil).CloseBodyStream()
	}
	r.ctx.SetStatusCode(204)
	return nil
}

// emptyContainer deletes every object of container.
func (r *req) emptyContainer(container string) {
	marker := ""
	for {
		var items []struct {
			Name string `json:"name"`
		}
		q := "format=json&limit=10000"
		if marker != "" {
			q += "&marker=" + uriEncode(marker, false)
		}
		if r.swiftJSON(container, q, &items) != 200 || len(items) == 0 {
			return
		}
		for _, it := range items {
			r.sub("DELETE", container, it.Name, "", nil).CloseBodyStream()
		}
		marker = items[len(items)-1].Name
	}
}

func (r *req) bucketLocation() *Error {
	if st, _ := r.headContainer(r.bucket); st/100 != 2 {
		return swiftError(st, "bucket", r.bucket, "")
	}
	type loc struct {
		XMLName xml.Name `xml:"LocationConstraint"`
		Xmlns   string   `xml:"xmlns,attr"`
		Value   string   `xml:",chardata"`
	}
	v := r.s.cfg.Location
	if v == "us-east-1" {
		v = ""
	}
	writeXML(r.ctx, loc{Xmlns: xmlns, Value: v})
	return nil
}

const (
	listV1 = iota
	listV2
)

// listingPage is one page of a listing fetched one entry past maxKeys:
// without a common prefix equal to the marker (the previous page listed
// it), cut to maxKeys; truncated says entries were left out.
func listingPage[T any](entries []T, subdir func(T) string, marker string, maxKeys int) (page []T, truncated bool) {
	page = entries[:0]
	for _, e := range entries {
		if sd := subdir(e); sd == "" || sd != marker {
			page = append(page, e)
		}
	}
	if len(page) > maxKeys {
		return page[:maxKeys], true
	}
	return page, false
}

type listEntry struct {
	Name         string `json:"name"`
	Hash         string `json:"hash"`
	Bytes        int64  `json:"bytes"`
	LastModified string `json:"last_modified"`
	ContentType  string `json:"content_type"`
	Subdir       string `json:"subdir"`
}

type contents struct {
	Key          string `xml:"Key"`
	LastModified string `xml:"LastModified"`
	ETag         string `xml:"ETag"`
	Size         int64  `xml:"Size"`
	Owner        *owner `xml:"Owner,omitempty"`
	StorageClass string `xml:"StorageClass"`
}

type commonPrefix struct {
	Prefix string `xml:"Prefix"`
}

type listResult struct {
	XMLName               xml.Name
	Xmlns                 string         `xml:"xmlns,attr"`
	Name                  string         `xml:"Name"`
	Prefix                string         `xml:"Prefix"`
	Marker                *string        `xml:"Marker"`
	NextMarker            string         `xml:"NextMarker,omitempty"`
	ContinuationToken     *string        `xml:"ContinuationToken"`
	NextContinuationToken string         `xml:"NextContinuationToken,omitempty"`
	StartAfter            *string        `xml:"StartAfter"`
	KeyCount              *int           `xml:"KeyCount"`
	MaxKeys               int            `xml:"MaxKeys"`
	Delimiter             *string        `xml:"Delimiter"`
	EncodingType          string         `xml:"EncodingType,omitempty"`
	IsTruncated           bool           `xml:"IsTruncated"`
	Contents              []contents     `xml:"Contents"`
	CommonPrefixes        []commonPrefix `xml:"CommonPrefixes"`
}

// etagOf is the S3 ETag of a listing entry: its hash, or the S3
// multipart ETag s3api records in the listing ("<hash>; s3_etag=<etag>").
func etagOf(hash string) string {
	if _, s3, ok := strings.Cut(hash, "; s3_etag="); ok {
		return `"` + s3 + `"`
	}
	return `"` + hash + `"`
}

// maxKeys is the listing's max-keys, at most max_bucket_listing.
func (r *req) maxKeys() (int, *Error) {
	maxKeys := r.s.cfg.MaxBucketListing
	if v := r.ctx.QueryArgs().Peek("max-keys"); v != nil {
		n, err := strconv.Atoi(string(v))
		if err != nil || n < 0 {
			return 0, errInvalidArgument.with("ArgumentName", "max-keys").with("ArgumentValue", string(v))
		}
		if n < maxKeys {
			maxKeys = n
		}
	}
	return maxKeys, nil
}

// listEncoding is a listing's encoding-type ("" or "url") and the
// function that encodes its keys so.
func (r *req) listEncoding() (string, func(string) string, *Error) {
	enc := string(r.ctx.QueryArgs().Peek("encoding-type"))
	if enc != "" && enc != "url" {
		return "", nil, errInvalidArgument.with("ArgumentName", "encoding-type").with("ArgumentValue", enc)
	}
	return enc, func(s string) string {
		if enc == "url" {
			return uriEncode(s, true)
		}
		return s
	}, nil
}

func (r *req) listObjects(kind int) *Error {
	q := r.ctx.QueryArgs()
	maxKeys, e := r.maxKeys()
	if e != nil {
		return e
	}
	prefix := string(q.Peek("prefix"))
	delim := string(q.Peek("delimiter"))
	enc, encode, e := r.listEncoding()
	if e != nil {
		return e
	}
	res := listResult{Xmlns: xmlns, Name: r.bucket, Prefix: encode(prefix), MaxKeys: maxKeys, EncodingType: enc}
	if delim != "" {
		// An empty delimiter is left out, as AWS does (s3-tests).
		d := encode(delim)
		res.Delimiter = &d
	}
	if kind == listV1 {
		// S3 leaves the Prefix of a v1 listing as sent (botocore decodes
		// only Delimiter, Marker and NextMarker there).
		res.Prefix = prefix
	}
	marker, e := r.listMarker(kind, &res, encode)
	if e != nil {
		return e
	}
	var entries []listEntry
	if maxKeys > 0 {
		query := "format=json&limit=" + strconv.Itoa(maxKeys+2)
		if marker != "" {
			query += "&marker=" + uriEncode(marker, false)
		}
		if prefix != "" {
			query += "&prefix=" + uriEncode(prefix, false)
		}
		if delim != "" {
			query += "&delimiter=" + uriEncode(delim, false)
		}
		if st := r.swiftJSON(r.bucket, query, &entries); st != 200 {
			return swiftError(st, "bucket", r.bucket, "")
		}
	} else if st, _ := r.headContainer(r.bucket); st/100 != 2 {
		return swiftError(st, "bucket", r.bucket, "")
	}
	entries, res.IsTruncated = listingPage(entries, func(e listEntry) string { return e.Subdir }, marker, maxKeys)
	fetchOwner := kind != listV2 || string(q.Peek("fetch-owner")) == "true"
	for _, e := range entries {
		if e.Subdir != "" {
			res.CommonPrefixes = append(res.CommonPrefixes, commonPrefix{Prefix: encode(e.Subdir)})
			continue
		}
		c := contents{Key: encode(e.Name), LastModified: s3Time(e.LastModified), ETag: etagOf(e.Hash), Size: e.Bytes, StorageClass: "STANDARD"}
		if fetchOwner {
			o := r.owner()
			c.Owner = &o
		}
		res.Contents = append(res.Contents, c)
	}
	if res.IsTruncated && len(entries) > 0 {
		last := entries[len(entries)-1]
		next := last.Name
		if last.Subdir != "" {
			next = last.Subdir
		}
		switch kind {
		case listV1:
			if delim != "" {
				res.NextMarker = encode(next)
			}
		case listV2:
			res.NextContinuationToken = base64.StdEncoding.EncodeToString([]byte(next))
		}
	}
	if kind == listV2 {
		n := len(entries)
		res.KeyCount = &n
	}
	writeXML(r.ctx, res)
	return nil
}

// listMarker is where a v1 or v2 listing starts (marker, continuation
// token or start-after), echoed into res as S3 does.
func (r *req) listMarker(kind int, res *listResult, encode func(string) string) (string, *Error) {
	q := r.ctx.QueryArgs()
	var marker string
	switch kind {
	case listV1:
		res.XMLName.Local = "ListBucketResult"
		marker = string(q.Peek("marker"))
		m := encode(marker)
		res.Marker = &m
	case listV2:
		res.XMLName.Local = "ListBucketResult"
		if q.Has("continuation-token") {
			tok := string(q.Peek("continuation-token"))
			raw, err := base64.StdEncoding.DecodeString(tok)
			if err != nil {
				return "", errInvalidArgument.with("ArgumentName", "continuation-token")
			}
			marker = string(raw)
			res.ContinuationToken = &tok
		} else {
			marker = string(q.Peek("start-after"))
		}
		if q.Has("start-after") {
			sa := encode(string(q.Peek("start-after")))
			res.StartAfter = &sa
		}
	}
	return marker, nil
}

func parseInt64(s string) (int64, error) { return strconv.ParseInt(s, 10, 64) }
