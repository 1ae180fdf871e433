package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"swiftbox/config"
	"swiftbox/keystone"
)

// `swiftbox user`: local users and their S3 keys, kept in the state dir's
// users.yaml, which a running serve reloads within seconds.
func init() {
	t := &userTool{}
	userCmd := &cobra.Command{
		Use:   "user",
		Short: "Manage local users (tempauth, built-in identity) and their S3 access keys",
		Long: `user manages the local users kept in the state dir's users.yaml (users given
with --user or in config.yaml are fixed there and listed read-only). A running
serve picks up changes within two seconds. A user is ACCOUNT:USER: it owns
account <reseller_prefix>_ACCOUNT when in group .admin.`,
	}
	pf := userCmd.PersistentFlags()
	pf.StringVar(&t.cfgFile, "config", "", "config file (as for serve)")
	pf.StringVar(&t.devices, "devices", "/srv/node", "directory whose subdirectories are devices")
	keyCmd := &cobra.Command{Use: "key", Short: "Manage S3 access keys of local users"}
	keyCmd.AddCommand(t.keyCreateCmd(), t.keyListCmd(), t.keyRemoveCmd())
	userCmd.AddCommand(t.addCmd(), t.listCmd(), t.removeCmd(), t.passwdCmd(), keyCmd)
	rootCmd.AddCommand(userCmd)
}

// userTool is the user command's shared flags.
type userTool struct{ cfgFile, devices string }

// state loads the config and the users file of the devices' state dir.
func (t *userTool) state(cmd *cobra.Command) (*config.Config, *config.UsersFile, error) {
	cfg, err := toolConfig(cmd, t.cfgFile, t.devices)
	if err != nil {
		return nil, nil, err
	}
	if _, err := os.Stat(cfg.StateDir); err != nil {
		return nil, nil, fmt.Errorf("no state dir %s: run `swiftbox serve` on these devices first (or pass --config)", cfg.StateDir)
	}
	uf, err := config.LoadUsersFile(cfg.StateDir)
	return cfg, uf, err
}

// parseUserName splits ACCOUNT:USER.
func parseUserName(s string) (string, string, error) {
	a, u, ok := strings.Cut(s, ":")
	if !ok || a == "" || u == "" || strings.ContainsAny(s, "/ ") || strings.Count(s, ":") != 1 {
		return "", "", fmt.Errorf("user %q: want ACCOUNT:USER", s)
	}
	return a, u, nil
}

// fixedUser reports whether name is a user of the config (or --user), not of users.yaml.
func fixedUser(cfg *config.Config, name string) bool {
	for _, s := range cfg.Auth.Users {
		if u, err := config.ParseUser(s); err == nil && u.Account+":"+u.Name == name {
			return true
		}
	}
	return false
}

func (t *userTool) addCmd() *cobra.Command {
	var key string
	var groups []string
	var admin, reseller bool
	add := &cobra.Command{
		Use:   "add ACCOUNT:USER",
		Short: "Add a user (prints its key; --admin owns the account)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, uf, err := t.state(cmd)
			if err != nil {
				return err
			}
			acct, name, err := parseUserName(args[0])
			if err != nil {
				return err
			}
			if uf.Find(args[0]) >= 0 || fixedUser(cfg, args[0]) {
				return fmt.Errorf("user %s exists (use `swiftbox user passwd` to change its key)", args[0])
			}
			if key == "" {
				key = config.RandomKey(16)
			}
			u := config.User{Account: acct, Name: name, Key: key, Groups: groups}
			if admin && !slices.Contains(u.Groups, keystone.GroupAdmin) {
				u.Groups = append(u.Groups, keystone.GroupAdmin)
			}
			if reseller && !slices.Contains(u.Groups, keystone.GroupResellerAdmin) {
				u.Groups = append(u.Groups, keystone.GroupResellerAdmin)
			}
			if _, err := config.ParseUser(u.String()); err != nil {
				return err
			}
			uf.Users = append(uf.Users, u)
			if err := uf.Save(cfg.StateDir); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "added %s (account %s_%s, groups %s)\nkey: %s\n", args[0],
				strings.TrimSuffix(cfg.Auth.Prefixes()[0], "_"), acct, orNone(u.Groups), key)
			return nil
		},
	}
	add.Flags().StringVar(&key, "key", "", "the user's key (password); default: generated")
	add.Flags().StringSliceVar(&groups, "group", nil, "group (repeatable): .admin, .reseller_admin or any name used in ACLs")
	add.Flags().BoolVar(&admin, "admin", false, "owner of the account (group .admin)")
	add.Flags().BoolVar(&reseller, "reseller-admin", false, "may act on every account (group .reseller_admin)")
	return add
}

func (t *userTool) listCmd() *cobra.Command {
	list := &cobra.Command{
		Use:   "list",
		Short: "List users and S3 keys (keys and secrets are not shown)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, uf, err := t.state(cmd)
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			for _, s := range cfg.Auth.Users {
				if u, err := config.ParseUser(s); err == nil {
					fmt.Fprintf(w, "%s:%s\tgroups %s\t(from config, fixed)\n", u.Account, u.Name, orNone(u.Groups))
				}
			}
			for _, u := range uf.Users {
				fmt.Fprintf(w, "%s:%s\tgroups %s\n", u.Account, u.Name, orNone(u.Groups))
			}
			for _, k := range uf.S3Keys {
				fmt.Fprintf(w, "s3 key %s\tuser %s\tbuckets %s\t%s\n", k.AccessKey, k.User, orAll(k.Buckets), access(k.ReadOnly))
			}
			return nil
		},
	}
	return list
}

func (t *userTool) removeCmd() *cobra.Command {
	remove := &cobra.Command{
		Use:   "remove ACCOUNT:USER",
		Short: "Remove a user and its S3 keys (its tokens stop working)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, uf, err := t.state(cmd)
			if err != nil {
				return err
			}
			i := uf.Find(args[0])
			if i < 0 {
				if fixedUser(cfg, args[0]) {
					return fmt.Errorf("user %s is defined in the config or by --user; remove it there", args[0])
				}
				return fmt.Errorf("no user %s", args[0])
			}
			uf.Users = slices.Delete(uf.Users, i, i+1)
			uf.S3Keys = slices.DeleteFunc(uf.S3Keys, func(k config.S3Key) bool { return k.User == args[0] })
			if err := uf.Save(cfg.StateDir); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "removed %s\n", args[0])
			return nil
		},
	}
	return remove
}

func (t *userTool) passwdCmd() *cobra.Command {
	var newKey string
	passwd := &cobra.Command{
		Use:   "passwd ACCOUNT:USER",
		Short: "Set a user's key (generated unless --key); its old tokens stop working",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, uf, err := t.state(cmd)
			if err != nil {
				return err
			}
			i := uf.Find(args[0])
			if i < 0 {
				return fmt.Errorf("no user %s in %s", args[0], config.UsersFileName)
			}
			if newKey == "" {
				newKey = config.RandomKey(16)
			}
			uf.Users[i].Key = newKey
			if err := uf.Save(cfg.StateDir); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "key of %s: %s\n", args[0], newKey)
			return nil
		},
	}
	passwd.Flags().StringVar(&newKey, "key", "", "the new key; default: generated")
	return passwd
}

func (t *userTool) keyCreateCmd() *cobra.Command {
	var buckets []string
	var readOnly bool
	create := &cobra.Command{
		Use:   "create ACCOUNT:USER",
		Short: "Create an S3 access/secret key pair for a user (one per application)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, uf, err := t.state(cmd)
			if err != nil {
				return err
			}
			if uf.Find(args[0]) < 0 && !fixedUser(cfg, args[0]) {
				return fmt.Errorf("no user %s", args[0])
			}
			for _, b := range buckets {
				if b == "" || strings.Contains(b, "/") {
					return fmt.Errorf("bucket %q: not a bucket name", b)
				}
			}
			k := config.S3Key{AccessKey: "SBX" + strings.ToUpper(config.RandomKey(8)), SecretKey: config.RandomKey(20),
				User: args[0], Buckets: buckets, ReadOnly: readOnly}
			uf.S3Keys = append(uf.S3Keys, k)
			if err := uf.Save(cfg.StateDir); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "access key: %s\nsecret key: %s\nuser %s, buckets %s, %s\n",
				k.AccessKey, k.SecretKey, k.User, orAll(k.Buckets), access(k.ReadOnly))
			return nil
		},
	}
	create.Flags().StringSliceVar(&buckets, "bucket", nil, "restrict the key to this bucket (repeatable)")
	create.Flags().BoolVar(&readOnly, "read-only", false, "allow reads only")
	return create
}

func (t *userTool) keyListCmd() *cobra.Command {
	klist := &cobra.Command{
		Use: "list [ACCOUNT:USER]", Short: "List S3 access keys (secrets are not shown)", Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			_, uf, err := t.state(cmd)
			if err != nil {
				return err
			}
			for _, k := range uf.S3Keys {
				if len(args) == 0 || k.User == args[0] {
					fmt.Fprintf(cmd.OutOrStdout(), "%s\tuser %s\tbuckets %s\t%s\n", k.AccessKey, k.User, orAll(k.Buckets), access(k.ReadOnly))
				}
			}
			return nil
		},
	}
	return klist
}

func (t *userTool) keyRemoveCmd() *cobra.Command {
	kremove := &cobra.Command{
		Use: "remove ACCESS_KEY", Short: "Remove an S3 access key", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, uf, err := t.state(cmd)
			if err != nil {
				return err
			}
			n := len(uf.S3Keys)
			uf.S3Keys = slices.DeleteFunc(uf.S3Keys, func(k config.S3Key) bool { return k.AccessKey == args[0] })
			if len(uf.S3Keys) == n {
				return fmt.Errorf("no S3 key %s", args[0])
			}
			if err := uf.Save(cfg.StateDir); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "removed S3 key %s\n", args[0])
			return nil
		},
	}
	return kremove
}

func orNone(l []string) string {
	if len(l) == 0 {
		return "(none)"
	}
	return strings.Join(l, ",")
}

func orAll(l []string) string {
	if len(l) == 0 {
		return "(all)"
	}
	return strings.Join(l, ",")
}

func access(readOnly bool) string {
	if readOnly {
		return "read-only"
	}
	return "read-write"
}

// watchUsers keeps auth's users those of the state dir's users.yaml
// (and static): the file is read again when it changed, every 2 s, and at
// once when a login names a user or key not known (yet) — one stat — so
// `swiftbox user` changes apply at once and never count as failed logins
// meanwhile. The refresh hook is set before watchUsers returns; the
// polling goes on until ctx ends.
func watchUsers(ctx context.Context, dir string, static []config.User, auth *keystone.TempAuth, log io.Writer) {
	var mu sync.Mutex
	var last time.Time
	load := func() {
		mu.Lock()
		defer mu.Unlock()
		fi, err := os.Stat(dir + "/" + config.UsersFileName)
		if err != nil || fi.ModTime().Equal(last) {
			return
		}
		uf, err := config.LoadUsersFile(dir)
		if err != nil {
			fmt.Fprintf(log, "swiftbox: users: %v (keeping the previous users)\n", err)
			return
		}
		last = fi.ModTime()
		auth.SetUsers(append(slices.Clone(static), uf.Users...))
		auth.SetS3Keys(uf.S3Keys)
	}
	load()
	auth.SetRefresh(load)
	go func() {
		t := time.NewTicker(2 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				load()
			}
		}
	}()
}
