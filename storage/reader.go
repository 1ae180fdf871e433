package storage

import (
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	"swiftbox/storage/timestamp"
)

// Metadata keys the .data keeps when a .meta overlays it (Swift's
// RESERVED_DATAFILE_META and DATAFILE_SYSTEM_META, plus X-Object-Sysmeta-*).
var dataOnlyKeys = map[string]bool{
	"content-length":        true,
	"deleted":               true,
	"etag":                  true,
	"x-static-large-object": true,
}

const sysmetaPrefix = "x-object-sysmeta-"

// ObjectReader is an open object: its merged metadata and its .data file.
// Serve its bytes through Body (verified); ReadAt may be used
// concurrently. Close releases the file. A reader keeps serving the
// version it opened even if a newer one is committed meanwhile.
type ObjectReader struct {
	s         *ObjectStore
	device    string
	partition int
	hashDir   string
	f         File
	meta      map[string]string
	dataTS    timestamp.Timestamp
	metaTS    timestamp.Timestamp
	size      int64
	etag      string
	dataName  string
	// blocks is the .data's block table; nil for an object written
	// without one (by Swift, or before swiftbox kept them) until a whole
	// read has verified the body and built it.
	blocks *blockTable
}

// Open opens the current version of a/c/o. It returns ErrNotFound when no
// object exists, *DeletedError when the newest state is a tombstone,
// ErrDeviceUnavailable when the device cannot be used, and ErrQuarantined
// (which matches ErrNotFound) after moving aside an object whose metadata
// is unreadable or fails its checksum, or whose size disagrees with its
// Content-Length. Obsolete files are cleaned up on the way.
func (s *ObjectStore) Open(device string, partition int, account, container, object string) (*ObjectReader, error) {
	if err := s.CheckDevice(device); err != nil {
		return nil, err
	}
	hashDir := s.HashDir(device, partition, account, container, object)
	var lastErr error
	for range 3 {
		r, err := s.open(device, partition, hashDir)
		if !errNotExist(err) {
			return r, err
		}
		// A newer write removed the file we chose; look again.
		lastErr = err
	}
	return nil, lastErr
}

func (s *ObjectStore) open(device string, partition int, hashDir string) (*ObjectReader, error) {
	mu := s.objectLock(hashDir)
	mu.Lock()
	od, _, err := s.cleanup(hashDir)
	mu.Unlock()
	if err != nil {
		return nil, err
	}
	if od.data == nil {
		if od.ts != nil {
			return nil, &DeletedError{Timestamp: od.ts.ts}
		}
		return nil, ErrNotFound
	}
	dataPath := filepath.Join(hashDir, od.data.name)
	f, err := s.fs.Open(dataPath)
	if err != nil {
		return nil, err
	}
	r := &ObjectReader{s: s, device: device, partition: partition, hashDir: hashDir, f: f, dataTS: od.data.ts, dataName: od.data.name}
	if err := r.load(od, dataPath); err != nil {
		f.Close()
		if errors.Is(err, ErrBadMetadata) {
			return nil, s.quarantineAfter(device, partition, hashDir, err)
		}
		return nil, err
	}
	return r, nil
}

// quarantineAfter quarantines hashDir because of cause and returns
// ErrQuarantined (or the quarantine failure).
func (s *ObjectStore) quarantineAfter(device string, partition int, hashDir string, cause error) error {
	if err := s.Quarantine(device, partition, hashDir); err != nil && !errNotExist(err) {
		return fmt.Errorf("quarantine after %v: %w", cause, err)
	}
	return fmt.Errorf("%w: %v", ErrQuarantined, cause)
}

// load reads the .data metadata and merges any .meta as Swift's
// _construct_from_data_file does.
func (r *ObjectReader) load(od ondisk, dataPath string) error {
	dataMeta, err := r.s.readMetadata(r.f, dataPath)
	if err != nil {
		return err
	}
	st, err := r.f.Stat()
	if err != nil {
		return err
	}
	r.size = st.Size()
	if cl, ok := dataMeta["Content-Length"]; ok {
		n, err := strconv.ParseInt(cl, 10, 64)
		if err != nil || n != r.size {
			return fmt.Errorf("%w: %s: Content-Length %q but %d bytes", ErrBadMetadata, dataPath, cl, r.size)
		}
	}
	if r.blocks, err = loadBlockTable(r.f, dataMeta, r.size); err != nil {
		return err
	}
	if od.meta == nil {
		r.meta = dataMeta
	} else {
		metaMeta, err := r.s.readFileMetadata(filepath.Join(r.hashDir, od.meta.name))
		if err != nil {
			return err
		}
		r.metaTS = od.meta.ts
		if od.ctype != nil && od.ctype.name != od.meta.name {
			ct, err := r.s.readFileMetadata(filepath.Join(r.hashDir, od.ctype.name))
			if err != nil {
				return err
			}
			if v, ok := ct["Content-Type"]; ok &&
				ct["Content-Type-Timestamp"] > metaMeta["Content-Type-Timestamp"] &&
				ct["Content-Type-Timestamp"] > od.data.ts.Internal() {
				metaMeta["Content-Type"] = v
				metaMeta["Content-Type-Timestamp"] = ct["Content-Type-Timestamp"]
			}
		}
		r.meta = mergeMeta(dataMeta, metaMeta, od.data.ts)
		delete(r.meta, blocksMetaKey) // only the .data's counts
	}
	r.etag = strings.ToLower(r.meta["ETag"])
	return nil
}

// mergeMeta overlays .meta metadata on .data metadata: everything from the
// .meta, then the .data's system keys on top, and the .data's
// Content-Type unless the .meta's content type is newer than the data.
func mergeMeta(data, meta map[string]string, dataTS timestamp.Timestamp) map[string]string {
	out := make(map[string]string, len(data)+len(meta))
	for k, v := range meta {
		out[k] = v
	}
	for k, v := range data {
		lk := strings.ToLower(k)
		if dataOnlyKeys[lk] || strings.HasPrefix(lk, sysmetaPrefix) {
			out[k] = v
		}
	}
	if ct, ok := data["Content-Type"]; ok {
		mct, err := timestamp.Parse(meta["Content-Type-Timestamp"])
		if err != nil || !mct.After(dataTS) {
			out["Content-Type"] = ct
			delete(out, "Content-Type-Timestamp")
		}
	}
	return out
}

// Metadata returns the merged metadata. The map must not be modified.
func (r *ObjectReader) Metadata() map[string]string { return r.meta }

// Timestamp is the timestamp of the .data file (the PUT).
func (r *ObjectReader) Timestamp() timestamp.Timestamp { return r.dataTS }

// DataTimestamp is the timestamp of the .data file (the PUT).
func (r *ObjectReader) DataTimestamp() timestamp.Timestamp { return r.dataTS }

// MetaTimestamp is the timestamp of the overlaying .meta file, zero if
// none.
func (r *ObjectReader) MetaTimestamp() timestamp.Timestamp { return r.metaTS }

// Size is the body length.
func (r *ObjectReader) Size() int64 { return r.size }

// ETag is the body MD5 recorded at PUT, lower-case hex.
func (r *ObjectReader) ETag() string { return r.etag }

// ReadAt reads body bytes at off as they are on disk, unverified (for
// tools and tests; serve bytes through Body).
func (r *ObjectReader) ReadAt(p []byte, off int64) (int, error) { return r.f.ReadAt(p, off) }

// Close releases the open .data file.
func (r *ObjectReader) Close() error { return r.f.Close() }

// VerifyingReader reads the whole body checking everything written with
// it: the block table when there is one and the MD5 against the ETag (the
// auditor's check). A mismatch quarantines the object (see Body).
func (r *ObjectReader) VerifyingReader() *Body { return r.newBody(0, r.size, true) }
