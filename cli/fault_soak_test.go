package cli_test

import (
	"fmt"
	"math/rand"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// The soak (`make soak DURATION=10m`, SWIFTBOX_SOAK=<duration>): mixed
// object load (as kill9-mixed-load) and container churn (as
// db-auditor-load) with every daemon at a 1–2 s interval, bit rot in a
// replica and a kill -9 at random moments; then everything is verified:
// acknowledged state readable and right, no corrupt bytes served, listings
// equal to the disk after an updater pass, the account equal to the
// containers that exist, no healthy database quarantined, the rot repaired.
func TestSoak(t *testing.T) {
	spec := os.Getenv("SWIFTBOX_SOAK")
	if spec == "" {
		t.Skip("set SWIFTBOX_SOAK=<duration> (make soak DURATION=10m)")
	}
	dur, err := time.ParseDuration(spec)
	if err != nil {
		t.Fatalf("SWIFTBOX_SOAK=%q: %v", spec, err)
	}
	defer printFaultTable(os.Stdout)
	x := newSoak(t, dur)
	end := x.start.Add(dur)
	for round := 1; time.Now().Before(end); round++ {
		x.round(round, dur, end)
	}
	// Verify everything once the daemons made their passes.
	x.checkListingsAfterUpdater()
	daemonOnce(t, x.dev, "auditor")
	x.phase("auditor pass")
	daemonOnce(t, x.dev, "replicator")
	x.phase("replicator pass")
	res := x.m.verify(x.c)
	x.row.Lost += res.lost
	x.row.Corrupt += res.corrupt
	superseded := x.checkRotRepaired()
	x.checkAccountAndDatabases()
	if x.row.Lost > 0 || x.row.Corrupt > 0 {
		x.problems = append(x.problems, fmt.Sprintf("%d keys lost, %d corrupt reads", x.row.Lost, x.row.Corrupt))
	}
	x.row.Acked = x.m.acked + x.db.acked()
	t.Logf("%d rounds (kill -9 each); object ops %v (non-2xx %v), %d reads stale; %d containers churned, %d requests %v; %d replicas rotted (%d superseded by newer writes)",
		x.row.Rounds, x.m.ops, x.m.codes, x.stale, len(x.db.containers), x.db.ops, x.db.statuses, len(x.rots), superseded)
	reportFault(t, x.row, x.problems)
}

// soak is TestSoak's server, its loads' models and its tally.
type soak struct {
	t                *testing.T
	dev              string
	s                *server
	c                *fclient
	all              []string        // every container of the object load
	objectContainers map[string]bool // all, as a set
	m                *model
	db               *churnLoad // every round's container churn
	rng              *rand.Rand
	row              faultRow
	problems         []string
	rots             []soakRot
	stale            int
	start            time.Time
}

// soakRot is a replica made rotten: of object name at data timestamp ts.
type soakRot struct{ name, ts, path string }

func newSoak(t *testing.T, dur time.Duration) *soak {
	dev := t.TempDir()
	s := startFaultServer(t, dev, "replicator:\n  interval: 2\nauditor:\n  interval: 1\n  files_per_second: 0\n  bytes_per_second: 0\n")
	c := newFclient(t, s, 30*time.Second)
	containers := []string{"c0", "c1", "c2", "v0"}
	all := append(containers, "v0-archive")
	objectContainers := map[string]bool{}
	for _, cn := range all {
		objectContainers[cn] = true
		hdr := map[string]string{}
		if cn == "v0" {
			hdr["X-History-Location"] = "v0-archive"
		}
		if st, _, _, err := c.do("PUT", "/"+cn, hdr, nil); err != nil || st/100 != 2 {
			t.Fatalf("PUT container %s: %d %v", cn, st, err)
		}
	}
	return &soak{t: t, dev: dev, s: s, c: c, all: all, objectContainers: objectContainers,
		m: newModel(containers, 10), db: &churnLoad{statuses: map[int]int{}},
		rng: rand.New(rand.NewSource(time.Now().UnixNano())), row: faultRow{Scenario: "soak " + dur.String()}, start: time.Now()}
}

func (x *soak) phase(what string) {
	x.t.Logf("%s done at %v", what, time.Since(x.start).Round(time.Second))
}

// round runs the object load and the container churn, rots a replica
// halfway, kills the server with -9, restarts it and reads back.
func (x *soak) round(round int, dur time.Duration, end time.Time) {
	t, s, db, rng := x.t, x.s, x.db, x.rng
	x.row.Rounds = round
	stop := make(chan struct{})
	wg := x.m.runLoad(t, s, 4, int64(round), stop)
	cl := &churnLoad{prefix: fmt.Sprintf("r%d", round), statuses: db.statuses}
	var dwg sync.WaitGroup
	for w := 0; w < 2; w++ {
		dwg.Add(1)
		go func(w int) { defer dwg.Done(); cl.worker(x.c, w, stop) }(w)
	}
	cycle := time.Duration(5+rng.Intn(25)) * time.Second
	cycle = min(cycle, max(dur/4, 5*time.Second))
	if left := time.Until(end); cycle > left {
		cycle = max(left, time.Second)
	}
	time.Sleep(cycle / 2)
	x.rotOneReplica()
	time.Sleep(cycle / 2)
	s.kill9()
	close(stop)
	wg.Wait()
	dwg.Wait()
	db.containers = append(db.containers, cl.containers...)
	db.ops += cl.ops
	t0 := time.Now()
	s.start()
	restart := time.Since(t0)
	x.c = newFclient(t, s, 30*time.Second)
	res := x.m.verify(x.c)
	x.row.Lost += res.lost
	x.row.Corrupt += res.corrupt
	x.stale += res.stale
	if len(res.problems) > 0 {
		t.Logf("round %d: %s", round, strings.Join(res.problems, "; "))
	}
	t.Logf("round %d: %v of load, kill -9, restart (%v) and read-back (%v) done at %v", round, cycle,
		restart.Round(time.Millisecond), time.Since(t0.Add(restart)).Round(time.Millisecond), time.Since(x.start).Round(time.Second))
}

// rotOneReplica: bit rot in one replica of a live object (unless a
// daemon or a write moves it meanwhile).
func (x *soak) rotOneReplica() {
	for _, o := range diskState(x.t, x.dev) {
		if !o.deleted && o.size > 16 && len(o.replicas) > 0 {
			p := o.replicas[x.rng.Intn(len(o.replicas))]
			if flipBytes(p, o.size/2, 4) == nil {
				x.rots = append(x.rots, soakRot{o.name, o.dataTS, p})
			}
			break
		}
	}
}

// checkListingsAfterUpdater: after an updater pass every listing equals
// the disk.
func (x *soak) checkListingsAfterUpdater() {
	daemonOnce(x.t, x.dev, "updater")
	x.phase("updater pass")
	bad, err := listingMismatches(x.c, "AUTH_test", x.all, diskState(x.t, x.dev))
	if err != nil {
		x.t.Fatal(err)
	}
	x.row.Mismatches = len(bad)
	if len(bad) > 0 {
		x.problems = append(x.problems, "listing after an updater pass: "+firstLines(mapValues(bad), 3))
	}
	x.phase("listing check")
}

// checkRotRepaired: every rotten replica not superseded by a newer write
// has 3 good replicas again. It returns how many were superseded.
func (x *soak) checkRotRepaired() (superseded int) {
	disk := diskState(x.t, x.dev)
	for _, r := range x.rots {
		o := disk[r.name]
		if o == nil || o.dataTS != r.ts {
			superseded++
			continue
		}
		good := 0
		for _, p := range o.replicas {
			if b, err := os.ReadFile(p); err == nil && md5hex(b) == o.etag {
				good++
			}
		}
		if good >= 3 {
			x.row.Repaired++
		} else {
			x.problems = append(x.problems, fmt.Sprintf("rotten %s: %d good replicas after auditor+replicator", r.name, good))
		}
	}
	return superseded
}

// checkAccountAndDatabases: the account equals the containers that
// exist, and no healthy database was quarantined.
func (x *soak) checkAccountAndDatabases() {
	if ab := settle(15*time.Second, func() []string { return x.db.accountCheck(x.c, x.objectContainers) }); len(ab) > 0 {
		x.row.Mismatches += len(ab)
		x.problems = append(x.problems, "account: "+firstLines(ab, 3))
	}
	x.phase("account check")
	x.row.Quarantined = quarantinedCount(x.dev, "objects")
	if q := quarantinedCount(x.dev, "containers") + quarantinedCount(x.dev, "accounts"); q > 0 {
		x.problems = append(x.problems, fmt.Sprintf("%d healthy databases quarantined", q))
	}
}
