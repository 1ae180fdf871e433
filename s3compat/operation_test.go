package s3compat

import (
	"testing"

	"github.com/valyala/fasthttp"
)

// classify gives each request one operation — the one the router runs
// and authorization judges — and refuses sub-resources that disagree.
func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		method, uri, copySource string
		op, action              string // op name, action with the request's versionId
		code                    string // the refusal, if any
	}{
		{method: "GET", uri: "/", op: "ListBuckets", action: "s3:ListAllMyBuckets"},
		{method: "PUT", uri: "/", code: "MethodNotAllowed"},
		{method: "GET", uri: "/bkt", op: "ListObjects", action: "s3:ListBucket"},
		{method: "GET", uri: "/bkt?list-type=2&prefix=a", op: "ListObjects", action: "s3:ListBucket"},
		{method: "HEAD", uri: "/bkt", op: "HeadBucket", action: "s3:ListBucket"},
		{method: "PUT", uri: "/bkt", op: "CreateBucket", action: "s3:CreateBucket"},
		{method: "DELETE", uri: "/bkt", op: "DeleteBucket", action: "s3:DeleteBucket"},
		{method: "POST", uri: "/bkt", code: "MethodNotAllowed"},
		{method: "POST", uri: "/bkt?delete", op: "DeleteObjects", action: "s3:DeleteObject"},
		{method: "GET", uri: "/bkt?delete", code: "MethodNotAllowed"},
		{method: "POST", uri: "/bkt?delete&versions", code: "InvalidArgument"},
		{method: "POST", uri: "/bkt?versions&delete", code: "InvalidArgument"},
		{method: "GET", uri: "/bkt?versions", op: "ListObjectVersions", action: "s3:ListBucketVersions"},
		{method: "GET", uri: "/bkt?uploads", op: "ListMultipartUploads", action: "s3:ListBucketMultipartUploads"},
		{method: "GET", uri: "/bkt?acl", op: "GetBucketAcl", action: "s3:GetBucketAcl"},
		{method: "PUT", uri: "/bkt?acl", op: "PutBucketAcl", action: "s3:PutBucketAcl"},
		{method: "PUT", uri: "/bkt?policy&acl", code: "InvalidArgument"},
		{method: "GET", uri: "/bkt?acl&cors", code: "InvalidArgument"},
		{method: "PUT", uri: "/bkt?policy", op: "PutBucketPolicy", action: "s3:PutBucketPolicy"},
		{method: "DELETE", uri: "/bkt?cors", op: "DeleteBucketCors", action: "s3:PutBucketCORS"},
		{method: "DELETE", uri: "/bkt?tagging", op: "DeleteBucketTagging", action: "s3:PutBucketTagging"},
		{method: "GET", uri: "/bkt?policyStatus", op: "GetBucketPolicyStatus", action: "s3:GetBucketPolicyStatus"},
		{method: "GET", uri: "/bkt?location", op: "GetBucketLocation", action: "s3:GetBucketLocation"},
		{method: "PUT", uri: "/bkt?versioning", op: "PutBucketVersioning", action: "s3:PutBucketVersioning"},
		{method: "GET", uri: "/bkt?lifecycle", op: "GetLifecycleConfiguration", action: "s3:GetLifecycleConfiguration"},
		{method: "DELETE", uri: "/bkt?lifecycle", op: "Deletelifecycle", action: "s3:PutLifecycleConfiguration"},
		{method: "PUT", uri: "/bkt?lifecycle", code: "NotImplemented"},
		{method: "DELETE", uri: "/bkt?logging", code: "NotImplemented"},
		{method: "GET", uri: "/bkt?torrent", code: "NotImplemented"},
		{method: "GET", uri: "/bkt/k", op: "GetObject", action: "s3:GetObject"},
		{method: "GET", uri: "/bkt/k?versionId=v1", op: "GetObject", action: "s3:GetObjectVersion"},
		{method: "GET", uri: "/bkt/k?partNumber=1", op: "GetObject", action: "s3:GetObject"},
		{method: "HEAD", uri: "/bkt/k", op: "HeadObject", action: "s3:GetObject"},
		{method: "GET", uri: "/bkt/k?versions", op: "GetObject", action: "s3:GetObject"}, // a bucket sub-resource, not one of objects
		{method: "PUT", uri: "/bkt/k", op: "PutObject", action: "s3:PutObject"},
		{method: "PUT", uri: "/bkt/k", copySource: "/src/key", op: "CopyObject", action: "s3:PutObject"},
		{method: "POST", uri: "/bkt/k", code: "MethodNotAllowed"},
		{method: "DELETE", uri: "/bkt/k?versionId=v1", op: "DeleteObject", action: "s3:DeleteObjectVersion"},
		{method: "PUT", uri: "/bkt/k?acl&versionId=v1", op: "PutObjectAcl", action: "s3:PutObjectVersionAcl"},
		{method: "PUT", uri: "/bkt/k?acl&tagging", code: "InvalidArgument"},
		{method: "DELETE", uri: "/bkt/k?tagging", op: "DeleteObjectTagging", action: "s3:DeleteObjectTagging"},
		{method: "GET", uri: "/bkt/k?attributes", op: "GetObjectAttributes", action: "s3:GetObjectAttributes"},
		{method: "POST", uri: "/bkt/k?uploads", op: "CreateMultipartUpload", action: "s3:PutObject"},
		{method: "POST", uri: "/bkt/k?uploads&uploadId=u", code: "InvalidArgument"},
		{method: "PUT", uri: "/bkt/k?uploadId=u&partNumber=1", op: "UploadPart", action: "s3:PutObject"},
		{method: "PUT", uri: "/bkt/k?uploadId=u&partNumber=1", copySource: "src/key", op: "UploadPartCopy", action: "s3:PutObject"},
		{method: "GET", uri: "/bkt/k?uploadId=u", op: "ListParts", action: "s3:ListMultipartUploadParts"},
		{method: "POST", uri: "/bkt/k?uploadId=u", op: "CompleteMultipartUpload", action: "s3:PutObject"},
		{method: "DELETE", uri: "/bkt/k?uploadId=u", op: "AbortMultipartUpload", action: "s3:AbortMultipartUpload"},
		{method: "GET", uri: "/bkt/k?cors", code: "NotImplemented"},
		{method: "GET", uri: "/bkt/k?restore", code: "NotImplemented"},
	} {
		ctx := &fasthttp.RequestCtx{}
		ctx.Request.Header.SetMethod(tc.method)
		ctx.Request.SetRequestURI(tc.uri)
		if tc.copySource != "" {
			ctx.Request.Header.Set("X-Amz-Copy-Source", tc.copySource)
		}
		r := &req{ctx: ctx}
		if e := r.parsePath(""); e != nil {
			t.Fatalf("%s %s: %v", tc.method, tc.uri, e)
		}
		op, e := r.classify()
		switch {
		case tc.code != "":
			if e == nil || e.Code != tc.code {
				t.Errorf("%s %s: %v %v, want %s", tc.method, tc.uri, op, e, tc.code)
			}
		case e != nil:
			t.Errorf("%s %s: %v", tc.method, tc.uri, e)
		default:
			_, hasVersion := r.versionID()
			if op.name != tc.op || op.actionFor(hasVersion) != tc.action || op.run == nil {
				t.Errorf("%s %s: %s %s, want %s %s", tc.method, tc.uri, op.name, op.actionFor(hasVersion), tc.op, tc.action)
			}
		}
	}
	// Copy sources are parsed with the classification.
	ctx := &fasthttp.RequestCtx{}
	ctx.Request.Header.SetMethod("PUT")
	ctx.Request.SetRequestURI("/bkt/k")
	ctx.Request.Header.Set("X-Amz-Copy-Source", "/src/dir/key?versionId=null")
	r := &req{ctx: ctx}
	r.parsePath("")
	if op, e := r.classify(); e != nil || op != opCopyObject || r.src == nil || *r.src != (objectRef{"src", "dir/key", "null", true}) {
		t.Fatalf("copy source: %v %v %+v", op, e, r.src)
	}
}

// Every operation in the route table is either read-only or not, and
// only reads are left to read-only keys.
func TestOperationsReadOnly(t *testing.T) {
	for k, op := range ops {
		if op.read != (k.method == "GET" || k.method == "HEAD") {
			t.Errorf("%s %s?%s: read = %v", op.name, k.method, k.sub, op.read)
		}
		if op.run == nil || op.action == "" {
			t.Errorf("%s: no handler or action", op.name)
		}
	}
}
