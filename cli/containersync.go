package cli

import (
	"context"
	"fmt"
	"time"

	"swiftbox/server/daemon/containersync"
	"swiftbox/server/daemon/updater"
	"swiftbox/server/metrics"
	"swiftbox/server/proxy"
)

// containerSyncer is the node's container-sync daemon.
func (n *node) containerSyncer(c *proxy.Cluster) *containersync.Syncer {
	return &containersync.Syncer{Cluster: c, Config: &n.cfg.ContainerSync, DBs: n.dbs, Log: n.log.With("component", "container-sync"), Local: n.isLocal,
		Devices:       func() []string { return n.devices(n.rings.Container) },
		Client:        containersync.Client(n.cfg.ContainerSync),
		ContainerTime: time.Duration(n.cfg.ContainerSync.ContainerTime) * time.Second,
		OnPass: func(st containersync.Stats) {
			if n.metrics != nil {
				n.metrics.Sync.ObservePass(metrics.ContainerSyncPass{Start: st.Start, End: st.End, Containers: st.Containers,
					Synced: st.Synced, Puts: st.Puts, Deletes: st.Deletes, Skips: st.Skips, Failures: st.Failures, Bytes: st.Bytes})
			}
		}}
}

func init() {
	daemonPasses["container-sync"] = func(ctx context.Context, n *node, upd *updater.Updater, _ []string) []string {
		st := n.containerSyncer(upd.Cluster).RunOnce(ctx)
		return []string{fmt.Sprintf("container sync: %d containers with sync settings, %d synced [%d deletes, %d puts, %d bytes], %d skipped, %d failed in %s",
			st.Containers, st.Synced, st.Deletes, st.Puts, st.Bytes, st.Skips, st.Failures, st.End.Sub(st.Start).Round(time.Millisecond))}
	}
	addDaemonCommand("container-sync", "Send changes of containers with X-Container-Sync-To to their targets", `Container-sync sends every change of a container whose X-Container-Sync-To
and X-Container-Sync-Key are set to the container it names (a PUT of each
new object with its original timestamp, a DELETE for each deletion) and
remembers how far it got, as Swift's swift-container-sync does.

serve runs it itself every container_sync.interval seconds. Run alone it
works on the devices and state that serve uses; with --once it makes one
pass and prints a summary. When a serve is running on the same devices,
--once asks that serve to make the pass.`)
}
