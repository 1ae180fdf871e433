package cli_test

import (
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

// The fault scenarios of issue 12, end to end against the real binary:
// each drives a fault, reads the real state back (bytes over the API,
// listings, the files on disk) and records a row of the table TestFault
// prints. `go test ./cli` runs a few rounds each; `make fault`
// (SWIFTBOX_FAULT=full) the full size.
func TestFault(t *testing.T) {
	defer printFaultTable(os.Stdout)
	t.Run("kill9-mixed-load", testFaultKill)
	t.Run("bitrot-repair", testFaultBitRot)
	t.Run("device-emptied", testFaultDeviceEmptied)
	t.Run("disk-full", testFaultDiskFull)
	t.Run("db-auditor-load", testFaultDBAuditor)
	t.Run("slow-clients", testFaultSlowClients)
	t.Run("fd-exhaustion", testFaultFDExhaustion)
}

// kill -9 under mixed load (PUT new, overwrite, DELETE, POST over plain
// and history-versioned containers), then after each restart: every key
// holds what was acknowledged, and after one updater pass every listing
// row equals the newest object on disk and the account totals add up.
func testFaultKill(t *testing.T) {
	dev := t.TempDir()
	s := startFaultServer(t, dev, "")
	c := newFclient(t, s, 30*time.Second)
	containers := []string{"c0", "c1", "c2", "v0"}
	all := append(containers, "v0-archive")
	for _, cn := range all {
		hdr := map[string]string{}
		if cn == "v0" {
			hdr["X-History-Location"] = "v0-archive"
		}
		if st, _, b, err := c.do("PUT", "/"+cn, hdr, nil); err != nil || st/100 != 2 {
			t.Fatalf("PUT container %s: %d %v %s", cn, st, err, b)
		}
	}
	want := map[string]bool{}
	for _, cn := range all {
		want[cn] = true
	}
	m := newModel(containers, faultPick(5, 12))
	rounds := faultPick(3, 50) // issue 12 asks ≥ 50 for the listing check
	rng := rand.New(rand.NewSource(time.Now().UnixNano()))
	row := faultRow{Scenario: "kill9-mixed-load", Rounds: rounds}
	var problems []string
	mismatched := map[string]string{}
	stale, acctBad := 0, 0
	for round := 1; round <= rounds; round++ {
		stop := make(chan struct{})
		wg := m.runLoad(t, s, faultPick(6, 12), int64(round), stop)
		time.Sleep(time.Duration(200+rng.Intn(700)) * time.Millisecond)
		s.kill9()
		close(stop)
		wg.Wait()
		s.start()
		c = newFclient(t, s, 30*time.Second)
		res := m.verify(c)
		row.Lost += res.lost
		row.Corrupt += res.corrupt
		stale += res.stale
		if len(res.problems) > 0 {
			t.Logf("round %d: %s", round, strings.Join(res.problems, "; "))
		}
		daemonOnce(t, dev, "updater")
		bad, err := listingMismatches(c, "AUTH_test", all, diskState(t, dev))
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range bad {
			if _, seen := mismatched[k]; !seen {
				t.Logf("round %d: listing after an updater pass: %s", round, v)
			}
			mismatched[k] = v
		}
		if ab := settle(10*time.Second, func() []string { return accountMismatches(c, want, true) }); len(ab) > 0 {
			acctBad++
			t.Logf("round %d: account: %s", round, firstLines(ab, 3))
		}
	}
	row.Acked = m.acked
	row.Mismatches = len(mismatched)
	row.Quarantined = quarantinedCount(dev, "objects") + quarantinedCount(dev, "containers") + quarantinedCount(dev, "accounts")
	// What a replication and an updater pass leave wrong stays wrong.
	daemonOnce(t, dev, "replicator")
	daemonOnce(t, dev, "updater")
	final, err := listingMismatches(c, "AUTH_test", all, diskState(t, dev))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d operations %v, statuses other than 2xx %v; %d reads stale (right with X-Newest)", sumOps(m.ops), m.ops, m.codes, stale)
	if row.Lost > 0 || row.Corrupt > 0 {
		problems = append(problems, fmt.Sprintf("%d keys lost, %d corrupt reads", row.Lost, row.Corrupt))
	}
	if row.Mismatches > 0 {
		problems = append(problems, fmt.Sprintf("%d listing rows wrong after an updater pass (%d in their time only), %d still after replication+updater (e.g. %s)",
			row.Mismatches, timeOnlyCount(mismatched), len(final), firstLines(mapValues(mismatched), 2)))
	}
	if acctBad > 0 {
		problems = append(problems, fmt.Sprintf("account totals wrong after %d of %d rounds", acctBad, rounds))
	}
	reportFault(t, row, problems)
}

func sumOps(ops map[string]int) int {
	n := 0
	for _, v := range ops {
		n += v
	}
	return n
}

// Bit rot in one replica of several objects, after each was read once:
// no GET (full or ranged) completes with wrong bytes, and after an
// auditor and a replicator pass the rot is quarantined and every object
// has 3 good replicas again.
func testFaultBitRot(t *testing.T) {
	x := newBitRot(t)
	x.rotOneReplicaEach()
	aborted := x.readAroundRot()
	x.checkRepaired()
	if x.row.Corrupt > 0 {
		x.problems = append(x.problems, fmt.Sprintf("%d GETs completed with corrupt bytes", x.row.Corrupt))
	}
	if x.row.Quarantined < x.n {
		x.problems = append(x.problems, fmt.Sprintf("%d of %d rotten replicas quarantined", x.row.Quarantined, x.n))
	}
	t.Logf("%d objects rotted on one replica each; %d reads cut short (the wanted answer to rot found while sending)", x.n, aborted)
	reportFault(t, x.row, x.problems)
}

// bitRot is the bitrot-repair scenario: n objects in container rot, one
// replica of each rotten.
type bitRot struct {
	t        *testing.T
	dev      string
	c        *fclient
	n        int
	bodies   map[string][]byte
	names    []string          // bodies' keys, sorted
	flipAt   map[string]int64  // where each object's rot is
	rotted   map[string]string // name → the rotten replica
	row      faultRow
	problems []string
}

// newBitRot stores the objects and reads each once while all is well.
func newBitRot(t *testing.T) *bitRot {
	dev := t.TempDir()
	s := startFaultServer(t, dev, "")
	c := newFclient(t, s, 30*time.Second)
	if st, _, _, err := c.do("PUT", "/rot", nil, nil); err != nil || st/100 != 2 {
		t.Fatalf("PUT container: %d %v", st, err)
	}
	n := faultPick(9, 30)
	bodies := map[string][]byte{}
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("obj-%02d", i)
		size := []int{3000, 70 << 10, 1 << 20}[i%3] + i
		body := make([]byte, size)
		rand.New(rand.NewSource(int64(i))).Read(body)
		if st, _, _, err := c.do("PUT", objPath("rot", name), nil, body); err != nil || st != 201 {
			t.Fatalf("PUT %s: %d %v", name, st, err)
		}
		bodies[name] = body
	}
	row := faultRow{Scenario: "bitrot-repair", Rounds: 1, Acked: n}
	// One good read of each first (a replica read once must not be
	// trusted from then on).
	for name, body := range bodies {
		if st, _, got, err := c.do("GET", objPath("rot", name), nil, nil); err != nil || st != 200 || md5hex(got) != md5hex(body) {
			t.Fatalf("GET %s before the rot: %d %v", name, st, err)
		}
	}
	return &bitRot{t: t, dev: dev, c: c, n: n, bodies: bodies, names: sortedKeys(bodies),
		flipAt: map[string]int64{}, rotted: map[string]string{}, row: row}
}

// rotOneReplicaEach flips 4 bytes of one replica of every object.
func (x *bitRot) rotOneReplicaEach() {
	t, dev := x.t, x.dev
	disk := diskState(t, dev)
	for i, name := range x.names {
		// 4 bytes near the start or the end (a later block of the larger
		// ones, found only after the response began); on every device.
		x.flipAt[name] = int64(100 + i)
		if i%2 == 1 {
			x.flipAt[name] = int64(len(x.bodies[name]) - 100 - i)
		}
		o := disk["/AUTH_test/rot/"+name]
		if o == nil || len(o.replicas) != 3 {
			t.Fatalf("%s: want 3 replicas on disk, have %v", name, o)
		}
		// Mostly the replica a GET reads first (the first primary), else
		// another that only the auditor finds.
		dir := primaryDirs(t, dev, "rot", name)[[]int{0, 0, 1}[(i/3)%3]]
		for _, p := range o.replicas {
			if filepath.Dir(p) == dir {
				if err := flipBytes(p, x.flipAt[name], 4); err != nil {
					t.Fatal(err)
				}
				x.rotted[name] = p
			}
		}
	}
}

// readAroundRot: full and ranged GETs, each several times (the proxy may
// read any replica first). It returns how many were cut short.
func (x *bitRot) readAroundRot() (aborted int) {
	c := x.c
	for try := 0; try < 3; try++ {
		for _, name := range x.names {
			body := x.bodies[name]
			st, _, got, err := c.do("GET", objPath("rot", name), nil, nil)
			switch {
			case err != nil:
				aborted++ // cut short: the client sees an error, not data
			case st == 200 && md5hex(got) != md5hex(body):
				x.row.Corrupt++
				x.t.Logf("GET %s: 200 completed with wrong bytes", name)
			case st != 200:
				x.problems = append(x.problems, fmt.Sprintf("GET %s with one rotten replica: %d", name, st))
			}
			// A range around the rot.
			from := x.flipAt[name] - 64
			to := min(from+999, int64(len(body))-1)
			rng := fmt.Sprintf("bytes=%d-%d", from, to)
			st, _, got, err = c.do("GET", objPath("rot", name), map[string]string{"Range": rng}, nil)
			switch {
			case err != nil:
				aborted++
			case st == 206 && string(got) != string(body[from:to+1]):
				x.row.Corrupt++
				x.t.Logf("GET %s %s: 206 completed with wrong bytes", name, rng)
			case st != 206:
				x.problems = append(x.problems, fmt.Sprintf("ranged GET %s with one rotten replica: %d", name, st))
			}
		}
	}
	return aborted
}

// checkRepaired runs the auditor and the replicator: every object has 3
// good replicas, none rotten in service, and reads back right.
func (x *bitRot) checkRepaired() {
	t, dev, c := x.t, x.dev, x.c
	daemonOnce(t, dev, "auditor")
	x.row.Quarantined = quarantinedCount(dev, "objects")
	daemonOnce(t, dev, "replicator")
	disk := diskState(t, dev)
	for _, name := range x.names {
		o := disk["/AUTH_test/rot/"+name]
		good := 0
		if o != nil {
			for _, p := range o.replicas {
				if b, err := os.ReadFile(p); err == nil && md5hex(b) == md5hex(x.bodies[name]) {
					good++
				}
			}
		}
		if good == 3 {
			x.row.Repaired++
		} else {
			x.problems = append(x.problems, fmt.Sprintf("%s has %d good replicas after auditor+replicator", name, good))
		}
		if _, err := os.Stat(x.rotted[name]); err == nil {
			if b, _ := os.ReadFile(x.rotted[name]); md5hex(b) != md5hex(x.bodies[name]) {
				x.problems = append(x.problems, fmt.Sprintf("rotten replica of %s still in service: %s", name, x.rotted[name]))
			}
		}
		if st, _, got, err := c.do("GET", objPath("rot", name), nil, nil); err != nil || st != 200 || md5hex(got) != md5hex(x.bodies[name]) {
			x.row.Lost++
		}
	}
}

// primaryDirs are the hash directories of object container/name on its
// primaries, in the order the proxy reads them (swiftbox get-nodes).
func primaryDirs(t *testing.T, devices, container, name string) []string {
	t.Helper()
	out := run(t, false, "get-nodes", "AUTH_test", container, name, "--devices", devices)
	_, paths, _ := strings.Cut(out, "On-disk paths")
	var dirs []string
	for _, l := range strings.Split(paths, "\n") {
		if f := strings.Fields(l); len(f) > 0 && strings.HasPrefix(f[0], "/") {
			dirs = append(dirs, f[0])
		}
	}
	if len(dirs) < 2 {
		t.Fatalf("get-nodes: no primaries:\n%s", out)
	}
	return dirs
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
