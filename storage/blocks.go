package storage

import (
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"

	"golang.org/x/sys/unix"
)

// Every .data swiftbox writes carries a block table: the CRC32C of each
// block of its body, computed while the body streams in, so a reader can
// verify every byte before sending it and a range needs only its enclosing
// blocks. MD5 stays the ETag; Swift ignores the table.
//
// The table lives in its own xattr beside Swift's metadata (so Swift's
// tools read the object as before). When the filesystem has no room for
// it (ext4 keeps all xattrs of an inode in one 4 KiB block), it goes into
// the pickled metadata under blocksMetaKey instead, which may then move
// the metadata to the overflow sidecar.
const (
	blocksXattr   = "user.swiftbox.blocks"
	blocksMetaKey = "X-Object-Sysmeta-Swiftbox-Blocks"

	blocksVersion = 1
	// minBlockShift and maxBlockShift bound the block size: 64 KiB keeps
	// a small range's read small, 1 MiB keeps a reader's buffer at 1 MiB.
	minBlockShift = 16
	maxBlockShift = 20
	// blocksTarget is the number of blocks past which the block size
	// doubles: the table of an object up to 512 MiB stays within 2 KiB.
	blocksTarget = 512
	// readChunk is the reader's buffer: a multiple of every block size.
	readChunk = 1 << maxBlockShift
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// blockShiftFor picks the block size (as a shift) for a body of size
// bytes; -1 (unknown) gets the largest.
func blockShiftFor(size int64) uint8 {
	if size < 0 {
		return maxBlockShift
	}
	shift := uint8(minBlockShift)
	for shift < maxBlockShift && size > int64(blocksTarget)<<shift {
		shift++
	}
	return shift
}

// blockTable is the CRC32C of each block of a body of size bytes.
type blockTable struct {
	shift uint8
	size  int64
	crcs  []uint32
}

func (t *blockTable) blockSize() int64 { return 1 << t.shift }

func blockCount(size int64, shift uint8) int64 {
	return (size + 1<<shift - 1) >> shift
}

// encode: version, shift, size (8 bytes), the CRCs, and a CRC32C of all
// of that, big-endian.
func (t *blockTable) encode() []byte {
	b := make([]byte, 0, 10+4*len(t.crcs)+4)
	b = append(b, blocksVersion, t.shift)
	b = binary.BigEndian.AppendUint64(b, uint64(t.size))
	for _, c := range t.crcs {
		b = binary.BigEndian.AppendUint32(b, c)
	}
	return binary.BigEndian.AppendUint32(b, crc32.Checksum(b, castagnoli))
}

var errBadTable = errors.New("bad block table")

func decodeBlockTable(b []byte) (*blockTable, error) {
	if len(b) < 14 || b[0] != blocksVersion {
		return nil, errBadTable
	}
	body, sum := b[:len(b)-4], binary.BigEndian.Uint32(b[len(b)-4:])
	if crc32.Checksum(body, castagnoli) != sum {
		return nil, errBadTable
	}
	t := &blockTable{shift: b[1], size: int64(binary.BigEndian.Uint64(b[2:10]))}
	if t.shift < minBlockShift || t.shift > maxBlockShift || t.size < 0 ||
		int64(len(body)-10) != 4*blockCount(t.size, t.shift) {
		return nil, errBadTable
	}
	for p := body[10:]; len(p) > 0; p = p[4:] {
		t.crcs = append(t.crcs, binary.BigEndian.Uint32(p))
	}
	return t, nil
}

// check verifies p, the body bytes at off, which must start at a block
// boundary and end at one or at the end of the body. It returns the
// offset of the first block that fails, or -1.
func (t *blockTable) check(p []byte, off int64) int64 {
	bs := int(t.blockSize())
	for i := 0; i < len(p); i += bs {
		j := min(i+bs, len(p))
		idx := (off + int64(i)) >> t.shift
		if idx >= int64(len(t.crcs)) || crc32.Checksum(p[i:j], castagnoli) != t.crcs[idx] {
			return off + int64(i)
		}
	}
	return -1
}

// blockSummer computes a block table from a stream.
type blockSummer struct {
	shift uint8
	crcs  []uint32
	cur   uint32
	fill  int64 // bytes of the current block so far
	size  int64
}

func newBlockSummer(shift uint8) *blockSummer { return &blockSummer{shift: shift} }

func (b *blockSummer) Write(p []byte) (int, error) {
	n := len(p)
	bs := int64(1) << b.shift
	for len(p) > 0 {
		k := min(int64(len(p)), bs-b.fill)
		b.cur = crc32.Update(b.cur, castagnoli, p[:k])
		b.fill += k
		p = p[k:]
		if b.fill == bs {
			b.crcs = append(b.crcs, b.cur)
			b.cur, b.fill = 0, 0
		}
	}
	b.size += int64(n)
	return n, nil
}

// table is the table of everything written so far.
func (b *blockSummer) table() *blockTable {
	crcs := b.crcs
	if b.fill > 0 {
		crcs = append(crcs[:len(crcs):len(crcs)], b.cur)
	}
	return &blockTable{shift: b.shift, size: b.size, crcs: crcs}
}

// storeBlockTable records t with the file f: in its xattr, or — when the
// filesystem has no room — in meta, which the caller then writes.
func storeBlockTable(f File, meta map[string]string, t *blockTable) error {
	enc := t.encode()
	err := f.Setxattr(blocksXattr, enc)
	switch {
	case err == nil:
		delete(meta, blocksMetaKey)
		return nil
	case xattrFull(err):
		meta[blocksMetaKey] = base64.StdEncoding.EncodeToString(enc)
		return nil
	case xattrUnsupported(err):
		return fmt.Errorf("%w: %v", ErrXattrUnsupported, err)
	case errors.Is(err, unix.EDQUOT):
		return noSpace(err)
	}
	return err
}

// loadBlockTable reads the table of the .data f of size bytes whose
// metadata is meta, removing blocksMetaKey from meta. It returns nil for
// an object written without one, and also for a table that is damaged or
// does not describe a body of size bytes: the table is only a means to
// check the body, so its damage is not the body's — such an object is
// verified by its MD5, as one without a table, and gets a new table once
// that matched (a body that fails its MD5 is quarantined then). Only a
// failure to read the xattr is an error.
func loadBlockTable(f File, meta map[string]string, size int64) (*blockTable, error) {
	enc, err := f.Getxattr(blocksXattr)
	if err != nil {
		if !errors.Is(err, unix.ENODATA) && !xattrUnsupported(err) {
			return nil, err
		}
		enc = nil
		if v, ok := meta[blocksMetaKey]; ok {
			enc, _ = base64.StdEncoding.DecodeString(v)
		}
	}
	delete(meta, blocksMetaKey)
	if enc == nil {
		return nil, nil
	}
	t, err := decodeBlockTable(enc)
	if err != nil || t.size != size {
		return nil, nil
	}
	return t, nil
}
