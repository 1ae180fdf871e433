package s3compat

import (
	"encoding/xml"
	"fmt"

	"github.com/valyala/fasthttp"
)

// Error is an S3 error response: its HTTP status, S3 code and message,
// plus any extra elements S3 adds for the code (BucketName, Key …).
type Error struct {
	Status  int
	Code    string
	Message string
	Extra   [][2]string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

func (e *Error) with(name, value string) *Error {
	c := *e
	c.Extra = append(append([][2]string(nil), e.Extra...), [2]string{name, value})
	return &c
}

func s3err(status int, code, msg string) *Error {
	return &Error{Status: status, Code: code, Message: msg}
}

// S3's error codes, as s3api's s3response names them.
var (
	errAccessDenied          = s3err(403, "AccessDenied", "Access Denied.")
	errSignatureDoesNotMatch = s3err(403, "SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided. Check your key and signing method.")
	errInvalidAccessKeyID    = s3err(403, "InvalidAccessKeyId", "The AWS access key Id you provided does not exist in our records.")
	errRequestTimeTooSkewed  = s3err(403, "RequestTimeTooSkewed", "The difference between the request time and the current time is too large.")
	errExpiredPresigned      = s3err(403, "AccessDenied", "Request has expired")
	errAuthHeaderMalformed   = s3err(400, "AuthorizationHeaderMalformed", "The authorization header is malformed.")
	errAuthQueryMalformed    = s3err(400, "AuthorizationQueryParametersError", "Error parsing the X-Amz-Credential parameter.")
	errInvalidArgument       = s3err(400, "InvalidArgument", "Invalid Argument.")
	errInvalidRequest        = s3err(400, "InvalidRequest", "Invalid Request.")
	errInvalidDigest         = s3err(400, "InvalidDigest", "The Content-MD5 you specified was invalid.")
	errBadDigest             = s3err(400, "BadDigest", "The Content-MD5 you specified did not match what was received.")
	errContentSHA256Mismatch = s3err(400, "XAmzContentSHA256Mismatch", "The provided 'x-amz-content-sha256' header does not match what was computed.")
	errIncompleteBody        = s3err(400, "IncompleteBody", "You did not provide the number of bytes specified by the Content-Length HTTP header.")
	errMalformedXML          = s3err(400, "MalformedXML", "The XML you provided was not well-formed or did not validate against our published schema.")
	errInvalidBucketName     = s3err(400, "InvalidBucketName", "The specified bucket is not valid.")
	errInvalidLocation       = s3err(400, "InvalidLocationConstraint", "The specified location-constraint is not valid.")
	errInvalidRange          = s3err(416, "InvalidRange", "The requested range is not satisfiable")
	errInvalidPart           = s3err(400, "InvalidPart", "One or more of the specified parts could not be found. The part may not have been uploaded, or the specified entity tag may not match the part's entity tag.")
	errInvalidPartOrder      = s3err(400, "InvalidPartOrder", "The list of parts was not in ascending order. Parts must be ordered by part number.")
	errEntityTooSmall        = s3err(400, "EntityTooSmall", "Your proposed upload is smaller than the minimum allowed object size.")
	errEntityTooLarge        = s3err(400, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed object size.")
	errNoSuchBucket          = s3err(404, "NoSuchBucket", "The specified bucket does not exist.")
	errNoSuchKey             = s3err(404, "NoSuchKey", "The specified key does not exist.")
	errNoSuchUpload          = s3err(404, "NoSuchUpload", "The specified multipart upload does not exist. The upload ID might be invalid, or the multipart upload might have been aborted or completed.")
	errBucketAlreadyOwned    = s3err(409, "BucketAlreadyOwnedByYou", "Your previous request to create the named bucket succeeded and you already own it.")
	errBucketAlreadyExists   = s3err(409, "BucketAlreadyExists", "The requested bucket name is not available. The bucket namespace is shared by all users of the system. Please select a different name and try again.")
	errBucketNotEmpty        = s3err(409, "BucketNotEmpty", "The bucket you tried to delete is not empty")
	errPreconditionFailed    = s3err(412, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold.")
	errMethodNotAllowed      = s3err(405, "MethodNotAllowed", "The specified method is not allowed against this resource.")
	errNotImplemented        = s3err(501, "NotImplemented", "A header you provided implies functionality that is not implemented.")
	errMissingContentLength  = s3err(411, "MissingContentLength", "You must provide the Content-Length HTTP header.")
	errInternal              = s3err(500, "InternalError", "We encountered an internal error. Please try again.")
	errServiceUnavailable    = s3err(503, "ServiceUnavailable", "Please reduce your request rate.")
	errMetadataTooLarge      = s3err(400, "MetadataTooLarge", "Your metadata headers exceed the maximum allowed metadata size.")
	errKeyTooLong            = s3err(400, "KeyTooLongError", "Your key is too long.")
	errInvalidStorageClass   = s3err(400, "InvalidStorageClass", "The storage class you specified is not valid.")
	errInvalidCopyRequest    = s3err(400, "InvalidRequest", "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.")
	errInvalidCopySource     = s3err(400, "InvalidArgument", "Copy Source must mention the source bucket and key: sourcebucket/sourcekey")
	errMalformedPolicy       = s3err(400, "MalformedACLError", "The XML you provided was not well-formed or did not validate against our published schema")
	errUnresolvableEmail     = s3err(400, "UnresolvableGrantByEmailAddress", "The e-mail address you provided does not match any account on record.")
	errNoSuchVersion         = s3err(404, "NoSuchVersion", "The specified version does not exist.")
)

type errorDoc struct {
	XMLName   xml.Name `xml:"Error"`
	Code      string   `xml:"Code"`
	Message   string   `xml:"Message"`
	Extra     []extraElem
	RequestID string `xml:"RequestId"`
}

type extraElem struct {
	XMLName xml.Name
	Value   string `xml:",chardata"`
}

// writeError answers ctx with e in S3's XML error format; the one place
// S3 errors become responses.
func writeError(ctx *fasthttp.RequestCtx, e *Error) {
	tid, _ := ctx.UserValue("swiftbox.trans_id").(string)
	doc := errorDoc{Code: e.Code, Message: e.Message, RequestID: tid}
	for _, x := range e.Extra {
		doc.Extra = append(doc.Extra, extraElem{XMLName: xml.Name{Local: x[0]}, Value: x[1]})
	}
	body, _ := xml.Marshal(doc)
	ctx.Response.Header.Set("X-Amz-Id-2", tid)
	ctx.Response.Header.Set("X-Amz-Request-Id", tid)
	ctx.Response.ResetBody()
	ctx.Response.SetStatusCode(e.Status)
	ctx.Response.Header.SetContentType("application/xml")
	if string(ctx.Method()) == fasthttp.MethodHead {
		// HEAD carries no body; S3 still sends the status.
		ctx.Response.SkipBody = true
		ctx.Response.Header.SetContentLength(0)
		return
	}
	ctx.Response.SetBody(append([]byte(xml.Header), body...))
}

// swiftError maps a status from the Swift core to S3's error for the
// resource kind ("bucket" or "object"), as s3api's controllers do.
func swiftError(status int, kind, bucket, key string) *Error {
	switch status {
	case 401, 403:
		return errAccessDenied
	case 404:
		if kind == "object" {
			return errNoSuchKey.with("Key", key)
		}
		return errNoSuchBucket.with("BucketName", bucket)
	case 409:
		switch kind {
		case "bucket-delete":
			return errBucketNotEmpty.with("BucketName", bucket)
		case "object":
			// A manifest whose segments cannot all be read (missing, or
			// out of the caller's reach), as s3api answers it.
			return s3err(409, "BrokenMPU", "Multipart upload has broken segment data.")
		}
		return errBucketAlreadyExists.with("BucketName", bucket)
	case 411:
		return errMissingContentLength
	case 412:
		return errPreconditionFailed
	case 413:
		return errEntityTooLarge
	case 416:
		return errInvalidRange
	case 422:
		return errBadDigest
	case 499:
		return errIncompleteBody
	case 507, 503:
		return errServiceUnavailable
	case 400:
		return errInvalidArgument
	}
	return s3err(500, "InternalError", fmt.Sprintf("unexpected status %d from the storage core", status))
}
