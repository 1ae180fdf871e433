package storage

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A policy's store keeps its objects, temp files, async_pendings, hashes
// and quarantine in Swift's policy directories, and sees nothing of the
// other policies.
func TestPolicyDirectories(t *testing.T) {
	s0 := newStore(t, nil)
	s1 := s0.Policy(1)
	if s0.Policy(0) != s0 || s1.PolicyIndex() != 1 {
		t.Fatal("Policy views")
	}
	mustPut(t, s1, "o", 1, []byte("silver"), nil)
	hd := s1.HashDir(testDev, 1, "a", "c", "o")
	if !strings.Contains(hd, string(filepath.Separator)+"objects-1"+string(filepath.Separator)) {
		t.Fatalf("policy 1 hash dir %s", hd)
	}
	if _, _, err := get(t, s0, "o"); err == nil {
		t.Fatal("policy 0 sees policy 1's object")
	}
	mustGet(t, s1, "o", []byte("silver")).Close()
	dev := filepath.Join(s0.cfg.DevicesDir, testDev)
	if _, err := os.Stat(filepath.Join(dev, "tmp-1")); err != nil {
		t.Errorf("tmp-1: %v", err)
	}
	if p, _ := s0.Partitions(testDev); len(p) != 0 {
		t.Errorf("policy 0 partitions %v", p)
	}
	if p, _ := s1.Partitions(testDev); len(p) != 1 {
		t.Errorf("policy 1 partitions %v", p)
	}
	if _, err := s1.SuffixHashes(testDev, 1, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dev, "objects-1", "1", hashesFile)); err != nil {
		t.Errorf("hashes.pkl per policy: %v", err)
	}
	ap := AsyncPending{Op: "PUT", Account: "a", Container: "c", Object: "o",
		Headers: map[string]string{"X-Timestamp": ts(1).Internal(), "X-Backend-Storage-Policy-Index": "1"}}
	if err := s0.WriteAsyncPending(testDev, ap); err != nil {
		t.Fatal(err)
	}
	if l, _ := s0.ListAsyncPendings(testDev); len(l) != 0 {
		t.Errorf("policy 0 async_pendings %v", l)
	}
	l, _ := s1.ListAsyncPendings(testDev)
	if len(l) != 1 || !strings.Contains(l[0], "/async_pending-1/") {
		t.Errorf("policy 1 async_pendings %v", l)
	}
	if err := s1.Quarantine(testDev, 1, hd); err != nil {
		t.Fatal(err)
	}
	if s1.QuarantinedCount(testDev) != 1 || s0.QuarantinedCount(testDev) != 0 {
		t.Errorf("quarantined counts %d %d", s1.QuarantinedCount(testDev), s0.QuarantinedCount(testDev))
	}
	if _, err := os.Stat(filepath.Join(dev, "quarantined", "objects-1", filepath.Base(hd))); err != nil {
		t.Errorf("quarantined/objects-1: %v", err)
	}
}
