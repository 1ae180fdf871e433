package storage

import (
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"swiftbox/storage/timestamp"
)

// bytesPerSync is Swift's bytes_per_sync: a long upload is fdatasynced
// every so often so dirty pages never pile up.
const bytesPerSync = 512 << 20

// writebackStep is how much of an upload accumulates before its writeback
// is started (sync_file_range), so large uploads reach the disk as they
// arrive instead of all at once at commit.
const writebackStep = 8 << 20

// ObjectWriter streams one object body into a temp file on its device.
// Nothing is visible until Commit returns; Abort (or a failed Commit)
// leaves nothing behind. An ObjectWriter is not safe for concurrent use.
type ObjectWriter struct {
	s         *ObjectStore
	device    string
	partition int
	account   string
	container string
	object    string
	ts        timestamp.Timestamp
	declared  int64
	f         File
	md5       hash.Hash
	blocks    *blockSummer // the block table, see blocks.go
	size      int64
	unsynced  int64
	kicked    int64 // bytes handed to StartWriteback so far
	done      bool
	err       error
}

// NewWriter starts a PUT of a/c/o with timestamp ts on device/partition.
// size is the body length (-1 if unknown): when known the space is
// fallocated, when unknown only the fallocate_reserve floor is checked;
// either failing gives ErrNoSpace. It returns *ConflictError when a .data
// or .ts at least as new as ts exists (Swift's 409), and
// ErrDeviceUnavailable when the device cannot be used.
func (s *ObjectStore) NewWriter(device string, partition int, account, container, object string, ts timestamp.Timestamp, size int64) (*ObjectWriter, error) {
	if err := s.CheckDevice(device); err != nil {
		return nil, err
	}
	hashDir := s.HashDir(device, partition, account, container, object)
	if err := s.checkNewer(hashDir, ts); err != nil {
		return nil, err
	}
	f, err := s.createTemp(device)
	if err != nil {
		return nil, err
	}
	if err := s.reserve(device, f, max(size, 0)); err != nil {
		f.Close()
		s.fs.Remove(f.Name())
		return nil, err
	}
	return &ObjectWriter{
		s: s, device: device, partition: partition,
		account: account, container: container, object: object,
		ts: ts, declared: size, f: f, md5: md5.New(), blocks: newBlockSummer(blockShiftFor(size)),
	}, nil
}

// checkNewer returns *ConflictError if hashDir holds a .data or .ts not
// older than ts.
func (s *ObjectStore) checkNewer(hashDir string, ts timestamp.Timestamp) error {
	names, err := s.listHashDir(hashDir)
	if err != nil {
		return err
	}
	if cur, _ := resolve(names).newest(); !cur.IsZero() && cur.Compare(ts) >= 0 {
		return &ConflictError{Timestamp: cur}
	}
	return nil
}

func (s *ObjectStore) createTemp(device string) (File, error) {
	dir := filepath.Join(s.devicePath(device), s.tmpDir)
	if err := s.fs.MkdirAll(dir, 0o755); err != nil {
		return nil, noSpace(err)
	}
	f, err := s.fs.CreateTemp(dir, tmpPattern)
	if err != nil {
		return nil, noSpace(err)
	}
	return f, nil
}

// reserve is Swift's fallocate(): refuse when writing size more bytes
// would leave less than the fallocate_reserve free, then preallocate.
func (s *ObjectStore) reserve(device string, f File, size int64) error {
	if s.cfg.FallocateReserve > 0 || s.cfg.FallocateReservePercent > 0 {
		st, err := s.health.statfs(s.fs, device, s.devicePath(device), s.now(), s.cfg.DeviceCacheTTL)
		if err != nil {
			return err
		}
		free := float64(st.Avail) - float64(size)
		if s.cfg.FallocateReserve > 0 && free <= float64(s.cfg.FallocateReserve) {
			return fmt.Errorf("%w: %s: %d bytes free, reserve %d", ErrNoSpace, device, st.Avail, s.cfg.FallocateReserve)
		}
		if s.cfg.FallocateReservePercent > 0 && st.Total > 0 &&
			free/float64(st.Total)*100 <= s.cfg.FallocateReservePercent {
			return fmt.Errorf("%w: %s: below %g%% free", ErrNoSpace, device, s.cfg.FallocateReservePercent)
		}
	}
	if size > 0 {
		if err := f.Fallocate(size); err != nil {
			return noSpace(err)
		}
	}
	return nil
}

// Write appends p to the body, hashing it as it goes.
func (w *ObjectWriter) Write(p []byte) (int, error) {
	if w.done {
		return 0, errors.New("storage: write after Commit or Abort")
	}
	if w.err != nil {
		return 0, w.err
	}
	n, err := w.f.Write(p)
	if w.md5 != nil {
		w.md5.Write(p[:n])
	}
	w.blocks.Write(p[:n])
	w.size += int64(n)
	w.unsynced += int64(n)
	if err == nil && w.size-w.kicked >= writebackStep {
		// Start writing the last step out now, so the disk works while the
		// body streams in; errors surface at the final fsync.
		w.f.StartWriteback(w.kicked, w.size-w.kicked)
		w.kicked = w.size
	}
	if err == nil && w.unsynced >= bytesPerSync {
		err = w.f.Datasync()
		w.unsynced = 0
	}
	if err != nil {
		w.err = noSpace(err)
		w.s.health.forget(w.device)
		return n, w.err
	}
	return n, nil
}

// Size is the number of body bytes written so far.
func (w *ObjectWriter) Size() int64 { return w.size }

// ETag is the hex MD5 of the body bytes written so far ("" after SkipHash).
func (w *ObjectWriter) ETag() string {
	if w.md5 == nil {
		return ""
	}
	return hex.EncodeToString(w.md5.Sum(nil))
}

// SkipHash stops the writer from hashing the body: the caller hashes the
// stream once for all replicas (MD5 is the CPU cost of a PUT) and passes
// the result as meta["ETag"] to Commit, which then requires it. Call it
// before the first Write.
func (w *ObjectWriter) SkipHash() { w.md5 = nil }

// Commit makes the object durable and visible. meta holds X-Timestamp,
// Content-Type, X-Object-Meta-* and the like; Commit sets "name"
// (/a/c/o), "Content-Length", "ETag" and "X-Timestamp" (the writer's
// timestamp). It fails with ErrSizeMismatch if a known size was not met
// and ErrETagMismatch if meta carries a different ETag.
//
// Commit returns only after the body, its metadata xattrs, the suffix
// recorded in hashes.invalid, the rename to <hash dir>/<ts>.data and every
// directory created on the way are durable (one group-committed syncfs,
// see finalize); obsolete older files are then removed. On error nothing new is
// visible and the temp file is gone.
// Retime moves the object's timestamp to ts before Commit: a PUT is
// timed when its body is complete, so of two overlapping uploads the one
// that finishes last wins. ts earlier than the writer's is ignored.
func (w *ObjectWriter) Retime(ts timestamp.Timestamp) {
	if !w.done && ts.After(w.ts) {
		w.ts = ts
	}
}

// Timestamp is the timestamp the object will be committed with.
func (w *ObjectWriter) Timestamp() timestamp.Timestamp { return w.ts }

func (w *ObjectWriter) Commit(meta map[string]string) error {
	return w.commit(meta, nil, nil)
}

// CommitWithUpdate is Commit that also journals the container update ap
// durably with the object, in the same flush (see journal.go). Release the
// returned reference with ReleaseJournal once the update is applied.
func (w *ObjectWriter) CommitWithUpdate(meta map[string]string, ap *AsyncPending) (JournalRef, error) {
	var ref JournalRef
	err := w.commit(meta, ap, &ref)
	return ref, err
}

func (w *ObjectWriter) commit(meta map[string]string, ap *AsyncPending, jref *JournalRef) error {
	if w.done {
		return errors.New("storage: Commit after Commit or Abort")
	}
	if w.err != nil {
		w.Abort()
		return w.err
	}
	if w.declared >= 0 && w.size != w.declared {
		w.Abort()
		return fmt.Errorf("%w: wrote %d of %d bytes", ErrSizeMismatch, w.size, w.declared)
	}
	etag := w.ETag()
	if w.md5 == nil {
		for k, v := range meta {
			if strings.EqualFold(k, "ETag") {
				etag = strings.ToLower(strings.Trim(v, `"`))
			}
		}
		if len(etag) != 32 {
			w.Abort()
			return fmt.Errorf("%w: SkipHash needs the body's MD5 as meta ETag, got %q", ErrETagMismatch, etag)
		}
	}
	md := make(map[string]string, len(meta)+4)
	for k, v := range meta {
		if strings.EqualFold(k, "ETag") {
			if !strings.EqualFold(strings.Trim(v, `"`), etag) {
				w.Abort()
				return fmt.Errorf("%w: got %s, body has %s", ErrETagMismatch, v, etag)
			}
			continue
		}
		if strings.EqualFold(k, "Content-Length") || strings.EqualFold(k, "X-Timestamp") || k == "name" {
			continue
		}
		md[k] = v
	}
	md["name"] = objectName(w.account, w.container, w.object)
	md["X-Timestamp"] = w.ts.Internal()
	md["Content-Length"] = strconv.FormatInt(w.size, 10)
	md["ETag"] = etag
	if err := storeBlockTable(w.f, md, w.blocks.table()); err != nil {
		w.Abort()
		return err
	}
	hashDir := w.s.HashDir(w.device, w.partition, w.account, w.container, w.object)
	err := w.s.finalize(w.device, hashDir, w.f, w.ts.Internal()+extData, md, ap, jref)
	w.done = true
	if err != nil {
		w.s.fs.Remove(w.f.Name())
	}
	return err
}

// Abort discards the upload and removes the temp file. It is safe to call
// more than once and after Commit (then it does nothing).
func (w *ObjectWriter) Abort() {
	if w.done {
		return
	}
	w.done = true
	w.f.Close()
	w.s.fs.Remove(w.f.Name())
}

func objectName(account, container, object string) string {
	return "/" + account + "/" + container + "/" + object
}

// finalize is Swift's _finalize_put for the temp file tmp (which it
// closes): write the metadata xattrs (or an overflow sidecar), invalidate
// the suffix hash, rename into hashDir as name, make all of it durable,
// then clean up obsolete files. The caller removes tmp on error.
//
// Durability is group-committed: instead of fsyncing the file and then
// each directory it touched (three or four flushes per replica), the
// commit joins its filesystem's syncGroup, whose one syncfs covers the
// file data, xattrs and every directory entry of all commits waiting with
// it. Large bodies fdatasync their own data first so a shared flush never
// carries megabytes for small objects. Until the flush returns the commit
// is not acknowledged; if it fails the new file is withdrawn.
//
// ap, when set, is a container update staged beside the object and made
// durable by the same flush (the object server's update, journalled).
func (s *ObjectStore) finalize(device, hashDir string, tmp File, name string, meta map[string]string, ap *AsyncPending, jref *JournalRef) error {
	blob, err := encodeMetadata(meta)
	if err != nil {
		tmp.Close()
		return err
	}
	overflow, err := setMetadataXattrs(tmp, blob)
	var sidecar string
	if err == nil && overflow {
		sidecar, err = s.writeOverflow(tmp, filepath.Join(s.devicePath(device), s.tmpDir), name, blob)
	}
	// A large body is made durable on its own: fsync of the file, then of
	// the directories, as Swift does. A group flush (syncfs) would have to
	// write back every other upload in flight too.
	large := false
	// Content-Length is set for .data files (Commit); .ts/.meta are empty.
	if n, _ := strconv.ParseInt(meta["Content-Length"], 10, 64); err == nil && n >= ownSyncSize {
		large = true
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		if sidecar != "" {
			s.fs.Remove(sidecar)
		}
		return noSpace(err)
	}
	suffixDir := filepath.Dir(hashDir)
	var created []string // directories this commit creates, for the large path
	if large {
		created = s.missingDirs(hashDir)
	}
	s.noteInvalid(filepath.Dir(suffixDir), filepath.Base(suffixDir))
	withdraw := func() {
		s.fs.Remove(filepath.Join(hashDir, name))
		if sidecar != "" {
			s.fs.Remove(sidecar)
			s.fs.Remove(filepath.Join(hashDir, name+overflowSuffix))
		}
	}
	if ap != nil {
		// Journal first: the update is written before the file it
		// describes becomes visible, so no crash leaves an object whose
		// update is lost. A record whose file never lands is harmless:
		// replay sends what the disk holds (server/daemon/updater).
		ref, err := s.stageJournal(device, *ap)
		if err == nil && large {
			err = s.syncJournal(device)
		}
		if err != nil {
			if sidecar != "" {
				s.fs.Remove(sidecar)
			}
			if ref != (JournalRef{}) {
				s.ReleaseJournal(ref)
			}
			return noSpace(err)
		}
		*jref = ref
		prev := withdraw
		// The record stays in the journal; released, it is simply dropped.
		withdraw = func() { prev(); s.ReleaseJournal(ref) }
	}
	mu := s.objectLock(hashDir)
	mu.Lock()
	err = s.renameInto(hashDir, sidecar, tmp.Name(), name)
	if err == nil {
		passFailpoint("object-renamed")
	}
	mu.Unlock()
	if err != nil {
		withdraw()
		return noSpace(err)
	}
	var durable error
	if large {
		durable = s.syncLarge(hashDir, created)
	} else {
		// The lock is not held while waiting for the flush: other objects'
		// commits (and other replicas) must be able to join the same flush.
		durable = s.syncGroupFor(device).wait(s.devicePath(device))
	}
	if err := durable; err != nil {
		// Not durable, so not committed: withdraw it rather than leave
		// visible what the caller is told failed.
		withdraw()
		return noSpace(err)
	}
	mu.Lock()
	defer mu.Unlock()
	_, _, err = s.cleanup(hashDir)
	return err
}

// ownSyncSize is the body size from which a commit makes itself durable
// with fsyncs of its own instead of joining the group flush.
const ownSyncSize = 1 << 20

// missingDirs lists dir and those of its parents (below the device) that
// do not exist yet, deepest first.
func (s *ObjectStore) missingDirs(dir string) []string {
	var out []string
	for d := filepath.Clean(dir); d != filepath.Dir(d); d = filepath.Dir(d) {
		if _, err := s.fs.Stat(d); err == nil {
			break
		}
		out = append(out, d)
	}
	return out
}

// syncLarge makes a renamed-in large object durable without a group flush:
// fsync of the hash directory and of the parent of every directory the
// commit created (its journalled update was synced before the rename).
func (s *ObjectStore) syncLarge(hashDir string, created []string) error {
	dirs := map[string]bool{hashDir: true}
	for _, d := range created {
		dirs[filepath.Dir(d)] = true
	}
	for d := range dirs {
		if err := s.fs.SyncDir(d); err != nil {
			return err
		}
	}
	return nil
}

// renameInto creates hashDir, renames the sidecar (if any) and then tmp
// into it. Nothing is durable yet: the caller's group flush makes it so.
// The sidecar goes first so a visible file always has its metadata.
func (s *ObjectStore) renameInto(hashDir, sidecar, tmp, name string) error {
	var err error
	for range 3 {
		// A concurrent SuffixHashes may rmdir the empty suffix directory
		// between our mkdirs; try again.
		if err = s.fs.MkdirAll(hashDir, 0o755); !errNotExist(err) {
			break
		}
	}
	if err != nil {
		return err
	}
	if sidecar != "" {
		if err := s.fs.Rename(sidecar, filepath.Join(hashDir, name+overflowSuffix)); err != nil {
			return err
		}
	}
	if err := s.fs.Rename(tmp, filepath.Join(hashDir, name)); err != nil {
		return err
	}
	if sidecar == "" {
		// A same-timestamp file we just replaced may have left a sidecar;
		// ours has its metadata in xattrs.
		if err := s.fs.Remove(filepath.Join(hashDir, name+overflowSuffix)); err != nil && !errNotExist(err) {
			return err
		}
	}
	return nil
}

// Delete writes a tombstone <ts>.ts holding meta plus name and
// X-Timestamp, and removes older files. It returns *ConflictError if a
// .data or .ts at least as new exists, and ErrNotFound — after writing the
// tombstone, as Swift does — if there was no live object. Tombstones
// ignore fallocate_reserve. Returns after the tombstone and its directory
// are fsynced and the suffix is invalidated.
func (s *ObjectStore) Delete(device string, partition int, account, container, object string, ts timestamp.Timestamp, meta map[string]string) error {
	return s.DeleteWithUpdate(device, partition, account, container, object, ts, meta, nil, nil)
}

// DeleteWithUpdate is Delete that also journals the container update ap
// durably with the tombstone (see CommitWithUpdate). The record is written
// whenever the tombstone is, including when ErrNotFound is returned; ref
// is then set.
func (s *ObjectStore) DeleteWithUpdate(device string, partition int, account, container, object string, ts timestamp.Timestamp, meta map[string]string, ap *AsyncPending, ref *JournalRef) error {
	if err := s.CheckDevice(device); err != nil {
		return err
	}
	hashDir := s.HashDir(device, partition, account, container, object)
	names, err := s.listHashDir(hashDir)
	if err != nil {
		return err
	}
	cur, live := resolve(names).newest()
	if !cur.IsZero() && cur.Compare(ts) >= 0 {
		return &ConflictError{Timestamp: cur}
	}
	if err := s.writeMetaFile(device, hashDir, ts.Internal()+extTS, account, container, object, ts, meta, ap, ref); err != nil {
		return err
	}
	if !live {
		return ErrNotFound
	}
	return nil
}

// Post writes fast-POST metadata as a .meta file, replacing the object's
// user metadata (X-Object-Meta-*, X-Object-Transient-Sysmeta-*) and, if
// meta has Content-Type, its content type (stamped with
// Content-Type-Timestamp, default ts, encoded in the file name as Swift
// does). It returns ErrNotFound or *DeletedError when there is no live
// object and *ConflictError when the object's data or metadata is not
// older than ts. Returns after the .meta and its directory are fsynced.
func (s *ObjectStore) Post(device string, partition int, account, container, object string, ts timestamp.Timestamp, meta map[string]string) error {
	return s.PostWithUpdate(device, partition, account, container, object, ts, meta, nil, nil)
}

// PostWithUpdate is Post that also journals the container update ap
// durably with the .meta (see CommitWithUpdate); ref is set when the
// .meta was written.
func (s *ObjectStore) PostWithUpdate(device string, partition int, account, container, object string, ts timestamp.Timestamp, meta map[string]string, ap *AsyncPending, ref *JournalRef) error {
	if err := s.CheckDevice(device); err != nil {
		return err
	}
	hashDir := s.HashDir(device, partition, account, container, object)
	names, err := s.listHashDir(hashDir)
	if err != nil {
		return err
	}
	r := resolve(names)
	if r.data == nil {
		if r.ts != nil {
			return &DeletedError{Timestamp: r.ts.ts}
		}
		return ErrNotFound
	}
	orig := r.data.ts
	if r.meta != nil && r.meta.ts.After(orig) {
		orig = r.meta.ts
	}
	origCtype := r.data.ts
	if r.ctype != nil {
		origCtype = r.ctype.ctype
	}
	md := make(map[string]string, len(meta)+2)
	for k, v := range meta {
		md[k] = v
	}
	var ctype *timestamp.Timestamp
	var reqCtype timestamp.Timestamp
	if md["Content-Type"] != "" {
		ct := ts
		if v, ok := md["Content-Type-Timestamp"]; ok {
			if p, err := timestamp.Parse(v); err == nil {
				ct = p
			}
		}
		md["Content-Type-Timestamp"] = ct.Internal()
		ctype, reqCtype = &ct, ct
	} else {
		delete(md, "Content-Type")
		delete(md, "Content-Type-Timestamp")
	}
	if orig.Compare(ts) >= 0 && origCtype.Compare(reqCtype) >= 0 {
		return &ConflictError{Timestamp: orig}
	}
	return s.writeMetaFile(device, hashDir, metaFileName(ts, ctype), account, container, object, ts, md, ap, ref)
}

// writeMetaFile writes a zero-length file (.ts or .meta) carrying meta.
func (s *ObjectStore) writeMetaFile(device, hashDir, name, account, container, object string, ts timestamp.Timestamp, meta map[string]string, ap *AsyncPending, jref *JournalRef) error {
	md := make(map[string]string, len(meta)+2)
	for k, v := range meta {
		md[k] = v
	}
	md["name"] = objectName(account, container, object)
	md["X-Timestamp"] = ts.Internal()
	f, err := s.createTemp(device)
	if err != nil {
		return err
	}
	if err := s.finalize(device, hashDir, f, name, md, ap, jref); err != nil {
		s.fs.Remove(f.Name())
		return err
	}
	return nil
}

// errNotExist reports a missing path.
func errNotExist(err error) bool { return errors.Is(err, os.ErrNotExist) }
