package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"

	"github.com/spf13/cobra"

	"swiftbox/ring"
)

// ringName matches the ring names Swift uses: one per storage policy.
var ringName = regexp.MustCompile(`^(object(-[0-9]+)?|container|account)$`)

type ringPaths struct{ builder, ring string }

func ringFiles(cmd *cobra.Command, name string) (ringPaths, error) {
	if !ringName.MatchString(name) {
		return ringPaths{}, fmt.Errorf("ring name %q: want object, object-N, container or account", name)
	}
	dir, _ := cmd.Flags().GetString("dir")
	return ringPaths{filepath.Join(dir, name+ring.BuilderSuffix), filepath.Join(dir, name+".ring.gz")}, nil
}

func loadBuilder(cmd *cobra.Command, name string) (*ring.Builder, ringPaths, error) {
	p, err := ringFiles(cmd, name)
	if err != nil {
		return nil, p, err
	}
	b, err := ring.LoadBuilder(p.builder)
	if errors.Is(err, os.ErrNotExist) {
		return nil, p, fmt.Errorf("no builder %s (run `swiftbox ring create %s` first)", p.builder, name)
	}
	return b, p, err
}

func init() {
	ringCmd := &cobra.Command{
		Use:   "ring",
		Short: "Create, change and inspect rings (NAME.builder.json and Swift-compatible NAME.ring.gz)",
		Long: `Manage rings like swift-ring-builder. NAME is object, object-N, container or
account; NAME.builder.json (swiftbox's JSON builder) and NAME.ring.gz (Swift's ring
format, usable by OpenStack Swift) live in --dir.`,
	}
	ringCmd.PersistentFlags().String("dir", ".", "directory holding NAME.builder.json and NAME.ring.gz")
	ringCmd.AddCommand(ringCreateCmd(), ringAddCmd(), ringRemoveCmd(), ringSetWeightCmd(), ringPretendCmd(),
		ringRebalanceCmd(), ringListCmd(), ringLookupCmd())
	rootCmd.AddCommand(ringCmd)
}

func ringCreateCmd() *cobra.Command {
	create := &cobra.Command{
		Use:   "create NAME",
		Short: "Create an empty builder",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := ringFiles(cmd, args[0])
			if err != nil {
				return err
			}
			pp, _ := cmd.Flags().GetUint("part-power")
			replicas, _ := cmd.Flags().GetInt("replicas")
			hours, _ := cmd.Flags().GetInt("min-part-hours")
			if _, err := os.Stat(p.builder); err == nil {
				return fmt.Errorf("%s already exists", p.builder)
			}
			b, err := ring.NewBuilder(pp, replicas, hours)
			if err != nil {
				return err
			}
			return b.Save(p.builder)
		},
	}
	create.Flags().Uint("part-power", 10, "partition power (partitions = 2^N)")
	create.Flags().Int("replicas", 3, "replica count")
	create.Flags().Int("min-part-hours", 1, "hours before a moved partition may move again")
	return create
}

func ringAddCmd() *cobra.Command {
	add := &cobra.Command{
		Use:   "add NAME [r<region>z<zone>-<ip>:<port>[R<ip>:<port>]/<device>[_<meta>] WEIGHT]...",
		Short: "Add devices, by flags or in swift-ring-builder's compact form",
		Example: `  swiftbox ring add object --region 1 --zone 1 --ip 127.0.0.1 --port 6200 --device sdb1 --weight 100
  swiftbox ring add object r1z1-127.0.0.1:6200/sdb1 100 r1z2-127.0.0.1:6200/sdc1 100`,
		Args: cobra.MinimumNArgs(1),
		RunE: runRingAdd,
	}
	add.Flags().Int("region", 1, "region")
	add.Flags().Int("zone", 0, "zone")
	add.Flags().String("ip", "", "IP address of the storage node")
	add.Flags().Int("port", 0, "port of the storage node")
	add.Flags().String("replication-ip", "", "replication IP (default: --ip)")
	add.Flags().Int("replication-port", 0, "replication port (default: --port)")
	add.Flags().String("device", "", "device name under the devices directory, e.g. sdb1")
	add.Flags().Float64("weight", 100, "relative weight (e.g. capacity in GB)")
	add.Flags().String("meta", "", "free-form metadata")
	return add
}

func ringRemoveCmd() *cobra.Command {
	remove := &cobra.Command{
		Use:   "remove NAME ID",
		Short: "Mark a device for removal; the next rebalance moves its partitions away",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withBuilder(cmd, args[0], func(b *ring.Builder) error {
				id, err := strconv.Atoi(args[1])
				if err != nil {
					return fmt.Errorf("device id %q is not a number", args[1])
				}
				return b.RemoveDevice(id)
			})
		},
	}
	return remove
}

func ringSetWeightCmd() *cobra.Command {
	setWeight := &cobra.Command{
		Use:   "set-weight NAME ID WEIGHT",
		Short: "Change a device's weight",
		Args:  cobra.ExactArgs(3),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withBuilder(cmd, args[0], func(b *ring.Builder) error {
				id, err := strconv.Atoi(args[1])
				if err != nil {
					return fmt.Errorf("device id %q is not a number", args[1])
				}
				w, err := strconv.ParseFloat(args[2], 64)
				if err != nil {
					return fmt.Errorf("weight %q is not a number", args[2])
				}
				return b.SetWeight(id, w)
			})
		},
	}
	return setWeight
}

func ringPretendCmd() *cobra.Command {
	pretend := &cobra.Command{
		Use:   "pretend-min-part-hours-passed NAME",
		Short: "Let the next rebalance move partitions regardless of min_part_hours",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withBuilder(cmd, args[0], func(b *ring.Builder) error {
				b.PretendMinPartHoursPassed()
				return nil
			})
		},
	}
	return pretend
}

func ringRebalanceCmd() *cobra.Command {
	rebalance := &cobra.Command{
		Use:   "rebalance NAME",
		Short: "Reassign partitions and write NAME.builder.json and NAME.ring.gz",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			b, p, err := loadBuilder(cmd, args[0])
			if err != nil {
				return err
			}
			changed, balance, err := b.Rebalance()
			if err != nil {
				return err
			}
			// The builder first: if writing the ring fails, rebalancing
			// again rewrites the same ring.
			if err := b.Save(p.builder); err != nil {
				return err
			}
			if err := b.Ring().Save(p.ring); err != nil {
				return err
			}
			total := (1 << b.PartPower()) * b.Replicas()
			fmt.Fprintf(cmd.OutOrStdout(), "Reassigned %d (%.2f%%) partition replicas. Balance is now %.2f.\n",
				changed, 100*float64(changed)/float64(total), balance)
			return nil
		},
	}
	return rebalance
}

func ringListCmd() *cobra.Command {
	list := &cobra.Command{
		Use:   "list NAME",
		Short: "Show the builder: parameters, devices, their partitions and balance",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			b, p, err := loadBuilder(cmd, args[0])
			if err != nil {
				return err
			}
			printBuilder(cmd.OutOrStdout(), p.builder, b)
			return nil
		},
	}
	return list
}

func ringLookupCmd() *cobra.Command {
	lookup := &cobra.Command{
		Use:   "lookup NAME ACCOUNT [CONTAINER [OBJECT]]",
		Short: "Show the partition, primary and handoff devices of a path (reads NAME.ring.gz)",
		Args:  cobra.RangeArgs(2, 4),
		RunE:  runRingLookup,
	}
	lookup.Flags().String("hash-path-prefix", "", "the cluster's swift_hash_path_prefix")
	lookup.Flags().String("hash-path-suffix", "", "the cluster's swift_hash_path_suffix")
	lookup.Flags().Int("handoffs", 0, "handoffs to show (0 = all)")
	return lookup
}

// withBuilder loads NAME.builder.json, applies change and saves it.
func withBuilder(cmd *cobra.Command, name string, change func(*ring.Builder) error) error {
	b, p, err := loadBuilder(cmd, name)
	if err != nil {
		return err
	}
	if err := change(b); err != nil {
		return err
	}
	return b.Save(p.builder)
}

func runRingAdd(cmd *cobra.Command, args []string) error {
	var devs []ring.Device
	rest := args[1:]
	if len(rest)%2 != 0 {
		return fmt.Errorf("compact devices come in pairs: SPEC WEIGHT (got %d arguments)", len(rest))
	}
	for i := 0; i < len(rest); i += 2 {
		d, err := ring.ParseDeviceSpec(rest[i], rest[i+1])
		if err != nil {
			return err
		}
		devs = append(devs, d)
	}
	f := cmd.Flags()
	if f.Changed("ip") || f.Changed("device") || f.Changed("port") || len(devs) == 0 {
		var d ring.Device
		d.Region, _ = f.GetInt("region")
		d.Zone, _ = f.GetInt("zone")
		d.IP, _ = f.GetString("ip")
		d.Port, _ = f.GetInt("port")
		d.ReplicationIP, _ = f.GetString("replication-ip")
		d.ReplicationPort, _ = f.GetInt("replication-port")
		d.Device, _ = f.GetString("device")
		d.Weight, _ = f.GetFloat64("weight")
		d.Meta, _ = f.GetString("meta")
		devs = append(devs, d)
	}
	return withBuilder(cmd, args[0], func(b *ring.Builder) error {
		for _, d := range devs {
			id, err := b.AddDevice(d)
			if err != nil {
				return err
			}
			for _, s := range b.DeviceStats() {
				if s.ID == id {
					fmt.Fprintf(cmd.OutOrStdout(), "Device %s with %g weight got id %d\n", s.Device.String(), s.Weight, id)
				}
			}
		}
		return nil
	})
}

func printBuilder(w io.Writer, path string, b *ring.Builder) {
	stats := b.DeviceStats()
	regions, zones := map[int]bool{}, map[[2]int]bool{}
	for _, s := range stats {
		regions[s.Region] = true
		zones[[2]int{s.Region, s.Zone}] = true
	}
	fmt.Fprintf(w, "%s, build version %d\n", path, b.Version())
	fmt.Fprintf(w, "%d partitions, %d replicas, %d regions, %d zones, %d devices, %.2f balance\n",
		1<<b.PartPower(), b.Replicas(), len(regions), len(zones), len(stats), b.Balance())
	fmt.Fprintf(w, "The minimum number of hours before a partition can be reassigned is %d\n", b.MinPartHours())
	fmt.Fprintln(w, "Devices:   id region zone      ip address:port replication ip:port  name weight partitions balance flags meta")
	for _, s := range stats {
		flags := ""
		if s.Removed {
			flags = "DEL"
		}
		fmt.Fprintf(w, "%14d %6d %4d %21s %21s %5s %6.2f %10d %7.2f %5s %s\n", s.ID, s.Region, s.Zone,
			fmt.Sprintf("%s:%d", s.IP, s.Port), fmt.Sprintf("%s:%d", s.ReplicationIP, s.ReplicationPort),
			s.Device.Device, s.Weight, s.Parts, s.Balance, flags, s.Meta)
	}
}

func runRingLookup(cmd *cobra.Command, args []string) error {
	p, err := ringFiles(cmd, args[0])
	if err != nil {
		return err
	}
	prefix, _ := cmd.Flags().GetString("hash-path-prefix")
	suffix, _ := cmd.Flags().GetString("hash-path-suffix")
	if prefix == "" && suffix == "" {
		return errors.New("need --hash-path-prefix and/or --hash-path-suffix (the cluster's swift.conf values)")
	}
	limit, _ := cmd.Flags().GetInt("handoffs")
	r, err := ring.Load(p.ring)
	if err != nil {
		return err
	}
	a, c, o := args[1], "", ""
	if len(args) > 2 {
		c = args[2]
	}
	if len(args) > 3 {
		o = args[3]
	}
	hash := ring.HashPath(prefix, suffix, a, c, o)
	part := r.Partition(hash)
	w := cmd.OutOrStdout()
	fmt.Fprintf(w, "Account    %s\nContainer  %s\nObject     %s\n\n", a, c, o)
	fmt.Fprintf(w, "Partition  %d\nHash       %x\n\n", part, hash)
	for _, d := range r.PrimaryNodes(part) {
		fmt.Fprintf(w, "Server:Port Device  %s:%d %s\n", hostPort(d.IP), d.Port, d.Device)
	}
	n := 0
	for d := range r.Handoffs(part) {
		if limit > 0 && n == limit {
			break
		}
		n++
		fmt.Fprintf(w, "Server:Port Device  %s:%d %s\t [Handoff]\n", hostPort(d.IP), d.Port, d.Device)
	}
	return nil
}

func hostPort(ip string) string {
	for i := 0; i < len(ip); i++ {
		if ip[i] == ':' {
			return "[" + ip + "]"
		}
	}
	return ip
}
