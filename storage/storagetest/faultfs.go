// Package storagetest is test support for the storage packages and their
// users: FaultFS, a file system that injects errors and simulates crashes.
package storagetest

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"golang.org/x/sys/unix"

	"swiftbox/storage/fsys"
)

// Op names an FS operation for FaultFS.Inject.
type Op string

// Operations FaultFS can fail.
const (
	OpCreate    Op = "create"
	OpOpen      Op = "open"
	OpWrite     Op = "write"
	OpSync      Op = "sync" // File.Sync and File.Datasync
	OpFallocate Op = "fallocate"
	OpSetxattr  Op = "setxattr"
	OpGetxattr  Op = "getxattr"
	OpRename    Op = "rename"
	OpLink      Op = "link"
	OpRemove    Op = "remove"
	OpMkdir     Op = "mkdir"
	OpSyncDir   Op = "syncdir"
	OpSyncfs    Op = "syncfs"
	OpStatfs    Op = "statfs"
	OpRead      Op = "read" // File.ReadAt
)

// FaultFS wraps an FS for tests: it injects errors, emulates small xattr
// space (ext4 keeps all of an inode's xattrs in one 4 KiB block) or none,
// overrides free space, and can simulate a crash that loses everything not
// made durable by fsync.
//
// Crash model: file contents written since the file's last Sync/Datasync are
// lost (the file is truncated to its size at that sync), and directory
// entries created, renamed or linked through this FaultFS since the last
// SyncDir of their parent directory are undone. Removals are not undone.
type FaultFS struct {
	Inner fsys.FS

	// Inject, when set, is called before each operation; a non-nil result
	// is returned as the operation's error (wrapped in *os.PathError) and
	// the operation is not performed.
	Inject func(op Op, path string) error

	// XattrLimit, when > 0, is the xattr space per file in bytes; a
	// Setxattr that would need more fails with XattrErr (default ENOSPC).
	// Each xattr costs len(name)+len(value)+16, roughly as on ext4.
	XattrLimit int
	XattrErr   error

	// NoXattr makes every xattr operation fail with ENOTSUP.
	NoXattr bool

	// Avail, when non-nil, replaces the available bytes Statfs reports.
	Avail *uint64

	mu    sync.Mutex
	files map[string]*faultFile // by current path, files opened for writing
	ops   []dirOp               // directory changes not yet synced
}

type dirOp struct {
	kind     Op // OpCreate, OpRename, OpLink, OpMkdir
	old, new string
}

// NewFaultFS wraps inner (nil = the real one, fsys.OSFS).
func NewFaultFS(inner fsys.FS) *FaultFS {
	if inner == nil {
		inner = fsys.OSFS{}
	}
	return &FaultFS{Inner: inner, files: map[string]*faultFile{}}
}

func (f *FaultFS) inject(op Op, path string) error {
	if f.Inject == nil {
		return nil
	}
	if err := f.Inject(op, path); err != nil {
		return &os.PathError{Op: string(op), Path: path, Err: err}
	}
	return nil
}

func (f *FaultFS) track(ff *faultFile, created bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.files[ff.path] = ff
	if created {
		f.ops = append(f.ops, dirOp{kind: OpCreate, new: ff.path})
	}
}

func (f *FaultFS) CreateTemp(dir, pattern string) (fsys.File, error) {
	if err := f.inject(OpCreate, dir); err != nil {
		return nil, err
	}
	inner, err := f.Inner.CreateTemp(dir, pattern)
	if err != nil {
		return nil, err
	}
	ff := &faultFile{File: inner, fs: f, path: inner.Name()}
	f.track(ff, true)
	return ff, nil
}

func (f *FaultFS) Open(name string) (fsys.File, error) {
	if err := f.inject(OpOpen, name); err != nil {
		return nil, err
	}
	inner, err := f.Inner.Open(name)
	if err != nil {
		return nil, err
	}
	return &faultFile{File: inner, fs: f, path: name, readOnly: true}, nil
}

func (f *FaultFS) OpenFile(name string, flag int, perm os.FileMode) (fsys.File, error) {
	op := OpOpen
	if flag&(os.O_WRONLY|os.O_RDWR) != 0 {
		op = OpCreate
	}
	if err := f.inject(op, name); err != nil {
		return nil, err
	}
	_, statErr := f.Inner.Stat(name)
	inner, err := f.Inner.OpenFile(name, flag, perm)
	if err != nil {
		return nil, err
	}
	ff := &faultFile{File: inner, fs: f, path: name, readOnly: op == OpOpen}
	if !ff.readOnly {
		f.mu.Lock()
		if prev, ok := f.files[name]; ok {
			ff.durable = prev.durable
		} else if statErr == nil {
			if st, err := inner.Stat(); err == nil {
				ff.durable = st.Size()
			}
		}
		f.mu.Unlock()
		f.track(ff, statErr != nil)
	}
	return ff, nil
}

func (f *FaultFS) Rename(oldpath, newpath string) error {
	if err := f.inject(OpRename, newpath); err != nil {
		return err
	}
	if err := f.Inner.Rename(oldpath, newpath); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if ff, ok := f.files[oldpath]; ok {
		delete(f.files, oldpath)
		ff.path = newpath
		f.files[newpath] = ff
	}
	f.ops = append(f.ops, dirOp{kind: OpRename, old: oldpath, new: newpath})
	return nil
}

func (f *FaultFS) Link(oldpath, newpath string) error {
	if err := f.inject(OpLink, newpath); err != nil {
		return err
	}
	if err := f.Inner.Link(oldpath, newpath); err != nil {
		return err
	}
	f.mu.Lock()
	f.ops = append(f.ops, dirOp{kind: OpLink, old: oldpath, new: newpath})
	f.mu.Unlock()
	return nil
}

func (f *FaultFS) Remove(name string) error {
	if err := f.inject(OpRemove, name); err != nil {
		return err
	}
	if err := f.Inner.Remove(name); err != nil {
		return err
	}
	f.mu.Lock()
	delete(f.files, name)
	f.mu.Unlock()
	return nil
}

func (f *FaultFS) MkdirAll(dir string, perm os.FileMode) error {
	if err := f.inject(OpMkdir, dir); err != nil {
		return err
	}
	var missing []string
	for d := filepath.Clean(dir); ; d = filepath.Dir(d) {
		if _, err := f.Inner.Stat(d); err == nil || d == filepath.Dir(d) {
			break
		}
		missing = append(missing, d)
	}
	if err := f.Inner.MkdirAll(dir, perm); err != nil {
		return err
	}
	f.mu.Lock()
	for i := len(missing) - 1; i >= 0; i-- {
		f.ops = append(f.ops, dirOp{kind: OpMkdir, new: missing[i]})
	}
	f.mu.Unlock()
	return nil
}

func (f *FaultFS) ReadDir(dir string) ([]string, error) {
	if err := f.inject(OpOpen, dir); err != nil {
		return nil, err
	}
	return f.Inner.ReadDir(dir)
}

func (f *FaultFS) Stat(name string) (os.FileInfo, error) { return f.Inner.Stat(name) }

func (f *FaultFS) SyncDir(dir string) error {
	if err := f.inject(OpSyncDir, dir); err != nil {
		return err
	}
	if err := f.Inner.SyncDir(dir); err != nil {
		return err
	}
	dir = filepath.Clean(dir)
	f.mu.Lock()
	defer f.mu.Unlock()
	kept := f.ops[:0]
	for _, o := range f.ops {
		if filepath.Dir(o.new) != dir {
			kept = append(kept, o)
		}
	}
	f.ops = kept
	return nil
}

// Syncfs makes every tracked file and directory change durable, as
// syncfs(2) does for the whole filesystem.
func (f *FaultFS) Syncfs(path string) error {
	if err := f.inject(OpSyncfs, path); err != nil {
		return err
	}
	if err := f.Inner.Syncfs(path); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ops = nil
	for path, ff := range f.files {
		if st, err := f.Inner.Stat(path); err == nil {
			ff.durable = st.Size()
		}
		ff.dirty = false
	}
	return nil
}

func (f *FaultFS) Statfs(path string) (fsys.FSStats, error) {
	if err := f.inject(OpStatfs, path); err != nil {
		return fsys.FSStats{}, err
	}
	st, err := f.Inner.Statfs(path)
	if err == nil && f.Avail != nil {
		st.Avail = *f.Avail
	}
	return st, err
}

func (f *FaultFS) Lock(name string) (io.Closer, error) {
	if err := f.inject(OpCreate, name); err != nil {
		return nil, err
	}
	return f.Inner.Lock(name)
}

// Crash simulates power loss: it undoes directory changes whose parent was
// not synced since (newest first) and truncates files to their last synced
// size. Files opened before Crash must not be used after it.
func (f *FaultFS) Crash() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	var errs []error
	for i := len(f.ops) - 1; i >= 0; i-- {
		o := f.ops[i]
		switch o.kind {
		case OpCreate, OpLink:
			if err := f.Inner.Remove(o.new); err != nil && !errors.Is(err, os.ErrNotExist) {
				errs = append(errs, err)
			}
			delete(f.files, o.new)
		case OpRename:
			if err := f.Inner.Rename(o.new, o.old); err != nil && !errors.Is(err, os.ErrNotExist) {
				errs = append(errs, err)
			}
			if ff, ok := f.files[o.new]; ok {
				delete(f.files, o.new)
				ff.path = o.old
				f.files[o.old] = ff
			}
		case OpMkdir:
			errs = append(errs, f.removeTree(o.new))
		}
	}
	f.ops = nil
	for path, ff := range f.files {
		if ff.dirty {
			if err := os.Truncate(path, ff.durable); err != nil && !errors.Is(err, os.ErrNotExist) {
				errs = append(errs, err)
			}
		}
	}
	f.files = map[string]*faultFile{}
	return errors.Join(errs...)
}

func (f *FaultFS) removeTree(dir string) error {
	names, err := f.Inner.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return f.Inner.Remove(dir)
	}
	for _, n := range names {
		p := filepath.Join(dir, n)
		if st, err := f.Inner.Stat(p); err == nil && st.IsDir() {
			if err := f.removeTree(p); err != nil {
				return err
			}
			continue
		}
		if err := f.Inner.Remove(p); err != nil {
			return err
		}
		delete(f.files, p)
	}
	return f.Inner.Remove(dir)
}

type faultFile struct {
	fsys.File
	fs       *FaultFS
	path     string
	readOnly bool
	durable  int64 // size at the last sync
	dirty    bool
}

func (ff *faultFile) ReadAt(p []byte, off int64) (int, error) {
	if err := ff.fs.inject(OpRead, ff.path); err != nil {
		return 0, err
	}
	return ff.File.ReadAt(p, off)
}

func (ff *faultFile) Write(p []byte) (int, error) {
	if err := ff.fs.inject(OpWrite, ff.path); err != nil {
		return 0, err
	}
	ff.fs.mu.Lock()
	ff.dirty = true
	ff.fs.mu.Unlock()
	return ff.File.Write(p)
}

func (ff *faultFile) Truncate(size int64) error {
	if err := ff.fs.inject(OpWrite, ff.path); err != nil {
		return err
	}
	ff.fs.mu.Lock()
	ff.dirty = true
	ff.fs.mu.Unlock()
	return ff.File.Truncate(size)
}

func (ff *faultFile) synced(err error) error {
	if err != nil {
		return err
	}
	st, err := ff.File.Stat()
	if err != nil {
		return err
	}
	ff.fs.mu.Lock()
	ff.durable, ff.dirty = st.Size(), false
	ff.fs.mu.Unlock()
	return nil
}

func (ff *faultFile) Sync() error {
	if err := ff.fs.inject(OpSync, ff.path); err != nil {
		return err
	}
	return ff.synced(ff.File.Sync())
}

// StartWriteback is passed through; it makes nothing durable.
func (ff *faultFile) StartWriteback(off, n int64) error { return ff.File.StartWriteback(off, n) }

func (ff *faultFile) Datasync() error {
	if err := ff.fs.inject(OpSync, ff.path); err != nil {
		return err
	}
	return ff.synced(ff.File.Datasync())
}

func (ff *faultFile) Fallocate(size int64) error {
	if err := ff.fs.inject(OpFallocate, ff.path); err != nil {
		return err
	}
	return ff.File.Fallocate(size)
}

func (ff *faultFile) xattrErr(op Op, name string) error {
	if ff.fs.NoXattr {
		return &os.PathError{Op: string(op), Path: ff.path, Err: unix.ENOTSUP}
	}
	return ff.fs.inject(op, ff.path+"@"+name)
}

func (ff *faultFile) Getxattr(name string) ([]byte, error) {
	if err := ff.xattrErr(OpGetxattr, name); err != nil {
		return nil, err
	}
	return ff.File.Getxattr(name)
}

func (ff *faultFile) Listxattr() ([]string, error) {
	if err := ff.xattrErr(OpGetxattr, ""); err != nil {
		return nil, err
	}
	return ff.File.Listxattr()
}

func (ff *faultFile) Removexattr(name string) error {
	if err := ff.xattrErr(OpSetxattr, name); err != nil {
		return err
	}
	return ff.File.Removexattr(name)
}

func (ff *faultFile) Setxattr(name string, value []byte) error {
	if err := ff.xattrErr(OpSetxattr, name); err != nil {
		return err
	}
	if ff.fs.XattrLimit > 0 {
		used := len(name) + len(value) + 16
		names, err := ff.File.Listxattr()
		if err != nil {
			return err
		}
		for _, n := range names {
			if n == name || !strings.HasPrefix(n, "user.") {
				continue
			}
			v, err := ff.File.Getxattr(n)
			if err != nil {
				return err
			}
			used += len(n) + len(v) + 16
		}
		if used > ff.fs.XattrLimit {
			e := ff.fs.XattrErr
			if e == nil {
				e = unix.ENOSPC
			}
			return &os.PathError{Op: "setxattr", Path: ff.path, Err: e}
		}
	}
	return ff.File.Setxattr(name, value)
}
