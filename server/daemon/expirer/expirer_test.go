package expirer_test

import (
	"context"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"testing"
	"time"

	"swiftbox/server/daemon/expirer"
	"swiftbox/server/proxy"
	"swiftbox/server/servertest"
	"swiftbox/storage/db"
)

// tasks lists the expiry queue: task names by task container.
func tasks(t *testing.T, cl *proxy.Cluster) map[string][]string {
	t.Helper()
	ctx := context.Background()
	conts, err := cl.ListContainers(ctx, proxy.ExpiringAccount)
	if err != nil && !proxy.NotFound(err) {
		t.Fatal(err)
	}
	out := map[string][]string{}
	for _, cont := range conts {
		entries, err := cl.ListObjects(ctx, proxy.ExpiringAccount, cont, db.ListOptions{Limit: 10000})
		if err != nil {
			t.Fatal(err)
		}
		out[cont] = []string{}
		for _, e := range entries {
			out[cont] = append(out[cont], e.Name)
		}
	}
	return out
}

func TestExpirer(t *testing.T) {
	c := servertest.Start(t, servertest.Options{})
	e := &expirer.Expirer{Cluster: c.Proxy.Cluster(), Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	c.Must(201, "PUT", "/v1/AUTH_test/c", "")
	at := time.Now().Unix() + 2
	del := "X-Delete-At: " + strconv.FormatInt(at, 10)
	c.Must(201, "PUT", "/v1/AUTH_test/c/gone", "x", del)
	c.Must(201, "PUT", "/v1/AUTH_test/c/kept", "x", del)
	c.Must(201, "PUT", "/v1/AUTH_test/c/posted", "x", del)
	c.Must(201, "PUT", "/v1/AUTH_test/c/later", "x", "X-Delete-After: 3600")
	// An overwrite without expiry, and a POST moving it, keep the objects.
	c.Must(201, "PUT", "/v1/AUTH_test/c/kept", "new")
	c.Must(202, "POST", "/v1/AUTH_test/c/posted", "", "X-Delete-After: 7200")

	// The queue is Swift's: task containers named by the day (less a
	// shard), tasks by the time and the object.
	want := strconv.FormatInt(at, 10) + "-AUTH_test/c/gone"
	found := false
	for cont, names := range tasks(t, c.Proxy.Cluster()) {
		for _, task := range names {
			if task != want {
				continue
			}
			found = true
			if n, _ := strconv.ParseInt(cont, 10, 64); n > at || n < at-86400-100 || len(cont) != 10 {
				t.Fatalf("task container %q for %d", cont, at)
			}
		}
	}
	if !found {
		t.Fatalf("no task %s in %v", want, tasks(t, c.Proxy.Cluster()))
	}

	// Nothing is due yet.
	if st := e.RunOnce(context.Background()); st.Tasks != 0 {
		t.Fatalf("early pass: %+v", st)
	}
	time.Sleep(time.Until(time.Unix(at+1, 0)))
	c.Must(404, "GET", "/v1/AUTH_test/c/gone", "") // expired: 404 before the expirer runs
	st := e.RunOnce(context.Background())
	if st.Deleted != 1 || st.Failed != 0 {
		t.Errorf("pass: %+v", st)
	}
	_, body := c.Must(200, "GET", "/v1/AUTH_test/c", "")
	if body != "kept\nlater\nposted\n" {
		t.Errorf("listing after expiry: %q", body)
	}
	_, body = c.Must(200, "GET", "/v1/AUTH_test/c/kept", "")
	if body != "new" {
		t.Errorf("overwritten object: %q", body)
	}
	c.Must(200, "HEAD", "/v1/AUTH_test/c/posted", "")
	// Due tasks are gone; later ones stay.
	left := tasks(t, c.Proxy.Cluster())
	for cont, names := range left {
		for _, task := range names {
			if strings.HasPrefix(task, strconv.FormatInt(at, 10)) {
				t.Errorf("task left: %s/%s", cont, task)
			}
		}
	}
	if st := e.RunOnce(context.Background()); st.Tasks != 0 {
		t.Errorf("second pass: %+v", st)
	}
	if len(left) == 0 || len(left) > 3 {
		t.Errorf("task containers: %v", left)
	}
}

// A pass asked to stop does no work: serve's shutdown cancels it.
func TestExpirerStopsWithItsContext(t *testing.T) {
	c := servertest.Start(t, servertest.Options{})
	e := &expirer.Expirer{Cluster: c.Proxy.Cluster(), Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	c.Must(201, "PUT", "/v1/AUTH_test/c", "")
	at := time.Now().Unix() + 1
	c.Must(201, "PUT", "/v1/AUTH_test/c/o", "x", "X-Delete-At: "+strconv.FormatInt(at, 10))
	time.Sleep(time.Until(time.Unix(at+1, 0)))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if st := e.RunOnce(ctx); st.Tasks != 0 || st.Deleted != 0 {
		t.Fatalf("cancelled pass: %+v", st)
	}
	if st := e.RunOnce(context.Background()); st.Deleted != 1 {
		t.Fatalf("pass: %+v", st)
	}
}
