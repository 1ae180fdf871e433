package storage

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// Quarantine moves an object's hash directory to
// <dev>/quarantined/objects/<hash> (with a random suffix if that exists
// already) and invalidates its suffix so the replicator restores a good
// copy — Swift's quarantine_renamer. hashDir is the path HashDir returns
// or just the 32-digit object hash. Returns after the move and the
// invalidation are durable.
func (s *ObjectStore) Quarantine(device string, partition int, hashDir string) error {
	if !strings.ContainsRune(hashDir, '/') {
		if len(hashDir) < 3 {
			return os.ErrInvalid
		}
		hashDir = filepath.Join(s.partitionPath(device, partition), hashDir[len(hashDir)-3:], hashDir)
	}
	mu := s.objectLock(hashDir)
	mu.Lock()
	defer mu.Unlock()
	return s.quarantineDir(s.devicePath(device), hashDir)
}

// quarantineDir does the move for Quarantine; callers hold the object
// lock (or are hashing, where a non-directory is being moved).
func (s *ObjectStore) quarantineDir(devPath, hashDir string) error {
	qdir := filepath.Join(devPath, quarantineDir, s.dataDir)
	if err := s.mkdirAllSynced(qdir); err != nil {
		return err
	}
	dest := filepath.Join(qdir, filepath.Base(hashDir))
	if _, err := s.fs.Stat(dest); err == nil {
		var b [16]byte
		rand.Read(b[:])
		dest += "-" + hex.EncodeToString(b[:])
	}
	if err := s.fs.Rename(hashDir, dest); err != nil {
		return err
	}
	if err := s.fs.SyncDir(qdir); err != nil {
		return err
	}
	suffixDir := filepath.Dir(hashDir)
	if err := s.fs.SyncDir(suffixDir); err != nil {
		return err
	}
	return s.invalidateHash(filepath.Dir(suffixDir), filepath.Base(suffixDir))
}

func isNotDir(err error) bool { return errors.Is(err, syscall.ENOTDIR) }
