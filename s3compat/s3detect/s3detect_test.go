package s3detect

import (
	"testing"

	"github.com/valyala/fasthttp"
)

func TestIsS3Request(t *testing.T) {
	for _, tc := range []struct {
		auth, query string
		want        bool
	}{
		{"AWS4-HMAC-SHA256 Credential=a/20260101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=0", "", true},
		{"AWS key:sig", "", true},
		{"", "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=a%2F2026&X-Amz-Signature=0", true},
		{"", "X-Amz-Signature=0", true},
		{"", "X-Amz-Credential=a", true},
		{"", "AWSAccessKeyId=a&Signature=s&Expires=1", true},
		// Not signed requests: a Swift request, another scheme, half a
		// presigned query.
		{"", "", false},
		{"Bearer x", "X-Amz-Credential=a", false},
		{"AWSfoo", "", false},
		{"", "AWSAccessKeyId=a", false},
		{"", "X-Amz-Algorithm=AWS4-HMAC-SHA256", false},
	} {
		var ctx fasthttp.RequestCtx
		ctx.Request.SetRequestURI("/bucket/key?" + tc.query)
		if tc.auth != "" {
			ctx.Request.Header.Set("Authorization", tc.auth)
		}
		if got := IsS3Request(&ctx); got != tc.want {
			t.Errorf("Authorization %q, query %q: %v, want %v", tc.auth, tc.query, got, tc.want)
		}
	}
}
