// Package fsys is the file system the object store performs every disk
// operation through: an interface, so tests can put a fault-injecting one
// (storage/storagetest) in place of the real one, OSFS.
package fsys

import (
	"io"
	"os"
)

// FS is every disk operation the object store performs. OSFS is the real
// implementation; storagetest.FaultFS wraps any FS to inject errors and
// simulate crashes so each durability claim can be tested.
type FS interface {
	// CreateTemp creates a new file in dir, opened read-write, mode 0600,
	// named from pattern as os.CreateTemp does.
	CreateTemp(dir, pattern string) (File, error)
	// Open opens name read-only.
	Open(name string) (File, error)
	// OpenFile opens name with os.OpenFile flags.
	OpenFile(name string, flag int, perm os.FileMode) (File, error)
	// Rename atomically replaces newpath with oldpath. It is durable only
	// once both parent directories are synced.
	Rename(oldpath, newpath string) error
	// Link creates newpath as a hard link to oldpath.
	Link(oldpath, newpath string) error
	// Remove removes a file or an empty directory.
	Remove(name string) error
	// MkdirAll creates dir and any missing parents.
	MkdirAll(dir string, perm os.FileMode) error
	// ReadDir returns the names in dir, sorted.
	ReadDir(dir string) ([]string, error)
	// Stat returns the FileInfo for name, following symlinks.
	Stat(name string) (os.FileInfo, error)
	// SyncDir fsyncs directory dir, making entries created, renamed or
	// removed in it durable.
	SyncDir(dir string) error
	// Syncfs makes everything written to the filesystem holding path
	// durable: file data, metadata, xattrs and directory entries (syncfs(2)).
	Syncfs(path string) error
	// Statfs reports the size and free space of the filesystem holding path.
	Statfs(path string) (FSStats, error)
	// Lock takes an exclusive flock on name (created if absent), blocking
	// until it is free. Closing the result releases it.
	Lock(name string) (io.Closer, error)
}

// File is an open file of an FS.
type File interface {
	io.Reader
	io.ReaderAt
	io.Writer
	io.Closer
	// Name is the path the file was opened or created with.
	Name() string
	Stat() (os.FileInfo, error)
	Truncate(size int64) error
	// Sync is fsync: data, size and xattrs become durable.
	Sync() error
	// Datasync is fdatasync: data becomes durable, not necessarily xattrs.
	Datasync() error
	// StartWriteback asks the kernel to begin writing n bytes from off to
	// disk without waiting (sync_file_range WRITE): a hint that keeps a
	// long upload's final fsync short. It promises no durability.
	StartWriteback(off, n int64) error
	// Fallocate reserves size bytes without changing the file size
	// (FALLOC_FL_KEEP_SIZE). Filesystems without fallocate succeed.
	Fallocate(size int64) error
	// Getxattr returns the value of xattr name; an error matching
	// ENODATA when it is absent.
	Getxattr(name string) ([]byte, error)
	Setxattr(name string, value []byte) error
	Removexattr(name string) error
	Listxattr() ([]string, error)
}

// FSStats is a filesystem's size and the space available to unprivileged
// writers, in bytes.
type FSStats struct {
	Total, Avail uint64
}
