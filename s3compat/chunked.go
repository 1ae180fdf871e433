package s3compat

import (
	"bufio"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"hash"
	"hash/crc32"
	"hash/crc64"
	"io"
	"strconv"
	"strings"
)

// Checksum algorithms S3 accepts in x-amz-checksum-*.
var checksumAlgorithms = []string{"crc32", "crc32c", "crc64nvme", "sha1", "sha256"}

// checksumHeaders are the x-amz-checksum-* headers of checksumAlgorithms,
// in the same order (named once: every request looks for them).
var checksumHeaders = func() []string {
	out := make([]string, len(checksumAlgorithms))
	for i, alg := range checksumAlgorithms {
		out[i] = "X-Amz-Checksum-" + alg
	}
	return out
}()

var (
	castagnoli = crc32.MakeTable(crc32.Castagnoli)
	nvme       = crc64.MakeTable(0x9a6c9329ac4bc9b5)
)

func newChecksum(alg string) hash.Hash {
	switch alg {
	case "crc32":
		return crc32.NewIEEE()
	case "crc32c":
		return crc32.New(castagnoli)
	case "crc64nvme":
		return crc64.New(nvme)
	case "sha1":
		return sha1.New()
	case "sha256":
		return sha256.New()
	}
	return nil
}

// checksumSysmeta is where an object's checksum is kept.
func checksumSysmeta(alg string) string { return "X-Object-Sysmeta-S3api-Checksum-" + alg }

// bodyReader streams an S3 request body to the Swift core, decoding
// aws-chunked framing and verifying what the client signed or declared:
// the payload SHA-256, chunk signatures, Content-MD5 (by the core's ETag
// check), and checksums sent as headers or trailers. A failure surfaces as
// a read error before the last byte is delivered, so the core never
// commits a body that does not verify; err says which S3 error it was.
type bodyReader struct {
	src      *bufio.Reader
	size     int64 // decoded bytes expected, -1 unknown
	read     int64 // decoded bytes delivered
	err      *Error
	finished bool      // finish has run
	payload  hash.Hash // whole-body SHA-256 to compare with wantSHA
	wantSHA  string

	// aws-chunked
	chunked   bool
	signed    bool   // chunk signatures (STREAMING-AWS4-HMAC-SHA256-PAYLOAD*)
	trailer   bool   // trailing headers follow the final chunk
	remaining int64  // bytes left in the current chunk
	framed    int64  // data bytes of the chunks begun so far
	started   bool   // first chunk header read
	done      bool   // final chunk (and trailer) consumed
	chunkSig  string // claimed signature of the current chunk
	chunkHash hash.Hash
	prevSig   string
	key       []byte
	amzDate   string
	scope     string

	// checksum: alg, the running hash, and the expected base64 value
	// (from a header, or from the trailer when it arrives)
	alg     string
	sum     hash.Hash
	wantSum string
	onDone  func(alg, value string) // called with the verified checksum
}

func (b *bodyReader) fail(e *Error) (int, error) {
	if b.err == nil {
		b.err = e
	}
	return 0, e
}

func (b *bodyReader) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	if b.size >= 0 && b.read >= b.size && !b.chunked {
		if !b.finished {
			// An empty body is all read before its first Read: its
			// payload hash and checksum are still checked.
			b.finished = true
			if e := b.finish(); e != nil {
				return b.fail(e)
			}
		}
		return 0, io.EOF
	}
	var n int
	var err error
	if b.chunked {
		n, err = b.readChunked(p)
	} else {
		if b.size >= 0 && int64(len(p)) > b.size-b.read {
			p = p[:b.size-b.read]
		}
		n, err = b.src.Read(p)
		if err == io.EOF && b.size >= 0 && b.read+int64(n) < b.size {
			b.err = errIncompleteBody
			err = b.err
		}
	}
	if n > 0 {
		b.read += int64(n)
		if b.payload != nil {
			b.payload.Write(p[:n])
		}
		if b.sum != nil {
			b.sum.Write(p[:n])
		}
	}
	if b.err != nil {
		return n, b.err
	}
	finished := (b.chunked && b.done) || (!b.chunked && (err == io.EOF || b.size >= 0 && b.read == b.size))
	if finished {
		b.finished = true
		if e := b.finish(); e != nil {
			b.err = e
			return n, e
		}
		if b.chunked || err == io.EOF {
			return n, io.EOF
		}
	}
	return n, err
}

// finish verifies what can only be checked once the whole body is read.
func (b *bodyReader) finish() *Error {
	if b.size >= 0 && b.read != b.size {
		return errIncompleteBody
	}
	if b.payload != nil && hex.EncodeToString(b.payload.Sum(nil)) != strings.ToLower(b.wantSHA) {
		return errContentSHA256Mismatch
	}
	if b.sum != nil {
		got := base64.StdEncoding.EncodeToString(b.sum.Sum(nil))
		if b.wantSum == "" && b.trailer {
			return s3err(400, "InvalidRequest", "x-amz-checksum-"+b.alg+" trailer was declared but not sent")
		}
		if b.wantSum != "" && got != b.wantSum {
			return s3err(400, "BadDigest", "The "+strings.ToUpper(b.alg)+" you specified did not match the calculated checksum.")
		}
		if b.onDone != nil {
			b.onDone(b.alg, got)
		}
	}
	return nil
}

// readChunked delivers data of aws-chunked framing; on reaching the end
// of a chunk it reads the next header at once, so the final chunk and
// trailer are verified before the last data byte is handed over.
func (b *bodyReader) readChunked(p []byte) (int, error) {
	if b.done {
		return 0, io.EOF
	}
	if !b.started {
		b.started = true
		if e := b.nextChunk(); e != nil {
			return b.fail(e)
		}
		if b.done {
			return 0, nil
		}
	}
	if int64(len(p)) > b.remaining {
		p = p[:b.remaining]
	}
	n, err := b.src.Read(p)
	if n > 0 {
		b.remaining -= int64(n)
		if b.chunkHash != nil {
			b.chunkHash.Write(p[:n])
		}
	}
	if err != nil && err != io.EOF {
		return n, err
	}
	if b.remaining > 0 {
		if err == io.EOF {
			return b.failN(n, errIncompleteBody)
		}
		return n, nil
	}
	if e := b.endChunk(); e != nil {
		return b.failN(n, e)
	}
	if e := b.nextChunk(); e != nil {
		return b.failN(n, e)
	}
	return n, nil
}

func (b *bodyReader) failN(n int, e *Error) (int, error) {
	if b.err == nil {
		b.err = e
	}
	return n, e
}

// endChunk reads the CRLF after a chunk's data and checks its signature.
func (b *bodyReader) endChunk() *Error {
	if e := b.expectCRLF(); e != nil {
		return e
	}
	if b.signed {
		if e := b.checkChunkSig(); e != nil {
			return e
		}
	}
	b.chunkHash = nil
	return nil
}

func (b *bodyReader) checkChunkSig() *Error {
	sum := emptySHA256
	if b.chunkHash != nil {
		sum = hex.EncodeToString(b.chunkHash.Sum(nil))
	}
	sts := "AWS4-HMAC-SHA256-PAYLOAD\n" + b.amzDate + "\n" + b.scope + "\n" + b.prevSig + "\n" + emptySHA256 + "\n" + sum
	want := hex.EncodeToString(hmacSHA256(b.key, sts))
	if want != b.chunkSig {
		return errSignatureDoesNotMatch
	}
	b.prevSig = want
	return nil
}

func (b *bodyReader) expectCRLF() *Error {
	var crlf [2]byte
	if _, err := io.ReadFull(b.src, crlf[:]); err != nil {
		return errIncompleteBody
	}
	if crlf != [2]byte{'\r', '\n'} {
		return s3err(400, "InvalidRequest", "Invalid chunk encoding: missing CRLF after chunk data")
	}
	return nil
}

// maxChunkLine bounds a chunk header or trailer line.
const maxChunkLine = 4096

func (b *bodyReader) readLine() (string, *Error) {
	var line []byte
	for {
		part, isPrefix, err := b.src.ReadLine()
		if err != nil {
			return "", errIncompleteBody
		}
		line = append(line, part...)
		if len(line) > maxChunkLine {
			return "", s3err(400, "InvalidRequest", "Invalid chunk encoding: line too long")
		}
		if !isPrefix {
			return string(line), nil
		}
	}
}

// nextChunk reads "size[;chunk-signature=sig]"; the final (empty) chunk
// is followed by optional trailers and a blank line.
func (b *bodyReader) nextChunk() *Error {
	line, e := b.readLine()
	if e != nil {
		return e
	}
	sizeStr, ext, _ := strings.Cut(line, ";")
	// Exactly as AWS frames it: no spaces or other characters around the
	// size or the signature (a framing an attacker altered is refused).
	size, err := strconv.ParseInt(sizeStr, 16, 64)
	if err != nil || size < 0 {
		return s3err(400, "InvalidRequest", "Invalid chunk size")
	}
	if b.signed {
		sig, ok := strings.CutPrefix(ext, "chunk-signature=")
		if !ok {
			return errSignatureDoesNotMatch
		}
		b.chunkSig = sig
		b.chunkHash = sha256.New()
	} else {
		b.chunkHash = nil
	}
	if b.size >= 0 && size > b.size-b.framed {
		// More data than X-Amz-Decoded-Content-Length: a reader that
		// stops at the declared length would never reach the end of this
		// chunk, where its signature is checked.
		return errIncompleteBody
	}
	b.framed += size
	if size > 0 {
		b.remaining = size
		return nil
	}
	// final chunk
	if b.signed {
		if e := b.checkChunkSig(); e != nil {
			return e
		}
	}
	b.chunkHash = nil
	if !b.trailer {
		// aws-chunked without trailer: "0;sig\r\n\r\n"
		if e := b.expectCRLF(); e != nil {
			return e
		}
		b.done = true
		return nil
	}
	var canon strings.Builder
	trailerSig := ""
	for {
		l, e := b.readLine()
		if e != nil {
			return e
		}
		if l == "" {
			break
		}
		k, v, ok := strings.Cut(l, ":")
		if !ok {
			return s3err(400, "InvalidRequest", "Invalid trailer")
		}
		k = strings.ToLower(strings.TrimSpace(k))
		v = strings.TrimSpace(v)
		if k == "x-amz-trailer-signature" {
			trailerSig = v
			continue
		}
		canon.WriteString(k + ":" + v + "\n")
		if strings.HasPrefix(k, "x-amz-checksum-") && strings.TrimPrefix(k, "x-amz-checksum-") == b.alg {
			b.wantSum = v
		}
	}
	if b.signed {
		sts := "AWS4-HMAC-SHA256-TRAILER\n" + b.amzDate + "\n" + b.scope + "\n" + b.prevSig + "\n" + sha256Hex([]byte(canon.String()))
		if hex.EncodeToString(hmacSHA256(b.key, sts)) != trailerSig {
			return errSignatureDoesNotMatch
		}
	}
	b.done = true
	return nil
}
