package cli_test

import (
	"context"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ncw/swift/v2"
)

// `swiftbox expirer --once` deletes due objects for real, through a
// running serve and alone over its stopped devices.
func TestExpirerOnce(t *testing.T) {
	dev := t.TempDir()
	s := startServer(t, dev, "--user", "test:tester:testing:.admin")
	ctx := context.Background()
	c := s.conn(t, "test:tester", "testing")
	if err := c.ContainerCreate(ctx, "exp", nil); err != nil {
		t.Fatal(err)
	}
	at := time.Now().Unix() + 2
	put := func(name string, h swift.Headers) {
		if _, err := c.ObjectPut(ctx, "exp", name, strings.NewReader("x"), true, "", "", h); err != nil {
			t.Fatal(err)
		}
	}
	due := swift.Headers{"X-Delete-At": strconv.FormatInt(at, 10)}
	for _, n := range []string{"a", "b", "overwritten"} {
		put(n, due)
	}
	put("overwritten", nil)
	put("later", swift.Headers{"X-Delete-After": "3600"})
	put("alone", due)
	time.Sleep(time.Until(time.Unix(at+1, 0)))

	out := run(t, false, "expirer", "--once", "--devices", dev)
	if !strings.Contains(out, "running serve") || !strings.Contains(out, "3 objects deleted") {
		t.Fatalf("expirer --once through serve:\n%s", out)
	}
	checkPassDuration(t, out)
	names, err := c.ObjectNamesAll(ctx, "exp", nil)
	if err != nil || strings.Join(names, ",") != "later,overwritten" {
		t.Fatalf("listing after expiry: %v %v", names, err)
	}

	// Alone, over the stopped server's devices.
	at2 := time.Now().Unix() + 1
	put("alone", swift.Headers{"X-Delete-At": strconv.FormatInt(at2, 10)})
	s.Stop()
	time.Sleep(time.Until(time.Unix(at2+1, 0)))
	out = run(t, false, "expirer", "--once", "--devices", dev)
	if !strings.Contains(out, "object expirer: 1 due tasks, 1 objects deleted") {
		t.Fatalf("expirer alone:\n%s", out)
	}
	checkPassDuration(t, out)
	s.Restart()
	c = s.conn(t, "test:tester", "testing")
	names, err = c.ObjectNamesAll(ctx, "exp", nil)
	if err != nil || strings.Join(names, ",") != "later,overwritten" {
		t.Fatalf("listing after expiry alone: %v %v", names, err)
	}
	if _, _, err := c.Object(ctx, "exp", "overwritten"); err != nil {
		t.Fatalf("overwritten object: %v", err)
	}
}

// checkPassDuration fails unless the expirer's summary ends with how long
// the pass took: a duration of zero or more, and short.
func checkPassDuration(t *testing.T, out string) {
	t.Helper()
	m := regexp.MustCompile(`object expirer: .* in (\S+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no expirer summary in:\n%s", out)
	}
	d, err := time.ParseDuration(m[1])
	if err != nil || d < 0 || d > time.Minute {
		t.Fatalf("expirer pass took %q: want a real duration\n%s", m[1], out)
	}
}
