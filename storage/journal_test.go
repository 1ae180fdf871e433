package storage

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"swiftbox/storage/storagetest"
)

func apFor(obj string) AsyncPending {
	return AsyncPending{Op: "PUT", Account: "a", Container: "c", Object: obj,
		Headers: map[string]string{"X-Timestamp": ts(5).Internal(), "X-Size": "3", "X-Etag": "e", "X-Content-Type": "t"}}
}

// A journalled update survives a crash with its object and is replayed;
// a released one is not; a torn tail record is ignored.
func TestJournalCrashReplay(t *testing.T) {
	ffs := storagetest.NewFaultFS(nil)
	s := newStore(t, ffs)
	for i, name := range []string{"kept", "released"} {
		w, err := s.NewWriter(testDev, 1, "a", "c", name, ts(int64(10+i)), 3)
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte("abc"))
		ap := apFor(name)
		ref, err := w.CommitWithUpdate(map[string]string{"Content-Type": "t"}, &ap)
		if err != nil {
			t.Fatal(err)
		}
		if name == "released" {
			s.ReleaseJournal(ref)
		}
	}
	if err := ffs.Crash(); err != nil {
		t.Fatal(err)
	}
	// a torn record after the crash: length says more than is there
	segs, _ := s.journalSegments(testDev)
	if len(segs) != 1 {
		t.Fatalf("segments %v", segs)
	}
	path := filepath.Join(s.devicePath(testDev), journalDir, segName(segs[0]))
	f, _ := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	f.Write([]byte{200, 0, 0, 0, 1, 2, 3, 4, 'x'})
	f.Close()

	fresh := NewObjectStore(s.cfg)
	var got []string
	n, err := fresh.ReplayJournal(testDev, func(aps []AsyncPending) error {
		for _, ap := range aps {
			got = append(got, ap.Object)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// Release is in memory: a replay after a crash sees both records, which
	// is harmless (applying an update twice changes nothing).
	if n != 2 || got[0] != "kept" || got[1] != "released" {
		t.Fatalf("replayed %d %v", n, got)
	}
	if segs, _ := fresh.journalSegments(testDev); len(segs) != 0 {
		t.Errorf("segments left after replay: %v", segs)
	}
}

// Sealed segments are deleted once every record in them is released.
func TestJournalSegmentsDeletedWhenReleased(t *testing.T) {
	s := newStore(t, nil)
	var refs []JournalRef
	for i := 0; i < 3; i++ {
		ref, err := s.stageJournal(testDev, apFor("o"))
		if err != nil {
			t.Fatal(err)
		}
		refs = append(refs, ref)
	}
	j, _ := s.journalFor(testDev)
	j.mu.Lock()
	s.rotate(j)
	j.mu.Unlock()
	for _, r := range refs {
		s.ReleaseJournal(r)
	}
	segs, _ := s.journalSegments(testDev)
	if len(segs) != 1 || segs[0] != j.seq {
		t.Fatalf("want only the new current segment, have %v (current %d)", segs, j.seq)
	}
}

// A large object takes the fsync path instead of the group flush; it and
// its journalled update survive a crash all the same.
func TestLargeCommitSurvivesCrash(t *testing.T) {
	ffs := storagetest.NewFaultFS(nil)
	s := newStore(t, ffs)
	body := make([]byte, ownSyncSize+123)
	for i := range body {
		body[i] = byte(i)
	}
	w, err := s.NewWriter(testDev, 7, "a", "c", "big", ts(20), int64(len(body)))
	if err != nil {
		t.Fatal(err)
	}
	w.Write(body)
	ap := apFor("big")
	if _, err := w.CommitWithUpdate(map[string]string{"Content-Type": "t"}, &ap); err != nil {
		t.Fatal(err)
	}
	if err := ffs.Crash(); err != nil {
		t.Fatal(err)
	}
	r, err := s.Open(testDev, 7, "a", "c", "big")
	if err != nil || r.Size() != int64(len(body)) {
		t.Fatalf("after crash: %v", err)
	}
	r.Close()
	n, err := NewObjectStore(s.cfg).ReplayJournal(testDev, func([]AsyncPending) error { return nil })
	if err != nil || n != 1 {
		t.Fatalf("journal after crash: %d %v", n, err)
	}
}

// A segment whose records cannot be applied now is kept for the next
// replay; the segments after it are still replayed and removed.
func TestJournalReplayGoesOnPastAFailingSegment(t *testing.T) {
	s := newStore(t, nil)
	for i, name := range []string{"first", "second", "third"} {
		if _, err := s.stageJournal(testDev, apFor(name)); err != nil {
			t.Fatal(err)
		}
		if i < 2 {
			j, _ := s.journalFor(testDev)
			j.mu.Lock()
			err := s.rotate(j)
			j.mu.Unlock()
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	fresh := NewObjectStore(s.cfg)
	var got []string
	n, err := fresh.ReplayJournal(testDev, func(aps []AsyncPending) error {
		if aps[0].Object == "first" {
			return errors.New("unreadable now")
		}
		for _, ap := range aps {
			got = append(got, ap.Object)
		}
		return nil
	})
	if err == nil || n != 2 || len(got) != 2 || got[0] != "second" || got[1] != "third" {
		t.Fatalf("replay: %d %v, %v; want second and third applied and an error", n, got, err)
	}
	segs, _ := fresh.journalSegments(testDev)
	if len(segs) != 1 {
		t.Fatalf("segments left: %v, want the failing one", segs)
	}
	var again []string
	if _, err := NewObjectStore(s.cfg).ReplayJournal(testDev, func(aps []AsyncPending) error {
		for _, ap := range aps {
			again = append(again, ap.Object)
		}
		return nil
	}); err != nil || len(again) != 1 || again[0] != "first" {
		t.Fatalf("next replay: %v %v", again, err)
	}
}
