package db

import "errors"

var (
	// ErrNotFound means the database does not exist, or exists but is
	// deleted (Swift's 404). Info methods return the info alongside it when
	// the database exists but is deleted.
	ErrNotFound = errors.New("db: not found")

	// ErrNotEmpty means a container still holds live objects and cannot be
	// deleted (Swift's 409 on DELETE).
	ErrNotEmpty = errors.New("db: container not empty")

	// ErrConflict means a PUT or DELETE lost to a newer timestamp already in
	// the database, or a PUT named a storage policy different from the live
	// container's (Swift's 409).
	ErrConflict = errors.New("db: conflict")

	// ErrRecentlyDeleted means an account was deleted and has not been
	// reaped yet, so it cannot be re-created (Swift's 403 "Recently deleted").
	ErrRecentlyDeleted = errors.New("db: account recently deleted")

	// ErrDeviceUnavailable means the device directory is missing (the disk
	// is not mounted); callers answer 507 and never create the directory.
	ErrDeviceUnavailable = errors.New("db: device unavailable")

	// ErrCorrupt means the database file failed to open or failed a
	// consistency check; the auditor quarantines such files.
	ErrCorrupt = errors.New("db: corrupt database")

	// ErrHealthy means a database Quarantine was asked to move passed its
	// check once writers were fenced off, so it was left in place.
	ErrHealthy = errors.New("db: database passed its check")

	// ErrLastReplica means Quarantine found no other replica of a corrupt
	// database that passes its check, so it kept the database rather than
	// leave no copy at all.
	ErrLastReplica = errors.New("db: no other good replica")

	// ErrChanged means Remove found the database changed since its caller
	// decided to remove it, and kept it.
	ErrChanged = errors.New("db: database changed meanwhile")

	// ErrClosed means the Store has been closed.
	ErrClosed = errors.New("db: store closed")
)
