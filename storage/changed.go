package storage

import (
	"path/filepath"
	"strings"
	"time"
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
