package storage

import (
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"sync"
)

// ErrCorrupt: an object's body failed its block table or its MD5 while
// being read. The error also matches ErrQuarantined when the replica was
// moved aside (it is not when a newer version replaced it meanwhile).
var ErrCorrupt = errors.New("storage: object body failed its checksum")

// errQuarantineFailed joins ErrCorrupt when the damaged replica could not
// be moved aside (a read-only or full device): it is still in place.
var errQuarantineFailed = errors.New("quarantine failed")

// Read buffers: a chunk, or one smallest block for bodies that fit it
// (most small-object GETs), so those do not hold 1 MiB each.
var (
	chunkPool = sync.Pool{New: func() any { b := make([]byte, readChunk); return &b }}
	smallPool = sync.Pool{New: func() any { b := make([]byte, 1<<minBlockShift); return &b }}
)

// Body reads part of an object's body and returns only bytes it has
// verified:
//   - with a block table, each chunk (up to 1 MiB of whole blocks, the
//     blocks enclosing the range) is checked before any of it is returned;
//   - without one (an object written by Swift or an older swiftbox), a
//     whole read hashes the body and holds back the last chunk until the
//     MD5 equals the ETag, then records the block table it computed on
//     the way; a range first reads and verifies the whole body the same
//     way, then serves from the table — so each such object pays one full
//     read, once.
//
// A mismatch quarantines the replica if it still holds the .data being
// read and every later call fails with an error matching ErrCorrupt. A
// Body is not safe for concurrent use, nor with other Bodies of the same
// reader.
type Body struct {
	r        *ObjectReader
	off, end int64 // next byte to return; end of the range
	pos      int64 // file offset of the next chunk
	win      []byte
	bufp     *[]byte
	md5      hash.Hash    // whole-body MD5 check
	sum      *blockSummer // the table being built on a whole MD5 read
	hashed   bool         // the MD5 was compared
	err      error
}

// Body returns a reader of n body bytes from off (clamped to the body).
func (r *ObjectReader) Body(off, n int64) *Body { return r.newBody(off, n, false) }

func (r *ObjectReader) newBody(off, n int64, audit bool) *Body {
	off = min(max(off, 0), r.size)
	end := min(off+max(n, 0), r.size)
	b := &Body{r: r, off: off, end: end, pos: off}
	if off == 0 && end == r.size && (r.blocks == nil || audit) {
		b.md5 = md5.New()
		if r.blocks == nil {
			b.sum = newBlockSummer(blockShiftFor(r.size))
		}
	}
	return b
}

// Prime reads and verifies the first chunk now, so a damaged replica is
// found before anything is sent (and another can serve the request).
func (b *Body) Prime() error {
	if b.err == nil && len(b.win) == 0 && !b.done() {
		b.fill()
	}
	return b.err
}

func (b *Body) done() bool {
	return b.off >= b.end && (b.md5 == nil || b.hashed)
}

// fill reads and verifies the next chunk into b.win, or sets b.err.
func (b *Body) fill() {
	r := b.r
	if b.md5 == nil && r.blocks == nil {
		// A range of an object without a table: verify it all first.
		whole := r.newBody(0, r.size, false)
		_, err := whole.WriteTo(io.Discard)
		if err == nil && r.blocks == nil {
			err = errors.New("storage: no block table after a whole read")
		}
		if err != nil {
			b.fail(err)
			return
		}
	}
	last := r.size // the end of the last chunk this Body reads
	if b.md5 == nil {
		// A range reads whole blocks. Aligned here, not when the Body
		// was made: the table may have been built since (by another
		// Body of this reader), and later chunks start aligned anyway.
		bs := r.blocks.blockSize()
		b.pos &^= bs - 1
		last = min(last, (b.end+bs-1)&^(bs-1))
	}
	start := b.pos
	stop := min(start+readChunk, last)
	if b.bufp == nil {
		if last-start <= 1<<minBlockShift {
			b.bufp = smallPool.Get().(*[]byte)
		} else {
			b.bufp = chunkPool.Get().(*[]byte)
		}
	}
	buf := (*b.bufp)[:stop-start]
	if n, err := r.f.ReadAt(buf, start); n < len(buf) {
		if err == nil || err == io.EOF {
			b.fail(r.corrupt(fmt.Errorf("%s: body ends at %d, want %d bytes", r.hashDir, start+int64(n), r.size), nil))
		} else {
			b.fail(err)
		}
		return
	}
	if r.blocks != nil {
		if bad := r.blocks.check(buf, start); bad >= 0 {
			b.fail(r.corrupt(fmt.Errorf("%s: block at %d fails its CRC32C", r.hashDir, bad), func() bool { return r.blockBad(bad) }))
			return
		}
	}
	if b.md5 != nil {
		b.md5.Write(buf)
		if b.sum != nil {
			b.sum.Write(buf)
		}
		if stop == r.size {
			b.hashed = true
			if got := hex.EncodeToString(b.md5.Sum(nil)); got != r.etag {
				b.fail(r.corrupt(fmt.Errorf("%s: body MD5 %s, ETag %s", r.hashDir, got, r.etag), nil))
				return
			}
			if b.sum != nil {
				r.seal(b.sum.table())
			}
		}
	}
	b.pos = stop
	b.win = buf[b.off-start : min(b.end, stop)-start]
}

func (b *Body) fail(err error) {
	b.err = err
	b.win = nil
	b.release()
}

func (b *Body) release() {
	if b.bufp != nil {
		if len(*b.bufp) == readChunk {
			chunkPool.Put(b.bufp)
		} else {
			smallPool.Put(b.bufp)
		}
		b.bufp = nil
	}
}

// Read returns verified bytes.
func (b *Body) Read(p []byte) (int, error) {
	for len(b.win) == 0 {
		if b.err != nil {
			return 0, b.err
		}
		if b.done() {
			b.release()
			return 0, io.EOF
		}
		b.fill()
	}
	n := copy(p, b.win)
	b.win = b.win[n:]
	b.off += int64(n)
	return n, nil
}

// WriteTo writes the verified bytes to w a chunk at a time.
func (b *Body) WriteTo(w io.Writer) (int64, error) {
	var total int64
	for {
		for len(b.win) == 0 {
			if b.err != nil {
				return total, b.err
			}
			if b.done() {
				b.release()
				return total, nil
			}
			b.fill()
		}
		n, err := w.Write(b.win)
		total += int64(n)
		b.off += int64(n)
		b.win = b.win[n:]
		if err != nil {
			return total, err
		}
	}
}

// corrupt handles a body found bad: it quarantines the object if the
// hash directory still holds this .data and recheck (when given) sees the
// damage again under the object lock — one observation is not enough to
// move data aside. The error matches ErrCorrupt, and ErrQuarantined when
// the object was moved.
func (r *ObjectReader) corrupt(cause error, recheck func() bool) error {
	err := fmt.Errorf("%w: %v", ErrCorrupt, cause)
	moved, qerr := r.s.quarantineIfSame(r.device, r.hashDir, r.dataName, func() bool {
		return sameFile(r.f, r.s.fs, filepath.Join(r.hashDir, r.dataName)) && (recheck == nil || recheck())
	})
	switch {
	case moved:
		return fmt.Errorf("%w: %w", ErrQuarantined, err)
	case qerr != nil:
		// Said, not swallowed: the damaged replica stays in place.
		return fmt.Errorf("%w; %w: %v", err, errQuarantineFailed, qerr)
	}
	return err
}

// quarantineIfSame quarantines hashDir of device if, under the object
// lock, it still holds name and still (when given) confirms the damage.
// It reports whether the object was moved, and why not when moving it
// failed.
func (s *ObjectStore) quarantineIfSame(device, hashDir, name string, still func() bool) (bool, error) {
	mu := s.objectLock(hashDir)
	mu.Lock()
	defer mu.Unlock()
	if _, err := s.fs.Stat(filepath.Join(hashDir, name)); err != nil {
		return false, nil
	}
	if still != nil && !still() {
		return false, nil
	}
	if err := s.quarantineDir(s.devicePath(device), hashDir); err != nil {
		return false, err
	}
	return true, nil
}

// sameFile reports whether the open f is the file at path.
func sameFile(f File, fs FS, path string) bool {
	have, err := f.Stat()
	if err != nil {
		return false
	}
	now, err := fs.Stat(path)
	return err == nil && os.SameFile(have, now)
}

// blockBad re-reads the block at off and checks it again.
func (r *ObjectReader) blockBad(off int64) bool {
	buf := make([]byte, min(r.blocks.blockSize(), r.size-off))
	if n, err := r.f.ReadAt(buf, off); n < len(buf) {
		return err != nil
	}
	return r.blocks.check(buf, off) >= 0
}

// seal adopts t, computed by a whole read whose MD5 matched, as the
// object's block table, and records it with the .data when the xattr fits
// (best effort: without it the next read verifies the MD5 again).
func (r *ObjectReader) seal(t *blockTable) {
	r.blocks = t
	mu := r.s.objectLock(r.hashDir)
	mu.Lock()
	defer mu.Unlock()
	if sameFile(r.f, r.s.fs, filepath.Join(r.hashDir, r.dataName)) {
		r.f.Setxattr(blocksXattr, t.encode())
	}
}
