package storage

import (
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"

	"golang.org/x/sys/unix"

	"swiftbox/storage/pickle"
)

// Swift's metadata xattrs (diskfile.py METADATA_KEY, METADATA_CHECKSUM_KEY):
// the pickle is split into chunks of at most xattrChunk bytes stored as
// user.swift.metadata, user.swift.metadata1, user.swift.metadata2, ...
const (
	metaKey     = "user.swift.metadata"
	checksumKey = "user.swift.metadata_checksum"
	xattrChunk  = 65536

	// overflowKey marks a file whose metadata did not fit in xattrs
	// (ext4 keeps all of an inode's xattrs in one 4 KiB block). Its value
	// is the sidecar's file name.
	overflowKey = "user.swiftbox.metadata_overflow"

	// overflowSuffix names the sidecar holding such metadata, beside the
	// file: <ts>.data.meta-overflow. Swift's cleanup cannot parse a
	// timestamp from "<ts>.data" and so leaves the sidecar alone; ours
	// removes it with its file. Content: hex MD5 of the pickle, "\n",
	// the pickle.
	overflowSuffix = ".meta-overflow"
)

// xattrFull reports errors with which a filesystem refuses an xattr for
// lack of room for xattrs rather than lack of disk space (ext4: ENOSPC
// when the xattr block is full, E2BIG when one value exceeds it).
func xattrFull(err error) bool {
	return errors.Is(err, unix.ENOSPC) || errors.Is(err, unix.E2BIG) || errors.Is(err, unix.ERANGE)
}

func xattrUnsupported(err error) bool {
	return errors.Is(err, unix.ENOTSUP) || errors.Is(err, unix.EOPNOTSUPP)
}

// encodeMetadata pickles meta with protocol 2, as Swift's write_metadata.
func encodeMetadata(meta map[string]string) ([]byte, error) {
	return pickle.Marshal(meta)
}

func checksumOf(blob []byte) string {
	sum := md5.Sum(blob)
	return hex.EncodeToString(sum[:])
}

// setMetadataXattrs stores blob in f's xattrs the way Swift does. It
// returns overflow=true, having removed any chunks it wrote, when the
// filesystem has no room for them; the caller must then store the blob in
// a sidecar (writeOverflow). The xattrs are durable after f is fsynced.
func setMetadataXattrs(f File, blob []byte) (overflow bool, err error) {
	var written []string
	undo := func() {
		for _, k := range written {
			f.Removexattr(k)
		}
	}
	for i := 0; i == 0 || i*xattrChunk < len(blob); i++ {
		key := metaKey
		if i > 0 {
			key += strconv.Itoa(i)
		}
		end := min((i+1)*xattrChunk, len(blob))
		if err := f.Setxattr(key, blob[i*xattrChunk:end]); err != nil {
			undo()
			return setXattrFailed(err)
		}
		written = append(written, key)
	}
	if err := f.Setxattr(checksumKey, []byte(checksumOf(blob))); err != nil {
		undo()
		return setXattrFailed(err)
	}
	return false, nil
}

func setXattrFailed(err error) (bool, error) {
	switch {
	case xattrUnsupported(err):
		return false, fmt.Errorf("%w: %v", ErrXattrUnsupported, err)
	case xattrFull(err):
		return true, nil
	case errors.Is(err, unix.EDQUOT):
		return false, noSpace(err)
	}
	return false, err
}

// writeOverflow writes blob to a new fsynced temp file in dir and returns
// its path; the caller renames it to <file>.meta-overflow. It also records
// the sidecar in f's small marker xattr when there is room (readers do not
// depend on the marker).
func (s *ObjectStore) writeOverflow(f File, dir, finalName string, blob []byte) (string, error) {
	f.Setxattr(overflowKey, []byte(finalName+overflowSuffix))
	tmp, err := s.fs.CreateTemp(dir, tmpPattern)
	if err != nil {
		return "", noSpace(err)
	}
	path := tmp.Name()
	content := make([]byte, 0, len(blob)+33)
	content = append(content, checksumOf(blob)...)
	content = append(content, '\n')
	content = append(content, blob...)
	_, err = tmp.Write(content)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		s.fs.Remove(path)
		return "", noSpace(err)
	}
	return path, nil
}

// readMetadata reads and verifies the metadata of the open file f at path.
// Unreadable, unpicklable or checksum-failing metadata is ErrBadMetadata;
// a filesystem without xattrs gives ErrXattrUnsupported.
func (s *ObjectStore) readMetadata(f File, path string) (map[string]string, error) {
	var blob []byte
	for i := 0; ; i++ {
		key := metaKey
		if i > 0 {
			key += strconv.Itoa(i)
		}
		v, err := f.Getxattr(key)
		if err != nil {
			if errors.Is(err, unix.ENODATA) {
				break
			}
			if xattrUnsupported(err) {
				return nil, fmt.Errorf("%w: %v", ErrXattrUnsupported, err)
			}
			return nil, err
		}
		blob = append(blob, v...)
	}
	if blob == nil {
		return s.readOverflow(path)
	}
	sum, err := f.Getxattr(checksumKey)
	switch {
	case err == nil:
		if string(sum) != checksumOf(blob) {
			return nil, fmt.Errorf("%w: %s: checksum mismatch", ErrBadMetadata, path)
		}
	case !errors.Is(err, unix.ENODATA):
		return nil, err
	}
	return decodeMetadata(blob, path)
}

// readOverflow reads metadata from the sidecar of path.
func (s *ObjectStore) readOverflow(path string) (map[string]string, error) {
	f, err := s.fs.Open(path + overflowSuffix)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s: no metadata", ErrBadMetadata, path)
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	content, err := io.ReadAll(f)
	if err != nil {
		return nil, err
	}
	sum, blob, ok := bytes.Cut(content, []byte("\n"))
	if !ok || string(sum) != checksumOf(blob) {
		return nil, fmt.Errorf("%w: %s: overflow checksum mismatch", ErrBadMetadata, path)
	}
	return decodeMetadata(blob, path)
}

func decodeMetadata(blob []byte, path string) (map[string]string, error) {
	m, err := pickle.UnmarshalStringMap(blob)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrBadMetadata, path, err)
	}
	return m, nil
}

// readFileMetadata opens path and reads its metadata.
func (s *ObjectStore) readFileMetadata(path string) (map[string]string, error) {
	f, err := s.fs.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return s.readMetadata(f, path)
}

// FileMetadata reads and verifies the metadata of one object file (.data,
// .ts or .meta), for tools such as object-info.
func (s *ObjectStore) FileMetadata(path string) (map[string]string, error) {
	return s.readFileMetadata(path)
}
