package storage

import "swiftbox/storage/fsys"

// The object store's file system (storage/fsys), named here for its
// users.
type (
	FS      = fsys.FS
	File    = fsys.File
	FSStats = fsys.FSStats
	OSFS    = fsys.OSFS
)
