package s3compat

import (
	"encoding/base64"
	"strconv"
	"strings"

	"github.com/valyala/fasthttp"
)

// Multipart checksums: CreateMultipartUpload's x-amz-checksum-algorithm
// is kept on the upload; each part's checksum is verified and kept as it
// streams (as for PutObject); completion checks the parts listed against
// them and keeps S3's composite checksum — the checksum of the parts'
// checksums, "-N" — on the object, where GET/HEAD with checksum mode
// return it.

const sysChecksumAlg = "X-Object-Sysmeta-S3api-Checksum-Algorithm"

// uploadChecksumAlg is CreateMultipartUpload's algorithm ("" = none).
func uploadChecksumAlg(h *fasthttp.RequestHeader) (string, *Error) {
	v := strings.ToLower(string(h.Peek("X-Amz-Checksum-Algorithm")))
	if v == "" || newChecksum(v) != nil {
		return v, nil
	}
	return "", errInvalidArgument.with("ArgumentName", "x-amz-checksum-algorithm").with("ArgumentValue", v)
}

// compositeChecksum is the completed upload's checksum for alg, from the
// parts (given in order) as stored; partSums are what the request listed
// per part ("" = not listed). A listed checksum unlike the part's is
// InvalidPart; a declared x-amz-checksum-<alg> unlike the result is
// BadDigest.
func (r *req) compositeChecksum(alg string, parts []int, partSums []string) (string, *Error) {
	h := newChecksum(alg)
	for i, n := range parts {
		head := r.sub("HEAD", r.segmentsContainer(), r.partName(n), "", nil)
		stored := string(head.Header.Peek(checksumSysmeta(alg)))
		head.CloseBodyStream()
		if partSums[i] != "" && partSums[i] != stored {
			return "", errInvalidPart.with("UploadId", r.uploadID()).with("PartNumber", strconv.Itoa(n))
		}
		raw, err := base64.StdEncoding.DecodeString(stored)
		if err != nil || stored == "" {
			return "", errInvalidPart.with("UploadId", r.uploadID()).with("PartNumber", strconv.Itoa(n))
		}
		h.Write(raw)
	}
	sum := base64.StdEncoding.EncodeToString(h.Sum(nil)) + "-" + strconv.Itoa(len(parts))
	if want := string(r.ctx.Request.Header.Peek("X-Amz-Checksum-" + alg)); want != "" && want != sum {
		return "", errBadDigest
	}
	return sum, nil
}
