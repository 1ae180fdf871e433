package cli

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/spf13/cobra"

	"swiftbox/auditor"
)

func init() {
	a := &driveAudit{}
	cmd := &cobra.Command{
		Use:   "drive-audit",
		Short: "Find devices with errors in the kernel log (like swift-drive-audit); --unmount marks them failed",
		Long: `drive-audit scans the kernel log of the last --minutes for lines matching the
error patterns (Swift's drive-audit.conf regex_pattern defaults, or --regex,
each capturing the kernel device name), maps kernel devices to swiftbox devices
through the mounts table, and reports those with at least --error-limit errors.
With --unmount it marks them failed in the state dir: serve stops using them at
once and their writes go to handoffs. After replacing the disk, clear the mark
with --clear DEVICE.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return a.run(cmd) },
	}
	f := cmd.Flags()
	f.StringVar(&a.cfgFile, "config", "", "config file (as for serve)")
	f.StringVar(&a.devices, "devices", "/srv/node", "directory whose subdirectories are devices")
	f.StringVar(&a.logFile, "log-file", "/var/log/kern.log", "kernel log to scan")
	f.StringVar(&a.mounts, "mounts", "/proc/mounts", "mounts table mapping kernel devices to device directories")
	f.StringArrayVar(&a.patterns, "regex", auditor.DefaultDriveErrorPatterns, "error line pattern capturing the kernel device (repeatable)")
	f.IntVar(&a.minutes, "minutes", 60, "how far back to look")
	f.IntVar(&a.errorLimit, "error-limit", 1, "errors that make a device failing")
	f.BoolVar(&a.unmount, "unmount", false, "mark failing devices failed (serve stops using them)")
	f.StringVar(&a.clear, "clear", "", "clear the failed mark of DEVICE after replacing its disk")
	rootCmd.AddCommand(cmd)
}

// driveAudit is the drive-audit command's flags.
type driveAudit struct {
	cfgFile, devices, logFile, mounts, clear string
	patterns                                 []string
	minutes, errorLimit                      int
	unmount                                  bool
}

func (a *driveAudit) run(cmd *cobra.Command) error {
	cfg, err := toolConfig(cmd, a.cfgFile, a.devices)
	if err != nil {
		return err
	}
	out := cmd.OutOrStdout()
	fdir := failedDir(cfg)
	if a.clear != "" {
		if err := os.Remove(filepath.Join(fdir, filepath.Base(a.clear))); err != nil {
			return fmt.Errorf("drive-audit: %s is not marked failed (%v)", a.clear, err)
		}
		fmt.Fprintf(out, "%s: failed mark cleared; serve uses it again (replication refills it)\n", a.clear)
		return nil
	}
	perDev, err := a.deviceErrors(out, cfg.Devices)
	if err != nil {
		return err
	}
	var failing []string
	for d, n := range perDev {
		if n >= a.errorLimit {
			failing = append(failing, d)
		}
	}
	sort.Strings(failing)
	if len(failing) == 0 {
		fmt.Fprintf(out, "no devices with %d or more errors\n", a.errorLimit)
		return nil
	}
	for _, d := range failing {
		if !a.unmount {
			fmt.Fprintf(out, "device %s has %d errors: failing (run with --unmount to take it out of service)\n", d, perDev[d])
			continue
		}
		if err := os.MkdirAll(fdir, 0o755); err != nil {
			return err
		}
		reason := fmt.Sprintf("drive-audit %s: %d kernel errors in %d minutes", time.Now().UTC().Format(time.RFC3339), perDev[d], a.minutes)
		if err := os.WriteFile(filepath.Join(fdir, d), []byte(reason+"\n"), 0o644); err != nil {
			return err
		}
		fmt.Fprintf(out, "device %s has %d errors: marked failed; serve no longer uses it, handoffs take its writes\n", d, perDev[d])
	}
	return nil
}

// deviceErrors counts the kernel log's errors per swiftbox device under
// devicesDir, reporting each kernel device's count to out.
func (a *driveAudit) deviceErrors(out io.Writer, devicesDir string) (map[string]int, error) {
	res, err := auditor.CompilePatterns(a.patterns)
	if err != nil {
		return nil, err
	}
	lf, err := os.Open(a.logFile)
	if err != nil {
		return nil, fmt.Errorf("drive-audit: kernel log: %w (set --log-file)", err)
	}
	defer lf.Close()
	counts, err := auditor.KernelLogErrors(lf, time.Now().Add(-time.Duration(a.minutes)*time.Minute), res)
	if err != nil {
		return nil, fmt.Errorf("drive-audit: reading %s: %w", a.logFile, err)
	}
	mf, err := os.Open(a.mounts)
	if err != nil {
		return nil, fmt.Errorf("drive-audit: mounts table: %w", err)
	}
	devmap := auditor.MountedDevices(mf, devicesDir)
	mf.Close()
	perDev := map[string]int{}
	var kernels []string
	for k, n := range counts {
		kernels = append(kernels, k)
		if d, ok := devmap[k]; ok {
			perDev[d] += n
		}
	}
	sort.Strings(kernels)
	for _, k := range kernels {
		where := "not a swiftbox device"
		if d, ok := devmap[k]; ok {
			where = "device " + d
		}
		fmt.Fprintf(out, "kernel device %s: %d errors in the last %d minutes (%s)\n", k, counts[k], a.minutes, where)
	}
	return perDev, nil
}
