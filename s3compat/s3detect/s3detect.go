// Package s3detect tells S3 requests apart from Swift ones, for the S3
// layer (which answers them) and proxy_logging (which counts them under
// the s3 API), so both decide alike. It is apart from s3compat because
// s3compat imports the proxy core.
package s3detect

import (
	"bytes"

	"github.com/valyala/fasthttp"
)

// IsS3Request reports whether ctx carries S3 authentication, as s3api's
// S3Request recognises one: an AWS signature in the Authorization header
// (v4 or v2), or a presigned query (v4 credential or signature, v2 key
// and signature). A request with another Authorization header is not
// one, whatever its query.
func IsS3Request(ctx *fasthttp.RequestCtx) bool {
	if a := ctx.Request.Header.Peek("Authorization"); len(a) > 0 {
		return bytes.HasPrefix(a, []byte("AWS4-HMAC-SHA256 ")) || bytes.HasPrefix(a, []byte("AWS "))
	}
	q := ctx.QueryArgs()
	return q.Has("X-Amz-Signature") || q.Has("X-Amz-Credential") || (q.Has("Signature") && q.Has("AWSAccessKeyId"))
}
