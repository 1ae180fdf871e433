package cli_test

import (
	"encoding/json"
	"fmt"
	"math/rand"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// shortDaemons runs every daemon pass every second (config/daemons.go).
const shortDaemons = "replicator:\n  interval: 1\nauditor:\n  interval: 1\n  files_per_second: 0\n  bytes_per_second: 0\n"

// churnContainer is one container of the database load and what it holds.
type churnContainer struct {
	name      string
	versioned bool
	objects   map[string]bool
	uncertain bool // a request about it failed: its state is not known exactly
	deleted   bool
}

// churnLoad creates, fills, empties and deletes containers (a third of them
// with object versioning, whose hidden versions container must go with
// them), as Swift's functional suite does between its test classes.
type churnLoad struct {
	prefix     string // of container names, unique per load
	mu         sync.Mutex
	containers []*churnContainer
	statuses   map[int]int
	ops        int
	failures   []string
}

func (l *churnLoad) req(c *fclient, method, path string, hdr map[string]string, body []byte) int {
	st, _, _, err := c.do(method, path, hdr, body)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.ops++
	if err != nil {
		l.statuses[0]++
		if len(l.failures) < 5 {
			l.failures = append(l.failures, fmt.Sprintf("%s %s: %v", method, path, err))
		}
		return 0
	}
	l.statuses[st]++
	if st >= 500 && len(l.failures) < 5 {
		l.failures = append(l.failures, fmt.Sprintf("%s %s: %d", method, path, st))
	}
	return st
}

// empty deletes every object (every version of a versioned container)
// and then the container.
func (l *churnLoad) remove(c *fclient, ct *churnContainer) {
	cp := "/" + url.PathEscape(ct.name)
	for o := range ct.objects {
		if st := l.req(c, "DELETE", objPath(ct.name, o), nil, nil); st/100 == 2 || st == 404 {
			delete(ct.objects, o)
		} else {
			ct.uncertain = true
		}
	}
	if ct.versioned {
		st, _, b, err := c.do("GET", cp+"?format=json&versions&limit=10000", nil, nil)
		var rows []listRow
		if err != nil || st/100 != 2 || json.Unmarshal(b, &rows) != nil && st == 200 {
			ct.uncertain = true
		}
		for _, r := range rows {
			if st := l.req(c, "DELETE", objPath(ct.name, r.Name)+"?version-id="+url.QueryEscape(r.VersionID), nil, nil); st/100 != 2 && st != 404 {
				ct.uncertain = true
			}
		}
	}
	for try := 0; try < 10; try++ {
		switch st := l.req(c, "DELETE", cp, nil, nil); {
		case st/100 == 2 || st == 404:
			ct.deleted = true
			return
		case st != 409:
			ct.uncertain = true
			return
		}
		time.Sleep(200 * time.Millisecond) // container rows follow object deletes
	}
	ct.uncertain = true
}

// worker runs the load of worker w until stop closes.
func (l *churnLoad) worker(c *fclient, w int, stop <-chan struct{}) {
	rng := rand.New(rand.NewSource(int64(w)))
	var live []*churnContainer
	for i := 0; ; i++ {
		select {
		case <-stop:
			return
		default:
		}
		ct := &churnContainer{name: fmt.Sprintf("%sw%d-c%03d", l.prefix, w, i), versioned: i%3 == 1, objects: map[string]bool{}}
		l.mu.Lock()
		l.containers = append(l.containers, ct)
		l.mu.Unlock()
		hdr := map[string]string{}
		if ct.versioned {
			hdr["X-Versions-Enabled"] = "true"
		}
		if st := l.req(c, "PUT", "/"+url.PathEscape(ct.name), hdr, nil); st/100 != 2 {
			ct.uncertain = true
			continue
		}
		for j := 0; j < 1+rng.Intn(6); j++ {
			o := fmt.Sprintf("o%d", rng.Intn(4))
			body := []byte(strings.Repeat(fmt.Sprintf("%s/%s#%d ", ct.name, o, j), 1+rng.Intn(40)))
			if st := l.req(c, "PUT", objPath(ct.name, o), nil, body); st == 201 {
				ct.objects[o] = true
			} else {
				ct.uncertain = true
			}
			if rng.Intn(4) == 0 {
				if st := l.req(c, "DELETE", objPath(ct.name, o), nil, nil); st/100 == 2 {
					delete(ct.objects, o)
				} else {
					ct.uncertain = true
				}
			}
		}
		live = append(live, ct)
		// Delete a container now and then: the newest, or an older one.
		if rng.Intn(2) == 0 {
			k := len(live) - 1
			if rng.Intn(2) == 0 {
				k = rng.Intn(len(live))
			}
			l.remove(c, live[k])
			live = append(live[:k], live[k+1:]...)
		}
	}
}

// acked counts the requests answered 2xx.
func (l *churnLoad) acked() int {
	return l.statuses[200] + l.statuses[201] + l.statuses[202] + l.statuses[204]
}

// accountCheck compares the account listing with the containers of the
// load (and others, which must be listed): exactly the ones that exist,
// each with the count of objects acknowledged in it.
func (l *churnLoad) accountCheck(c *fclient, others map[string]bool) []string {
	want := map[string]bool{}
	exact := map[string]int{}
	for name, must := range others {
		want[name] = must
	}
	for _, ct := range l.containers {
		switch {
		case ct.uncertain:
			want[ct.name] = false
		case !ct.deleted:
			want[ct.name] = true
			exact[ct.name] = len(ct.objects)
		}
	}
	bad := accountMismatches(c, want, false)
	rows, err := c.list("")
	if err != nil {
		return append(bad, err.Error())
	}
	for _, r := range rows {
		if n, ok := exact[r.Name]; ok && r.Count != int64(n) {
			bad = append(bad, fmt.Sprintf("container %s lists %d objects, %d acknowledged", r.Name, r.Count, n))
		}
	}
	return bad
}

var dbQuarantineRE = regexp.MustCompile(`(?m)^.*quarantin.*(container|account|\.db).*$`)

// The database auditors and replicators every second during mixed
// container and object create/delete load on 3 replicas: no healthy
// database is quarantined, the account lists exactly the containers that
// exist with their exact counts, and once everything is deleted the
// account is empty (no ghost row of a deleted container, hidden versions
// containers included).
func testFaultDBAuditor(t *testing.T) {
	dev := t.TempDir()
	s := startFaultServer(t, dev, shortDaemons)
	c := newFclient(t, s, 30*time.Second)
	dur := faultPick(10*time.Second, 2*time.Minute)
	l := &churnLoad{statuses: map[int]int{}}
	stop := make(chan struct{})
	time.AfterFunc(dur, func() { close(stop) })
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func(w int) { defer wg.Done(); l.worker(c, w, stop) }(w)
	}
	wg.Wait()
	start := time.Now()
	time.Sleep(3 * time.Second) // a few more daemon passes over the final state
	row := faultRow{Scenario: "db-auditor-load", Rounds: int(dur / time.Second)}
	var problems []string
	row.Acked = l.acked()
	bad := settle(10*time.Second, func() []string { return l.accountCheck(c, nil) })
	row.Mismatches = len(bad)
	if len(bad) > 0 {
		problems = append(problems, "account after the load: "+firstLines(bad, 3))
	}
	// Delete everything: the account must end empty.
	todo := make(chan *churnContainer)
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ct := range todo {
				l.remove(c, ct)
			}
		}()
	}
	for _, ct := range l.containers {
		if !ct.deleted {
			todo <- ct
		}
	}
	close(todo)
	wg.Wait()
	t.Logf("checked and deleted everything in %v", time.Since(start).Round(time.Millisecond))
	empty := settle(10*time.Second, func() []string {
		st, h, _, err := c.do("HEAD", "", nil, nil)
		rows, lerr := c.list("")
		if err != nil || lerr != nil || st/100 != 2 {
			return []string{fmt.Sprintf("HEAD account: %d %v %v", st, err, lerr)}
		}
		got := fmt.Sprintf("%s containers, %s objects, %s bytes, %d rows",
			h.Get("X-Account-Container-Count"), h.Get("X-Account-Object-Count"), h.Get("X-Account-Bytes-Used"), len(rows))
		if got != "0 containers, 0 objects, 0 bytes, 0 rows" {
			var names []string
			for _, r := range rows {
				names = append(names, fmt.Sprintf("%s (count %d, bytes %d)", r.Name, r.Count, r.Bytes))
			}
			return []string{"account after deleting everything: " + got + " " + strings.Join(names, ", ")}
		}
		return nil
	})
	if len(empty) > 0 {
		row.Mismatches += len(empty)
		problems = append(problems, empty...)
	}
	row.Quarantined = quarantinedCount(dev, "containers") + quarantinedCount(dev, "accounts")
	if row.Quarantined > 0 {
		lines := dbQuarantineRE.FindAllString(s.Output(), -1)
		sort.Strings(lines)
		problems = append(problems, fmt.Sprintf("%d healthy databases quarantined (%s)", row.Quarantined, firstLines(lines, 2)))
	}
	if l.statuses[500]+l.statuses[0] > 0 {
		problems = append(problems, fmt.Sprintf("%d requests answered 500 or failed: %s", l.statuses[500]+l.statuses[0], strings.Join(l.failures, "; ")))
	}
	t.Logf("%d containers over %v, %d requests: %v", len(l.containers), dur, l.ops, l.statuses)
	reportFault(t, row, problems)
}
