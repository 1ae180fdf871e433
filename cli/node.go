package cli

import (
	"log/slog"
	"net"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"swiftbox/auditor"
	"swiftbox/config"
	"swiftbox/replicator"
	"swiftbox/ring"
	"swiftbox/server/metrics"
	"swiftbox/server/proxy"
	"swiftbox/storage"
	"swiftbox/storage/db"
)

// node is this box's storage side — devices, rings and stores — shared by
// serve and the daemon commands that run alone.
type node struct {
	cfg            *config.Config
	log            *slog.Logger
	prefix, suffix string
	rings          *proxy.Rings
	objects        *storage.ObjectStore
	dbs            *db.Store
	dirs           []string         // device directories found under cfg.Devices
	serving        bool             // inside serve (journals are live)
	metrics        *metrics.Metrics // nil outside serve: recording is a no-op
}

// openNode opens the object store and the databases over cfg.Devices.
func openNode(cfg *config.Config, log *slog.Logger, prefix, suffix string, rings *proxy.Rings, dirs []string) *node {
	resBytes, resPct, _ := cfg.ParseFallocateReserve()
	return &node{
		cfg: cfg, log: log, prefix: prefix, suffix: suffix, rings: rings, dirs: dirs,
		objects: storage.NewObjectStore(storage.ObjectStoreConfig{
			DevicesDir: cfg.Devices, HashPrefix: prefix, HashSuffix: suffix,
			FallocateReserve: resBytes, FallocateReservePercent: resPct,
			ReclaimAge: time.Duration(cfg.ReclaimAge) * time.Second, MountCheck: cfg.MountCheck,
			FailedDir: failedDir(cfg),
		}),
		dbs: db.Open(db.Config{DevicesDir: cfg.Devices, HashPrefix: prefix, HashSuffix: suffix,
			Failed: func(dev string) bool { _, f := storage.DeviceFailed(failedDir(cfg), dev); return f }}),
	}
}

// failedDir holds the marks drive-audit --unmount leaves on failed devices.
func failedDir(cfg *config.Config) string { return filepath.Join(cfg.StateDir, "failed_devices") }

// close flushes noted suffix invalidations and closes the databases.
func (n *node) close() {
	n.dbs.Close()
	n.objects.Close()
}

var (
	localIPsOnce sync.Once
	localIPs     map[string]bool
)

// isLocal reports whether a ring device is served by this box: its IP is
// a loopback address or one of this host's.
func (n *node) isLocal(d *ring.Device) bool {
	localIPsOnce.Do(func() {
		localIPs = map[string]bool{}
		addrs, _ := net.InterfaceAddrs()
		for _, a := range addrs {
			if ipn, ok := a.(*net.IPNet); ok {
				localIPs[ipn.IP.String()] = true
			}
		}
	})
	ip := net.ParseIP(d.IP)
	return ip != nil && (ip.IsLoopback() || localIPs[ip.String()])
}

// devices lists the devices to work on for r: every device directory plus
// every local device of the ring (a missing one is then reported).
func (n *node) devices(r *ring.Ring) []string {
	out := slices.Clone(n.dirs)
	for _, d := range r.Devices() {
		if n.isLocal(d) && !slices.Contains(out, d.Device) {
			out = append(out, d.Device)
		}
	}
	slices.Sort(out)
	return out
}

// objectDevices lists the devices to work on for objects: every device
// directory plus every local device of any storage policy's object ring.
func (n *node) objectDevices() []string {
	out := n.devices(n.rings.Object)
	for _, pi := range n.cfg.Policies.Indexes() {
		if r := n.rings.ObjectRing(pi); r != nil && pi != 0 {
			for _, d := range n.devices(r) {
				if !slices.Contains(out, d) {
					out = append(out, d)
				}
			}
		}
	}
	slices.Sort(out)
	return out
}

// objectPolicies are the stores and rings of every storage policy.
func (n *node) objectPolicies() []replicator.Policy {
	var out []replicator.Policy
	for _, pi := range n.cfg.Policies.Indexes() {
		out = append(out, replicator.Policy{Store: n.objects.Policy(pi), Ring: func() *ring.Ring { return n.rings.ObjectRing(pi) }})
	}
	return out
}

func (n *node) objectReplicator() *replicator.Objects {
	return &replicator.Objects{
		Store: n.objects, Ring: func() *ring.Ring { return n.rings.Object }, Local: n.isLocal,
		Policies:    n.objectPolicies(),
		Devices:     n.objectDevices,
		Concurrency: n.cfg.Replicator.Concurrency, Limit: replicator.NewRateLimiter(float64(n.cfg.Replicator.BytesPerSecond)),
		Log: n.log, OnPass: n.observeReplication("object"),
	}
}

// observeReplication reports a pass to metrics and recon.
func (n *node) observeReplication(typ string) func(replicator.PassStats) {
	return func(st replicator.PassStats) {
		if n.metrics == nil {
			return
		}
		n.metrics.Replication.ObservePass(metrics.ReplicationPass{Type: typ, Start: st.Start, End: st.End,
			Attempted: st.Partitions, Success: st.Partitions - min(st.Partitions, st.Failures), Failure: st.Failures,
			Remove: st.Removed, Rsync: st.SuffixesSynced, SuffixHash: st.SuffixesChecked, SuffixSync: st.SuffixesSynced,
			Handoffs: st.Handoffs})
	}
}

// observeAudit reports an audit pass to metrics and recon.
func (n *node) observeAudit(typ string) func(auditor.Stats) {
	return func(st auditor.Stats) {
		if n.metrics == nil {
			return
		}
		mode := "ALL"
		if st.ZeroByteOnly {
			mode = "ZBF"
		}
		n.metrics.Auditor.ObservePass(metrics.AuditPass{Type: typ, Mode: mode, Start: st.Start, AuditTime: st.Duration(),
			Passes: st.Files - st.Quarantined, Quarantined: st.Quarantined, Errors: st.Errors, BytesProcessed: st.Bytes,
			Complete: true, End: st.End})
	}
}

func (n *node) dbReplicator(kind string) *replicator.Databases {
	rg := func() *ring.Ring { return n.rings.Container }
	if kind == db.KindAccounts {
		rg = func() *ring.Ring { return n.rings.Account }
	}
	d := &replicator.Databases{
		Kind: kind, Store: n.dbs, Ring: rg, Local: n.isLocal,
		Devices:    func() []string { return n.devices(rg()) },
		ReclaimAge: time.Duration(n.cfg.ReclaimAge) * time.Second, Log: n.log,
		OnPass: n.observeReplication(strings.TrimSuffix(kind, "s")),
	}
	if kind == db.KindContainers {
		d.AccountRing = func() *ring.Ring { return n.rings.Account }
	}
	return d
}

func (n *node) objectAuditor() *auditor.Objects {
	a := n.cfg.Auditor
	return &auditor.Objects{
		Store: n.objects, Devices: n.objectDevices, Policies: n.policyStores(),
		FilesPerSecond: a.FilesPerSecond, BytesPerSecond: a.BytesPerSecond, ZeroByteFilesPerSecond: a.ZeroByteFilesPerSecond,
		Log: n.log, OnPass: n.observeAudit("object"),
		OnFile: func(result string, bytes int64) {
			if n.metrics != nil {
				n.metrics.Auditor.ObserveFile("object", result, bytes)
			}
		},
	}
}

// policyStores are the object stores of every storage policy.
func (n *node) policyStores() []*storage.ObjectStore {
	var out []*storage.ObjectStore
	for _, pi := range n.cfg.Policies.Indexes() {
		out = append(out, n.objects.Policy(pi))
	}
	return out
}

func (n *node) dbAuditor(kind string) *auditor.Databases {
	rg := func() *ring.Ring { return n.rings.Container }
	if kind == db.KindAccounts {
		rg = func() *ring.Ring { return n.rings.Account }
	}
	typ := strings.TrimSuffix(kind, "s")
	return &auditor.Databases{Kind: kind, Store: n.dbs, Ring: rg, Local: n.isLocal,
		Devices: func() []string { return n.devices(rg()) }, Log: n.log,
		OnPass: n.observeAudit(typ),
		OnFile: func(result string) {
			if n.metrics != nil {
				n.metrics.Auditor.ObserveFile(typ, result, 0)
			}
		}}
}
