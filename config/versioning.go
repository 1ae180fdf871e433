package config

import "fmt"

// SymlinkConfig is Swift's [filter:symlink].
type SymlinkConfig struct {
	// SymloopMax is how many links a GET/HEAD follows (Swift's symloop_max).
	SymloopMax int `yaml:"symloop_max"`
}

// VersioningConfig is Swift's [filter:versioned_writes].
type VersioningConfig struct {
	// AllowVersionedWrites turns on X-Versions-Location / X-History-Location.
	AllowVersionedWrites bool `yaml:"allow_versioned_writes"`
	// AllowObjectVersioning turns on X-Versions-Enabled.
	AllowObjectVersioning bool `yaml:"allow_object_versioning"`
}

func defaultSymlink() SymlinkConfig { return SymlinkConfig{SymloopMax: 2} }

func defaultVersioning() VersioningConfig {
	return VersioningConfig{AllowVersionedWrites: true, AllowObjectVersioning: true}
}

func (c *Config) finishVersioning() error {
	if c.Symlink.SymloopMax < 1 {
		return fmt.Errorf("config: symlink.symloop_max must be at least 1, got %d", c.Symlink.SymloopMax)
	}
	return nil
}
