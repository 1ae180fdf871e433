package s3compat

import (
	"encoding/json"
	"encoding/xml"
	"strings"

	"github.com/valyala/fasthttp"
)

// S3 ACLs as s3api keeps them with s3_acl: an owner and grants, JSON in
// sysmeta ({"Owner":id,"Grant":[{"Permission":p,"Grantee":id or group}]}).
// A bucket's lives in container sysmeta, and the grants Swift can express
// (AllUsers READ/WRITE) are also set as the container's Swift ACLs, so
// anonymous and Swift access follow them. An object's lives in transient
// sysmeta, which a POST can replace (Swift keeps object sysmeta from the
// PUT only). Grants add access: a grantee Swift would refuse is let in
// for what the grant allows.

const (
	containerACLSys = "X-Container-Sysmeta-S3api-Acl"
	objectACLSys    = "X-Object-Transient-Sysmeta-S3api-Acl"
	xsi             = "http://www.w3.org/2001/XMLSchema-instance"
	maxACLBody      = 200 << 10
)

// S3's permissions, in the order s3api and AWS list header grants.
var permissions = []string{"READ", "WRITE", "READ_ACP", "WRITE_ACP", "FULL_CONTROL"}

// groups maps S3's group URIs to the names s3api stores them by.
var groups = map[string]string{
	"http://acs.amazonaws.com/groups/global/AllUsers":           "AllUsers",
	"http://acs.amazonaws.com/groups/global/AuthenticatedUsers": "AuthenticatedUsers",
	"http://acs.amazonaws.com/groups/s3/LogDelivery":            "LogDelivery",
}

func groupURI(name string) string {
	for uri, n := range groups {
		if n == name {
			return uri
		}
	}
	return ""
}

type aclGrant struct {
	Permission string `json:"Permission"`
	Grantee    string `json:"Grantee"`
}

type s3ACL struct {
	Owner  string     `json:"Owner"`
	Grants []aclGrant `json:"Grant"`
}

func (a *s3ACL) encode() string {
	b, _ := json.Marshal(a)
	return string(b)
}

// decodeACL reads a stored ACL; nil when there is none (or it is unreadable).
func decodeACL(v string) *s3ACL {
	if v == "" {
		return nil
	}
	var a s3ACL
	if json.Unmarshal([]byte(v), &a) != nil {
		return nil
	}
	return &a
}

func validPermission(p string) bool {
	for _, q := range permissions {
		if p == q {
			return true
		}
	}
	return false
}

// allows reports whether the ACL grants user ("" = anonymous) perm.
func (a *s3ACL) allows(user, perm string) bool {
	if a == nil {
		return false
	}
	if user != "" && user == a.Owner {
		return true
	}
	for _, g := range a.Grants {
		if g.Permission != perm && g.Permission != "FULL_CONTROL" {
			continue
		}
		switch g.Grantee {
		case "AllUsers":
			return true
		case "AuthenticatedUsers":
			if user != "" {
				return true
			}
		default:
			if user != "" && g.Grantee == user {
				return true
			}
		}
	}
	return false
}

// cannedGrants are the grants of a canned ACL (s3api's canned_acl_grantees).
func cannedGrants(canned, owner, bucketOwner string) ([]aclGrant, bool) {
	full := aclGrant{"FULL_CONTROL", owner}
	switch canned {
	case "private":
		return []aclGrant{full}, true
	case "public-read":
		return []aclGrant{{"READ", "AllUsers"}, full}, true
	case "public-read-write":
		return []aclGrant{{"READ", "AllUsers"}, {"WRITE", "AllUsers"}, full}, true
	case "authenticated-read":
		return []aclGrant{{"READ", "AuthenticatedUsers"}, full}, true
	case "bucket-owner-read":
		if bucketOwner == owner {
			return []aclGrant{full}, true
		}
		return []aclGrant{{"READ", bucketOwner}, full}, true
	case "bucket-owner-full-control":
		if bucketOwner == owner {
			return []aclGrant{full}, true
		}
		return []aclGrant{full, {"FULL_CONTROL", bucketOwner}}, true
	case "log-delivery-write":
		return []aclGrant{{"WRITE", "LogDelivery"}, {"READ_ACP", "LogDelivery"}, full}, true
	}
	return nil, false
}

// checkGrantee refuses a canonical user id no one has (AWS's
// InvalidArgument); with Keystone the users are not all known here.
func (r *req) checkGrantee(id string) *Error {
	if r.s.ks != nil || r.s.auth == nil {
		return nil
	}
	if _, _, ok := r.s.auth.Lookup(id); ok {
		return nil
	}
	return s3err(400, "InvalidArgument", "Invalid id").with("ArgumentName", "CanonicalUser/ID").with("ArgumentValue", id)
}

// granteeFromHeader parses one grantee of an x-amz-grant-* header
// (id="…", uri="…" or emailAddress="…").
func (r *req) granteeFromHeader(v string) (string, *Error) {
	kind, val, ok := strings.Cut(strings.TrimSpace(v), "=")
	if !ok {
		return "", errInvalidArgument.with("ArgumentName", "x-amz-grant").with("ArgumentValue", v)
	}
	val = strings.Trim(strings.TrimSpace(val), `"'`)
	switch strings.ToLower(strings.TrimSpace(kind)) {
	case "id":
		if e := r.checkGrantee(val); e != nil {
			return "", e
		}
		return val, nil
	case "uri":
		if g, ok := groups[val]; ok {
			return g, nil
		}
		return "", s3err(400, "InvalidArgument", "Invalid group uri").with("ArgumentName", "uri").with("ArgumentValue", val)
	case "emailaddress":
		return "", errUnresolvableEmail.with("EmailAddress", val)
	}
	return "", s3err(400, "InvalidArgument", "Argument format not recognized").with("ArgumentName", kind).with("ArgumentValue", val)
}

// headerACL is the ACL x-amz-acl or x-amz-grant-* ask for; nil when the
// request names none.
func (r *req) headerACL(owner, bucketOwner string) (*s3ACL, *Error) {
	h := &r.ctx.Request.Header
	acl := &s3ACL{Owner: owner}
	for _, p := range permissions {
		v := string(h.Peek("X-Amz-Grant-" + strings.ReplaceAll(p, "_", "-")))
		if v == "" {
			continue
		}
		for _, g := range strings.Split(v, ",") {
			id, e := r.granteeFromHeader(g)
			if e != nil {
				return nil, e
			}
			acl.Grants = append(acl.Grants, aclGrant{p, id})
		}
	}
	canned := string(h.Peek("X-Amz-Acl"))
	switch {
	case canned != "" && len(acl.Grants) > 0:
		return nil, s3err(400, "InvalidRequest", "Specifying both Canned ACLs and Header Grants is not allowed")
	case canned != "":
		g, ok := cannedGrants(canned, owner, bucketOwner)
		if !ok {
			return nil, errInvalidArgument.with("ArgumentName", "x-amz-acl").with("ArgumentValue", canned)
		}
		acl.Grants = g
	case len(acl.Grants) == 0:
		return nil, nil
	}
	return acl, nil
}

// policyDoc is an AccessControlPolicy document as clients send it.
type policyDoc struct {
	XMLName xml.Name `xml:"AccessControlPolicy"`
	Owner   *struct {
		ID string `xml:"ID"`
	} `xml:"Owner"`
	Grants []struct {
		Grantee *struct {
			Type  string `xml:"http://www.w3.org/2001/XMLSchema-instance type,attr"`
			ID    string `xml:"ID"`
			URI   string `xml:"URI"`
			Email string `xml:"EmailAddress"`
		} `xml:"Grantee"`
		Permission string `xml:"Permission"`
	} `xml:"AccessControlList>Grant"`
}

// bodyACL parses an AccessControlPolicy; its owner must be the
// resource's (an ACL cannot give a resource away).
func (r *req) bodyACL(body []byte, owner string) (*s3ACL, *Error) {
	var doc policyDoc
	if err := xml.Unmarshal(body, &doc); err != nil {
		return nil, errMalformedPolicy
	}
	acl := &s3ACL{Owner: owner}
	if doc.Owner != nil && doc.Owner.ID != owner {
		if doc.Owner.ID == "" {
			return nil, errMalformedPolicy
		}
		return nil, errAccessDenied
	}
	for _, g := range doc.Grants {
		if g.Grantee == nil || !validPermission(g.Permission) {
			return nil, errMalformedPolicy
		}
		var id string
		switch g.Grantee.Type {
		case "CanonicalUser":
			if g.Grantee.ID == "" {
				return nil, errMalformedPolicy
			}
			if e := r.checkGrantee(g.Grantee.ID); e != nil {
				return nil, e
			}
			id = g.Grantee.ID
		case "Group":
			gn, ok := groups[g.Grantee.URI]
			if !ok {
				return nil, s3err(400, "InvalidArgument", "Invalid group uri").with("ArgumentName", "uri").with("ArgumentValue", g.Grantee.URI)
			}
			id = gn
		case "AmazonCustomerByEmail":
			return nil, errUnresolvableEmail.with("EmailAddress", g.Grantee.Email)
		default:
			return nil, errMalformedPolicy
		}
		acl.Grants = append(acl.Grants, aclGrant{g.Permission, id})
	}
	return acl, nil
}

// putACL is the ACL of a Put*Acl request: its headers or its body, not both.
func (r *req) putACL(owner, bucketOwner string) (*s3ACL, *Error) {
	body, e := r.readBody(maxACLBody)
	if e != nil {
		return nil, e
	}
	hacl, e := r.headerACL(owner, bucketOwner)
	if e != nil {
		return nil, e
	}
	hasBody := len(strings.TrimSpace(string(body))) > 0
	switch {
	case hacl != nil && hasBody:
		return nil, s3err(400, "UnexpectedContent", "This request does not support content")
	case hacl != nil:
		return hacl, nil
	case !hasBody:
		return nil, s3err(400, "MissingSecurityHeader", "Your request was missing a required header").with("MissingHeaderName", "x-amz-acl")
	}
	return r.bodyACL(body, owner)
}

// swiftACL is what of acl a container's Swift ACLs can say ("" removes):
// AllUsers READ. Swift's write ACLs take no referrers, so AllUsers WRITE
// stays an S3 grant.
func swiftACL(acl *s3ACL) [][2]string {
	read := ""
	for _, g := range acl.Grants {
		if g.Grantee == "AllUsers" && (g.Permission == "READ" || g.Permission == "FULL_CONTROL") {
			read = ".r:*,.rlistings"
		}
	}
	return [][2]string{{"X-Container-Read", read}, {"X-Container-Write", ""}}
}

// setContainerACL sets acl (sysmeta and Swift ACLs) on a container request.
func setContainerACL(req *fasthttp.Request, acl *s3ACL) {
	req.Header.Set(containerACLSys, acl.encode())
	for _, h := range swiftACL(acl) {
		if h[1] == "" {
			req.Header.Set("X-Remove-"+strings.TrimPrefix(h[0], "X-"), "x")
		} else {
			req.Header.Set(h[0], h[1])
		}
	}
}

// bucketACLOf is the bucket's ACL: stored, or what its Swift ACLs say
// for buckets made before ACLs were kept (owned by the account's user).
func (r *req) bucketACLOf(h *fasthttp.ResponseHeader) *s3ACL {
	if a := decodeACL(string(h.Peek(containerACLSys))); a != nil {
		return a
	}
	if r.foreign != nil {
		return r.foreign
	}
	a := &s3ACL{Owner: r.owner().ID}
	if strings.Contains(string(h.Peek("X-Container-Read")), ".r:*") {
		a.Grants = append(a.Grants, aclGrant{"READ", "AllUsers"})
	}
	if strings.Contains(string(h.Peek("X-Container-Write")), ".r:*") {
		a.Grants = append(a.Grants, aclGrant{"WRITE", "AllUsers"})
	}
	a.Grants = append(a.Grants, aclGrant{"FULL_CONTROL", a.Owner})
	return a
}

// objectACLOf is the object's ACL: stored, or private to the bucket's owner.
func objectACLOf(h *fasthttp.ResponseHeader, bucket *s3ACL) *s3ACL {
	if a := decodeACL(string(h.Peek(objectACLSys))); a != nil {
		return a
	}
	return &s3ACL{Owner: bucket.Owner, Grants: []aclGrant{{"FULL_CONTROL", bucket.Owner}}}
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

func (a *s3ACL) doc() accessControlPolicy {
	doc := accessControlPolicy{Xmlns: xmlns, Owner: owner{ID: a.Owner, DisplayName: a.Owner}, Grants: []grant{}}
	var users []grant
	for _, g := range a.Grants {
		// Group grants first, as S3 lists them.
		if uri := groupURI(g.Grantee); uri != "" {
			doc.Grants = append(doc.Grants, grant{Grantee: grantee{XMLNSXsi: xsi, Type: "Group", URI: uri}, Permission: g.Permission})
		} else {
			users = append(users, grant{Grantee: grantee{XMLNSXsi: xsi, Type: "CanonicalUser", ID: g.Grantee, DisplayName: g.Grantee}, Permission: g.Permission})
		}
	}
	doc.Grants = append(doc.Grants, users...)
	return doc
}

// requester is the S3 user id of the request ("" = anonymous).
func (r *req) requester() string {
	if r.id == nil {
		return ""
	}
	return r.id.User
}

func (r *req) bucketACL(m string) *Error {
	st, h := r.headContainer(r.bucket)
	if st/100 != 2 {
		return swiftError(st, "bucket", r.bucket, "")
	}
	cur := r.bucketACLOf(h)
	switch m {
	case "GET":
		writeXML(r.ctx, cur.doc())
		return nil
	case "PUT":
		acl, e := r.putACL(cur.Owner, cur.Owner)
		if e != nil {
			return e
		}
		resp := r.sub("POST", r.bucket, "", "", func(req *fasthttp.Request) { setContainerACL(req, acl) })
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

// objectACL serves Get/PutObjectAcl.
func (r *req) objectACL(m string) *Error {
	oh, e := r.headVersion(m == "PUT")
	if e != nil {
		return e
	}
	_, bh := r.headContainer(r.bucket)
	bacl := r.bucketACLOf(bh)
	cur := objectACLOf(oh, bacl)
	switch m {
	case "GET":
		writeXML(r.ctx, cur.doc())
		return nil
	case "PUT":
		acl, e := r.putACL(cur.Owner, bacl.Owner)
		if e != nil {
			return e
		}
		if e := r.repostObject(oh, objectACLSys, acl.encode()); e != nil {
			return e
		}
		r.ctx.SetStatusCode(200)
		return nil
	}
	return errMethodNotAllowed
}

// newObjectACL is the ACL to store with an object the request writes
// (nil: none asked for).
func (r *req) newObjectACL() (*s3ACL, *Error) {
	h := &r.ctx.Request.Header
	if len(h.Peek("X-Amz-Acl")) == 0 && !hasGrantHeaders(h) {
		if r.foreign != nil && r.requester() != "" {
			// Written into another account's bucket: the writer owns it.
			return &s3ACL{Owner: r.requester(), Grants: []aclGrant{{"FULL_CONTROL", r.requester()}}}, nil
		}
		return nil, nil
	}
	bowner := r.requester()
	if st, bh := r.headContainer(r.bucket); st/100 == 2 {
		bowner = r.bucketACLOf(bh).Owner
	}
	owner := r.requester()
	if owner == "" {
		owner = bowner
	}
	return r.headerACL(owner, bowner)
}

func hasGrantHeaders(h *fasthttp.RequestHeader) bool {
	for _, p := range permissions {
		if len(h.Peek("X-Amz-Grant-"+strings.ReplaceAll(p, "_", "-"))) > 0 {
			return true
		}
	}
	return false
}

// grantedRead retries a GET/HEAD Swift refused (401/403) as the
// bucket's owner when the object's ACL grants the requester READ (AllUsers
// READ lets anonymous clients in). It returns nil when no grant applies.
func (r *req) grantedRead(method, query string, prep func(*fasthttp.Request)) (resp *fasthttp.Response) {
	r.preAuthed(func() { resp = r.grantedReadAsOwner(method, query, prep) })
	return resp
}

func (r *req) grantedReadAsOwner(method, query string, prep func(*fasthttp.Request)) *fasthttp.Response {
	head := r.sub("HEAD", r.bucket, r.key, query, nil)
	acl := decodeACL(string(head.Header.Peek(objectACLSys)))
	head.CloseBodyStream()
	if !acl.allows(r.requester(), "READ") {
		return nil
	}
	return r.sub(method, r.bucket, r.key, query, prep)
}
