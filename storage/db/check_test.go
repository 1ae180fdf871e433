package db

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// The auditor checks databases while they take writes; a healthy database
// must never be reported corrupt however the commits interleave with the
// check (bbolt's page check is not safe beside commits in a read-only
// transaction).
func TestCheckUnderConcurrentCommits(t *testing.T) {
	t.Parallel()
	s, _ := newTestStore(t, 0)
	mustCreateContainer(t, s, "c")
	path := s.FileOf(KindContainers, dev, 1, "AUTH_a", "c")
	var stop atomic.Bool
	var wg sync.WaitGroup
	var writes atomic.Int64
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; !stop.Load(); i++ {
				// Puts and deletes of big rows split and free pages on
				// every commit, so the freelist keeps changing.
				name := fmt.Sprintf("w%d-%04d", w, i%300)
				row := ObjectRow{Name: name, Timestamp: ts(10 + i), Size: int64(i), ETag: fmt.Sprintf("%0512d", i),
					Deleted: i%3 == 2}
				if err := s.PutObjectRow(dev, 1, "AUTH_a", "c", row); err != nil {
					t.Error(err)
					return
				}
				writes.Add(1)
			}
		}()
	}
	h, err := s.openContainer(dev, 1, "AUTH_a", "c")
	if err != nil {
		t.Fatal(err)
	}
	defer s.release(h)
	deadline := time.Now().Add(1500 * time.Millisecond)
	checks := 0
	for time.Now().Before(deadline) {
		check := s.Check // on a copy
		if checks%2 == 1 {
			// Under the writer lock, as when the device lacks room for a copy.
			check = func(f File) error { return h.checkLocked(f.Path) }
		}
		if err := check(path); err != nil {
			stop.Store(true)
			wg.Wait()
			t.Fatalf("check %d of a healthy database under %d writes: %v", checks, writes.Load(), err)
		}
		checks++
	}
	stop.Store(true)
	wg.Wait()
	if err := s.Check(path); err != nil {
		t.Fatal(err)
	}
	if checks < 5 || writes.Load() < 100 {
		t.Fatalf("only %d checks beside %d writes", checks, writes.Load())
	}
	t.Logf("%d checks beside %d writes, none failed", checks, writes.Load())
}

// corruptCounts breaks a container's stat record (a swiftbox invariant
// Check catches) without touching bbolt's pages.
func corruptCounts(t *testing.T, s *Store, device string) {
	t.Helper()
	h, err := s.openContainer(device, 1, "AUTH_a", "c")
	if err != nil {
		t.Fatal(err)
	}
	defer s.release(h)
	if err := h.update(func(c *txCtx) error {
		st, err := c.container()
		st.BytesUsed++
		return err
	}); err != nil {
		t.Fatal(err)
	}
}

// Quarantine keeps a corrupt database that is its last good-looking
// replica, moves it once another replica checks good, closes its open
// handle first (no caller keeps using the moved file) and leaves a
// healthy database alone.
func TestQuarantineKeepsLastReplica(t *testing.T) {
	t.Parallel()
	s, root := newTestStore(t, 0)
	if err := os.Mkdir(filepath.Join(root, "sdb"), 0o755); err != nil {
		t.Fatal(err)
	}
	mustCreateContainer(t, s, "c")
	f := s.FileOf(KindContainers, dev, 1, "AUTH_a", "c")
	peer := s.FileOn(f, "sdb")
	if _, err := s.CreateContainer("sdb", 1, "AUTH_a", "c", ts(1), 0, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.Quarantine(f, []File{peer}); !errors.Is(err, ErrHealthy) {
		t.Fatalf("Quarantine of a healthy database = %v, want ErrHealthy", err)
	}
	if err := s.Remove(peer, nil); err != nil {
		t.Fatal(err)
	}
	corruptCounts(t, s, dev)
	if err := s.Check(f); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Check = %v, want ErrCorrupt", err)
	}
	// No other replica: kept.
	if err := s.Quarantine(f, []File{peer, f}); !errors.Is(err, ErrLastReplica) {
		t.Fatalf("Quarantine with no other replica = %v, want ErrLastReplica", err)
	}
	if _, err := s.ContainerInfo(dev, 1, "AUTH_a", "c"); err != nil {
		t.Fatalf("kept database unreadable: %v", err)
	}
	// The other replica corrupt too: still kept.
	if _, err := s.CreateContainer("sdb", 1, "AUTH_a", "c", ts(1), 0, nil); err != nil {
		t.Fatal(err)
	}
	corruptCounts(t, s, "sdb")
	if err := s.Quarantine(f, []File{peer}); !errors.Is(err, ErrLastReplica) {
		t.Fatalf("Quarantine with only a corrupt peer = %v, want ErrLastReplica", err)
	}
	// A good replica elsewhere: quarantined, with the handle that was
	// open closed first.
	if err := s.Remove(peer, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateContainer("sdb", 1, "AUTH_a", "c", ts(1), 0, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.Quarantine(f, []File{peer}); err != nil {
		t.Fatalf("Quarantine with a good peer: %v", err)
	}
	if _, err := os.Stat(filepath.Join(root, dev, "quarantined", KindContainers, f.Hash, f.Hash+".db")); err != nil {
		t.Fatalf("not in quarantine: %v", err)
	}
	if _, err := os.Stat(f.Path); !os.IsNotExist(err) {
		t.Fatalf("still at its path: %v", err)
	}
	if err := s.PutObjectRow(dev, 1, "AUTH_a", "c", ObjectRow{Name: "o", Timestamp: ts(5)}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("write after quarantine = %v, want ErrNotFound (a stale handle wrote to the moved file)", err)
	}
}

// Quarantining a database in use waits for the calls under way and holds
// new ones off; none of them writes into the moved file.
func TestQuarantineFencesWriters(t *testing.T) {
	t.Parallel()
	s, root := newTestStore(t, 0)
	if err := os.Mkdir(filepath.Join(root, "sdb"), 0o755); err != nil {
		t.Fatal(err)
	}
	mustCreateContainer(t, s, "c")
	if _, err := s.CreateContainer("sdb", 1, "AUTH_a", "c", ts(1), 0, nil); err != nil {
		t.Fatal(err)
	}
	f := s.FileOf(KindContainers, dev, 1, "AUTH_a", "c")
	corruptCounts(t, s, dev)
	var wg sync.WaitGroup
	var acked atomic.Int64
	var stop atomic.Bool
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; !stop.Load(); i++ {
				err := s.PutObjectRow(dev, 1, "AUTH_a", "c", ObjectRow{Name: fmt.Sprintf("w%d-%d", w, i), Timestamp: ts(10 + i), Size: 1})
				if errors.Is(err, ErrNotFound) {
					return
				}
				if err != nil {
					t.Error(err)
					return
				}
				acked.Add(1)
			}
		}()
	}
	time.Sleep(100 * time.Millisecond)
	if err := s.Quarantine(f, []File{s.FileOn(f, "sdb")}); err != nil {
		t.Fatal(err)
	}
	if err := s.PutObjectRow(dev, 1, "AUTH_a", "c", ObjectRow{Name: "late", Timestamp: ts(5)}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("write after quarantine = %v, want ErrNotFound (a handle stayed open on the moved file)", err)
	}
	stop.Store(true)
	wg.Wait()
	// Every acknowledged write is in the quarantined file: none went to a
	// handle left open on it after the move.
	q := filepath.Join(root, dev, "quarantined", KindContainers, f.Hash, f.Hash+".db")
	db, err := bolt.Open(q, 0o600, &bolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var rows int
	db.View(func(tx *bolt.Tx) error { rows = tx.Bucket(bucketLive).Stats().KeyN; return nil })
	if int64(rows) != acked.Load() {
		t.Fatalf("quarantined file holds %d rows, %d writes were acknowledged", rows, acked.Load())
	}
}

// Remove re-reads the database with writers held off and keeps it when it
// changed since the caller decided to remove it (a write that reached a
// handoff after its last replication, a re-created container).
func TestRemoveKeepsChangedDatabase(t *testing.T) {
	t.Parallel()
	s, _ := newTestStore(t, 0)
	mustCreateContainer(t, s, "c")
	f := s.FileOf(KindContainers, dev, 1, "AUTH_a", "c")
	pre, err := s.Stat(f)
	if err != nil {
		t.Fatal(err)
	}
	same := func(id Identity) bool { return id.Version == pre.Version }
	if err := s.PutObjectRow(dev, 1, "AUTH_a", "c", ObjectRow{Name: "late", Timestamp: ts(5), Size: 1}); err != nil {
		t.Fatal(err)
	}
	if err := s.Remove(f, same); !errors.Is(err, ErrChanged) {
		t.Fatalf("Remove after a write = %v, want ErrChanged", err)
	}
	if info, err := s.ContainerInfo(dev, 1, "AUTH_a", "c"); err != nil || info.ObjectCount != 1 {
		t.Fatalf("kept database: %+v %v", info, err)
	}
	// Metadata alone changes the version too.
	pre, _ = s.Stat(f)
	if err := s.UpdateContainerMetadata(dev, 1, "AUTH_a", "c", Metadata{"X-Container-Meta-A": {"1", ts(6)}}); err != nil {
		t.Fatal(err)
	}
	if err := s.Remove(f, same); !errors.Is(err, ErrChanged) {
		t.Fatalf("Remove after a metadata change = %v, want ErrChanged", err)
	}
	pre, _ = s.Stat(f)
	if err := s.Remove(f, same); err != nil {
		t.Fatalf("Remove of an unchanged database: %v", err)
	}
	if _, err := os.Stat(f.Path); !os.IsNotExist(err) {
		t.Fatalf("removed database still there: %v", err)
	}
}
