package s3compat

import (
	"io"

	"github.com/valyala/fasthttp"

	"swiftbox/server"
)

// segmentsContainer holds the parts of the bucket's multipart uploads,
// named as s3api names it.
func (r *req) segmentsContainer() string { return r.bucket + "+segments" }

func readerOf(resp *fasthttp.Response) io.Reader { return server.ResponseBody(resp) }

func (r *req) createMultipartUpload() *Error   { return errNotImplemented }
func (r *req) uploadPart() *Error              { return errNotImplemented }
func (r *req) listParts() *Error               { return errNotImplemented }
func (r *req) completeMultipartUpload() *Error { return errNotImplemented }
func (r *req) abortMultipartUpload() *Error    { return errNotImplemented }
func (r *req) listMultipartUploads() *Error    { return errNotImplemented }
func (r *req) getObjectPart(m string) *Error   { return errNotImplemented }
