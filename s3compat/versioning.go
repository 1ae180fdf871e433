package s3compat

import (
	"encoding/json"
	"encoding/xml"
	"io"
	"strconv"
	"strings"

	"swiftbox/server/pyfmt"

	"github.com/valyala/fasthttp"

	"swiftbox/server/proxy"
	"swiftbox/storage/timestamp"
)

// S3 bucket versioning on Swift's object_versioning, as s3api does it:
// Enabled/Suspended is X-Versions-Enabled true/false, a version id is the
// Swift timestamp object_versioning names the version by ("null" for an
// object written while versioning was off), and ?versionId= becomes
// ?version-id=.

// deleteMarkerType is the content type object_versioning gives delete markers.
const deleteMarkerType = "application/x-deleted;swift_versions_deleted=1"

// maxVersioningBody is s3api's MAX_PUT_VERSIONING_BODY_SIZE.
const maxVersioningBody = 10240

// versionID is the request's versionId and whether it has one.
func (r *req) versionID() (string, bool) {
	q := r.ctx.QueryArgs()
	if !q.Has("versionId") {
		return "", false
	}
	return string(q.Peek("versionId")), true
}

// validVersionID reports whether v can name a version: "null" or a Swift
// timestamp.
func validVersionID(v string) bool {
	if v == "null" {
		return true
	}
	_, err := timestamp.Parse(v)
	return err == nil
}

func errInvalidVersionID(v string) *Error {
	return s3err(400, "InvalidArgument", "Invalid version id specified").with("ArgumentName", "versionId").with("ArgumentValue", v)
}

// versionQuery is the Swift query naming version v ("" for none).
func versionQuery(v string, has bool) string {
	if !has {
		return ""
	}
	a := fasthttp.Args{}
	a.Set("version-id", v)
	return a.String()
}

// bucketVersioned returns the bucket's versioning state as the container
// shows it: "" never configured, else object_versioning's X-Versions-Enabled.
func (r *req) bucketVersioned(bucket string) (string, *Error) {
	st, h := r.headContainer(bucket)
	if st/100 != 2 {
		return "", swiftError(st, "bucket", bucket, "")
	}
	return string(h.Peek("X-Versions-Enabled")), nil
}

// versionHeaders sets x-amz-version-id and x-amz-delete-marker from a
// Swift response, as s3api's header translation does.
func (r *req) versionHeaders(h *fasthttp.ResponseHeader) {
	out := &r.ctx.Response.Header
	if v := h.Peek("X-Object-Version-Id"); len(v) > 0 {
		out.Set("x-amz-version-id", string(v))
	}
	if isDeleteMarker(h) {
		out.Set("x-amz-delete-marker", "true")
	}
}

func isDeleteMarker(h *fasthttp.ResponseHeader) bool {
	return string(h.Peek("X-Backend-Content-Type")) == deleteMarkerType || string(h.ContentType()) == deleteMarkerType
}

func (r *req) bucketVersioning(m string) *Error {
	state, e := r.bucketVersioned(r.bucket)
	if e != nil {
		return e
	}
	type config struct {
		XMLName   xml.Name `xml:"VersioningConfiguration"`
		Xmlns     string   `xml:"xmlns,attr,omitempty"`
		Status    *string  `xml:"Status"`
		MfaDelete *string  `xml:"MfaDelete"`
	}
	switch m {
	case "GET":
		doc := config{Xmlns: xmlns}
		if state != "" {
			s := "Suspended"
			if pyfmt.True(state) {
				s = "Enabled"
			}
			doc.Status = &s
		}
		writeXML(r.ctx, doc)
		return nil
	case "PUT":
		body, e := r.readBody(maxVersioningBody)
		if e != nil {
			return e
		}
		var doc config
		if err := xml.Unmarshal(body, &doc); err != nil || doc.Status == nil {
			return errMalformedXML
		}
		if *doc.Status != "Enabled" && *doc.Status != "Suspended" {
			return errMalformedXML
		}
		if doc.MfaDelete != nil {
			switch *doc.MfaDelete {
			case "Disabled":
			case "Enabled":
				// No MFA devices here to demand a code from.
				return errNotImplemented
			default:
				return errMalformedXML
			}
		}
		resp := r.sub("POST", r.bucket, "", "", func(req *fasthttp.Request) {
			req.Header.Set("X-Versions-Enabled", strconv.FormatBool(*doc.Status == "Enabled"))
		})
		st := resp.StatusCode()
		resp.CloseBodyStream()
		if st/100 != 2 {
			if st == 400 {
				// Legacy versioned writes or container sync on the container.
				return s3err(400, "InvalidBucketState", "The bucket is in a state that does not allow versioning to be configured.")
			}
			return swiftError(st, "bucket", r.bucket, "")
		}
		r.ctx.SetStatusCode(200)
		return nil
	}
	return errMethodNotAllowed
}

// versionEntry is one item of a ?versions listing of object_versioning.
type versionEntry struct {
	listEntry
	VersionID string `json:"version_id"`
	IsLatest  bool   `json:"is_latest"`
}

// versionsOf lists the versions of key, newest first (at most limit).
func (r *req) versionsOf(key string, limit int) ([]versionEntry, int) {
	a := fasthttp.Args{}
	a.Set("versions", "")
	a.Set("format", "json")
	a.Set("prefix", key)
	a.Set("limit", strconv.Itoa(limit))
	var items []versionEntry
	st := r.swiftJSON(r.bucket, a.String(), &items)
	kept := items[:0]
	for _, it := range items {
		if it.Name == key {
			kept = append(kept, it)
		}
	}
	return kept, st
}

// latestDeleteMarker returns the id of key's delete marker when that is
// the key's current version.
func (r *req) latestDeleteMarker(key string) (string, bool) {
	vs, st := r.versionsOf(key, 1)
	if st != 200 || len(vs) == 0 || vs[0].ContentType != deleteMarkerType || !vs[0].IsLatest {
		return "", false
	}
	return vs[0].VersionID, true
}

// missingObject is the error of a GET/HEAD (or copy source) that found no
// current object: NoSuchBucket, or NoSuchKey with the delete marker
// that hides the key, if one does.
func (r *req) missingObject(bucket, key string) *Error {
	state, e := r.bucketVersioned(bucket)
	if e != nil {
		return e
	}
	if state != "" && bucket == r.bucket {
		if v, ok := r.latestDeleteMarker(key); ok {
			out := &r.ctx.Response.Header
			out.Set("x-amz-delete-marker", "true")
			out.Set("x-amz-version-id", v)
			return errNoSuchKey.with("Key", key)
		}
	}
	r.ctx.Response.Header.Set("x-amz-delete-marker", "false")
	return errNoSuchKey.with("Key", key)
}

// versionedReadError maps the Swift status of a GET/HEAD ?version-id= of
// key: a delete marker cannot be read (405), a missing version is
// NoSuchVersion.
func (r *req) versionedReadError(st int, h *fasthttp.ResponseHeader, key, v string) *Error {
	if st == 404 && isDeleteMarker(h) {
		out := &r.ctx.Response.Header
		out.Set("x-amz-delete-marker", "true")
		out.Set("x-amz-version-id", v)
		out.Set("Allow", "DELETE")
		return errMethodNotAllowed.with("Method", string(r.ctx.Method())).with("ResourceType", "DeleteMarker")
	}
	if st == 404 || st == 400 {
		if _, e := r.bucketVersioned(r.bucket); e != nil {
			return e
		}
		if v == "null" {
			return errNoSuchKey.with("Key", key)
		}
		return errNoSuchVersion.with("Key", key).with("VersionId", v)
	}
	return swiftError(st, "object", r.bucket, key)
}

// checkReadVersion validates the versionId of a read: a real version id
// needs a bucket that has had versioning.
func (r *req) checkReadVersion(bucket, key, v string) *Error {
	if !validVersionID(v) {
		return errInvalidVersionID(v)
	}
	if v == "null" {
		return nil
	}
	state, e := r.bucketVersioned(bucket)
	if e != nil {
		return e
	}
	if state == "" {
		return errNoSuchVersion.with("Key", key).with("VersionId", v)
	}
	return nil
}

// deleteOutcome is what deleting a key (or one of its versions) did.
type deleteOutcome struct {
	versionID    string // the version deleted or the delete marker made
	deleteMarker bool   // a delete marker was made or deleted
}

// deleteKey deletes key, or its version v when has, as s3api's object
// DELETE does: a static large object goes with its segments, a DELETE in
// an enabled bucket leaves a delete marker, and deleting the current
// version brings the previous one back.
func (r *req) deleteKey(key, v string, has bool) (deleteOutcome, *Error) {
	defer r.s.deletes.Lock(r.account + "/" + r.bucket + "/" + key)()
	var out deleteOutcome
	if has {
		if !validVersionID(v) {
			return out, errInvalidVersionID(v)
		}
		if v != "null" {
			state, e := r.bucketVersioned(r.bucket)
			if e != nil {
				return out, e
			}
			if state == "" {
				// Versioning never enabled: nothing can have that version.
				return deleteOutcome{versionID: v}, nil
			}
		}
	}
	vq := versionQuery(v, has)
	hq := "symlink=get"
	if vq != "" {
		hq = vq + "&" + hq
	}
	head := r.sub("HEAD", r.bucket, key, hq, nil)
	slo := strings.EqualFold(string(head.Header.Peek("X-Static-Large-Object")), "true")
	marker := has && isDeleteMarker(&head.Header)
	head.CloseBodyStream()
	q := ""
	switch {
	case slo:
		q = "multipart-manifest=delete"
		if vq != "" {
			q += "&" + vq
		}
	case has:
		q = hq
	}
	resp := r.sub("DELETE", r.bucket, key, q, func(req *fasthttp.Request) {
		if slo {
			req.Header.Set("Accept", "application/json")
		}
	})
	defer resp.CloseBodyStream()
	st := resp.StatusCode()
	if slo && st == 200 {
		var res struct {
			Status string `json:"Response Status"`
		}
		body, _ := io.ReadAll(proxy.ResponseBody(resp))
		if json.Unmarshal(body, &res) != nil {
			return out, errInternal
		}
		st, _ = strconv.Atoi(strings.Fields(res.Status + " 500")[0])
		if st/100 == 2 {
			st = 204
		}
	}
	if has && st/100 == 5 && r.versionGone(key, v) {
		// Concurrent deletes of one version can leave the replicas'
		// answers without a quorum; what counts is that it is gone.
		st = 404
	}
	if st == 409 || st == 412 {
		// A concurrent delete got there first (an older timestamp, or
		// object_versioning finding the link or version gone): S3's
		// DELETE is idempotent.
		st = 404
	}
	if st/100 != 2 && st != 404 {
		if st == 401 && r.id == nil && !r.bucketExists() {
			return out, errNoSuchBucket.with("BucketName", r.bucket)
		}
		return out, swiftError(st, "object", r.bucket, key)
	}
	if st == 404 {
		if _, e := r.bucketVersioned(r.bucket); e != nil {
			return out, e
		}
	}
	out.versionID = string(resp.Header.Peek("X-Object-Version-Id"))
	if has {
		out.versionID = v
	}
	out.deleteMarker = marker || (!has && isDeleteMarker(&resp.Header) && out.versionID != "")
	if has && string(resp.Header.Peek("X-Object-Current-Version-Id")) == "null" {
		r.restoreOnDelete(key)
	}
	return out, nil
}

// versionGone reports whether version v of key no longer exists.
func (r *req) versionGone(key, v string) bool {
	head := r.sub("HEAD", r.bucket, key, versionQuery(v, true)+"&symlink=get", nil)
	defer head.CloseBodyStream()
	return head.StatusCode() == 404 && !isDeleteMarker(&head.Header)
}

// restoreOnDelete makes the newest remaining version of key current after
// its current version was deleted (s3api's _restore_on_delete); a delete
// marker on top leaves the key deleted.
func (r *req) restoreOnDelete(key string) {
	vs, st := r.versionsOf(key, 100)
	if st != 200 {
		return
	}
	for _, it := range vs {
		if it.ContentType == deleteMarkerType {
			return
		}
		if it.VersionID == "null" {
			return
		}
		resp := r.sub("PUT", r.bucket, key, versionQuery(it.VersionID, true), nil)
		st := resp.StatusCode()
		resp.CloseBodyStream()
		if st/100 != 2 {
			if st == 404 || st == 412 {
				continue
			}
			return
		}
		// A concurrent DELETE of that version may have won the race:
		// then the link dangles; drop it and try the next version.
		head := r.sub("HEAD", r.bucket, key, versionQuery(it.VersionID, true), nil)
		st = head.StatusCode()
		head.CloseBodyStream()
		if st != 404 {
			return
		}
		r.sub("DELETE", r.bucket, key, versionQuery("null", true), nil).CloseBodyStream()
	}
}

func (r *req) deleteObject() *Error {
	v, has := r.versionID()
	o, e := r.deleteKey(r.key, v, has)
	if e != nil {
		return e
	}
	out := &r.ctx.Response.Header
	if o.versionID != "" {
		out.Set("x-amz-version-id", o.versionID)
	}
	if o.deleteMarker {
		out.Set("x-amz-delete-marker", "true")
	}
	r.ctx.SetStatusCode(204)
	return nil
}

// versionElem is a Version or DeleteMarker of ListObjectVersions.
type versionElem struct {
	XMLName      xml.Name
	Key          string `xml:"Key"`
	VersionID    string `xml:"VersionId"`
	IsLatest     bool   `xml:"IsLatest"`
	LastModified string `xml:"LastModified"`
	ETag         string `xml:"ETag,omitempty"`
	Size         *int64 `xml:"Size,omitempty"`
	Owner        owner  `xml:"Owner"`
	StorageClass string `xml:"StorageClass,omitempty"`
}

type listVersionsResult struct {
	XMLName             xml.Name       `xml:"ListVersionsResult"`
	Xmlns               string         `xml:"xmlns,attr"`
	Name                string         `xml:"Name"`
	Prefix              string         `xml:"Prefix"`
	KeyMarker           string         `xml:"KeyMarker"`
	VersionIDMarker     string         `xml:"VersionIdMarker"`
	NextKeyMarker       string         `xml:"NextKeyMarker,omitempty"`
	NextVersionIDMarker string         `xml:"NextVersionIdMarker,omitempty"`
	MaxKeys             int            `xml:"MaxKeys"`
	Delimiter           *string        `xml:"Delimiter"`
	EncodingType        string         `xml:"EncodingType,omitempty"`
	IsTruncated         bool           `xml:"IsTruncated"`
	Entries             []versionElem  `xml:",any"`
	CommonPrefixes      []commonPrefix `xml:"CommonPrefixes"`
}

// newestVersionMarker stands for "null" as version_marker: the null
// version is a key's newest, so the page goes on with every version of
// the key object_versioning keeps (their inverted timestamps all sort
// after this one's).
const newestVersionMarker = "9999999999.99999"

// listVersions is ListObjectVersions on object_versioning's ?versions
// listing (key ascending, newest version first within a key).
func (r *req) listVersions() *Error {
	q := r.ctx.QueryArgs()
	maxKeys, e := r.maxKeys()
	if e != nil {
		return e
	}
	enc, encode, e := r.listEncoding()
	if e != nil {
		return e
	}
	prefix, delim := string(q.Peek("prefix")), string(q.Peek("delimiter"))
	keyMarker, versionMarker := string(q.Peek("key-marker")), string(q.Peek("version-id-marker"))
	if q.Has("version-id-marker") {
		if !q.Has("key-marker") {
			return s3err(400, "InvalidArgument", "A version-id marker cannot be specified without a key marker.").
				with("ArgumentName", "version-id-marker").with("ArgumentValue", versionMarker)
		}
		if versionMarker != "" && !validVersionID(versionMarker) {
			return s3err(400, "InvalidArgument", "Invalid version id specified").
				with("ArgumentName", "version-id-marker").with("ArgumentValue", versionMarker)
		}
	}
	res := listVersionsResult{Xmlns: xmlns, Name: r.bucket, Prefix: encode(prefix), KeyMarker: encode(keyMarker),
		VersionIDMarker: versionMarker, MaxKeys: maxKeys, EncodingType: enc}
	if delim != "" || r.ctx.QueryArgs().Has("delimiter") {
		// Echoed even blank, as s3api's ListObjectVersions does.
		d := encode(delim)
		res.Delimiter = &d
	}
	var items []versionEntry
	if maxKeys > 0 {
		a := fasthttp.Args{}
		a.Set("versions", "")
		a.Set("format", "json")
		a.Set("limit", strconv.Itoa(maxKeys+2))
		if prefix != "" {
			a.Set("prefix", prefix)
		}
		if delim != "" {
			a.Set("delimiter", delim)
		}
		if keyMarker != "" {
			a.Set("marker", keyMarker)
			switch versionMarker {
			case "":
			case "null":
				a.Set("version_marker", newestVersionMarker)
			default:
				a.Set("version_marker", versionMarker)
			}
		}
		if st := r.swiftJSON(r.bucket, a.String(), &items); st != 200 {
			if st == 400 {
				return errInvalidArgument
			}
			return swiftError(st, "bucket", r.bucket, "")
		}
	} else if _, e := r.bucketVersioned(r.bucket); e != nil {
		return e
	}
	items, res.IsTruncated = listingPage(items, func(e versionEntry) string { return e.Subdir }, keyMarker, maxKeys)
	o := r.owner()
	for _, it := range items {
		if it.Subdir != "" {
			res.CommonPrefixes = append(res.CommonPrefixes, commonPrefix{Prefix: encode(it.Subdir)})
			continue
		}
		vid := it.VersionID
		if vid == "" {
			vid = "null"
		}
		el := versionElem{Key: encode(it.Name), VersionID: vid, IsLatest: it.IsLatest, LastModified: s3Time(it.LastModified), Owner: o}
		if it.ContentType == deleteMarkerType {
			el.XMLName.Local = "DeleteMarker"
		} else {
			el.XMLName.Local = "Version"
			el.ETag = etagOf(it.Hash)
			size := it.Bytes
			el.Size = &size
			el.StorageClass = "STANDARD"
		}
		res.Entries = append(res.Entries, el)
	}
	if res.IsTruncated && len(items) > 0 {
		last := items[len(items)-1]
		if last.Subdir != "" {
			res.NextKeyMarker = encode(last.Subdir)
		} else {
			res.NextKeyMarker = encode(last.Name)
			res.NextVersionIDMarker = last.VersionID
			if res.NextVersionIDMarker == "" {
				res.NextVersionIDMarker = "null"
			}
		}
	}
	writeXML(r.ctx, res)
	return nil
}

// headVersion HEADs the request's object, or the version its versionId
// names, and sets the version headers of the answer. A change (write)
// reaches only the current version (object_versioning takes a POST to
// the object alone): naming another is NotImplemented.
func (r *req) headVersion(write bool) (*fasthttp.ResponseHeader, *Error) {
	v, has := r.versionID()
	if has && write {
		st, oh, _ := r.headObject()
		if st/100 != 2 || string(oh.Peek("X-Object-Version-Id")) != v {
			return nil, errNotImplemented
		}
		has = false
	}
	if has {
		if e := r.checkReadVersion(r.bucket, r.key, v); e != nil {
			return nil, e
		}
	}
	head := r.sub("HEAD", r.bucket, r.key, versionQuery(v, has), nil)
	st := head.StatusCode()
	h := &fasthttp.ResponseHeader{}
	head.Header.CopyTo(h)
	head.CloseBodyStream()
	switch {
	case st/100 == 2:
		r.versionHeaders(h)
		return h, nil
	case has:
		return nil, r.versionedReadError(st, h, r.key, v)
	case st == 404:
		return nil, r.missingObject(r.bucket, r.key)
	}
	return nil, r.objectError(st)
}
