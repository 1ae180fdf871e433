package storage

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"testing"
)

func TestAsyncPendingRoundTrip(t *testing.T) {
	s := newStore(t, nil)
	p := AsyncPending{Op: "PUT", Account: "a", Container: "c", Object: "o☃",
		Headers: map[string]string{"X-Timestamp": ts(100).Internal(), "X-Size": "11", "X-Etag": "abc", "X-Content-Type": "text/plain"}}
	if err := s.WriteAsyncPending(testDev, p); err != nil {
		t.Fatal(err)
	}
	p2 := p
	p2.Op, p2.Headers = "DELETE", map[string]string{"X-Timestamp": ts(200).Internal(), "X-Meta-Timestamp": ts(250).Internal()}
	if err := s.WriteAsyncPending(testDev, p2); err != nil {
		t.Fatal(err)
	}
	list, err := s.ListAsyncPendings(testDev)
	if err != nil || len(list) != 2 {
		t.Fatalf("list %v %v", list, err)
	}
	h := s.ObjectHash("a", "c", "o☃")
	if want := filepath.Join(s.cfg.DevicesDir, testDev, "async_pending", h[29:], h+"-"+ts(100).Internal()); list[0] != want {
		t.Errorf("path %s want %s", list[0], want)
	}
	if filepath.Base(list[1]) != h+"-"+ts(250).Internal() {
		t.Errorf("meta timestamp not used: %s", list[1])
	}
	got, err := s.LoadAsyncPending(list[0])
	if err != nil || !reflect.DeepEqual(got, p) {
		t.Errorf("load %+v %v", got, err)
	}
	if py, err := exec.LookPath("python3"); err == nil {
		out, err := exec.Command(py, "-c", "import sys,pickle,json; print(json.dumps(pickle.load(open(sys.argv[1],'rb')), sort_keys=True))", list[0]).CombinedOutput()
		if err != nil {
			t.Fatalf("python3: %v %s", err, out)
		}
		var m map[string]any
		json.Unmarshal(out, &m)
		want := map[string]any{"op": "PUT", "account": "a", "container": "c", "obj": "o☃", "headers": map[string]any{
			"X-Timestamp": ts(100).Internal(), "X-Size": "11", "X-Etag": "abc", "X-Content-Type": "text/plain"}}
		if !reflect.DeepEqual(m, want) {
			t.Errorf("python3 read %v", m)
		}
	}
	for _, l := range list {
		if err := s.RemoveAsyncPending(l); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.RemoveAsyncPending(list[0]); err != nil {
		t.Errorf("second remove: %v", err)
	}
	if list, _ := s.ListAsyncPendings(testDev); len(list) != 0 {
		t.Errorf("left %v", list)
	}
	if got := tmpFiles(t, s); len(got) != 0 {
		t.Errorf("tmp %v", got)
	}
}

// TestAsyncPendingFromSwift loads async_pendings as Swift writes them
// (protocol 0 and 2, headers a HeaderKeyDict).
func TestAsyncPendingFromSwift(t *testing.T) {
	s := newStore(t, nil)
	for _, f := range []string{"async_hkd_p0.pkl", "async_hkd_p2.pkl", "async_p2.pkl"} {
		b, err := os.ReadFile(filepath.Join("pickle", "testdata", f))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(b, []byte("HeaderKeyDict")) && f != "async_p2.pkl" {
			t.Fatalf("%s lacks HeaderKeyDict", f)
		}
		p := filepath.Join(t.TempDir(), f)
		os.WriteFile(p, b, 0o644)
		got, err := s.LoadAsyncPending(p)
		want := AsyncPending{Op: "PUT", Account: "AUTH_test", Container: "c", Object: "o",
			Headers: map[string]string{"X-Size": "11", "X-Timestamp": "1402464677.04188"}}
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("%s: %+v %v", f, got, err)
		}
	}
}
