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
	"slices"
	"sort"
	"strconv"
	"strings"
)

// Partitions lists the object partitions present on device.
func (s *ObjectStore) Partitions(device string) ([]int, error) {
	names, err := s.fs.ReadDir(filepath.Join(s.devicePath(device), s.dataDir))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []int
	for _, n := range names {
		if p, err := strconv.Atoi(n); err == nil && p >= 0 && strconv.Itoa(p) == n {
			out = append(out, p)
		}
	}
	sort.Ints(out)
	return out, nil
}

// SyncStats counts what a sync copied.
type SyncStats struct {
	Files int
	Bytes int64
}

// Limiter paces replication copies; nil means unlimited.
type Limiter interface {
	// Wait blocks until n more bytes may be copied.
	Wait(n int)
}

// SyncSuffix is the replicator's push of one suffix, as Swift's rsync of a
// suffix directory followed by the receiver's cleanup: every file of
// partition/suffix on src that still defines an object's state, newest
// wins, and that dst lacks is copied to dst (body and metadata), made
// durable on dst, and dst's obsolete files are cleaned up. Files src has
// that dst's newer state makes obsolete are not copied. dst's suffix hash
// is invalidated. lim may be nil.
func (s *ObjectStore) SyncSuffix(src, dst string, partition int, suffix string, lim Limiter) (SyncStats, error) {
	var st SyncStats
	if !validSuffix(suffix) {
		return st, fmt.Errorf("storage: invalid suffix %q", suffix)
	}
	for _, d := range []string{src, dst} {
		if err := s.CheckDevice(d); err != nil {
			return st, err
		}
	}
	srcSuffix := filepath.Join(s.partitionPath(src, partition), suffix)
	dstSuffix := filepath.Join(s.partitionPath(dst, partition), suffix)
	hashes, err := s.fs.ReadDir(srcSuffix)
	if errors.Is(err, os.ErrNotExist) || isNotDir(err) {
		return st, nil
	}
	if err != nil {
		return st, err
	}
	copied := false
	for _, h := range hashes {
		n, b, err := s.syncHashDir(src, partition, filepath.Join(srcSuffix, h), filepath.Join(dstSuffix, h), dst, lim)
		st.Files += n
		st.Bytes += b
		if n > 0 {
			copied = true
		}
		if err != nil {
			return st, err
		}
	}
	if copied {
		// One flush makes every file and directory this sync created on
		// dst durable, before the caller counts it as replicated.
		if err := s.fs.Syncfs(s.devicePath(dst)); err != nil {
			return st, noSpace(err)
		}
	}
	return st, s.invalidateHash(s.partitionPath(dst, partition), suffix)
}

// syncHashDir copies what dstHD needs from srcHD; see SyncSuffix.
func (s *ObjectStore) syncHashDir(src string, partition int, srcHD, dstHD, dst string, lim Limiter) (int, int64, error) {
	mu := s.objectLock(srcHD)
	mu.Lock()
	_, srcNames, err := s.cleanup(srcHD)
	mu.Unlock()
	if err != nil {
		if isNotDir(err) {
			return 0, 0, nil // not a hash dir; hashing quarantines it
		}
		return 0, 0, err
	}
	dstNames, err := s.listHashDir(dstHD)
	if err != nil {
		return 0, 0, err
	}
	need := missingFiles(srcNames, dstNames)
	if len(need) == 0 {
		return 0, 0, nil
	}
	if err := s.mkdirAllSynced(filepath.Dir(dstHD)); err != nil {
		return 0, 0, noSpace(err)
	}
	var files int
	var bytes int64
	for _, name := range need {
		tmp, n, err := s.copyToTemp(filepath.Join(srcHD, name), dst, lim)
		if errors.Is(err, os.ErrNotExist) {
			continue // removed by a newer write meanwhile
		}
		if errors.Is(err, ErrCorrupt) {
			// Never spread a damaged replica. A second, verifying read
			// quarantines it if the damage is still there (see Body) and
			// a good copy will be pushed back here.
			if r, err := s.open(src, partition, srcHD); err == nil {
				io.Copy(io.Discard, r.VerifyingReader())
				r.Close()
			}
			continue
		}
		if err != nil {
			return files, bytes, err
		}
		dmu := s.objectLock(dstHD)
		dmu.Lock()
		err = s.renameInto(dstHD, tmp.sidecar, tmp.path, name)
		dmu.Unlock()
		if err != nil {
			s.fs.Remove(tmp.path)
			if tmp.sidecar != "" {
				s.fs.Remove(tmp.sidecar)
			}
			return files, bytes, noSpace(err)
		}
		files++
		bytes += n
	}
	dmu := s.objectLock(dstHD)
	dmu.Lock()
	_, _, err = s.cleanup(dstHD)
	dmu.Unlock()
	return files, bytes, err
}

// missingFiles returns the names of src that define the object's state
// once src and dst are combined and that dst lacks.
func missingFiles(src, dst []string) []string {
	have := map[string]bool{}
	for _, n := range dst {
		have[n] = true
	}
	all := append(append([]string(nil), dst...), src...)
	r := resolve(all)
	var out []string
	for _, fi := range []*fileInfo{r.data, r.ts, r.meta, r.ctype} {
		if fi != nil && !have[fi.name] {
			have[fi.name] = true
			out = append(out, fi.name)
		}
	}
	return out
}

type tempCopy struct{ path, sidecar string }

// copyToTemp copies one object file with its metadata into dst's tmp
// directory, through the same metadata writer as a PUT (so a device with
// smaller xattr limits gets an overflow sidecar). Not yet durable.
func (s *ObjectStore) copyToTemp(srcPath, dst string, lim Limiter) (tempCopy, int64, error) {
	in, err := s.fs.Open(srcPath)
	if err != nil {
		return tempCopy{}, 0, err
	}
	defer in.Close()
	meta, err := s.readMetadata(in, srcPath)
	if err != nil {
		return tempCopy{}, 0, fmt.Errorf("%s: %w", srcPath, err)
	}
	fi, err := in.Stat()
	if err != nil {
		return tempCopy{}, 0, err
	}
	out, err := s.createTemp(dst)
	if err != nil {
		return tempCopy{}, 0, noSpace(err)
	}
	fail := func(err error) (tempCopy, int64, error) {
		out.Close()
		s.fs.Remove(out.Name())
		if errors.Is(err, ErrCorrupt) {
			return tempCopy{}, 0, err
		}
		return tempCopy{}, 0, noSpace(err)
	}
	if err := s.reserve(dst, out, fi.Size()); err != nil {
		return fail(err)
	}
	// A .data is checked as it is copied, so a damaged replica is not
	// spread, and arrives with its block table (built here, once its MD5
	// matched, for an object that had none).
	var check *copyCheck
	if strings.HasSuffix(srcPath, extData) {
		if check, err = newCopyCheck(in, meta, fi.Size()); err != nil {
			return fail(err)
		}
	}
	n, err := copyLimited(out, in, lim, check)
	if err != nil {
		return fail(err)
	}
	if check != nil {
		if err := check.finish(out, meta, srcPath); err != nil {
			return fail(err)
		}
	}
	blob, err := encodeMetadata(meta)
	if err != nil {
		return fail(err)
	}
	overflow, err := setMetadataXattrs(out, blob)
	if err != nil {
		return fail(err)
	}
	var sidecar string
	if overflow {
		if sidecar, err = s.writeOverflow(out, filepath.Join(s.devicePath(dst), s.tmpDir), filepath.Base(srcPath), blob); err != nil {
			return fail(err)
		}
	}
	if err := out.Close(); err != nil {
		s.fs.Remove(out.Name())
		return tempCopy{}, 0, noSpace(err)
	}
	return tempCopy{path: out.Name(), sidecar: sidecar}, n, nil
}

// copyCheck verifies a .data's body as it is copied: against its block
// table, or (an object that has none) against its ETag, building the
// table it will carry.
type copyCheck struct {
	table *blockTable // the stored table, nil if none
	sum   *blockSummer
	md5   hash.Hash // only without a stored table
}

func newCopyCheck(in File, meta map[string]string, size int64) (*copyCheck, error) {
	table, err := loadBlockTable(in, meta, size)
	if err != nil {
		return nil, err
	}
	if table != nil {
		return &copyCheck{table: table, sum: newBlockSummer(table.shift)}, nil
	}
	return &copyCheck{sum: newBlockSummer(blockShiftFor(size)), md5: md5.New()}, nil
}

func (c *copyCheck) Write(b []byte) {
	c.sum.Write(b)
	if c.md5 != nil {
		c.md5.Write(b)
	}
}

// finish checks what was copied and stores its block table on out.
func (c *copyCheck) finish(out File, meta map[string]string, srcPath string) error {
	got := c.sum.table()
	switch {
	case c.table != nil && !slices.Equal(got.crcs, c.table.crcs):
		return fmt.Errorf("%w: %s: body does not match its block table", ErrCorrupt, srcPath)
	case c.md5 != nil && hex.EncodeToString(c.md5.Sum(nil)) != strings.ToLower(meta["ETag"]):
		return fmt.Errorf("%w: %s: body MD5 differs from its ETag", ErrCorrupt, srcPath)
	}
	return storeBlockTable(out, meta, got)
}

// copyLimited copies in to out at lim's pace, feeding check (if any).
func copyLimited(out io.Writer, in io.Reader, lim Limiter, check *copyCheck) (int64, error) {
	var n int64
	buf := make([]byte, 256<<10)
	for {
		k, rerr := in.Read(buf)
		if k > 0 {
			if lim != nil {
				lim.Wait(k)
			}
			if _, err := out.Write(buf[:k]); err != nil {
				return n, err
			}
			if check != nil {
				check.Write(buf[:k])
			}
			n += int64(k)
		}
		if rerr == io.EOF {
			return n, nil
		}
		if rerr != nil {
			return n, rerr
		}
	}
}

// PruneHandoff removes from device (a handoff for partition) every object
// file that each of primaries holds or has superseded, as Swift's
// replicator deletes a handoff partition once every primary has it. Each
// object is checked and removed under its lock, so a write landing on the
// handoff meanwhile is kept. It returns how many objects remain (0 when
// the partition directory is gone).
func (s *ObjectStore) PruneHandoff(device string, partition int, primaries []string) (int, error) {
	partDir := s.partitionPath(device, partition)
	suffixes, err := s.fs.ReadDir(partDir)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	remain := 0
	for _, suf := range suffixes {
		if !validSuffix(suf) {
			continue
		}
		hashes, err := s.fs.ReadDir(filepath.Join(partDir, suf))
		if err != nil {
			if isNotDir(err) || errors.Is(err, os.ErrNotExist) {
				continue
			}
			return remain, err
		}
		for _, h := range hashes {
			kept, err := s.pruneHashDir(filepath.Join(partDir, suf, h), partition, suf, h, primaries)
			if err != nil {
				return remain, err
			}
			if kept {
				remain++
			}
		}
		s.fs.Remove(filepath.Join(partDir, suf)) // only if empty
	}
	if remain > 0 {
		return remain, nil
	}
	for _, n := range []string{hashesFile, invalidFile, partLockFile} {
		s.fs.Remove(filepath.Join(partDir, n))
	}
	if err := s.fs.Remove(partDir); err != nil && !errors.Is(err, os.ErrNotExist) {
		// Something new arrived meanwhile: keep it for the next pass.
		names, _ := s.fs.ReadDir(partDir)
		return len(names), nil
	}
	return 0, nil
}

func (s *ObjectStore) pruneHashDir(hd string, partition int, suf, h string, primaries []string) (bool, error) {
	mu := s.objectLock(hd)
	mu.Lock()
	defer mu.Unlock()
	_, names, err := s.cleanup(hd)
	if err != nil {
		return true, err
	}
	if len(names) == 0 {
		return false, nil
	}
	for _, p := range primaries {
		pnames, err := s.listHashDir(filepath.Join(s.partitionPath(p, partition), suf, h))
		if err != nil {
			return true, err
		}
		if len(missingFiles(names, pnames)) > 0 {
			return true, nil
		}
	}
	for _, n := range names {
		if err := s.fs.Remove(filepath.Join(hd, n)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return true, err
		}
	}
	s.fs.Remove(hd)
	return false, nil
}
