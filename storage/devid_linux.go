package storage

import "syscall"

// fsDeviceID is the st_dev of path: equal for paths on one filesystem.
func fsDeviceID(fs FS, path string) (uint64, bool) {
	fi, err := fs.Stat(path)
	if err != nil {
		return 0, false
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, false
	}
	return uint64(st.Dev), true
}
