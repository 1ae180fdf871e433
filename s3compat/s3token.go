package s3compat

import (
	"context"
	"errors"

	"github.com/valyala/fasthttp"

	"swiftbox/keystone"
)

// SetKeystone makes access keys the local users don't know go to
// Keystone's EC2 credentials, as Swift's s3token does.
func (s *S3) SetKeystone(ks *keystone.Keystone) { s.ks = ks }

// SetLoginThrottle makes failed signatures count towards the failed-login
// throttle of their access key id and client address, and a throttled
// one's signed requests answer 503 SlowDown.
func (s *S3) SetLoginThrottle(l *keystone.LoginThrottle) { s.logins = l }

// stringsToSign are the strings a's signature may sign (SigV2 has a
// second form, botocore's "/bucket/" for path-style bucket requests).
func stringsToSign(ctx *fasthttp.RequestCtx, a *authInfo, bucketInHost string) []string {
	if !a.v4 {
		return []string{v2StringToSign(ctx, a, bucketInHost, false), v2StringToSign(ctx, a, bucketInHost, true)}
	}
	cr, ok := requestForSigning(ctx, a.signed).canonicalRequest(a.signed, a.payload)
	if !ok {
		return nil
	}
	return []string{"AWS4-HMAC-SHA256\n" + a.amzDate + "\n" + a.scope + "\n" + sha256Hex([]byte(cr))}
}

// keystoneAuth has Keystone check a's signature and returns who signed it
// and, for aws-chunked uploads, the secret that signs the chunks.
func (s *S3) keystoneAuth(ctx *fasthttp.RequestCtx, a *authInfo, bucketInHost string) (*keystone.Identity, string, *Error) {
	for _, sts := range stringsToSign(ctx, a, bucketInHost) {
		scope, exp, err := s.ks.S3Token(context.Background(), a.access, sts, a.sig)
		if err != nil {
			s.log.Error("keystone s3tokens", "err", err)
			if errors.Is(err, keystone.ErrKeystoneUnavailable) {
				return nil, "", s3err(503, "ServiceUnavailable", "Please reduce your request rate.")
			}
			return nil, "", errAccessDenied
		}
		if scope == nil {
			continue
		}
		secret := ""
		if a.payload == streamingPayload || a.payload == streamingPayload+"-TRAILER" {
			secret, _ = s.ks.EC2Secret(context.Background(), scope.UserID, a.access)
		}
		return s.ks.IdentityFor(scope, exp), secret, nil
	}
	return nil, "", errSignatureDoesNotMatch
}

// errSlowDown answers a throttled signed request (AWS's
// throttling error, which S3 clients back off on).
var errSlowDown = s3err(503, "SlowDown", "Please reduce your request rate.")
