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
	m := newModel(containers, 10)
	db := &churnLoad{statuses: map[int]int{}}
	rng := rand.New(rand.NewSource(time.Now().UnixNano()))
	row := faultRow{Scenario: "soak " + dur.String()}
	var problems []string
	type rot struct{ name, ts, path string }
	var rots []rot
	stale := 0
	start := time.Now()
	end := start.Add(dur)
	for round := 1; time.Now().Before(end); round++ {
		row.Rounds = round
		stop := make(chan struct{})
		wg := m.runLoad(t, s, 4, int64(round), stop)
		cl := &churnLoad{prefix: fmt.Sprintf("r%d", round), statuses: db.statuses}
		var dwg sync.WaitGroup
		for w := 0; w < 2; w++ {
			dwg.Add(1)
			go func(w int) { defer dwg.Done(); cl.worker(c, w, stop) }(w)
		}
		cycle := time.Duration(5+rng.Intn(25)) * time.Second
		cycle = min(cycle, max(dur/4, 5*time.Second))
		if left := time.Until(end); cycle > left {
			cycle = max(left, time.Second)
		}
		time.Sleep(cycle / 2)
		// Bit rot in one replica of a live object (unless a daemon or a
		// write moved it meanwhile).
		for _, o := range diskState(t, dev) {
			if !o.deleted && o.size > 16 && len(o.replicas) > 0 {
				p := o.replicas[rng.Intn(len(o.replicas))]
				if flipBytes(p, o.size/2, 4) == nil {
					rots = append(rots, rot{o.name, o.dataTS, p})
				}
				break
			}
		}
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
		c = newFclient(t, s, 30*time.Second)
		res := m.verify(c)
		row.Lost += res.lost
		row.Corrupt += res.corrupt
		stale += res.stale
		if len(res.problems) > 0 {
			t.Logf("round %d: %s", round, strings.Join(res.problems, "; "))
		}
		t.Logf("round %d: %v of load, kill -9, restart (%v) and read-back (%v) done at %v", round, cycle,
			restart.Round(time.Millisecond), time.Since(t0.Add(restart)).Round(time.Millisecond), time.Since(start).Round(time.Second))
	}
	// Verify everything once the daemons made their passes.
	phase := func(what string) { t.Logf("%s done at %v", what, time.Since(start).Round(time.Second)) }
	daemonOnce(t, dev, "updater")
	phase("updater pass")
	bad, err := listingMismatches(c, "AUTH_test", all, diskState(t, dev))
	if err != nil {
		t.Fatal(err)
	}
	row.Mismatches = len(bad)
	if len(bad) > 0 {
		problems = append(problems, "listing after an updater pass: "+firstLines(mapValues(bad), 3))
	}
	phase("listing check")
	daemonOnce(t, dev, "auditor")
	phase("auditor pass")
	daemonOnce(t, dev, "replicator")
	phase("replicator pass")
	res := m.verify(c)
	row.Lost += res.lost
	row.Corrupt += res.corrupt
	disk := diskState(t, dev)
	superseded := 0
	for _, r := range rots {
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
			row.Repaired++
		} else {
			problems = append(problems, fmt.Sprintf("rotten %s: %d good replicas after auditor+replicator", r.name, good))
		}
	}
	if ab := settle(15*time.Second, func() []string { return db.accountCheck(c, objectContainers) }); len(ab) > 0 {
		row.Mismatches += len(ab)
		problems = append(problems, "account: "+firstLines(ab, 3))
	}
	phase("account check")
	row.Quarantined = quarantinedCount(dev, "objects")
	if q := quarantinedCount(dev, "containers") + quarantinedCount(dev, "accounts"); q > 0 {
		problems = append(problems, fmt.Sprintf("%d healthy databases quarantined", q))
	}
	if row.Lost > 0 || row.Corrupt > 0 {
		problems = append(problems, fmt.Sprintf("%d keys lost, %d corrupt reads", row.Lost, row.Corrupt))
	}
	row.Acked = m.acked + db.acked()
	t.Logf("%d rounds (kill -9 each); object ops %v (non-2xx %v), %d reads stale; %d containers churned, %d requests %v; %d replicas rotted (%d superseded by newer writes)",
		row.Rounds, m.ops, m.codes, stale, len(db.containers), db.ops, db.statuses, len(rots), superseded)
	reportFault(t, row, problems)
}
