package storage

// DeviceUsage returns the device's filesystem size and free space, reusing
// a reading younger than the device cache TTL (the one writes check the
// fallocate reserve against), so frequent scrapes cost no extra statfs.
func (s *ObjectStore) DeviceUsage(device string) (FSStats, error) {
	if err := s.CheckDevice(device); err != nil {
		return FSStats{}, err
	}
	return s.health.statfs(s.fs, device, s.devicePath(device), s.now(), s.cfg.DeviceCacheTTL)
}

// DevicePath is the device's directory under DevicesDir.
func (s *ObjectStore) DevicePath(device string) string { return s.devicePath(device) }
