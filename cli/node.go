package cli

import (
	"log/slog"
	"net"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"swiftbox/auditor"
	"swiftbox/config"
	"swiftbox/replicator"
	"swiftbox/ring"
	"swiftbox/server"
	"swiftbox/storage"
	"swiftbox/storage/db"
)

// node is this box's storage side — devices, rings and stores — shared by
// serve and the daemon commands that run alone.
type node struct {
	cfg            *config.Config
	log            *slog.Logger
	prefix, suffix string
	rings          *server.Rings
	objects        *storage.ObjectStore
	dbs            *db.Store
	dirs           []string // device directories found under cfg.Devices
	serving        bool     // inside serve (journals are live)
}

// openNode opens the object store and the databases over cfg.Devices.
func openNode(cfg *config.Config, log *slog.Logger, prefix, suffix string, rings *server.Rings, dirs []string) *node {
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

func (n *node) objectReplicator() *replicator.Objects {
	return &replicator.Objects{
		Store: n.objects, Ring: func() *ring.Ring { return n.rings.Object }, Local: n.isLocal,
		Devices:     func() []string { return n.devices(n.rings.Object) },
		Concurrency: n.cfg.Replicator.Concurrency, Limit: replicator.NewRateLimiter(float64(n.cfg.Replicator.BytesPerSecond)),
		Log: n.log,
	}
}

func (n *node) dbReplicator(kind string) *replicator.Databases {
	rg := func() *ring.Ring { return n.rings.Container }
	if kind == db.KindAccounts {
		rg = func() *ring.Ring { return n.rings.Account }
	}
	return &replicator.Databases{
		Kind: kind, Store: n.dbs, Ring: rg, Local: n.isLocal,
		Devices:    func() []string { return n.devices(rg()) },
		ReclaimAge: time.Duration(n.cfg.ReclaimAge) * time.Second, Log: n.log,
	}
}

func (n *node) objectAuditor() *auditor.Objects {
	a := n.cfg.Auditor
	return &auditor.Objects{
		Store: n.objects, Devices: func() []string { return n.devices(n.rings.Object) },
		FilesPerSecond: a.FilesPerSecond, BytesPerSecond: a.BytesPerSecond, ZeroByteFilesPerSecond: a.ZeroByteFilesPerSecond,
		Log: n.log,
	}
}

func (n *node) dbAuditor(kind string) *auditor.Databases {
	r := n.rings.Container
	if kind == db.KindAccounts {
		r = n.rings.Account
	}
	return &auditor.Databases{Kind: kind, Store: n.dbs, Devices: func() []string { return n.devices(r) }, Log: n.log}
}
