package config

import "fmt"

// ReplicatorConfig is Swift's [object-replicator] (also used for the
// container and account replicators).
type ReplicatorConfig struct {
	// Interval is the pause between passes, in seconds (Swift's interval).
	Interval int `yaml:"interval"`
	// Concurrency is how many partitions are replicated at once.
	Concurrency int `yaml:"concurrency"`
	// BytesPerSecond caps the copy rate (Swift's rsync_bwlimit); 0 = unlimited.
	BytesPerSecond int64 `yaml:"bytes_per_second"`
}

// AuditorConfig is Swift's [object-auditor].
type AuditorConfig struct {
	// Interval is the pause between passes, in seconds.
	Interval int `yaml:"interval"`
	// FilesPerSecond and BytesPerSecond pace the full pass (MD5 of every body).
	FilesPerSecond int   `yaml:"files_per_second"`
	BytesPerSecond int64 `yaml:"bytes_per_second"`
	// ZeroByteFilesPerSecond paces the fast pass over zero-byte objects
	// (Swift's zero_byte_files_per_second).
	ZeroByteFilesPerSecond int `yaml:"zero_byte_files_per_second"`
}

func defaultReplicator() ReplicatorConfig {
	return ReplicatorConfig{Interval: 30, Concurrency: 1}
}

func defaultAuditor() AuditorConfig {
	return AuditorConfig{Interval: 30, FilesPerSecond: 20, BytesPerSecond: 10000000, ZeroByteFilesPerSecond: 50}
}

func (c *Config) finishDaemons() error {
	r, a := c.Replicator, c.Auditor
	switch {
	case r.Interval <= 0:
		return fmt.Errorf("config: replicator.interval must be positive, got %d", r.Interval)
	case r.Concurrency <= 0:
		return fmt.Errorf("config: replicator.concurrency must be positive, got %d", r.Concurrency)
	case r.BytesPerSecond < 0:
		return fmt.Errorf("config: replicator.bytes_per_second must be 0 (unlimited) or positive, got %d", r.BytesPerSecond)
	case a.Interval <= 0:
		return fmt.Errorf("config: auditor.interval must be positive, got %d", a.Interval)
	case a.FilesPerSecond < 0 || a.BytesPerSecond < 0 || a.ZeroByteFilesPerSecond < 0:
		return fmt.Errorf("config: auditor rates must be 0 (unlimited) or positive")
	}
	return nil
}
