package replicator

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"swiftbox/ring"
	"swiftbox/storage"
	"swiftbox/storage/timestamp"
)

// Each storage policy is replicated with its own ring and directories:
// a policy-1 object written to one primary of policy 1's ring reaches
// that ring's other primaries in objects-1, and nothing lands in objects.
func TestReplicateEveryPolicy(t *testing.T) {
	c := newCluster(t, 5)
	var devs []ring.Device
	for i, d := range c.devs {
		devs = append(devs, ring.Device{Region: 1, Zone: i + 1, IP: "127.0.0.1", Port: 6200, Device: d, Weight: 100})
	}
	b, err := ring.BuildFor(devs, 3, 3) // another part power: other placements
	if err != nil {
		t.Fatal(err)
	}
	r1 := b.Ring()
	s1 := c.store.Policy(1)
	c.repl.Policies = []Policy{{Store: c.store, Ring: func() *ring.Ring { return c.ring }}, {Store: s1, Ring: func() *ring.Ring { return r1 }}}

	part := r1.Partition(ring.HashPath("", "test", "a", "c", "o1"))
	var prim []string
	for _, d := range r1.PrimaryNodes(part) {
		prim = append(prim, d.Device)
	}
	body := []byte("policy one")
	w, err := s1.NewWriter(prim[0], part, "a", "c", "o1", timestamp.Now(), int64(len(body)))
	if err != nil {
		t.Fatal(err)
	}
	w.Write(body)
	if err := w.Commit(map[string]string{"Content-Type": "text/plain", "ETag": w.ETag()}); err != nil {
		t.Fatal(err)
	}
	st := c.repl.RunOnce(context.Background())
	if st.Failures != 0 || st.Files != 2 {
		t.Fatalf("pass %+v, want 2 files pushed", st)
	}
	for _, d := range prim {
		r, err := s1.Open(d, part, "a", "c", "o1")
		if err != nil {
			t.Fatalf("%s: %v", d, err)
		}
		got := make([]byte, len(body)+1)
		n, _ := r.ReadAt(got, 0)
		r.Close()
		if !bytes.Equal(got[:n], body) {
			t.Fatalf("%s: %q", d, got[:n])
		}
		if _, err := c.store.Open(d, part, "a", "c", "o1"); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("%s: policy 0 has the object: %v", d, err)
		}
	}
}
