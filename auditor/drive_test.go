package auditor

import (
	"strings"
	"testing"
	"time"
)

func TestKernelLogErrors(t *testing.T) {
	now := time.Now()
	recent := now.Add(-5 * time.Minute).Format(time.Stamp)
	old := now.Add(-3 * time.Hour).Format(time.Stamp)
	iso := now.Add(-time.Minute).UTC().Format(time.RFC3339Nano)
	log := strings.Join([]string{
		recent + " box kernel: [ 812.1] blk_update_request: I/O error, dev sdc, sector 2048 op 0x1:(WRITE)",
		recent + " box kernel: [ 812.2] sdc1: error reading superblock",
		old + " box kernel: [  12.0] sdb: error long ago",
		iso + " box kernel: Buffer I/O error on device dm-3, logical block 7",
		recent + " box kernel: usb 1-1: new high-speed USB device",
	}, "\n")
	res, err := CompilePatterns(DefaultDriveErrorPatterns)
	if err != nil {
		t.Fatal(err)
	}
	got, err := KernelLogErrors(strings.NewReader(log), now.Add(-time.Hour), res)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int{"sdc": 1, "sdc1": 1, "dm-3": 1}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Fatalf("got %v, want %v", got, want)
		}
	}
	if _, err := CompilePatterns([]string{`no group`}); err == nil {
		t.Fatal("a pattern without a group must be refused")
	}
	if _, err := CompilePatterns([]string{`(`}); err == nil {
		t.Fatal("a bad regex must be refused")
	}
}

func TestMountedDevices(t *testing.T) {
	mounts := "/dev/sdc1 /srv/node/d2 xfs rw 0 0\n/dev/nvme0n1p2 /srv/node/d3 ext4 rw 0 0\n/dev/sda1 / ext4 rw 0 0\ntmpfs /srv/node/x tmpfs rw 0 0\n"
	got := MountedDevices(strings.NewReader(mounts), "/srv/node")
	for k, v := range map[string]string{"sdc1": "d2", "sdc": "d2", "nvme0n1p2": "d3", "nvme0n1": "d3"} {
		if got[k] != v {
			t.Fatalf("%s → %q, want %q (all: %v)", k, got[k], v, got)
		}
	}
	if _, ok := got["sda1"]; ok {
		t.Fatal("root filesystem is not a device")
	}
}
