package auditor

import (
	"bufio"
	"fmt"
	"io"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// DefaultDriveErrorPatterns are Swift's drive-audit.conf defaults: each
// captures a kernel device name on a line reporting an error.
var DefaultDriveErrorPatterns = []string{
	`\berror\b.*\b(dm-[0-9]{1,2}\d?)\b`,
	`\b(sd[a-z]{1,2}\d?)\b.*\berror\b`,
	`\berror\b.*\bdev\s+(sd[a-z]{1,2}\d?|nvme\d+n\d+(?:p\d+)?|vd[a-z]{1,2}\d?)\b`,
}

// KernelLogErrors counts, per kernel device name, the lines of a kernel
// log newer than since that match one of patterns (whose first group is
// the device), as Swift's drive-audit does. Lines whose time cannot be
// read are counted (better a false alarm than a missed disk). year is
// used for syslog's yearless timestamps.
func KernelLogErrors(r io.Reader, since time.Time, patterns []*regexp.Regexp) (map[string]int, error) {
	out := map[string]int{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if t, ok := logLineTime(line, since); ok && t.Before(since) {
			continue
		}
		for _, re := range patterns {
			if m := re.FindStringSubmatch(line); len(m) > 1 && m[1] != "" {
				out[m[1]]++
				break
			}
		}
	}
	return out, sc.Err()
}

// logLineTime reads the time at the start of a syslog line: RFC 3339
// (rsyslog's and journald's) or the classic "Jan _2 15:04:05", whose year
// is taken from ref (the year before when that would be in the future).
func logLineTime(line string, ref time.Time) (time.Time, bool) {
	if sp := strings.IndexByte(line, ' '); sp > 0 {
		if t, err := time.Parse(time.RFC3339Nano, line[:sp]); err == nil {
			return t, true
		}
	}
	if len(line) >= 15 {
		if t, err := time.ParseInLocation(time.Stamp, line[:15], time.Local); err == nil {
			t = t.AddDate(ref.Year(), 0, 0)
			if t.After(time.Now().Add(24 * time.Hour)) {
				t = t.AddDate(-1, 0, 0)
			}
			return t, true
		}
	}
	return time.Time{}, false
}

// CompilePatterns compiles drive-audit regexes, each needing one group.
func CompilePatterns(pats []string) ([]*regexp.Regexp, error) {
	var out []*regexp.Regexp
	for _, p := range pats {
		re, err := regexp.Compile(p)
		if err != nil {
			return nil, fmt.Errorf("drive-audit: regex %q: %w", p, err)
		}
		if re.NumSubexp() < 1 {
			return nil, fmt.Errorf("drive-audit: regex %q must capture the device name in a group", p)
		}
		out = append(out, re)
	}
	return out, nil
}

// MountedDevices maps kernel device names (sdb1, and sdb for its whole
// disk) to the swiftbox device mounted from them under devicesDir, from a
// mounts table (/proc/mounts format).
func MountedDevices(mounts io.Reader, devicesDir string) map[string]string {
	out := map[string]string{}
	sc := bufio.NewScanner(mounts)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 2 || !strings.HasPrefix(f[0], "/dev/") {
			continue
		}
		mp := strings.ReplaceAll(f[1], `\040`, " ")
		if filepath.Dir(mp) != filepath.Clean(devicesDir) {
			continue
		}
		dev := filepath.Base(mp)
		kname := filepath.Base(f[0])
		out[kname] = dev
		// The whole disk of a partition: sdb1 → sdb, nvme0n1p1 → nvme0n1.
		if disk := strings.TrimRightFunc(kname, func(r rune) bool { return r >= '0' && r <= '9' }); disk != kname && !strings.HasSuffix(disk, "n") {
			out[strings.TrimSuffix(disk, "p")] = dev
			out[disk] = dev
		}
	}
	return out
}
