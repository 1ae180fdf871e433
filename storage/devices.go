package storage

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// lostFound is the directory fsck keeps at the root of an ext2/3/4
// filesystem: when the devices root is itself a mounted filesystem it
// sits beside the devices, and is never one.
const lostFound = "lost+found"

// IsDeviceName reports whether a directory named name under the devices
// root may be a device: not hidden (serve keeps its state in a hidden
// directory there) and not lost+found.
func IsDeviceName(name string) bool {
	return name != "" && !strings.HasPrefix(name, ".") && name != lostFound
}

// ListDevices returns the device directories under dir, sorted, and the
// directories it skipped that an operator might have taken for devices
// (lost+found), for a warning.
func ListDevices(dir string) (devs, skipped []string, err error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, nil, fmt.Errorf("devices: %w", err)
	}
	for _, e := range ents {
		name := e.Name()
		if strings.HasPrefix(name, ".") {
			continue
		}
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil || !fi.IsDir() {
			continue
		}
		if !IsDeviceName(name) {
			skipped = append(skipped, name)
			continue
		}
		devs = append(devs, name)
	}
	sort.Strings(devs)
	return devs, skipped, nil
}
