package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"swiftbox/ring"
	"swiftbox/server/daemon/updater"
	"swiftbox/storage"
	"swiftbox/storage/db"
)

func init() {
	var cfgFile, devices string
	var verify bool
	cmd := &cobra.Command{
		Use:   "account-audit ACCOUNT",
		Short: "Check every container and object of an account on every replica (like swift-account-audit)",
		Long: `account-audit walks the account's containers and their objects on every
replica the rings name and reports missing account, container and object
replicas, replicas older than the listing, and objects whose ETag differs from
the listing. With --verify it also reads every object replica and checks its
MD5 (a bad one is quarantined, as a GET would). It exits non-zero when it finds
a problem. When serve is running, the walk is made by that serve.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := toolConfig(cmd, cfgFile, devices)
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			extra := []string{args[0]}
			if verify {
				extra = append(extra, "--verify")
			}
			var buf strings.Builder
			if err := runDaemonCmd(ctx, cfg, "account-audit", true, io.MultiWriter(cmd.OutOrStdout(), &buf), extra...); err != nil {
				return err
			}
			if !strings.Contains(buf.String(), " 0 problems") {
				return errors.New("account-audit found problems")
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfgFile, "config", "", "config file (as for serve)")
	f.StringVar(&devices, "devices", "/srv/node", "directory whose subdirectories are devices")
	f.BoolVar(&verify, "verify", false, "read every object replica and check its MD5")
	rootCmd.AddCommand(cmd)

	daemonPasses["account-audit"] = func(ctx context.Context, n *node, _ *updater.Updater, args []string) []string {
		if len(args) == 0 {
			return []string{"account-audit: no account given"}
		}
		return accountAudit(ctx, n, args[0], len(args) > 1 && args[1] == "--verify")
	}
}

// accountAudit walks account on every replica and reports what is missing
// or bad, one line per problem and a summary line.
func accountAudit(ctx context.Context, n *node, account string, verify bool) []string {
	a := &acctAudit{n: n, account: account, verify: verify}
	containers, found := a.containers()
	if found == 0 {
		return []string{fmt.Sprintf("account %s: not found on any replica: 1 problems", account)}
	}
	for c := range containers {
		if ctx.Err() != nil {
			break
		}
		for name, row := range a.listing(c) {
			a.checkObject(c, name, row)
		}
	}
	a.out = append(a.out, fmt.Sprintf("account %s: %d containers, %d objects, %d object replicas checked (%d read in full): %d problems",
		account, len(containers), a.objects, a.replicas, a.checked, a.problems))
	return a.out
}

// acctAudit is one account's audit: what it found and counted so far.
type acctAudit struct {
	n                                    *node
	account                              string
	verify                               bool
	out                                  []string
	problems, objects, replicas, checked int
}

func (a *acctAudit) report(format string, args ...any) {
	a.problems++
	a.out = append(a.out, fmt.Sprintf(format, args...))
}

func (a *acctAudit) place(r *ring.Ring, acct, c, o string) (int, []*ring.Device) {
	part := r.Partition(ring.HashPath(a.n.prefix, a.n.suffix, acct, c, o))
	return part, r.PrimaryNodes(part)
}

// containers is the union of the account's replicas' container names,
// and how many replicas were found.
func (a *acctAudit) containers() (map[string]bool, int) {
	apart, aprim := a.place(a.n.rings.Account, a.account, "", "")
	containers := map[string]bool{}
	found := 0
	for _, d := range aprim {
		marker := ""
		for {
			rows, err := a.n.dbs.ListContainers(d.Device, apart, a.account, db.ListOptions{Marker: marker, Limit: 10000})
			if err != nil {
				if errors.Is(err, db.ErrNotFound) {
					a.report("account %s: replica missing on %s (partition %d)", a.account, d.Device, apart)
				} else {
					a.report("account %s: replica on %s unreadable: %v", a.account, d.Device, err)
				}
				break
			}
			if marker == "" {
				found++
			}
			for _, r := range rows {
				containers[r.Name] = true
			}
			if len(rows) < 10000 {
				break
			}
			marker = rows[len(rows)-1].Name
		}
	}
	return containers, found
}

// listing is container c's newest row of each object over its replicas.
func (a *acctAudit) listing(c string) map[string]db.ObjectRow {
	cpart, cprim := a.place(a.n.rings.Container, a.account, c, "")
	listing := map[string]db.ObjectRow{}
	for _, d := range cprim {
		marker := ""
		for {
			rows, err := a.n.dbs.ListObjects(d.Device, cpart, a.account, c, db.ListOptions{Marker: marker, Limit: 10000, AllowReserved: true})
			if err != nil {
				if errors.Is(err, db.ErrNotFound) {
					a.report("container /%s/%s: replica missing on %s (partition %d)", a.account, c, d.Device, cpart)
				} else {
					a.report("container /%s/%s: replica on %s unreadable: %v", a.account, c, d.Device, err)
				}
				break
			}
			for _, r := range rows {
				if old, ok := listing[r.Name]; !ok || r.Timestamp.After(old.Timestamp) {
					listing[r.Name] = r.ObjectRow
				}
			}
			if len(rows) < 10000 {
				break
			}
			marker = rows[len(rows)-1].Name
		}
	}
	return listing
}

// checkObject checks each primary replica of object name of container c
// against its listing row.
func (a *acctAudit) checkObject(c, name string, row db.ObjectRow) {
	a.objects++
	// The listing row names the object's storage policy.
	orings := a.n.rings.ObjectRing(row.StoragePolicy)
	if orings == nil {
		a.report("object /%s/%s/%s: storage policy %d has no ring", a.account, c, name, row.StoragePolicy)
		return
	}
	opart, oprim := a.place(orings, a.account, c, name)
	path := fmt.Sprintf("/%s/%s/%s", a.account, c, name)
	for _, d := range oprim {
		a.replicas++
		rd, err := a.n.objects.Policy(row.StoragePolicy).Open(d.Device, opart, a.account, c, name)
		if err != nil {
			if errors.Is(err, storage.ErrNotFound) {
				a.report("object %s: replica missing on %s (partition %d)", path, d.Device, opart)
			} else {
				a.report("object %s: replica on %s unreadable: %v", path, d.Device, err)
			}
			continue
		}
		if row.Timestamp.After(rd.Timestamp()) {
			a.report("object %s: replica on %s is older (%s) than the listing (%s)", path, d.Device, rd.Timestamp().Internal(), row.Timestamp.Internal())
		} else if row.ETag != "" && rd.ETag() != strings.ToLower(row.ETag) && rd.Metadata()["X-Static-Large-Object"] == "" {
			a.report("object %s: replica on %s has ETag %s, the listing %s", path, d.Device, rd.ETag(), row.ETag)
		}
		if a.verify {
			a.checked++
			if _, err := io.Copy(io.Discard, rd.VerifyingReader()); err != nil {
				a.report("object %s: replica on %s is corrupt (%v); quarantined", path, d.Device, err)
			}
		}
		rd.Close()
	}
}
