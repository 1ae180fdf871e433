package storage

import (
	"errors"
	"fmt"

	"swiftbox/storage/timestamp"
)

var (
	// ErrNotFound: no object exists at the path (Swift's 404). DeletedError
	// and ErrQuarantined also match it with errors.Is.
	ErrNotFound = errors.New("storage: object not found")

	// ErrConflict: an object or tombstone at least as new as the request
	// already exists (Swift's 409). Returned wrapped in *ConflictError.
	ErrConflict = errors.New("storage: newer object exists")

	// ErrDeviceUnavailable: the device is missing, not a mount point when
	// mount checks are on, or not writable (Swift's 507).
	ErrDeviceUnavailable = errors.New("storage: device unavailable")

	// ErrNoSpace: the device cannot hold the object while keeping
	// fallocate_reserve free, or a write hit ENOSPC (Swift's 507).
	ErrNoSpace = errors.New("storage: no space left on device")

	// ErrQuarantined: the object's files were corrupt and have been moved to
	// <dev>/quarantined; errors.Is(ErrQuarantined, ErrNotFound) is true.
	ErrQuarantined error = quarantinedError{}

	// ErrXattrUnsupported: the filesystem does not support user xattrs.
	ErrXattrUnsupported = errors.New("storage: filesystem does not support user xattrs")

	// ErrBadMetadata: metadata could not be read, failed its checksum or
	// did not unpickle.
	ErrBadMetadata = errors.New("storage: bad object metadata")

	// ErrSizeMismatch: Commit was called after fewer or more bytes than the
	// size given to NewWriter (Swift's 499); nothing was stored.
	ErrSizeMismatch = errors.New("storage: body size differs from declared size")

	// ErrETagMismatch: Commit metadata carried an ETag that differs from the
	// MD5 of the bytes written (Swift's 422); nothing was stored.
	ErrETagMismatch = errors.New("storage: ETag does not match body")
)

type quarantinedError struct{}

func (quarantinedError) Error() string { return "storage: object quarantined" }

func (quarantinedError) Is(target error) bool { return target == ErrNotFound }

// DeletedError reports that the newest state of the object is a tombstone
// written at Timestamp. errors.Is(err, ErrNotFound) is true.
type DeletedError struct {
	Timestamp timestamp.Timestamp
}

func (e *DeletedError) Error() string {
	return fmt.Sprintf("storage: object deleted at %s", e.Timestamp.Internal())
}

// Is makes DeletedError match ErrNotFound.
func (e *DeletedError) Is(target error) bool { return target == ErrNotFound }

// ConflictError reports that a .data or .ts at Timestamp, not older than the
// request's timestamp, already exists. errors.Is(err, ErrConflict) is true.
type ConflictError struct {
	Timestamp timestamp.Timestamp
}

func (e *ConflictError) Error() string {
	return fmt.Sprintf("storage: object exists with timestamp %s", e.Timestamp.Internal())
}

// Is makes ConflictError match ErrConflict.
func (e *ConflictError) Is(target error) bool { return target == ErrConflict }

// deviceError wraps ErrDeviceUnavailable with the reason.
func deviceError(device, reason string) error {
	return fmt.Errorf("%w: %s: %s", ErrDeviceUnavailable, device, reason)
}
