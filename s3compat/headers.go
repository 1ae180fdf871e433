package s3compat

import (
	"encoding/base64"
	"slices"
	"strings"

	"github.com/valyala/fasthttp"
)

// A request header that asks for something swiftbox does not do must not
// be accepted and dropped: a client told "200" believes its data is
// encrypted, locked or appended to. Such requests are refused here, once,
// before any operation runs; headers swiftbox honours are checked where
// they are used.

// unsignedAmzHeaders is AWS's answer to a SigV4 request carrying x-amz-*
// headers its signature does not cover: they could have been added by
// anyone who saw the request (a presigned PUT URL replayed with
// x-amz-copy-source and x-amz-grant-read becomes a copy of another object
// plus a grant). SigV2 puts every x-amz-* header in its string to sign,
// so only SigV4 (header and presigned) needs the check. A presigned
// request's x-amz-content-sha256 is exempt as at AWS: its value is the
// payload hash of the canonical request, so a changed one fails the
// signature anyway. The host header must be signed: a virtual-hosted
// request's bucket is in it.
func unsignedAmzHeaders(h *fasthttp.RequestHeader, a *authInfo) *Error {
	if !a.v4 {
		return nil
	}
	var missing []string
	if !slices.Contains(a.signed, "host") {
		missing = append(missing, "host")
	}
	for k := range h.All() {
		name := strings.ToLower(string(k))
		if !strings.HasPrefix(name, "x-amz-") || slices.Contains(a.signed, name) || slices.Contains(missing, name) {
			continue
		}
		if a.query && name == "x-amz-content-sha256" {
			continue
		}
		missing = append(missing, name)
	}
	if len(missing) == 0 {
		return nil
	}
	return errHeadersNotSigned.with("HeadersNotSigned", strings.Join(missing, ", "))
}

// unhonouredFeature refuses a request asking for server-side encryption,
// object lock, MFA, appends or website redirects, none of which swiftbox
// does. get looks a header (or POST Object form field) up by its
// lower-case name; write says whether the request stores something.
func unhonouredFeature(get func(string) string, write bool) *Error {
	switch v := get("x-amz-server-side-encryption"); v {
	case "":
	case "AES256", "aws:kms", "aws:kms:dsse":
		return errSSENotImplemented
	default:
		return s3err(400, "InvalidArgument", "The encryption method specified is not supported").
			with("ArgumentName", "x-amz-server-side-encryption").with("ArgumentValue", v)
	}
	for _, name := range sseHeaders {
		if get(name) != "" {
			if strings.Contains(name, "-customer-") {
				return errSSECNotImplemented
			}
			return errSSENotImplemented
		}
	}
	if get("x-amz-mfa") != "" {
		return s3err(501, "NotImplemented", "MFA Delete is not supported.")
	}
	if !write {
		return nil
	}
	if strings.EqualFold(strings.TrimSpace(get("x-amz-bucket-object-lock-enabled")), "true") {
		return s3err(501, "NotImplemented", "Object Lock is not supported.")
	}
	for _, name := range []string{"x-amz-object-lock-mode", "x-amz-object-lock-retain-until-date", "x-amz-object-lock-legal-hold"} {
		if get(name) != "" {
			// No bucket can have an Object Lock configuration here.
			return s3err(400, "InvalidRequest", "Bucket is missing Object Lock Configuration")
		}
	}
	if get("x-amz-write-offset-bytes") != "" {
		return s3err(501, "NotImplemented", "Appending to an object is not supported.")
	}
	if get("x-amz-website-redirect-location") != "" {
		return s3err(501, "NotImplemented", "Website redirection is not supported.")
	}
	return nil
}

// sseHeaders ask for (or present keys of) server-side encryption.
var sseHeaders = []string{
	"x-amz-server-side-encryption-aws-kms-key-id",
	"x-amz-server-side-encryption-context",
	"x-amz-server-side-encryption-bucket-key-enabled",
	"x-amz-server-side-encryption-customer-algorithm",
	"x-amz-server-side-encryption-customer-key",
	"x-amz-server-side-encryption-customer-key-md5",
	"x-amz-copy-source-server-side-encryption-customer-algorithm",
	"x-amz-copy-source-server-side-encryption-customer-key",
	"x-amz-copy-source-server-side-encryption-customer-key-md5",
}

var (
	errHeadersNotSigned   = s3err(403, "AccessDenied", "There were headers present in the request which were not signed")
	errSSENotImplemented  = s3err(501, "NotImplemented", "Server-side encryption is not supported: swiftbox stores objects unencrypted.")
	errSSECNotImplemented = s3err(501, "NotImplemented", "Server-side encryption with customer-provided keys is not supported: swiftbox stores objects unencrypted.")
)

// checkUnhonoured applies unhonouredFeature to a request's headers.
func checkUnhonoured(ctx *fasthttp.RequestCtx) *Error {
	h := &ctx.Request.Header
	m := string(ctx.Method())
	return unhonouredFeature(func(name string) string { return string(h.Peek(name)) }, m == "PUT" || m == "POST")
}

// validChecksum reports whether v is a base64 checksum of alg's size.
func validChecksum(alg, v string) bool {
	h := newChecksum(alg)
	raw, err := base64.StdEncoding.DecodeString(v)
	return h != nil && err == nil && len(raw) == h.Size()
}

func errInvalidChecksum(alg string) *Error {
	return s3err(400, "InvalidRequest", "Value for x-amz-checksum-"+alg+" header is invalid.")
}

// checkExpectedOwner honours x-amz-expected-bucket-owner and, for copies,
// x-amz-source-expected-bucket-owner: a bucket owned by anyone else is
// AccessDenied, as at AWS. An owner is named by its canonical ID (the
// Owner of ListBuckets and ACLs) or its Swift account.
func (r *req) checkExpectedOwner() *Error {
	h := &r.ctx.Request.Header
	if want := string(h.Peek("X-Amz-Expected-Bucket-Owner")); want != "" && r.bucket != "" {
		if !r.bucketOwnedBy(r.bucket, want) {
			return errAccessDenied
		}
	}
	if want := string(h.Peek("X-Amz-Source-Expected-Bucket-Owner")); want != "" {
		if len(h.Peek("X-Amz-Copy-Source")) == 0 {
			return nil
		}
		b, _, e := r.copySource()
		if e != nil {
			return e
		}
		if !r.bucketOwnedBy(b, want) {
			return errAccessDenied
		}
	}
	return nil
}

// bucketOwnedBy reports whether bucket exists and is owned by want. The
// bucket is looked for as the request would find it: in the request's
// account, else in the other local accounts.
func (r *req) bucketOwnedBy(bucket, want string) bool {
	var st int
	var h *fasthttp.ResponseHeader
	r.preAuthedIn(bucket, func() { st, h = r.headContainer(bucket) })
	acct := r.account
	if st/100 != 2 {
		var ok bool
		if acct, h, ok = r.findBucket(bucket); !ok {
			return false
		}
	}
	owner := r.bucketACLOf(h).Owner
	if acct != r.account {
		owner = r.aclOfBucketIn(acct, h).Owner
	}
	return want == owner || want == acct
}
