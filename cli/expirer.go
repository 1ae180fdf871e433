package cli

import (
	"context"
	"fmt"
	"time"

	"swiftbox/server/daemon/expirer"
	"swiftbox/server/daemon/updater"
	"swiftbox/server/proxy"
)

// expirer is the node's object expirer.
func (n *node) expirer(c *proxy.Cluster) *expirer.Expirer {
	return &expirer.Expirer{Cluster: c, Log: n.log.With("component", "expirer")}
}

func init() {
	daemonPasses["expirer"] = func(ctx context.Context, n *node, upd *updater.Updater, _ []string) []string {
		st := n.expirer(upd.Cluster).RunOnce(ctx)
		return []string{fmt.Sprintf("object expirer: %d due tasks, %d objects deleted, %d already gone or overwritten, %d failed (kept), %d task containers removed in %s",
			st.Tasks, st.Deleted, st.Gone, st.Failed, st.Containers, st.End.Sub(st.Start).Round(time.Millisecond))}
	}
	addDaemonCommand("expirer", "Delete objects whose X-Delete-At has passed", `Expirer deletes the objects queued in the .expiring_objects account once
their X-Delete-At has passed (a conditional delete: an object overwritten
since is kept), updates their containers' listings and drops the queue
entries, as Swift's object-expirer does.

serve runs the expirer itself every expirer.interval seconds. Run alone it
works on the devices and state that serve uses; with --once it makes one
pass and prints a summary. When a serve is running on the same devices,
--once asks that serve to make the pass.`)
}
