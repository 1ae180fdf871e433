package cli_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"
)

// putBodies PUTs each name of bodies into container and returns those
// acknowledged; statuses counts every answer.
func putBodies(c *fclient, container string, bodies map[string][]byte, statuses map[int]int) map[string][]byte {
	acked := map[string][]byte{}
	for _, name := range sortedKeys(bodies) {
		st, _, _, err := c.do("PUT", objPath(container, name), nil, bodies[name])
		if err != nil {
			statuses[0]++
			continue
		}
		statuses[st]++
		if st == 201 {
			acked[name] = bodies[name]
		}
	}
	return acked
}

// readBack GETs every acknowledged object: lost counts the ones not
// readable, corrupt the ones served in full with wrong bytes.
func readBack(c *fclient, container string, acked map[string][]byte) (lost, corrupt int, problems []string) {
	for _, name := range sortedKeys(acked) {
		st, _, got, err := c.do("GET", objPath(container, name), nil, nil)
		switch {
		case err != nil || st != 200:
			lost++
			problems = append(problems, fmt.Sprintf("GET %s/%s: %d %v", container, name, st, err))
		case md5hex(got) != md5hex(acked[name]):
			corrupt++
			problems = append(problems, fmt.Sprintf("GET %s/%s: 200 with wrong bytes", container, name))
		}
	}
	return lost, corrupt, problems
}

// dbFiles counts the database files (containers or accounts) on device d.
func dbFiles(devices, d, kind string) int {
	return len(findFiles(nil, filepath.Join(devices, d, kind), ".db"))
}

// A device's contents removed while serving (a disk replaced by an empty
// one): writes go on, nothing is lost, and replication rebuilds every
// object and database replica the device held.
func testFaultDeviceEmptied(t *testing.T) {
	x := newDeviceEmptied(t)
	dev := x.dev
	objsBefore := len(findFiles(t, filepath.Join(dev, "d2", "objects"), ".data"))
	dbsBefore := dbFiles(dev, "d2", "containers") + dbFiles(dev, "d2", "accounts")
	x.emptyD2UnderLoad()
	x.readBackBeforeRepair()
	held := len(findFiles(t, filepath.Join(dev, "d2", "objects"), ".data")) +
		dbFiles(dev, "d2", "containers") + dbFiles(dev, "d2", "accounts")
	start := time.Now()
	for pass := 0; pass < 2; pass++ {
		daemonOnce(t, dev, "replicator")
	}
	daemonOnce(t, dev, "updater")
	// Every acknowledged object has 3 good replicas again; d2 holds its
	// share of objects and databases.
	disk := diskState(t, dev)
	short := x.shortOfGoodReplicas(disk)
	objsAfter := len(findFiles(t, filepath.Join(dev, "d2", "objects"), ".data"))
	dbsAfter := dbFiles(dev, "d2", "containers") + dbFiles(dev, "d2", "accounts")
	x.row.Repaired = objsAfter + dbsAfter - held
	if short > 0 {
		x.problems = append(x.problems, fmt.Sprintf("%d acknowledged objects without 3 good replicas after 2 replicator passes", short))
	}
	if objsAfter < objsBefore || dbsAfter < dbsBefore {
		x.problems = append(x.problems, fmt.Sprintf("d2 holds %d objects and %d databases after repair, %d and %d before it was emptied",
			objsAfter, dbsAfter, objsBefore, dbsBefore))
	}
	x.checkListingAndAccount(disk)
	if x.statuses[500] > 0 {
		x.problems = append(x.problems, fmt.Sprintf("%d PUTs answered 500", x.statuses[500]))
	}
	t.Logf("PUT statuses %v; d2: %d objects and %d databases before, %d replicas left after emptying, %d objects and %d databases after 2 replicator passes (%v)",
		x.statuses, objsBefore, dbsBefore, held, objsAfter, dbsAfter, time.Since(start).Round(time.Millisecond))
	reportFault(t, x.row, x.problems)
}

// deviceEmptied is the device-emptied scenario: objects in e0..e2, then
// d2 emptied under a running load.
type deviceEmptied struct {
	t          *testing.T
	dev        string
	c          *fclient
	containers []string
	mu         sync.Mutex // guards statuses and acked during the load
	statuses   map[int]int
	acked      map[string]map[string][]byte // container → name → body
	row        faultRow
	problems   []string
}

// newDeviceEmptied stores the objects there are before d2 is emptied.
func newDeviceEmptied(t *testing.T) *deviceEmptied {
	dev := t.TempDir()
	s := startFaultServer(t, dev, "")
	c := newFclient(t, s, 30*time.Second)
	x := &deviceEmptied{t: t, dev: dev, c: c, containers: []string{"e0", "e1", "e2"},
		statuses: map[int]int{}, acked: map[string]map[string][]byte{}, row: faultRow{Scenario: "device-emptied", Rounds: 1}}
	for _, cn := range x.containers {
		if st, _, _, err := c.do("PUT", "/"+cn, nil, nil); err != nil || st/100 != 2 {
			t.Fatalf("PUT container %s: %d %v", cn, st, err)
		}
	}
	n := faultPick(30, 150)
	for ci, cn := range x.containers {
		bodies := map[string][]byte{}
		for i := 0; i < n/len(x.containers); i++ {
			name := fmt.Sprintf("before/%d", i)
			bodies[name] = bodyOf(cn+name, ci+1)
		}
		x.acked[cn] = putBodies(c, cn, bodies, x.statuses)
	}
	return x
}

// emptyD2UnderLoad empties d2 (as rm -rf d2/* would) under a running load.
func (x *deviceEmptied) emptyD2UnderLoad() {
	c, dev, containers := x.c, x.dev, x.containers
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; i < faultPick(120, 1500); i++ {
			select {
			case <-stop:
				return
			default:
			}
			cn := containers[i%len(containers)]
			name := fmt.Sprintf("during/%d", i)
			body := bodyOf(cn+name, 7)
			st, _, _, err := c.do("PUT", objPath(cn, name), nil, body)
			x.mu.Lock()
			if err == nil {
				x.statuses[st]++
				if st == 201 {
					x.acked[cn][name] = body
				}
			}
			x.mu.Unlock()
		}
	}()
	time.Sleep(300 * time.Millisecond)
	// As rm -rf d2/* would, retried while the server writes into it.
	for try := 0; try < 10; try++ {
		ents, _ := os.ReadDir(filepath.Join(dev, "d2"))
		var err error
		for _, e := range ents {
			err = errors.Join(err, os.RemoveAll(filepath.Join(dev, "d2", e.Name())))
		}
		if err == nil {
			break
		}
	}
	time.Sleep(faultPick(1500*time.Millisecond, 5*time.Second))
	close(stop)
	wg.Wait()
}

// readBackBeforeRepair reads every acknowledged object back before the
// daemons repair d2.
func (x *deviceEmptied) readBackBeforeRepair() {
	var problems []string
	for _, cn := range x.containers {
		x.row.Acked += len(x.acked[cn])
		lost, corrupt, p := readBack(x.c, cn, x.acked[cn])
		x.row.Lost += lost
		x.row.Corrupt += corrupt
		problems = append(problems, p...)
	}
	if len(problems) > 0 {
		x.problems = []string{"before repair: " + firstLines(problems, 3)}
	}
}

// shortOfGoodReplicas counts the acknowledged objects without 3 good
// replicas on disk.
func (x *deviceEmptied) shortOfGoodReplicas(disk map[string]*diskObj) (short int) {
	for _, cn := range x.containers {
		for name, body := range x.acked[cn] {
			o := disk["/AUTH_test/"+cn+"/"+name]
			good := 0
			if o != nil && !o.deleted {
				for _, p := range o.replicas {
					if b, err := os.ReadFile(p); err == nil && md5hex(b) == md5hex(body) {
						good++
					}
				}
			}
			if good < 3 {
				short++
			}
		}
	}
	return short
}

// checkListingAndAccount: the listings equal the disk, and the account
// its containers.
func (x *deviceEmptied) checkListingAndAccount(disk map[string]*diskObj) {
	bad, err := listingMismatches(x.c, "AUTH_test", x.containers, disk)
	if err != nil {
		x.t.Fatal(err)
	}
	x.row.Mismatches = len(bad)
	if len(bad) > 0 {
		x.problems = append(x.problems, "listing: "+firstLines(mapValues(bad), 2))
	}
	want := map[string]bool{"e0": true, "e1": true, "e2": true}
	if ab := settle(10*time.Second, func() []string { return accountMismatches(x.c, want, true) }); len(ab) > 0 {
		x.problems = append(x.problems, "account: "+firstLines(ab, 2))
	}
}

// fillUp writes a filler file in dir until the filesystem is full, and
// returns it (removing it gives the space back).
func fillUp(t *testing.T, dir string) string {
	t.Helper()
	p := filepath.Join(dir, "filler")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, chunk := range []int{1 << 20, 4 << 10, 512} {
		b := make([]byte, chunk)
		for {
			if _, err := f.Write(b); err != nil {
				if !errors.Is(err, syscall.ENOSPC) {
					t.Fatal(err)
				}
				break
			}
		}
	}
	f.Sync()
	return p
}

// A full filesystem (a small loop-mounted ext4): with one of four devices
// full writes succeed on the others; with the only device full they get
// 507 (never 500); nothing acknowledged is lost, and the server serves
// again once space returns.
func testFaultDiskFull(t *testing.T) {
	if os.Geteuid() != 0 {
		// storagetest.FaultFS can fake ENOSPC, but only inside the
		// tests: the binary cannot reach it.
		reportSkip(t, "disk-full", "needs root for a loop-mounted ext4 (the fault-injecting filesystem is not reachable from the binary)")
	}
	x := &diskFull{t: t, row: faultRow{Scenario: "disk-full", Rounds: 2}, statuses: map[int]int{}}
	x.oneOfFourFull()
	x.onlyDeviceFull()
	if x.statuses[500] > 0 || x.statuses[0] > 0 {
		x.problems = append(x.problems, fmt.Sprintf("%d answers 500, %d requests failed without an answer", x.statuses[500], x.statuses[0]))
	}
	t.Logf("statuses %v", x.statuses)
	reportFault(t, x.row, x.problems)
}

// diskFull is the disk-full scenario's tally.
type diskFull struct {
	t        *testing.T
	row      faultRow
	problems []string
	statuses map[int]int
}

// check reads acked back through c.
func (x *diskFull) check(what string, c *fclient, acked map[string][]byte) {
	lost, corrupt, p := readBack(c, "full", acked)
	x.row.Lost += lost
	x.row.Corrupt += corrupt
	if len(p) > 0 {
		x.problems = append(x.problems, what+": "+firstLines(p, 2))
	}
}

// request sends a request whose answer must not be a 5xx other than 507
// and 503; it returns the status (0: no answer).
func (x *diskFull) request(c *fclient, method, path string, hdr map[string]string, body []byte) int {
	st, _, _, err := c.do(method, path, hdr, body)
	if err != nil {
		x.statuses[0]++
		x.problems = append(x.problems, fmt.Sprintf("%s %s: %v", method, path, err))
		return 0
	}
	x.statuses[st]++
	if st >= 500 && st != 507 && st != 503 {
		x.problems = append(x.problems, fmt.Sprintf("%s %s: %d", method, path, st))
	}
	return st
}

// namedBodies are n bodies of size bytes named prefix-NN, each starting
// with its name.
func namedBodies(prefix string, n, size int) map[string][]byte {
	out := map[string][]byte{}
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("%s-%02d", prefix, i)
		b := make([]byte, size)
		copy(b, name)
		out[name] = b
	}
	return out
}

// oneOfFourFull: four devices, d2 full: writes succeed on the others.
func (x *diskFull) oneOfFourFull() {
	t := x.t
	dev := t.TempDir()
	for _, d := range []string{"d1", "d2", "d3", "d4"} {
		os.Mkdir(filepath.Join(dev, d), 0o755)
	}
	if err := mountLoop(t, filepath.Join(dev, "d2"), "ext4", 16<<20); err != nil {
		reportSkip(t, "disk-full", err.Error())
	}
	s := startFaultServer(t, dev, "")
	c := newFclient(t, s, 30*time.Second)
	if st := x.request(c, "PUT", "/full", nil, nil); st/100 != 2 {
		t.Fatalf("PUT container: %d", st)
	}
	filler := fillUp(t, filepath.Join(dev, "d2"))
	time.Sleep(600 * time.Millisecond) // past the free-space cache
	acked := putBodies(c, "full", namedBodies("four", faultPick(20, 60), 64<<10), x.statuses)
	for i := 0; i < faultPick(4, 12); i++ { // container DBs on the full device
		if st := x.request(c, "PUT", fmt.Sprintf("/more-%d", i), nil, nil); st/100 == 4 {
			x.problems = append(x.problems, fmt.Sprintf("container PUT with d2 full: %d", st))
		}
	}
	for name := range acked {
		x.request(c, "POST", objPath("full", name), map[string]string{"X-Object-Meta-Full": "yes"}, []byte{})
		break
	}
	x.row.Acked += len(acked)
	x.check("d2 full", c, acked)
	os.Remove(filler)
	time.Sleep(600 * time.Millisecond)
	daemonOnce(t, dev, "replicator")
	x.check("d2 freed, after replication", c, acked)
}

// onlyDeviceFull: one device, full: 507, and writes work again once
// space returns.
func (x *diskFull) onlyDeviceFull() {
	t := x.t
	one := t.TempDir()
	if err := mountLoop(t, filepath.Join(one, "d1"), "ext4", 16<<20); err != nil {
		reportSkip(t, "disk-full", err.Error())
	}
	s1 := startFaultServer(t, one, "")
	c1 := newFclient(t, s1, 30*time.Second)
	if st := x.request(c1, "PUT", "/full", nil, nil); st/100 != 2 {
		t.Fatalf("PUT container: %d", st)
	}
	before := putBodies(c1, "full", namedBodies("early", 4, 64<<10), x.statuses)
	filler := fillUp(t, filepath.Join(one, "d1"))
	time.Sleep(600 * time.Millisecond)
	refused := map[int]int{}
	during := putBodies(c1, "full", namedBodies("one", faultPick(6, 20), 64<<10), refused)
	for k, v := range refused {
		x.statuses[k] += v
	}
	if refused[507] == 0 {
		x.problems = append(x.problems, fmt.Sprintf("PUTs to a full single device: %v, want 507", refused))
	}
	for i := 0; i < faultPick(3, 8); i++ {
		x.request(c1, "PUT", fmt.Sprintf("/onefull-%d", i), nil, nil)
	}
	for name := range before {
		x.request(c1, "POST", objPath("full", name), map[string]string{"X-Object-Meta-Full": "yes"}, []byte{})
	}
	for name := range during {
		before[name] = during[name]
	}
	x.row.Acked += len(before)
	x.check("only device full", c1, before)
	os.Remove(filler)
	deadline := time.Now().Add(5 * time.Second)
	back := false
	for time.Now().Before(deadline) && !back {
		st, _, _, err := c1.do("PUT", objPath("full", "after"), nil, []byte("space is back"))
		back = err == nil && st == 201
		time.Sleep(200 * time.Millisecond)
	}
	if !back {
		x.problems = append(x.problems, "PUT still refused 5 s after space returned")
	}
	x.check("space returned", c1, before)
}
