package storage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// HashDirRef names one object directory on a device.
type HashDirRef struct {
	Partition int
	Suffix    string
	Path      string // <dev>/objects/<part>/<suffix>/<hash>
}

// WalkObjects calls fn for every object directory under partition
// partition of device (every partition when partition < 0), in directory
// order, and afterPart after each partition. A non-nil error from fn stops
// the walk and is returned.
func (s *ObjectStore) WalkObjects(device string, partition int, fn func(HashDirRef) error, afterPart func(part int, suffixes []string)) error {
	parts := []int{partition}
	if partition < 0 {
		var err error
		if parts, err = s.Partitions(device); err != nil {
			return err
		}
	}
	for _, p := range parts {
		partDir := s.partitionPath(device, p)
		names, err := s.fs.ReadDir(partDir)
		if err != nil {
			if errors.Is(err, os.ErrNotExist) || isNotDir(err) {
				continue
			}
			return err
		}
		var suffixes []string
		for _, suf := range names {
			if !validSuffix(suf) {
				continue
			}
			suffixes = append(suffixes, suf)
			hashes, err := s.fs.ReadDir(filepath.Join(partDir, suf))
			if err != nil {
				if errors.Is(err, os.ErrNotExist) || isNotDir(err) {
					continue
				}
				return err
			}
			for _, h := range hashes {
				if err := fn(HashDirRef{Partition: p, Suffix: suf, Path: filepath.Join(partDir, suf, h)}); err != nil {
					return err
				}
			}
		}
		if afterPart != nil {
			afterPart(p, suffixes)
		}
	}
	return nil
}

// AuditResult is what auditing one object found.
type AuditResult struct {
	// Bytes is the body size read to check it (0 when only metadata was
	// checked or there is no .data).
	Bytes int64
	// Size is the .data size; -1 when the object is deleted or missing.
	Size int64
	// Quarantined is set when the object was moved to quarantine; Reason
	// says why.
	Quarantined bool
	Reason      string
}

// AuditObject checks one object as Swift's object auditor does: its
// metadata reads and unpickles, Content-Length equals the size of the
// .data, and the body matches its block table (blocks.go) and its MD5 the
// ETag — for zero-byte objects only when zeroByteOnly (Swift's fast ZBF
// pass). An object without a block table gets one once its MD5 matched,
// so its ranges can be verified. A failing object is
// quarantined (moved to <dev>/quarantined/objects, suffix invalidated).
// lim paces the body read; it may be nil. When ctx ends the check stops
// with ctx's error. A deleted object (only a
// tombstone) passes with Size -1.
func (s *ObjectStore) AuditObject(ctx context.Context, device string, ref HashDirRef, zeroByteOnly bool, lim Limiter) (AuditResult, error) {
	res := AuditResult{Size: -1}
	r, err := s.open(device, ref.Partition, ref.Path)
	if err != nil {
		switch {
		case errors.Is(err, ErrQuarantined):
			res.Quarantined, res.Reason = true, err.Error()
			return res, nil
		case errors.Is(err, ErrNotFound), isNotDir(err):
			return res, nil
		}
		return res, err
	}
	defer r.Close()
	res.Size = r.Size()
	if zeroByteOnly && res.Size > 0 {
		return res, nil
	}
	if _, ok := r.Metadata()["ETag"]; !ok {
		return res, s.quarantineAudit(device, ref, &res, fmt.Errorf("%s: no ETag in metadata", ref.Path))
	}
	vr := r.VerifyingReader()
	buf := make([]byte, 256<<10)
	for {
		if err := ctx.Err(); err != nil {
			return res, err // stopping: the object is neither good nor bad
		}
		n, err := vr.Read(buf)
		res.Bytes += int64(n)
		if lim != nil && n > 0 {
			lim.Wait(n)
		}
		if err == io.EOF {
			return res, nil
		}
		if errors.Is(err, ErrQuarantined) {
			res.Quarantined, res.Reason = true, err.Error()
			return res, nil
		}
		if errors.Is(err, ErrCorrupt) && !errors.Is(err, errQuarantineFailed) {
			// Replaced by a newer version meanwhile, or a bad read that
			// did not repeat: nothing to act on now.
			return res, nil
		}
		if err != nil {
			// An unreadable body (EIO) is corruption too.
			return res, s.quarantineAudit(device, ref, &res, fmt.Errorf("%s: reading body: %w", ref.Path, err))
		}
	}
}

func (s *ObjectStore) quarantineAudit(device string, ref HashDirRef, res *AuditResult, cause error) error {
	err := s.quarantineAfter(device, ref.Partition, ref.Path, cause)
	if errors.Is(err, ErrQuarantined) {
		res.Quarantined, res.Reason = true, err.Error()
		return nil
	}
	return err
}

// RehashPartition recomputes every suffix hash of partition from the
// directories, as if hashes.pkl were lost: files removed by hand or by a
// failing disk then show up as a difference to the replicator.
func (s *ObjectStore) RehashPartition(device string, partition int, suffixes []string) error {
	_, err := s.SuffixHashes(device, partition, suffixes)
	return err
}

// QuarantinedCount counts the object directories in device's quarantine.
func (s *ObjectStore) QuarantinedCount(device string) int {
	names, err := s.fs.ReadDir(filepath.Join(s.devicePath(device), quarantineDir, s.dataDir))
	if err != nil {
		return 0
	}
	return len(names)
}
