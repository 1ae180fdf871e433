package cli

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"swiftbox/server"
)

func init() {
	daemonPasses["expirer"] = func(ctx context.Context, _ *node, upd *server.Updater, _ []string) []string {
		st := upd.Proxy.ExpireOnce(ctx)
		return []string{fmt.Sprintf("object expirer: %d due tasks, %d objects deleted, %d already gone or overwritten, %d failed (kept), %d task containers removed in %s",
			st.Tasks, st.Deleted, st.Gone, st.Failed, st.Containers, st.End.Sub(st.Start).Round(time.Millisecond))}
	}
	var cfgFile, devices string
	var once bool
	cmd := &cobra.Command{
		Use:   "expirer",
		Short: "Delete objects whose X-Delete-At has passed",
		Long: `Expirer deletes the objects queued in the .expiring_objects account once
their X-Delete-At has passed (a conditional delete: an object overwritten
since is kept), updates their containers' listings and drops the queue
entries, as Swift's object-expirer does.

serve runs the expirer itself every expirer.interval seconds. Run alone it
works on the devices and state that serve uses; with --once it makes one
pass and prints a summary. When a serve is running on the same devices,
--once asks that serve to make the pass.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(cmd, cfgFile, devices)
			if err != nil {
				return err
			}
			if err := cfg.Finish(); err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return runDaemonCmd(ctx, cfg, "expirer", once, cmd.OutOrStdout())
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfgFile, "config", "", "config file (as for serve)")
	f.StringVar(&devices, "devices", "/srv/node", "directory whose subdirectories are devices")
	f.BoolVar(&once, "once", false, "make one pass and exit")
	rootCmd.AddCommand(cmd)
}
