package proxy

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestExpirer(t *testing.T) {
	c := startTestCluster(t)
	p := c.Proxy
	c.must(201, "PUT", "/v1/AUTH_test/c", "")
	at := time.Now().Unix() + 2
	del := "X-Delete-At: " + strconv.FormatInt(at, 10)
	c.must(201, "PUT", "/v1/AUTH_test/c/gone", "x", del)
	c.must(201, "PUT", "/v1/AUTH_test/c/kept", "x", del)
	c.must(201, "PUT", "/v1/AUTH_test/c/posted", "x", del)
	c.must(201, "PUT", "/v1/AUTH_test/c/later", "x", "X-Delete-After: 3600")
	// An overwrite without expiry, and a POST moving it, keep the objects.
	c.must(201, "PUT", "/v1/AUTH_test/c/kept", "new")
	c.must(202, "POST", "/v1/AUTH_test/c/posted", "", "X-Delete-After: 7200")

	// The queue is Swift's: task containers and names.
	cont := p.expirerContainer(at, "AUTH_test", "c", "gone")
	if n, _ := strconv.ParseInt(cont, 10, 64); n > at || n < at-86400-100 || len(cont) != 10 {
		t.Fatalf("task container %q for %d", cont, at)
	}
	var tasks []string
	p.eachTask(cont, func(task string) bool { tasks = append(tasks, task); return true })
	want := strconv.FormatInt(at, 10) + "-AUTH_test/c/gone"
	found := false
	for _, task := range tasks {
		found = found || task == want
	}
	if !found {
		t.Fatalf("tasks in %s: %v, want %s", cont, tasks, want)
	}

	// Nothing is due yet.
	if st := p.ExpireOnce(context.Background()); st.Tasks != 0 {
		t.Fatalf("early pass: %+v", st)
	}
	time.Sleep(time.Until(time.Unix(at+1, 0)))
	c.must(404, "GET", "/v1/AUTH_test/c/gone", "") // expired: 404 before the expirer runs
	st := p.ExpireOnce(context.Background())
	if st.Deleted != 1 || st.Failed != 0 {
		t.Errorf("pass: %+v", st)
	}
	_, body := c.must(200, "GET", "/v1/AUTH_test/c", "")
	if body != "kept\nlater\nposted\n" {
		t.Errorf("listing after expiry: %q", body)
	}
	_, body = c.must(200, "GET", "/v1/AUTH_test/c/kept", "")
	if body != "new" {
		t.Errorf("overwritten object: %q", body)
	}
	c.must(200, "HEAD", "/v1/AUTH_test/c/posted", "")
	// Due tasks are gone; later ones stay.
	for _, a := range []string{"gone", "kept", "posted"} {
		for _, co := range []string{p.expirerContainer(at, "AUTH_test", "c", a)} {
			p.eachTask(co, func(task string) bool {
				if strings.HasPrefix(task, strconv.FormatInt(at, 10)) {
					t.Errorf("task left: %s/%s", co, task)
				}
				return true
			})
		}
	}
	if st := p.ExpireOnce(context.Background()); st.Tasks != 0 {
		t.Errorf("second pass: %+v", st)
	}
	conts, _ := p.listAllContainers(expiringAccount)
	if len(conts) == 0 || len(conts) > 3 {
		t.Errorf("task containers: %v", conts)
	}
}

func TestDeleteAtValidation(t *testing.T) {
	c := startTestCluster(t)
	c.must(201, "PUT", "/v1/AUTH_test/c", "")
	c.must(400, "PUT", "/v1/AUTH_test/c/o", "x", "X-Delete-At: 1")
	c.must(400, "PUT", "/v1/AUTH_test/c/o", "x", "X-Delete-At: soon")
	c.must(400, "PUT", "/v1/AUTH_test/c/o", "x", "X-Delete-After: -1")
	c.must(201, "PUT", "/v1/AUTH_test/c/o", "x", "X-Delete-After: 100")
	resp, _ := c.must(200, "HEAD", "/v1/AUTH_test/c/o", "")
	if n, _ := strconv.ParseInt(resp.Header.Get("X-Delete-At"), 10, 64); n < time.Now().Unix()+90 {
		t.Errorf("X-Delete-At %q", resp.Header.Get("X-Delete-At"))
	}
	c.must(400, "POST", "/v1/AUTH_test/c/o", "", "X-Delete-At: 1")
}

// Task container names match Swift's get_expirer_container (golden value
// from Python: md5("/AUTH_test/c/gone" + "test") % 100 off the day).
func TestExpirerContainerName(t *testing.T) {
	c := startTestCluster(t)
	if got := c.Proxy.expirerContainer(1795626000, "AUTH_test", "c", "gone"); got != "1795564763" {
		t.Fatalf("expirer container %s", got)
	}
	if got := expiryTaskName(1795626000, "AUTH_test", "c", "o/x"); got != "1795626000-AUTH_test/c/o/x" {
		t.Fatalf("task name %s", got)
	}
}
