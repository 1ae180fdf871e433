package storage

import (
	"io"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"swiftbox/ring"
)

// ObjectName is an object's account, container and name.
type ObjectName struct{ Account, Container, Object string }

// ChangedObjects returns the objects of partition on device whose hash
// directory changed at or after since: renaming a .data, .ts or .meta
// into a hash directory sets its mtime, which a crash cannot undo while
// keeping the file. The names come from the newest file's metadata;
// unreadable ones are skipped (the auditor deals with them).
func (s *ObjectStore) ChangedObjects(device string, partition int, since time.Time) ([]ObjectName, error) {
	part := s.partitionPath(device, partition)
	suffixes, err := s.fs.ReadDir(part)
	if err != nil {
		if errNotExist(err) || isNotDir(err) {
			return nil, nil
		}
		return nil, err
	}
	var out []ObjectName
	for _, suf := range suffixes {
		if !validSuffix(suf) {
			continue
		}
		hashes, err := s.fs.ReadDir(filepath.Join(part, suf))
		if err != nil {
			continue // removed meanwhile, or not a directory
		}
		for _, h := range hashes {
			hd := filepath.Join(part, suf, h)
			st, err := s.fs.Stat(hd)
			if err != nil || !st.IsDir() || st.ModTime().Before(since) {
				continue
			}
			names, err := s.listHashDir(hd)
			if err != nil {
				continue
			}
			od := resolve(names)
			var newest *fileInfo
			switch {
			case od.data != nil:
				newest = od.data
			case od.ts != nil:
				newest = od.ts
			default:
				continue
			}
			md, err := s.readFileMetadata(filepath.Join(hd, newest.name))
			if err != nil {
				continue
			}
			a, rest, ok1 := strings.Cut(strings.TrimPrefix(md["name"], "/"), "/")
			c, o, ok2 := strings.Cut(rest, "/")
			if ok1 && ok2 && a != "" && c != "" && o != "" {
				out = append(out, ObjectName{a, c, o})
			}
		}
	}
	return out, nil
}

// reconciledPath is the file in a device's update_journal directory that
// records, per policy, the time since which listings still need checking.
func (s *ObjectStore) reconciledPath(device string) string {
	return filepath.Join(s.devicePath(device), journalDir, ring.PolicyString("reconciled", s.policy))
}

// ReconciledSince returns the time recorded by SetReconciledSince for the
// policy on device; zero when none is (everything needs checking).
func (s *ObjectStore) ReconciledSince(device string) time.Time {
	f, err := s.fs.Open(s.reconciledPath(device))
	if err != nil {
		return time.Time{}
	}
	defer f.Close()
	raw, err := io.ReadAll(io.LimitReader(f, 64))
	if err != nil {
		return time.Time{}
	}
	ns, err := strconv.ParseInt(strings.TrimSpace(string(raw)), 10, 64)
	if err != nil {
		return time.Time{}
	}
	return time.Unix(0, ns)
}

// SetReconciledSince records that every listing row of the policy's
// objects on device changed before t agrees with the disk. It is not
// fsynced: losing it only widens the next check.
func (s *ObjectStore) SetReconciledSince(device string, t time.Time) error {
	tmp := filepath.Join(s.devicePath(device), s.tmpDir) // CleanupTmp removes leftovers
	for _, dir := range []string{tmp, filepath.Join(s.devicePath(device), journalDir)} {
		if err := s.fs.MkdirAll(dir, 0o755); err != nil {
			return noSpace(err)
		}
	}
	f, err := s.fs.CreateTemp(tmp, tmpPattern)
	if err != nil {
		return noSpace(err)
	}
	_, err = f.Write([]byte(strconv.FormatInt(t.UnixNano(), 10) + "\n"))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = s.fs.Rename(f.Name(), s.reconciledPath(device))
	}
	if err != nil {
		s.fs.Remove(f.Name())
		return noSpace(err)
	}
	return nil
}
