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

	"swiftbox/server"
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
	data, err := io.ReadAll(server.ResponseBody(resp))
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
		XMLName xml.Name `xml:"ListAllMyBucketsResult"`
		Xmlns   string   `xml:"xmlns,attr"`
		Owner   owner    `xml:"Owner"`
		Buckets []bucket `xml:"Buckets>Bucket"`
	}
	res := result{Xmlns: xmlns, Owner: r.owner(), Buckets: []bucket{}}
	marker := ""
	for {
		var items []struct {
			Name         string `json:"name"`
			LastModified string `json:"last_modified"`
		}
		q := "format=json&limit=10000"
		if marker != "" {
			q += "&marker=" + uriEncode(marker, false)
		}
		if st := r.swiftJSON("", q, &items); st != 200 {
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

// cannedACL translates x-amz-acl to Swift container ACL headers as
// s3api's swift_acl_translate does ("" value = remove).
func cannedACL(acl string) ([][2]string, *Error) {
	switch acl {
	case "private", "bucket-owner-full-control", "bucket-owner-read":
		return [][2]string{{"X-Container-Read", ""}, {"X-Container-Write", ""}}, nil
	case "public-read":
		return [][2]string{{"X-Container-Read", ".r:*,.rlistings"}, {"X-Container-Write", ""}}, nil
	case "public-read-write":
		return [][2]string{{"X-Container-Read", ".r:*,.rlistings"}, {"X-Container-Write", ".r:*"}}, nil
	case "authenticated-read", "log-delivery-write":
		return nil, errNotImplemented
	}
	return nil, errInvalidArgument.with("ArgumentName", "x-amz-acl").with("ArgumentValue", acl)
}

func setACLHeaders(req *fasthttp.Request, hs [][2]string) {
	for _, h := range hs {
		if h[1] == "" {
			req.Header.Set("X-Remove-"+strings.TrimPrefix(h[0], "X-"), "x")
		} else {
			req.Header.Set(h[0], h[1])
		}
	}
}

func (r *req) createBucket() *Error {
	if !validBucketName(r.bucket, r.s.cfg.DNSCompliantBucketNames) {
		return errInvalidBucketName.with("BucketName", r.bucket)
	}
	var acl [][2]string
	if v := string(r.ctx.Request.Header.Peek("X-Amz-Acl")); v != "" {
		var e *Error
		if acl, e = cannedACL(v); e != nil {
			return e
		}
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
	resp := r.sub("PUT", r.bucket, "", "", func(req *fasthttp.Request) { setACLHeaders(req, acl) })
	st := resp.StatusCode()
	resp.CloseBodyStream()
	switch {
	case st == 202 && r.s.cfg.Location != "us-east-1":
		return errBucketAlreadyOwned.with("BucketName", r.bucket)
	case st == 202:
		// us-east-1 lets the owner create its bucket again (AWS's legacy region).
		if acl != nil {
			resp := r.sub("POST", r.bucket, "", "", func(req *fasthttp.Request) { setACLHeaders(req, acl) })
			resp.CloseBodyStream()
		}
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

// Grants as S3 shows them.
type grantee struct {
	XMLNSXsi    string `xml:"xmlns:xsi,attr"`
	Type        string `xml:"xsi:type,attr"`
	ID          string `xml:"ID,omitempty"`
	DisplayName string `xml:"DisplayName,omitempty"`
	URI         string `xml:"URI,omitempty"`
}

type grant struct {
	Grantee    grantee `xml:"Grantee"`
	Permission string  `xml:"Permission"`
}

type accessControlPolicy struct {
	XMLName xml.Name `xml:"AccessControlPolicy"`
	Xmlns   string   `xml:"xmlns,attr"`
	Owner   owner    `xml:"Owner"`
	Grants  []grant  `xml:"AccessControlList>Grant"`
}

const (
	xsi      = "http://www.w3.org/2001/XMLSchema-instance"
	allUsers = "http://acs.amazonaws.com/groups/global/AllUsers"
)

// aclDoc shows the container's Swift ACLs as S3 grants.
func (r *req) aclDoc(h *fasthttp.ResponseHeader) accessControlPolicy {
	o := r.owner()
	doc := accessControlPolicy{Xmlns: xmlns, Owner: o, Grants: []grant{{
		Grantee:    grantee{XMLNSXsi: xsi, Type: "CanonicalUser", ID: o.ID, DisplayName: o.DisplayName},
		Permission: "FULL_CONTROL",
	}}}
	if strings.Contains(string(h.Peek("X-Container-Read")), ".r:*") {
		doc.Grants = append(doc.Grants, grant{Grantee: grantee{XMLNSXsi: xsi, Type: "Group", URI: allUsers}, Permission: "READ"})
	}
	if strings.Contains(string(h.Peek("X-Container-Write")), ".r:*") {
		doc.Grants = append(doc.Grants, grant{Grantee: grantee{XMLNSXsi: xsi, Type: "Group", URI: allUsers}, Permission: "WRITE"})
	}
	return doc
}

// aclFromBody reads a canned ACL from x-amz-acl or an
// AccessControlPolicy document, as s3api's swift_acl_translate does.
func (r *req) aclFromRequest() ([][2]string, *Error) {
	if v := string(r.ctx.Request.Header.Peek("X-Amz-Acl")); v != "" {
		return cannedACL(v)
	}
	body, e := r.readBody(64 << 10)
	if e != nil {
		return nil, e
	}
	var doc struct {
		Grants []struct {
			Grantee struct {
				Type string `xml:"type,attr"`
				URI  string `xml:"URI"`
			} `xml:"Grantee"`
			Permission string `xml:"Permission"`
		} `xml:"AccessControlList>Grant"`
	}
	if err := xml.Unmarshal(body, &doc); err != nil {
		return nil, errMalformedPolicy
	}
	acl := "private"
	for _, g := range doc.Grants {
		switch {
		case g.Permission == "FULL_CONTROL" && g.Grantee.Type == "CanonicalUser":
		case g.Permission == "READ" && g.Grantee.Type == "Group" && g.Grantee.URI == allUsers:
			if acl != "public-read-write" {
				acl = "public-read"
			}
		case g.Permission == "WRITE" && g.Grantee.Type == "Group" && g.Grantee.URI == allUsers:
			acl = "public-read-write"
		default:
			return nil, errNotImplemented
		}
	}
	return cannedACL(acl)
}

func (r *req) bucketACL(m string) *Error {
	switch m {
	case "GET":
		st, h := r.headContainer(r.bucket)
		if st/100 != 2 {
			return swiftError(st, "bucket", r.bucket, "")
		}
		writeXML(r.ctx, r.aclDoc(h))
		return nil
	case "PUT":
		acl, e := r.aclFromRequest()
		if e != nil {
			return e
		}
		resp := r.sub("POST", r.bucket, "", "", func(req *fasthttp.Request) { setACLHeaders(req, acl) })
		st := resp.StatusCode()
		resp.CloseBodyStream()
		if st/100 != 2 {
			return swiftError(st, "bucket", r.bucket, "")
		}
		r.ctx.SetStatusCode(200)
		return nil
	}
	return errMethodNotAllowed
}

// objectACL is the bucket's ACL as seen from one object (Swift has no
// per-object ACLs; s3api answers the same way).
func (r *req) objectACL(m string) *Error {
	st, _, _ := r.headObject()
	if st/100 != 2 {
		return r.objectError(st)
	}
	switch m {
	case "GET":
		_, h := r.headContainer(r.bucket)
		writeXML(r.ctx, r.aclDoc(h))
		return nil
	case "PUT":
		if _, e := r.aclFromRequest(); e != nil {
			return e
		}
		r.ctx.SetStatusCode(200)
		return nil
	}
	return errMethodNotAllowed
}

const (
	listV1 = iota
	listV2
)

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

func (r *req) listObjects(kind int) *Error {
	q := r.ctx.QueryArgs()
	maxKeys, e := r.maxKeys()
	if e != nil {
		return e
	}
	prefix := string(q.Peek("prefix"))
	delim := string(q.Peek("delimiter"))
	enc := string(q.Peek("encoding-type"))
	if enc != "" && enc != "url" {
		return errInvalidArgument.with("ArgumentName", "encoding-type").with("ArgumentValue", enc)
	}
	encode := func(s string) string {
		if enc == "url" {
			return uriEncode(s, true)
		}
		return s
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
				return errInvalidArgument.with("ArgumentName", "continuation-token")
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
	// A common prefix equal to the marker was listed on the previous page.
	kept := entries[:0]
	for _, e := range entries {
		if e.Subdir != "" && e.Subdir == marker {
			continue
		}
		kept = append(kept, e)
	}
	entries = kept
	if len(entries) > maxKeys {
		entries = entries[:maxKeys]
		res.IsTruncated = true
	}
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

func parseInt64(s string) (int64, error) { return strconv.ParseInt(s, 10, 64) }
