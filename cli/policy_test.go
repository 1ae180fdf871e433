package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ncw/swift/v2"
)

const policyConfig = `storage_policies:
  - {index: 0, name: gold, aliases: "yellow, orange", default: true}
  - {index: 1, name: silver}
  - {index: 2, name: bronze, deprecated: true}
`

// Two storage policies (and a deprecated third) as a Swift user sees
// them: containers in each, their objects in objects/ and objects-1/ on
// disk, per-policy account headers, 409 on a policy change, 400 for a
// deprecated or unknown policy, /info, swift.conf and rings for every
// policy, and a damaged policy-1 replica restored by the replicator.
func TestStoragePolicies(t *testing.T) {
	x := newPolicyEnv(t)
	x.containersByPolicy()
	body := bytes.Repeat([]byte("silver!"), 1000)
	x.objectsByPolicy(body)
	x.accountPerPolicy()
	x.infoConfAndRings()
	checkObjectInfo(t, x.dev, "/AUTH_test/silvery/coin", "Content-Type: text/plain")
	x.damagedReplicaRestored(body)

	// The container's policy survives a restart.
	x.s.Restart()
	c := x.s.conn(t, "test:tester", "testing")
	_, ch, err := c.Container(x.ctx, "silvery")
	if err != nil || ch["X-Storage-Policy"] != "silver" {
		t.Fatalf("after restart: %v %v", ch, err)
	}
}

// policyEnv is TestStoragePolicies' server with policyConfig.
type policyEnv struct {
	t              *testing.T
	ctx            context.Context
	s              *server
	c              *swift.Connection
	dev, state     string // the devices, and the swift_dir in them
	cfgPath        string
	storage, token string
}

func newPolicyEnv(t *testing.T) *policyEnv {
	dir := t.TempDir()
	x := &policyEnv{t: t, ctx: context.Background(), cfgPath: filepath.Join(dir, "config.yaml"), dev: filepath.Join(dir, "node")}
	x.state = filepath.Join(x.dev, ".swiftbox") // where checkObjectInfo looks
	if err := os.WriteFile(x.cfgPath, []byte("devices: "+x.dev+"\nswift_dir: "+x.state+"\n"+policyConfig), 0o644); err != nil {
		t.Fatal(err)
	}
	x.s = startServer(t, "", "--config", x.cfgPath, "--user", "test:tester:testing:.admin")
	if out := x.s.Output(); !strings.Contains(out, "storage policies: gold (0, default), silver (1), bronze (2, deprecated)") {
		t.Errorf("serve does not name the policies:\n%s", out)
	}
	x.c = x.s.conn(t, "test:tester", "testing")
	x.storage, x.token = x.s.token(t, "test:tester", "testing")
	return x
}

// do sends a Swift request as test:tester; the body is read and closed.
func (x *policyEnv) do(method, path string, h map[string]string, body string) *http.Response {
	x.t.Helper()
	req, _ := http.NewRequest(method, x.storage+path, strings.NewReader(body))
	req.Header.Set("X-Auth-Token", x.token)
	for k, v := range h {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		x.t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

// policyPuts are container PUTs with a policy (by name or alias, in any
// case) and their status: 202 for the same policy again, 409 for a
// change, 400 for a deprecated or unknown policy.
var policyPuts = []struct {
	container, policy string
	want              int
}{
	{"plain", "", 201}, {"golden", "Yellow", 201}, {"silvery", "SILVER", 201},
	{"silvery", "silver", 202}, {"silvery", "gold", 409}, {"plain", "silver", 409},
	{"old", "bronze", 400}, {"nope", "platinum", 400},
}

// containersByPolicy makes the containers of policyPuts and checks the
// policy each reports.
func (x *policyEnv) containersByPolicy() {
	t, do := x.t, x.do
	for _, tc := range policyPuts {
		h := map[string]string{}
		if tc.policy != "" {
			h["X-Storage-Policy"] = tc.policy
		}
		if got := do("PUT", "/"+tc.container, h, "").StatusCode; got != tc.want {
			t.Errorf("PUT %s with policy %q: %d, want %d", tc.container, tc.policy, got, tc.want)
		}
	}
	for cont, want := range map[string]string{"plain": "gold", "golden": "gold", "silvery": "silver"} {
		if got := do("HEAD", "/"+cont, nil, "").Header.Get("X-Storage-Policy"); got != want {
			t.Errorf("HEAD %s: X-Storage-Policy %q, want %q", cont, got, want)
		}
	}
}

// objectsByPolicy: objects land in objects/ and objects-1/ on disk, read
// back, list, and copy across policies.
func (x *policyEnv) objectsByPolicy(body []byte) {
	t, ctx, c, dev := x.t, x.ctx, x.c, x.dev
	if _, err := c.ObjectPut(ctx, "silvery", "coin", bytes.NewReader(body), true, "", "text/plain", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ObjectPut(ctx, "plain", "bar", strings.NewReader("gold"), true, "", "text/plain", nil); err != nil {
		t.Fatal(err)
	}
	for d, want := range map[string]int{"objects": 3, "objects-1": 3} {
		var n int
		for _, dv := range []string{"d1", "d2", "d3"} {
			n += len(findFiles(t, filepath.Join(dev, dv, d), ".data"))
		}
		if n != want {
			t.Errorf("%s holds %d .data files, want %d", d, n, want)
		}
	}
	if got, err := c.ObjectGetBytes(ctx, "silvery", "coin"); err != nil || !bytes.Equal(got, body) {
		t.Fatalf("GET policy-1 object: %d bytes, %v", len(got), err)
	}
	objs, err := c.ObjectNames(ctx, "silvery", nil)
	if err != nil || len(objs) != 1 {
		t.Fatalf("listing of silvery: %v %v", objs, err)
	}
	// A copy across policies.
	if _, err := c.ObjectCopy(ctx, "silvery", "coin", "plain", "coin-copy", nil); err != nil {
		t.Fatal(err)
	}
	if got, err := c.ObjectGetBytes(ctx, "plain", "coin-copy"); err != nil || !bytes.Equal(got, body) {
		t.Fatalf("GET cross-policy copy: %d bytes, %v", len(got), err)
	}
}

// accountPerPolicy: the account's per-policy headers, none for an unused policy.
func (x *policyEnv) accountPerPolicy() {
	t, ctx, c := x.t, x.ctx, x.c
	var err error
	var h swift.Headers
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		// Account stats follow the containers' asynchronously.
		_, h, err = c.Account(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if h["X-Account-Object-Count"] == "3" || time.Now().After(deadline) {
			break
		}
	}
	for k, want := range map[string]string{
		"X-Account-Storage-Policy-Gold-Container-Count":   "2",
		"X-Account-Storage-Policy-Gold-Object-Count":      "2",
		"X-Account-Storage-Policy-Gold-Bytes-Used":        "7004",
		"X-Account-Storage-Policy-Silver-Container-Count": "1",
		"X-Account-Storage-Policy-Silver-Object-Count":    "1",
		"X-Account-Storage-Policy-Silver-Bytes-Used":      "7000",
		"X-Account-Container-Count":                       "3",
	} {
		if h[k] != want {
			t.Errorf("account %s = %q, want %q (%v)", k, h[k], want, h)
		}
	}
	if _, ok := h["X-Account-Storage-Policy-Bronze-Container-Count"]; ok {
		t.Error("account names an unused policy")
	}
}

// infoConfAndRings: /info lists the usable policies; swift.conf and the
// rings hold every policy.
func (x *policyEnv) infoConfAndRings() {
	t, s, state := x.t, x.s, x.state
	resp, err := http.Get(s.URL + "/info")
	if err != nil {
		t.Fatal(err)
	}
	var info struct {
		Swift struct {
			Policies []map[string]any `json:"policies"`
		} `json:"swift"`
	}
	json.NewDecoder(resp.Body).Decode(&info)
	resp.Body.Close()
	got, _ := json.Marshal(info.Swift.Policies)
	if want := `[{"aliases":"gold, yellow, orange","default":true,"name":"gold"},{"aliases":"silver","name":"silver"}]`; string(got) != want {
		t.Errorf("/info policies %s, want %s", got, want)
	}

	conf, _ := os.ReadFile(filepath.Join(state, "swift.conf"))
	for _, want := range []string{"[storage-policy:0]\nname = gold\naliases = yellow, orange\npolicy_type = replication\ndefault = yes\n",
		"[storage-policy:1]\nname = silver\n", "[storage-policy:2]\nname = bronze\npolicy_type = replication\ndeprecated = yes\n"} {
		if !strings.Contains(string(conf), want) {
			t.Errorf("swift.conf lacks %q:\n%s", want, conf)
		}
	}
	for _, r := range []string{"object", "object-1", "object-2"} {
		if _, err := os.Stat(filepath.Join(state, r+".ring.gz")); err != nil {
			t.Errorf("ring %s: %v", r, err)
		}
	}
	run(t, false, "ring", "list", "object-1", "--dir", state)
}

// damagedReplicaRestored: a damaged policy-1 replica is quarantined into
// quarantined/objects-1 by the auditor and restored by the replicator.
func (x *policyEnv) damagedReplicaRestored(body []byte) {
	t, dev, cfgPath := x.t, x.dev, x.cfgPath
	d2 := findFiles(t, filepath.Join(dev, "d2", "objects-1"), ".data")
	if len(d2) != 1 {
		t.Fatalf("d2/objects-1 holds %v", d2)
	}
	f, _ := os.OpenFile(d2[0], os.O_RDWR, 0)
	f.WriteAt([]byte("XX"), 3)
	f.Close()
	run(t, false, "auditor", "--once", "--config", cfgPath)
	if q, _ := os.ReadDir(filepath.Join(dev, "d2", "quarantined", "objects-1")); len(q) != 1 {
		t.Fatalf("quarantined/objects-1 holds %d entries, want 1", len(q))
	}
	run(t, false, "replicator", "--once", "--config", cfgPath)
	d1 := findFiles(t, filepath.Join(dev, "d1", "objects-1"), ".data")
	d2 = findFiles(t, filepath.Join(dev, "d2", "objects-1"), ".data")
	if len(d1) != 1 || len(d2) != 1 {
		t.Fatalf("after replication d1 %v d2 %v", d1, d2)
	}
	good, _ := os.ReadFile(d1[0])
	restored, _ := os.ReadFile(d2[0])
	if !bytes.Equal(good, restored) || !bytes.Equal(good, body) {
		t.Fatalf("d2's policy-1 replica not restored (%d bytes, want %d)", len(restored), len(good))
	}
}
