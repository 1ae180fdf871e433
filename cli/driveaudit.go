package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/spf13/cobra"

	"swiftbox/auditor"
)

func init() {
	var cfgFile, devices, logFile, mounts, clear string
	var patterns []string
	var minutes, errorLimit int
	var unmount bool
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
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := toolConfig(cmd, cfgFile, devices)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fdir := failedDir(cfg)
			if clear != "" {
				if err := os.Remove(filepath.Join(fdir, filepath.Base(clear))); err != nil {
					return fmt.Errorf("drive-audit: %s is not marked failed (%v)", clear, err)
				}
				fmt.Fprintf(out, "%s: failed mark cleared; serve uses it again (replication refills it)\n", clear)
				return nil
			}
			res, err := auditor.CompilePatterns(patterns)
			if err != nil {
				return err
			}
			lf, err := os.Open(logFile)
			if err != nil {
				return fmt.Errorf("drive-audit: kernel log: %w (set --log-file)", err)
			}
			defer lf.Close()
			counts, err := auditor.KernelLogErrors(lf, time.Now().Add(-time.Duration(minutes)*time.Minute), res)
			if err != nil {
				return fmt.Errorf("drive-audit: reading %s: %w", logFile, err)
			}
			mf, err := os.Open(mounts)
			if err != nil {
				return fmt.Errorf("drive-audit: mounts table: %w", err)
			}
			devmap := auditor.MountedDevices(mf, cfg.Devices)
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
				fmt.Fprintf(out, "kernel device %s: %d errors in the last %d minutes (%s)\n", k, counts[k], minutes, where)
			}
			var failing []string
			for d, n := range perDev {
				if n >= errorLimit {
					failing = append(failing, d)
				}
			}
			sort.Strings(failing)
			if len(failing) == 0 {
				fmt.Fprintf(out, "no devices with %d or more errors\n", errorLimit)
				return nil
			}
			for _, d := range failing {
				if !unmount {
					fmt.Fprintf(out, "device %s has %d errors: failing (run with --unmount to take it out of service)\n", d, perDev[d])
					continue
				}
				if err := os.MkdirAll(fdir, 0o755); err != nil {
					return err
				}
				reason := fmt.Sprintf("drive-audit %s: %d kernel errors in %d minutes", time.Now().UTC().Format(time.RFC3339), perDev[d], minutes)
				if err := os.WriteFile(filepath.Join(fdir, d), []byte(reason+"\n"), 0o644); err != nil {
					return err
				}
				fmt.Fprintf(out, "device %s has %d errors: marked failed; serve no longer uses it, handoffs take its writes\n", d, perDev[d])
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfgFile, "config", "", "config file (as for serve)")
	f.StringVar(&devices, "devices", "/srv/node", "directory whose subdirectories are devices")
	f.StringVar(&logFile, "log-file", "/var/log/kern.log", "kernel log to scan")
	f.StringVar(&mounts, "mounts", "/proc/mounts", "mounts table mapping kernel devices to device directories")
	f.StringArrayVar(&patterns, "regex", auditor.DefaultDriveErrorPatterns, "error line pattern capturing the kernel device (repeatable)")
	f.IntVar(&minutes, "minutes", 60, "how far back to look")
	f.IntVar(&errorLimit, "error-limit", 1, "errors that make a device failing")
	f.BoolVar(&unmount, "unmount", false, "mark failing devices failed (serve stops using them)")
	f.StringVar(&clear, "clear", "", "clear the failed mark of DEVICE after replacing its disk")
	rootCmd.AddCommand(cmd)
}
