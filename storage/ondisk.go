package storage

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"swiftbox/storage/timestamp"
)

// File extensions of the replication policy.
const (
	extData = ".data"
	extTS   = ".ts"
	extMeta = ".meta"
)

// fileInfo is a parsed on-disk file name.
type fileInfo struct {
	name  string
	ext   string
	ts    timestamp.Timestamp
	ctype timestamp.Timestamp // .meta only; zero when not encoded
}

// metaFileName is Swift's make_on_disk_filename for .meta: the timestamp,
// plus the signed hex delta to the content-type timestamp when the .meta
// carries a Content-Type (encode_timestamps(ts, ctype, explicit=True)).
func metaFileName(ts timestamp.Timestamp, ctype *timestamp.Timestamp) string {
	if ctype == nil {
		return ts.Internal() + extMeta
	}
	return fmt.Sprintf("%s%+x%s", ts.Short(), ctype.Raw-ts.Raw, extMeta)
}

// parseFileName is Swift's parse_on_disk_filename for the replication
// policy. ok is false for names Swift would call unexpected (including our
// .meta-overflow sidecars and temp files).
func parseFileName(name string) (fileInfo, bool) {
	i := strings.LastIndexByte(name, '.')
	if i <= 0 {
		return fileInfo{}, false
	}
	fi := fileInfo{name: name, ext: name[i:]}
	base := name[:i]
	switch fi.ext {
	case extData, extTS:
		ts, err := timestamp.Parse(base)
		if err != nil {
			return fileInfo{}, false
		}
		fi.ts = ts
	case extMeta:
		j := strings.IndexAny(base, "+-")
		tsPart := base
		if j >= 0 {
			tsPart = base[:j]
		}
		ts, err := timestamp.Parse(tsPart)
		if err != nil {
			return fileInfo{}, false
		}
		fi.ts = ts
		if j >= 0 {
			rest := base[j:]
			if k := strings.IndexAny(rest[1:], "+-"); k >= 0 {
				rest = rest[:k+1]
			}
			delta, err := strconv.ParseInt(rest, 16, 64)
			if err != nil {
				return fileInfo{}, false
			}
			fi.ctype = ts
			if delta != 0 {
				fi.ctype = timestamp.Timestamp{Raw: ts.Raw + delta}
			}
		}
	default:
		return fileInfo{}, false
	}
	return fi, true
}

// ondisk is the outcome of Swift's get_ondisk_files for one hash dir.
type ondisk struct {
	data, meta, ctype, ts *fileInfo
	obsolete              []fileInfo
	possibleReclaim       []fileInfo
}

// resolve applies Swift's get_ondisk_files and, for the replication
// policy, _process_ondisk_files: the newest .data wins; a newer .ts hides
// it; the newest .meta newer than the .data overlays it (plus an older
// .meta whose content-type is newer); everything else is obsolete.
func resolve(names []string) ondisk {
	var r ondisk
	exts := map[string][]fileInfo{}
	for _, n := range names {
		if fi, ok := parseFileName(n); ok {
			exts[fi.ext] = append(exts[fi.ext], fi)
		}
	}
	for _, l := range exts {
		sort.SliceStable(l, func(i, j int) bool { return l[i].ts.After(l[j].ts) })
	}
	if tss := exts[extTS]; len(tss) > 0 {
		newest := tss[0].ts
		for ext, l := range exts {
			if ext == extTS {
				continue
			}
			keep, older := splitGT(l, newest)
			exts[ext] = keep
			r.obsolete = append(r.obsolete, older...)
		}
		r.obsolete = append(r.obsolete, tss[1:]...)
		exts[extTS] = tss[:1]
	}
	if metas := exts[extMeta]; len(metas) > 0 {
		retain := 1
		if len(metas) > 1 {
			rest := append([]fileInfo(nil), metas[1:]...)
			sort.SliceStable(rest, func(i, j int) bool { return rest[i].ctype.After(rest[j].ctype) })
			metas = append(metas[:1], rest...)
			if metas[1].ctype.After(metas[0].ctype) {
				if metas[1].ts.Compare(metas[0].ts) == 0 {
					metas[0], metas[1] = metas[1], metas[0]
				} else {
					retain = 2
				}
			}
		}
		r.obsolete = append(r.obsolete, metas[retain:]...)
		exts[extMeta] = metas[:retain]
	}
	if datas := exts[extData]; len(datas) > 0 {
		newest := datas[0].ts
		for ext, l := range exts {
			var keep, old []fileInfo
			if ext == extData {
				keep, old = splitGTE(l, newest)
			} else {
				keep, old = splitGT(l, newest)
			}
			exts[ext] = keep
			r.obsolete = append(r.obsolete, old...)
		}
		d := exts[extData][0]
		r.data = &d
	} else if len(exts[extMeta]) > 0 {
		r.possibleReclaim = append(r.possibleReclaim, exts[extMeta]...)
	}
	if r.data != nil {
		if metas := exts[extMeta]; len(metas) > 0 {
			m := metas[0]
			r.meta = &m
			c := metas[len(metas)-1]
			if c.ctype.After(r.data.ts) {
				r.ctype = &c
			}
		}
	} else if tss := exts[extTS]; len(tss) > 0 {
		t := tss[0]
		r.ts = &t
	}
	return r
}

func splitGT(l []fileInfo, ts timestamp.Timestamp) (newer, rest []fileInfo) {
	for _, fi := range l {
		if fi.ts.After(ts) {
			newer = append(newer, fi)
		} else {
			rest = append(rest, fi)
		}
	}
	return newer, rest
}

func splitGTE(l []fileInfo, ts timestamp.Timestamp) (newer, rest []fileInfo) {
	for _, fi := range l {
		if fi.ts.Compare(ts) >= 0 {
			newer = append(newer, fi)
		} else {
			rest = append(rest, fi)
		}
	}
	return newer, rest
}

// newest returns the timestamp of the .data or .ts defining the object's
// state and whether it is a live object; zero if none.
func (r ondisk) newest() (timestamp.Timestamp, bool) {
	switch {
	case r.data != nil:
		return r.data.ts, true
	case r.ts != nil:
		return r.ts.ts, false
	}
	return timestamp.Timestamp{}, false
}

// listHashDir returns the names in hashDir; none if it does not exist.
func (s *ObjectStore) listHashDir(hashDir string) ([]string, error) {
	names, err := s.fs.ReadDir(hashDir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	return names, err
}

// cleanup is Swift's cleanup_ondisk_files: it removes obsolete files,
// tombstones and stray .meta files older than ReclaimAge, and overflow
// sidecars whose file is gone; it removes hashDir if that leaves it empty.
// It returns the resolution of what remains and the remaining names.
// Removals need no fsync: a crash that undoes one leaves an obsolete file,
// which the next cleanup removes again. Callers hold the object lock.
func (s *ObjectStore) cleanup(hashDir string) (ondisk, []string, error) {
	names, err := s.listHashDir(hashDir)
	if err != nil || names == nil {
		return ondisk{}, nil, err
	}
	r := resolve(names)
	reclaimable := func(ts timestamp.Timestamp) bool {
		return s.now().Sub(ts.Time()) > s.cfg.ReclaimAge
	}
	remove := map[string]bool{}
	if r.ts != nil && reclaimable(r.ts.ts) {
		remove[r.ts.name] = true
		r.ts = nil
	}
	for _, fi := range r.possibleReclaim {
		if reclaimable(fi.ts) {
			remove[fi.name] = true
		}
	}
	for _, fi := range r.obsolete {
		remove[fi.name] = true
	}
	present := map[string]bool{}
	for _, n := range names {
		if !remove[n] {
			present[n] = true
		}
	}
	for _, n := range names {
		if base, ok := strings.CutSuffix(n, overflowSuffix); ok && !present[base] {
			remove[n] = true
		}
	}
	var kept []string
	for _, n := range names {
		if !remove[n] {
			kept = append(kept, n)
			continue
		}
		if err := s.fs.Remove(filepath.Join(hashDir, n)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return r, nil, err
		}
	}
	if len(kept) == 0 {
		s.fs.Remove(hashDir)
		return ondisk{}, nil, nil
	}
	return resolve(kept), kept, nil
}
