package cli_test

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"
)

// A container PUT or DELETE cut off by kill -9 after any number of its
// database replicas took it (a versioned container's hidden versions
// container first, then its own): after a restart and one updater and
// replicator pass, the account lists exactly the containers a HEAD finds,
// each once (Swift's rule: the databases that exist report to the account).
func TestCrashContainerAccount(t *testing.T) {
	t.Parallel()
	dev := t.TempDir()
	s := startFaultServer(t, dev, "")
	c := newFclient(t, s, 10*time.Second)
	type crashCase struct {
		name, method, point string
		n                   int
		versioned           bool
	}
	var cases []crashCase
	for _, versioned := range []bool{false, true} {
		writes := 3 // one per replica; a versioned container's versions container's first
		if versioned {
			writes = 6
		}
		for n := 1; n <= writes; n++ {
			cases = append(cases, crashCase{fmt.Sprintf("put-%v-%d", versioned, n), "PUT", "container-created", n, versioned},
				crashCase{fmt.Sprintf("del-%v-%d", versioned, n), "DELETE", "container-deleted", n, versioned})
		}
	}
	hdr := func(cc crashCase) map[string]string {
		if cc.versioned {
			return map[string]string{"X-Versions-Enabled": "true"}
		}
		return nil
	}
	for _, cc := range cases {
		if cc.method == "DELETE" {
			if st, _, _, err := c.do("PUT", "/"+cc.name, hdr(cc), nil); err != nil || st != 201 {
				t.Fatalf("PUT %s: %d %v", cc.name, st, err)
			}
		}
	}
	for _, cc := range cases {
		s.kill9()
		s.env = []string{fmt.Sprintf("SWIFTBOX_FAILPOINT=%s:%d", cc.point, cc.n)}
		s.start()
		c = newFclient(t, s, 10*time.Second)
		if st, _, _, err := c.do(cc.method, "/"+cc.name, hdr(cc), nil); err == nil {
			t.Fatalf("%s %s answered %d: the failpoint did not kill the server", cc.method, cc.name, st)
		}
		<-s.done
	}
	s.env = nil
	s.start()
	c = newFclient(t, s, 10*time.Second)
	daemonOnce(t, dev, "updater")
	daemonOnce(t, dev, "replicator")
	bad := settle(5*time.Second, func() []string {
		var bad []string
		rows, err := c.list("")
		if err != nil {
			return []string{err.Error()}
		}
		listed := map[string]int{}
		for _, r := range rows {
			listed[r.Name]++
		}
		for _, cc := range cases {
			st, _, _, err := c.do("HEAD", "/"+url.PathEscape(cc.name), nil, nil)
			if err != nil {
				return []string{err.Error()}
			}
			if exists := st/100 == 2; exists != (listed[cc.name] == 1) || st != 404 && st/100 != 2 {
				bad = append(bad, fmt.Sprintf("%s: HEAD %d, listed %d times", cc.name, st, listed[cc.name]))
			}
		}
		return bad
	})
	if len(bad) > 0 {
		t.Errorf("account disagrees with the containers after a crash:\n%s", strings.Join(bad, "\n"))
	}
}
