package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestValidatePolicies(t *testing.T) {
	ps, err := ValidatePolicies(nil)
	if err != nil || len(ps) != 1 || ps[0].Name != "Policy-0" || !ps[0].Default || ps[0].Index != 0 {
		t.Fatalf("no policies: %+v %v", ps, err)
	}
	ps, err = ValidatePolicies([]StoragePolicy{{Index: 0, Name: "zero"}})
	if err != nil || !ps.Default().Default || ps.Default().Name != "zero" {
		t.Fatalf("a lone policy is the default: %+v %v", ps, err)
	}
	ps, err = ValidatePolicies([]StoragePolicy{{Index: 0, Name: "gold", Aliases: "yellow, orange"},
		{Index: 1, Name: "silver", Default: true}, {Index: 2, Name: "bronze", Deprecated: true}})
	if err != nil {
		t.Fatal(err)
	}
	if p, ok := ps.ByName("ORANGE"); !ok || p.Index != 0 || p.AliasList() != "gold, yellow, orange" {
		t.Errorf("ByName alias: %+v %v", p, ok)
	}
	if ps.Default().Index != 1 || ps[2].RingName() != "object-2" || ps[0].RingName() != "object" {
		t.Errorf("default/ring names: %+v", ps)
	}
	for _, tc := range []struct {
		ps   []StoragePolicy
		want string
	}{
		{[]StoragePolicy{{Index: 1, Name: "one", Default: true}}, "index 0 must be configured"},
		{[]StoragePolicy{{Index: 0, Name: "a"}, {Index: 1, Name: "b"}}, "no default"},
		{[]StoragePolicy{{Index: 0, Name: "a", Default: true}, {Index: 1, Name: "b", Default: true}}, "duplicate default"},
		{[]StoragePolicy{{Index: 0, Name: "a", Default: true}, {Index: 0, Name: "b"}}, "duplicate index"},
		{[]StoragePolicy{{Index: 0, Name: "a", Default: true}, {Index: 1, Name: "A"}}, "duplicate name"},
		{[]StoragePolicy{{Index: 0, Name: "a", Default: true}, {Index: 1, Name: "b", Aliases: "x, A"}}, "duplicate name"},
		{[]StoragePolicy{{Index: 0, Name: "a", Default: true, Deprecated: true}}, "can not be default"},
		{[]StoragePolicy{{Index: 0, Name: "a", Deprecated: true}}, "every policy is deprecated"},
		{[]StoragePolicy{{Index: 0, Name: "a b"}}, "invalid name"},
		{[]StoragePolicy{{Index: 0, Name: "a", Default: true}, {Index: 1, Name: "policy-0"}}, "reserved for policy index 0"},
		{[]StoragePolicy{{Index: 0, Name: "ec", PolicyType: "erasure_coding"}}, "erasure_coding is not supported"},
		{[]StoragePolicy{{Index: 0, Name: "x", PolicyType: "magic"}}, "invalid policy_type"},
		{[]StoragePolicy{{Index: -1, Name: "x"}}, "invalid index"},
		{[]StoragePolicy{{Index: 0}}, "has no name"},
	} {
		if _, err := ValidatePolicies(tc.ps); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want %q", tc.ps, err, tc.want)
		}
	}
}

func TestSwiftConfSections(t *testing.T) {
	ps, _ := ValidatePolicies([]StoragePolicy{{Index: 0, Name: "gold", Aliases: "yellow", Default: true}, {Index: 1, Name: "silver", Deprecated: true}})
	want := "\n[storage-policy:0]\nname = gold\naliases = yellow\npolicy_type = replication\ndefault = yes\n" +
		"\n[storage-policy:1]\nname = silver\npolicy_type = replication\ndeprecated = yes\n"
	if got := ps.SwiftConfSections(); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

// serve records the policies in the swift.conf it generated, keeping the
// hash path, and leaves an operator's own swift.conf alone.
func TestWritePolicies(t *testing.T) {
	dir := t.TempDir()
	st, _, err := LoadState(dir, false)
	if err != nil {
		t.Fatal(err)
	}
	ps, _ := ValidatePolicies([]StoragePolicy{{Index: 0, Name: "gold", Default: true}, {Index: 1, Name: "silver"}})
	if err := st.WritePolicies(ps); err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(filepath.Join(dir, "swift.conf"))
	if !strings.Contains(string(raw), "swift_hash_path_suffix = "+st.HashSuffix+"\n") || !strings.Contains(string(raw), "[storage-policy:1]\nname = silver\n") {
		t.Fatalf("swift.conf:\n%s", raw)
	}
	if _, suffix, err := ReadHashPath(dir); err != nil || suffix != st.HashSuffix {
		t.Fatalf("hash path after rewrite: %q %v", suffix, err)
	}
	own := "[swift-hash]\nswift_hash_path_suffix = mine\n"
	os.WriteFile(filepath.Join(dir, "swift.conf"), []byte(own), 0o600)
	st, _, _ = LoadState(dir, true)
	if err := st.WritePolicies(ps); err != nil {
		t.Fatal(err)
	}
	if raw, _ := os.ReadFile(filepath.Join(dir, "swift.conf")); string(raw) != own {
		t.Fatalf("an operator's swift.conf was rewritten:\n%s", raw)
	}
}
