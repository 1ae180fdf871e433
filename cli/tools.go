package cli

import (
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"swiftbox/config"
	"swiftbox/ring"
	"swiftbox/storage"
	"swiftbox/storage/timestamp"
)

func init() {
	var cfgFile, devices string
	info := &cobra.Command{
		Use:   "object-info FILE",
		Short: "Show an object file's path, metadata, ring locations and validity (like swift-object-info)",
		Long: `object-info reads one .data, .ts or .meta file of swiftbox (or Swift) and prints
the object's path, hash, content type, timestamp, metadata by kind, whether the
ETag matches the body's MD5 and the Content-Length the file's size, and where
the ring places the object. The devices directory and state are found from the
file's location unless --devices or --config say otherwise.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			file, err := filepath.Abs(args[0])
			if err != nil {
				return err
			}
			if _, err := os.Stat(file); err != nil {
				return fmt.Errorf("object-info: %w", err)
			}
			if !cmd.Flags().Changed("devices") && cfgFile == "" {
				// <devices>/<dev>/objects/<part>/<suffix>/<hash>/<file>
				devices = filepath.Dir(filepath.Dir(filepath.Dir(filepath.Dir(filepath.Dir(filepath.Dir(file))))))
			}
			cfg, err := toolConfig(cmd, cfgFile, devices)
			if err != nil {
				return err
			}
			return objectInfo(cmd.OutOrStdout(), cfg, file)
		},
	}
	info.Flags().StringVar(&cfgFile, "config", "", "config file (as for serve)")
	info.Flags().StringVar(&devices, "devices", "/srv/node", "devices directory (default: found from FILE)")
	rootCmd.AddCommand(info)

	var gcfg, gdevices, gpolicy string
	nodes := &cobra.Command{
		Use:   "get-nodes ACCOUNT [CONTAINER [OBJECT]]",
		Short: "Show where the ring puts an account, container or object (like swift-get-nodes)",
		Long: `get-nodes prints the partition and hash of an account, container or object, its
primary devices and handoffs from the ring, a curl line for each, and the
on-disk path on every local device (marked when it is there). An object is
placed in the default storage policy unless --policy-name names another.`,
		Args: cobra.RangeArgs(1, 3),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := toolConfig(cmd, gcfg, gdevices)
			if err != nil {
				return err
			}
			return getNodes(cmd.OutOrStdout(), cfg, args, gpolicy)
		},
	}
	nodes.Flags().StringVar(&gcfg, "config", "", "config file (as for serve)")
	nodes.Flags().StringVar(&gdevices, "devices", "/srv/node", "directory whose subdirectories are devices")
	nodes.Flags().StringVarP(&gpolicy, "policy-name", "P", "", "storage policy of the object (name or alias; default: the default policy)")
	rootCmd.AddCommand(nodes)
}

// toolConfig is the configuration of a read-only tool.
func toolConfig(cmd *cobra.Command, cfgFile, devices string) (*config.Config, error) {
	cfg, err := loadConfig(cmd, cfgFile, devices)
	if err != nil {
		return nil, err
	}
	return cfg, cfg.Finish()
}

// userMetaPrefixes and sysmeta prefixes classify metadata as Swift's
// object-info does.
func metaKind(k string) string {
	lk := strings.ToLower(k)
	switch {
	case strings.HasPrefix(lk, "x-object-sysmeta-"):
		return "sys"
	case strings.HasPrefix(lk, "x-object-transient-sysmeta-"):
		return "transient"
	case strings.HasPrefix(lk, "x-object-meta-"):
		return "user"
	}
	return "other"
}

func objectInfo(w io.Writer, cfg *config.Config, file string) error {
	prefix, suffix, err := config.ReadHashPath(cfg.StateDir)
	if err != nil {
		return err
	}
	store := storage.NewObjectStore(storage.ObjectStoreConfig{DevicesDir: cfg.Devices, HashPrefix: prefix, HashSuffix: suffix})
	meta, err := store.FileMetadata(file)
	if err != nil {
		return fmt.Errorf("object-info: %s: %w", file, err)
	}
	name := meta["name"]
	parts := strings.SplitN(strings.TrimPrefix(name, "/"), "/", 3)
	if len(parts) != 3 {
		return fmt.Errorf("object-info: %s: metadata has no valid name (%q)", file, name)
	}
	hash := ring.HashPathHex(prefix, suffix, parts[0], parts[1], parts[2])
	fmt.Fprintf(w, "Path: %s\n  Account: %s\n  Container: %s\n  Object: %s\n  Object hash: %s\n", name, parts[0], parts[1], parts[2], hash)
	if dirHash := filepath.Base(filepath.Dir(file)); dirHash != hash {
		fmt.Fprintf(w, "  (the file is in directory %s: placed with another hash path suffix?)\n", dirHash)
	}
	fmt.Fprintf(w, "Content-Type: %s\n", orNA(meta["Content-Type"]))
	if ts, err := timestamp.Parse(meta["X-Timestamp"]); err == nil {
		fmt.Fprintf(w, "Timestamp: %s (%s)\n", ts.Time().UTC().Format("2006-01-02T15:04:05.000000"), ts.Internal())
	} else {
		fmt.Fprintf(w, "Timestamp: Not found in metadata\n")
	}
	groups := map[string][]string{}
	for k := range meta {
		switch k {
		case "name", "Content-Type", "X-Timestamp", "ETag", "Content-Length":
			continue
		}
		groups[metaKind(k)] = append(groups[metaKind(k)], k)
	}
	for _, g := range []struct{ kind, title string }{{"sys", "System Metadata"}, {"transient", "Transient System Metadata"},
		{"user", "User Metadata"}, {"other", "Other Metadata"}} {
		fmt.Fprintf(w, "%s:\n", g.title)
		keys := groups[g.kind]
		sort.Strings(keys)
		if len(keys) == 0 {
			fmt.Fprintf(w, "  No metadata found\n")
		}
		for _, k := range keys {
			fmt.Fprintf(w, "  %s: %s\n", k, meta[k])
		}
	}
	if strings.HasSuffix(file, ".data") {
		f, err := os.Open(file)
		if err != nil {
			return err
		}
		h := md5.New()
		n, err := io.Copy(h, f)
		f.Close()
		if err != nil {
			return fmt.Errorf("object-info: reading %s: %w", file, err)
		}
		sum := hex.EncodeToString(h.Sum(nil))
		if etag := meta["ETag"]; etag == sum {
			fmt.Fprintf(w, "ETag: %s (valid)\n", etag)
		} else {
			fmt.Fprintf(w, "ETag: %s doesn't match file hash of %s!\n", orNA(etag), sum)
		}
		if cl := meta["Content-Length"]; cl == strconv.FormatInt(n, 10) {
			fmt.Fprintf(w, "Content-Length: %s (valid)\n", cl)
		} else {
			fmt.Fprintf(w, "Content-Length: %s doesn't match file length of %d\n", orNA(cl), n)
		}
	} else {
		fmt.Fprintf(w, "ETag: Not found in metadata\nContent-Length: Not found in metadata\n")
	}
	policy := filePolicy(file)
	r, err := ring.Load(filepath.Join(cfg.StateDir, ring.PolicyString("object", policy)+".ring.gz"))
	if err != nil {
		fmt.Fprintf(w, "No ring: %v\n", err)
		return nil
	}
	return printPlacement(w, cfg, r, "objects", policy, parts)
}

// filePolicy is the storage policy of an object file from its path, as
// Swift's extract_policy: the N of its objects-N directory (0 for objects).
func filePolicy(file string) int {
	dirs := strings.Split(filepath.ToSlash(filepath.Clean(file)), "/")
	for i := len(dirs) - 1; i >= 0; i-- {
		if n, ok := strings.CutPrefix(dirs[i], "objects-"); ok {
			if p, err := strconv.Atoi(n); err == nil && p > 0 {
				return p
			}
		}
		if dirs[i] == "objects" {
			return 0
		}
	}
	return 0
}

func orNA(s string) string {
	if s == "" {
		return "Not found in metadata"
	}
	return s
}

func getNodes(w io.Writer, cfg *config.Config, args []string, policyName string) error {
	kind, ringName := "accounts", "account"
	pol := cfg.Policies.Default()
	if policyName != "" {
		var ok bool
		if pol, ok = cfg.Policies.ByName(policyName); !ok {
			return fmt.Errorf("get-nodes: no policy named %q", policyName)
		}
	}
	switch len(args) {
	case 2:
		kind, ringName = "containers", "container"
	case 3:
		kind, ringName = "objects", pol.RingName()
	}
	for i, a := range args {
		if a == "" || strings.Contains(a, "/") && i < 2 {
			return fmt.Errorf("get-nodes: invalid name %q (account and container may not be empty or contain '/')", a)
		}
	}
	r, err := ring.Load(filepath.Join(cfg.StateDir, ringName+".ring.gz"))
	if err != nil {
		return fmt.Errorf("get-nodes: %s ring: %w", ringName, err)
	}
	labels := []string{"Account  ", "Container", "Object   "}
	fmt.Fprintln(w)
	for i, a := range args {
		fmt.Fprintf(w, "%s\t%s\n", labels[i], a)
	}
	fmt.Fprintln(w)
	return printPlacement(w, cfg, r, kind, pol.Index, args)
}

// printPlacement prints partition, hash, primaries and handoffs, curl
// lines and on-disk paths, as swift-get-nodes does.
func printPlacement(w io.Writer, cfg *config.Config, r *ring.Ring, kind string, policy int, names []string) error {
	prefix, suffix, err := config.ReadHashPath(cfg.StateDir)
	if err != nil {
		return err
	}
	full := append(append([]string(nil), names...), "", "")[:3]
	hash := ring.HashPathHex(prefix, suffix, full[0], full[1], full[2])
	part := r.Partition(ring.HashPath(prefix, suffix, full[0], full[1], full[2]))
	fmt.Fprintf(w, "\nPartition\t%d\nHash     \t%s\n\n", part, hash)
	type node struct {
		d       *ring.Device
		handoff bool
	}
	var all []node
	for _, d := range r.PrimaryNodes(part) {
		all = append(all, node{d, false})
	}
	for d := range r.Handoffs(part) {
		if len(all) >= 2*r.ReplicaCount() {
			break
		}
		all = append(all, node{d, true})
	}
	for _, n := range all {
		mark := ""
		if n.handoff {
			mark = "\t [Handoff]"
		}
		fmt.Fprintf(w, "Server:Port Device\t%s:%d %s%s\n", n.d.IP, n.d.Port, n.d.Device, mark)
	}
	fmt.Fprintln(w)
	var path []string
	for _, n := range names {
		path = append(path, url.PathEscape(n))
	}
	for _, n := range all {
		mark := ""
		if n.handoff {
			mark = " # [Handoff]"
		}
		policyHdr := ""
		if kind == "objects" {
			policyHdr = ` -H "X-Backend-Storage-Policy-Index: ` + strconv.Itoa(policy) + `"`
		}
		fmt.Fprintf(w, "curl -g -I -XHEAD \"http://%s:%d/%s/%d/%s\"%s%s\n", n.d.IP, n.d.Port, n.d.Device, part, strings.Join(path, "/"), policyHdr, mark)
	}
	if kind == "objects" {
		kind = ring.PolicyString(kind, policy)
	}
	fmt.Fprintf(w, "\nOn-disk paths (devices %s):\n", cfg.Devices)
	for _, n := range all {
		dir := filepath.Join(cfg.Devices, n.d.Device, kind, strconv.Itoa(part), hash[len(hash)-3:], hash)
		state := "absent"
		if ents, err := os.ReadDir(dir); err == nil {
			var files []string
			for _, e := range ents {
				files = append(files, e.Name())
			}
			state = "present: " + strings.Join(files, " ")
		} else if !errors.Is(err, os.ErrNotExist) {
			state = err.Error()
		}
		mark := ""
		if n.handoff {
			mark = " [Handoff]"
		}
		fmt.Fprintf(w, "  %s%s (%s)\n", dir, mark, state)
	}
	return nil
}
