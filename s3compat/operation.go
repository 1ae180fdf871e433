package s3compat

import "strings"

// Each S3 request is classified once, here, into the operation it is:
// the handler the router runs, and everything authorization judges it
// by — the IAM action a bucket policy names, the ACL permission a grant
// must give, whether only the bucket's owner may do it, whether it only
// reads — plus the secondary resources it touches (a copy source). The
// router, the key scope, the policy, the ACL and the owner checks all
// take this one value: nothing works the operation out again from the
// method and the query, so what is authorized is what runs.
//
// A request naming two sub-resources that select operations (?policy&acl,
// ?cors&acl, ?delete&versions, ?uploads&uploadId…) is refused with 400
// InvalidArgument "Conflicting query string parameters", which is what
// AWS answers as far as we know (not verified against AWS itself).
// s3api (s3request.py's controller property) and RGW (RGWHandler_REST_*
// op_get/op_put…) instead take the first sub-resource in a fixed order
// and authorize that same one; swiftbox had the router and the checks
// each pick their own, which let ?policy&acl reach the policy with only
// WRITE_ACP. Refusing the mix leaves no order to disagree about.

// operation is one kind of S3 request.
type operation struct {
	name   string // S3's API name
	action string // the IAM action bucket policies name
	// versioned is the action for a request naming a versionId ("": action).
	versioned string
	run       func(r *req) *Error
	// perm is the S3 ACL permission a grant must give in another
	// account's bucket ("": only the bucket's owner may); onObject says it
	// is judged on the object's ACL (READ, READ_ACP, WRITE_ACP of an
	// object), else on the bucket's.
	perm     string
	onObject bool
	// ownerOnly: a bucket setting no bucket policy hands out (the policy
	// itself, ACLs, CORS, tags, versioning, creating or deleting it).
	ownerOnly bool
	read      bool // changes nothing (a read-only access key may do it)
	// perKey: DeleteObjects, whose keys are each authorized as their own
	// DeleteObject (or DeleteObjectVersion), as AWS does; the request on
	// the bucket grants nothing by itself.
	perKey bool
	// also is another operation whose action a bucket policy must allow
	// too (and whose Deny refuses): GetObjectAttributes tells what
	// GetObject would (size, ETag, checksums), so AWS asks for both.
	also *operation
}

// actionFor is the IAM action of op on a resource with or without a versionId.
func (op *operation) actionFor(hasVersion bool) string {
	if hasVersion && op.versioned != "" {
		return op.versioned
	}
	return op.action
}

// Operations the handlers and the other checks refer to by name (their
// handlers are set in init: some refer to them).
var (
	opListBuckets             = &operation{name: "ListBuckets", action: "s3:ListAllMyBuckets", read: true}
	opGetObject               = &operation{name: "GetObject", action: "s3:GetObject", versioned: "s3:GetObjectVersion", perm: "READ", onObject: true, read: true}
	opHeadObject              = &operation{name: "HeadObject", action: "s3:GetObject", versioned: "s3:GetObjectVersion", perm: "READ", onObject: true, read: true}
	opPutObject               = &operation{name: "PutObject", action: "s3:PutObject", perm: "WRITE"}
	opCopyObject              = &operation{name: "CopyObject", action: "s3:PutObject", perm: "WRITE"}
	opDeleteObject            = &operation{name: "DeleteObject", action: "s3:DeleteObject", versioned: "s3:DeleteObjectVersion", perm: "WRITE"}
	opDeleteObjects           = &operation{name: "DeleteObjects", action: "s3:DeleteObject", perm: "WRITE", perKey: true}
	opCreateBucket            = &operation{name: "CreateBucket", action: "s3:CreateBucket", ownerOnly: true}
	opUploadPart              = &operation{name: "UploadPart", action: "s3:PutObject", perm: "WRITE"}
	opCompleteMultipartUpload = &operation{name: "CompleteMultipartUpload", action: "s3:PutObject", perm: "WRITE"}
	opUploadPartCopy          = &operation{name: "UploadPartCopy", action: "s3:PutObject", perm: "WRITE"}
)

// Where a sub-resource applies.
const (
	atBucket = 1
	atObject = 2
)

type opKey struct {
	level  int
	sub    string // the selecting sub-resource, "" for none
	method string
}

// ops is the route table: level, sub-resource and method → operation.
var ops = map[opKey]*operation{}

func addOp(level int, sub, method string, op *operation) { ops[opKey{level, sub, method}] = op }

func init() {
	opListBuckets.run = func(r *req) *Error { return r.listBuckets() }
	opGetObject.run = func(r *req) *Error { return r.getObject("GET") }
	opHeadObject.run = func(r *req) *Error { return r.getObject("HEAD") }
	opPutObject.run = func(r *req) *Error { return r.putObject() }
	opCopyObject.run = func(r *req) *Error { return r.copyObject() }
	opDeleteObject.run = func(r *req) *Error { return r.deleteObject() }
	opDeleteObjects.run = func(r *req) *Error { return r.deleteObjects() }
	opCreateBucket.run = func(r *req) *Error { return r.createBucket() }
	opUploadPart.run = func(r *req) *Error { return r.uploadPart() }
	opCompleteMultipartUpload.run = func(r *req) *Error { return r.completeMultipartUpload() }
	opUploadPartCopy.run = func(r *req) *Error { return r.uploadPart() }
	bucketRead := func(name, action string, run func(r *req) *Error) *operation {
		return &operation{name: name, action: action, perm: "READ", read: true, run: run}
	}
	// Bucket settings: their owner's alone under ACL grants.
	setting := func(name, action string, ownerOnly bool, read bool, run func(r *req) *Error) *operation {
		return &operation{name: name, action: action, ownerOnly: ownerOnly, read: read, run: run}
	}
	addOp(atBucket, "", "GET", bucketRead("ListObjects", "s3:ListBucket", func(r *req) *Error {
		if string(r.ctx.QueryArgs().Peek("list-type")) == "2" {
			return r.listObjects(listV2)
		}
		return r.listObjects(listV1)
	}))
	addOp(atBucket, "", "HEAD", bucketRead("HeadBucket", "s3:ListBucket", func(r *req) *Error { return r.headBucket() }))
	addOp(atBucket, "", "PUT", opCreateBucket)
	addOp(atBucket, "", "DELETE", setting("DeleteBucket", "s3:DeleteBucket", true, false, func(r *req) *Error { return r.deleteBucket() }))
	addOp(atBucket, "versions", "GET", bucketRead("ListObjectVersions", "s3:ListBucketVersions", func(r *req) *Error { return r.listVersions() }))
	addOp(atBucket, "uploads", "GET", bucketRead("ListMultipartUploads", "s3:ListBucketMultipartUploads", func(r *req) *Error { return r.listMultipartUploads() }))
	addOp(atBucket, "delete", "POST", opDeleteObjects)
	addOp(atBucket, "acl", "GET", &operation{name: "GetBucketAcl", action: "s3:GetBucketAcl", perm: "READ_ACP", read: true,
		run: func(r *req) *Error { return r.bucketACL("GET") }})
	addOp(atBucket, "acl", "PUT", &operation{name: "PutBucketAcl", action: "s3:PutBucketAcl", perm: "WRITE_ACP", ownerOnly: true,
		run: func(r *req) *Error { return r.bucketACL("PUT") }})
	addOp(atBucket, "location", "GET", setting("GetBucketLocation", "s3:GetBucketLocation", false, true, func(r *req) *Error { return r.bucketLocation() }))
	// Bucket settings kept by swiftbox; changing one is its owner's alone
	// (no policy grants it), and so is reading the policy.
	settings := map[string]func(r *req, m string) *Error{
		"tagging": (*req).bucketTagging, "cors": (*req).bucketCORS, "versioning": (*req).bucketVersioning,
		"policy": func(r *req, m string) *Error { return r.bucketPolicyOp(m, false) },
	}
	for _, s := range []struct{ sub, method, name, action string }{
		{"tagging", "GET", "GetBucketTagging", "s3:GetBucketTagging"},
		{"tagging", "PUT", "PutBucketTagging", "s3:PutBucketTagging"},
		{"tagging", "DELETE", "DeleteBucketTagging", "s3:PutBucketTagging"},
		{"cors", "GET", "GetBucketCors", "s3:GetBucketCORS"},
		{"cors", "PUT", "PutBucketCors", "s3:PutBucketCORS"},
		{"cors", "DELETE", "DeleteBucketCors", "s3:PutBucketCORS"},
		{"policy", "GET", "GetBucketPolicy", "s3:GetBucketPolicy"},
		{"policy", "PUT", "PutBucketPolicy", "s3:PutBucketPolicy"},
		{"policy", "DELETE", "DeleteBucketPolicy", "s3:DeleteBucketPolicy"},
		{"versioning", "GET", "GetBucketVersioning", "s3:GetBucketVersioning"},
		{"versioning", "PUT", "PutBucketVersioning", "s3:PutBucketVersioning"},
	} {
		run := settings[s.sub]
		read := s.method == "GET"
		addOp(atBucket, s.sub, s.method, setting(s.name, s.action, !read || s.sub == "policy", read,
			func(r *req) *Error { return run(r, s.method) }))
	}
	addOp(atBucket, "policyStatus", "GET", setting("GetBucketPolicyStatus", "s3:GetBucketPolicyStatus", false, true,
		func(r *req) *Error { return r.bucketPolicyOp("GET", true) }))
	// Configurations swiftbox does not support read as "not configured";
	// deleting one deletes nothing (unconfigured.go).
	for sub, u := range unconfiguredBucket {
		addOp(atBucket, sub, "GET", setting(strings.TrimPrefix(unconfiguredActions[sub][0], "s3:"), unconfiguredActions[sub][0], false, true,
			func(r *req) *Error { return r.unconfiguredGet("GET", sub) }))
		if u.doc == nil {
			addOp(atBucket, sub, "DELETE", setting("Delete"+sub, unconfiguredActions[sub][1], true, false,
				func(r *req) *Error { return r.unconfiguredGet("DELETE", sub) }))
		}
	}

	addOp(atObject, "", "GET", opGetObject)
	addOp(atObject, "", "HEAD", opHeadObject)
	addOp(atObject, "", "PUT", opPutObject)
	addOp(atObject, "", "DELETE", opDeleteObject)
	addOp(atObject, "acl", "GET", &operation{name: "GetObjectAcl", action: "s3:GetObjectAcl", versioned: "s3:GetObjectVersionAcl",
		perm: "READ_ACP", onObject: true, read: true, run: func(r *req) *Error { return r.objectACL("GET") }})
	addOp(atObject, "acl", "PUT", &operation{name: "PutObjectAcl", action: "s3:PutObjectAcl", versioned: "s3:PutObjectVersionAcl",
		perm: "WRITE_ACP", onObject: true, run: func(r *req) *Error { return r.objectACL("PUT") }})
	addOp(atObject, "tagging", "GET", &operation{name: "GetObjectTagging", action: "s3:GetObjectTagging", versioned: "s3:GetObjectVersionTagging",
		perm: "READ", onObject: true, read: true, run: func(r *req) *Error { return r.objectTagging("GET") }})
	addOp(atObject, "tagging", "PUT", &operation{name: "PutObjectTagging", action: "s3:PutObjectTagging", versioned: "s3:PutObjectVersionTagging",
		perm: "WRITE", run: func(r *req) *Error { return r.objectTagging("PUT") }})
	addOp(atObject, "tagging", "DELETE", &operation{name: "DeleteObjectTagging", action: "s3:DeleteObjectTagging", versioned: "s3:DeleteObjectVersionTagging",
		perm: "WRITE", run: func(r *req) *Error { return r.objectTagging("DELETE") }})
	addOp(atObject, "attributes", "GET", &operation{name: "GetObjectAttributes", action: "s3:GetObjectAttributes", versioned: "s3:GetObjectVersionAttributes",
		perm: "READ", onObject: true, read: true, also: opGetObject, run: func(r *req) *Error { return r.getObjectAttributes() }})
	addOp(atObject, "uploads", "POST", &operation{name: "CreateMultipartUpload", action: "s3:PutObject", perm: "WRITE",
		run: func(r *req) *Error { return r.createMultipartUpload() }})
	addOp(atObject, "uploadId", "PUT", opUploadPart)
	addOp(atObject, "uploadId", "GET", &operation{name: "ListParts", action: "s3:ListMultipartUploadParts", perm: "READ", onObject: true, read: true,
		run: func(r *req) *Error { return r.listParts() }})
	addOp(atObject, "uploadId", "POST", opCompleteMultipartUpload)
	addOp(atObject, "uploadId", "DELETE", &operation{name: "AbortMultipartUpload", action: "s3:AbortMultipartUpload", perm: "WRITE",
		run: func(r *req) *Error { return r.abortMultipartUpload() }})
}

// unconfiguredActions are the IAM actions of reading and of deleting an
// unsupported bucket configuration.
var unconfiguredActions = map[string][2]string{
	"lifecycle":         {"s3:GetLifecycleConfiguration", "s3:PutLifecycleConfiguration"},
	"encryption":        {"s3:GetEncryptionConfiguration", "s3:PutEncryptionConfiguration"},
	"website":           {"s3:GetBucketWebsite", "s3:DeleteBucketWebsite"},
	"replication":       {"s3:GetReplicationConfiguration", "s3:PutReplicationConfiguration"},
	"object-lock":       {"s3:GetBucketObjectLockConfiguration", "s3:PutBucketObjectLockConfiguration"},
	"ownershipControls": {"s3:GetBucketOwnershipControls", "s3:PutBucketOwnershipControls"},
	"publicAccessBlock": {"s3:GetBucketPublicAccessBlock", "s3:PutBucketPublicAccessBlock"},
	"logging":           {"s3:GetBucketLogging", "s3:PutBucketLogging"},
	"notification":      {"s3:GetBucketNotification", "s3:PutBucketNotification"},
	"accelerate":        {"s3:GetAccelerateConfiguration", "s3:PutAccelerateConfiguration"},
	"requestPayment":    {"s3:GetBucketRequestPayment", "s3:PutBucketRequestPayment"},
}

// notImplementedSubs select operations swiftbox does not have at all.
var notImplementedSubs = []string{"torrent", "restore", "select", "retention", "legal-hold", "analytics", "inventory",
	"metrics", "intelligent-tiering"}

// selectors are the sub-resources that select an operation at a level.
var selectors = map[int]map[string]bool{atBucket: {}, atObject: {}}

func init() {
	for _, s := range []string{"acl", "policy", "policyStatus", "cors", "tagging", "location", "versioning", "uploads", "delete", "versions"} {
		selectors[atBucket][s] = true
	}
	for _, s := range []string{"acl", "tagging", "attributes", "uploads", "uploadId", "cors", "policy"} {
		selectors[atObject][s] = true
	}
	for _, level := range []int{atBucket, atObject} {
		for s := range unconfiguredBucket {
			selectors[level][s] = true
		}
		for _, s := range notImplementedSubs {
			selectors[level][s] = true
		}
	}
}

// objectRef is an object a request names: a copy source.
type objectRef struct {
	bucket, key string
	version     string
	hasVersion  bool
}

// classify works out the request's operation (and its copy source)
// from its method, bucket, key, sub-resources and headers.
func (r *req) classify() (*operation, *Error) {
	m := string(r.ctx.Method())
	if r.bucket == "" {
		if m == "GET" || m == "HEAD" {
			return opListBuckets, nil
		}
		return nil, errMethodNotAllowed
	}
	level := atBucket
	if r.key != "" {
		level = atObject
	}
	sub := ""
	var conflict *Error
	r.ctx.QueryArgs().VisitAll(func(k, _ []byte) {
		s := string(k)
		switch {
		case !selectors[level][s] || s == sub:
		case sub == "":
			sub = s
		case conflict == nil:
			a, b := sub, s
			if b < a {
				a, b = b, a
			}
			conflict = s3err(400, "InvalidArgument", "Conflicting query string parameters: "+a+", "+b).
				with("ArgumentName", "ResourceType").with("ArgumentValue", a)
		}
	})
	if conflict != nil {
		return nil, conflict
	}
	op, ok := ops[opKey{level, sub, m}]
	switch {
	case ok:
	case unsupported(sub) || level == atObject && (sub == "cors" || sub == "policy"):
		return nil, errNotImplemented
	default:
		// A verb the resource (or sub-resource) has no operation for.
		return nil, errMethodNotAllowed
	}
	if src := r.ctx.Request.Header.Peek("X-Amz-Copy-Source"); len(src) > 0 {
		switch op {
		case opPutObject:
			op = opCopyObject
		case opUploadPart:
			op = opUploadPartCopy
		default:
			return op, nil
		}
		r.src, r.srcErr = parseCopySource(string(src))
	}
	return op, nil
}

// unsupported says whether sub names a bucket configuration or an
// operation swiftbox does not implement (only reading an unsupported
// configuration answers).
func unsupported(sub string) bool {
	if _, ok := unconfiguredBucket[sub]; ok {
		return true
	}
	for _, s := range notImplementedSubs {
		if s == sub {
			return true
		}
	}
	return false
}

// route runs the request's operation.
func (r *req) route() *Error { return r.op.run(r) }
