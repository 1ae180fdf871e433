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

const sysChecksumType = "X-Object-Sysmeta-S3api-Checksum-Type"

// uploadChecksumAlg is CreateMultipartUpload's algorithm ("" = none) and
// whether its checksum covers the full object (x-amz-checksum-type:
// FULL_OBJECT, the default and only kind for CRC64NVME) rather than being
// S3's composite of the parts' checksums.
func uploadChecksumAlg(h *fasthttp.RequestHeader) (alg string, fullObject bool, e *Error) {
	alg = strings.ToLower(string(h.Peek("X-Amz-Checksum-Algorithm")))
	if alg != "" && newChecksum(alg) == nil {
		return "", false, errInvalidArgument.with("ArgumentName", "x-amz-checksum-algorithm").with("ArgumentValue", alg)
	}
	typ := strings.ToUpper(string(h.Peek("X-Amz-Checksum-Type")))
	_, crc := crcParams[alg]
	switch {
	case typ == "" && alg == "crc64nvme", typ == "FULL_OBJECT" && crc:
		return alg, true, nil
	case typ == "", typ == "COMPOSITE" && alg != "crc64nvme" && alg != "":
		return alg, false, nil
	}
	return "", false, s3err(400, "InvalidRequest", "The "+strings.ToUpper(alg)+" checksum algorithm does not support the "+typ+" checksum type.")
}

// uploadChecksum is the completed upload's checksum for alg, from the
// parts (given in order, with their sizes) as stored: S3's composite
// checksum-of-checksums "-N", or with fullObject the CRC of the whole.
// partSums are what the request listed per part ("" = not listed); a
// listed checksum unlike the part's is InvalidPart, a declared
// x-amz-checksum-<alg> unlike the result BadDigest.
func (r *req) uploadChecksum(alg string, fullObject bool, parts []int, sizes []int64, partSums []string) (string, *Error) {
	stored := make([]string, len(parts))
	for i, n := range parts {
		head := r.sub("HEAD", r.segmentsContainer(), r.partName(n), "", nil)
		stored[i] = string(head.Header.Peek(checksumSysmeta(alg)))
		head.CloseBodyStream()
		if stored[i] == "" || partSums[i] != "" && partSums[i] != stored[i] {
			return "", errInvalidPart.with("UploadId", r.uploadID()).with("PartNumber", strconv.Itoa(n))
		}
	}
	var sum string
	if fullObject {
		var ok bool
		if sum, ok = fullObjectCRC(alg, stored, sizes); !ok {
			return "", errInvalidPart.with("UploadId", r.uploadID())
		}
	} else {
		h := newChecksum(alg)
		for i, s := range stored {
			raw, err := base64.StdEncoding.DecodeString(s)
			if err != nil {
				return "", errInvalidPart.with("UploadId", r.uploadID()).with("PartNumber", strconv.Itoa(parts[i]))
			}
			h.Write(raw)
		}
		sum = base64.StdEncoding.EncodeToString(h.Sum(nil)) + "-" + strconv.Itoa(len(parts))
	}
	if want := string(r.ctx.Request.Header.Peek("X-Amz-Checksum-" + alg)); want != "" && want != sum {
		return "", errBadDigest
	}
	return sum, nil
}

// Full-object checksums (x-amz-checksum-type: FULL_OBJECT, the only kind
// S3 allows for CRC64NVME): the CRC of the whole object, got from the
// parts' CRCs and sizes without reading the data again.

// crcParams are a CRC's reflected polynomial and width in bits.
var crcParams = map[string]struct {
	poly  uint64
	width int
}{
	"crc32":     {0xedb88320, 32},
	"crc32c":    {0x82f63b78, 32},
	"crc64nvme": {0x9a6c9329ac4bc9b5, 64},
}

func gf2Times(mat []uint64, vec uint64) uint64 {
	var sum uint64
	for i := 0; vec != 0; i, vec = i+1, vec>>1 {
		if vec&1 != 0 {
			sum ^= mat[i]
		}
	}
	return sum
}

func gf2Square(square, mat []uint64) {
	for n := range mat {
		square[n] = gf2Times(mat, mat[n])
	}
}

// crcCombine is the CRC of A followed by B from crc(A), crc(B) and
// len(B) (zlib's crc32_combine, for any reflected CRC).
func crcCombine(crcA, crcB uint64, lenB int64, poly uint64, width int) uint64 {
	if lenB <= 0 {
		return crcA
	}
	even, odd := make([]uint64, width), make([]uint64, width)
	odd[0] = poly // the operator for one zero bit
	for n, row := 1, uint64(1); n < width; n, row = n+1, row<<1 {
		odd[n] = row
	}
	gf2Square(even, odd) // two zero bits
	gf2Square(odd, even) // four
	for {
		gf2Square(even, odd) // one zero byte, then doubling
		if lenB&1 != 0 {
			crcA = gf2Times(even, crcA)
		}
		if lenB >>= 1; lenB == 0 {
			break
		}
		gf2Square(odd, even)
		if lenB&1 != 0 {
			crcA = gf2Times(odd, crcA)
		}
		if lenB >>= 1; lenB == 0 {
			break
		}
	}
	return crcA ^ crcB
}

// fullObjectCRC combines the parts' stored CRCs (base64, big-endian as S3
// sends them) into the object's.
func fullObjectCRC(alg string, sums []string, sizes []int64) (string, bool) {
	p, ok := crcParams[alg]
	if !ok {
		return "", false
	}
	var crc uint64
	for i, s := range sums {
		raw, err := base64.StdEncoding.DecodeString(s)
		if err != nil || len(raw) != p.width/8 {
			return "", false
		}
		var v uint64
		for _, b := range raw {
			v = v<<8 | uint64(b)
		}
		if i == 0 {
			crc = v
		} else {
			crc = crcCombine(crc, v, sizes[i], p.poly, p.width)
		}
	}
	out := make([]byte, p.width/8)
	for i := range out {
		out[len(out)-1-i] = byte(crc >> (8 * i))
	}
	return base64.StdEncoding.EncodeToString(out), true
}

func checksumType(fullObject bool) string {
	if fullObject {
		return "FULL_OBJECT"
	}
	return "COMPOSITE"
}
