package ring

import "errors"

var (
	// ErrNotRing means a file is not a Swift ring: no gzip stream or no
	// "R1NG" magic (pre-1.x pickled rings are not supported either).
	ErrNotRing = errors.New("ring: not a Swift ring file")

	// ErrUnsupportedFormat means the ring format version is neither 1 nor 2,
	// or a v2 ring uses device ids that do not fit in 16 bits.
	ErrUnsupportedFormat = errors.New("ring: unsupported ring format")

	// ErrCorruptRing means the ring's structure is inconsistent: truncated
	// tables, bad JSON, a checksum mismatch, or an assignment that names
	// a device the ring does not have.
	ErrCorruptRing = errors.New("ring: corrupt ring")

	// ErrInvalidDevice means a device definition is unusable (empty ip or
	// device name, bad port, negative or non-finite weight, ...).
	ErrInvalidDevice = errors.New("ring: invalid device")

	// ErrDuplicateDevice means another device already uses the same
	// ip:port/device.
	ErrDuplicateDevice = errors.New("ring: duplicate device")

	// ErrNoSuchDevice means no (live) device has the given id.
	ErrNoSuchDevice = errors.New("ring: no such device")

	// ErrInvalidBuilder means builder parameters are out of range
	// (part power, replicas, min_part_hours) or a builder file is malformed.
	ErrInvalidBuilder = errors.New("ring: invalid builder")

	// ErrTooFewDevices means fewer weighted devices than replicas: Swift
	// refuses to place two replicas of a partition on one device, and so
	// does swiftbox.
	ErrTooFewDevices = errors.New("ring: fewer weighted devices than replicas")
)
