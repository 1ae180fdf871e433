package cli_test

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

// authStatus is the status of a tempauth login.
func authStatus(t *testing.T, s *server, user, key string) int {
	req, _ := http.NewRequest("GET", s.AuthURL(), nil)
	req.Header.Set("X-Auth-User", user)
	req.Header.Set("X-Auth-Key", key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// eventually waits up to 5 s for f to hold (serve reloads users.yaml).
func eventually(t *testing.T, what string, f func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !f(); time.Sleep(200 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 5 s", what)
		}
	}
}

// `swiftbox user` manages users and S3 keys; a running serve picks the
// changes up without a restart.
func TestUserCommand(t *testing.T) {
	dev := t.TempDir()
	s := startServer(t, dev)
	keyRE := regexp.MustCompile(`key: (\S+)`)
	out := run(t, false, "user", "add", "test:alice", "--admin", "--devices", dev)
	m := keyRE.FindStringSubmatch(out)
	if m == nil || !strings.Contains(out, "account AUTH_test") {
		t.Fatalf("user add:\n%s", out)
	}
	alice := m[1]
	// At once: a login naming an unknown user re-reads users.yaml first
	// (polling for it would count as failed logins and be throttled).
	if st := authStatus(t, s, "test:alice", alice); st != 200 {
		t.Fatalf("alice right after user add: %d", st)
	}
	_, tok := s.token(t, "test:alice", alice)
	if code, _, _ := do(t, "PUT", s.URL+"/v1/AUTH_test/alicec", tok, nil, nil); code != 201 {
		t.Fatalf("alice (.admin) creating a container: %d", code)
	}
	run(t, false, "user", "add", "test:bob", "--key", "bobkey", "--devices", dev)
	out = run(t, false, "user", "key", "create", "test:bob", "--bucket", "photos", "--read-only", "--devices", dev)
	if !regexp.MustCompile(`access key: SBX\S+\nsecret key: \S+\nuser test:bob, buckets photos, read-only`).MatchString(out) {
		t.Fatalf("key create:\n%s", out)
	}
	out = run(t, false, "user", "list", "--devices", dev)
	for _, want := range []string{"admin:admin\tgroups .admin,.reseller_admin", "test:alice\tgroups .admin", "test:bob\tgroups (none)", "user test:bob\tbuckets photos\tread-only"} {
		if !strings.Contains(out, want) {
			t.Fatalf("user list lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, alice) || strings.Contains(out, "bobkey") {
		t.Fatalf("user list shows a secret:\n%s", out)
	}
	// A new key revokes the old one and its tokens.
	out = run(t, false, "user", "passwd", "test:alice", "--key", "newpass", "--devices", dev)
	eventually(t, "alice's old key refused", func() bool { return authStatus(t, s, "test:alice", alice) == 401 })
	if code, _, _ := do(t, "GET", s.URL+"/v1/AUTH_test", tok, nil, nil); code != 401 {
		t.Fatalf("token of the old key: %d, want 401", code)
	}
	if authStatus(t, s, "test:alice", "newpass") != 200 {
		t.Fatal("alice's new key refused")
	}
	run(t, false, "user", "remove", "test:bob", "--devices", dev)
	eventually(t, "bob removed", func() bool { return authStatus(t, s, "test:bob", "bobkey") == 401 })
	if out := run(t, false, "user", "key", "list", "--devices", dev); strings.Contains(out, "test:bob") {
		t.Fatalf("bob's S3 key outlived him:\n%s", out)
	}
	// Bad input names the problem.
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"user", "add", "test:alice"}, "exists"},
		{[]string{"user", "add", "nocolon"}, "ACCOUNT:USER"},
		{[]string{"user", "remove", "test:nobody"}, "no user"},
		{[]string{"user", "key", "create", "test:nobody"}, "no user"},
		{[]string{"user", "key", "remove", "SBXNOPE"}, "no S3 key"},
	} {
		if out := run(t, true, append(c.args, "--devices", dev)...); !strings.Contains(out, c.want) {
			t.Errorf("swiftbox %v: %q lacks %q", c.args, out, c.want)
		}
	}
	if out := run(t, true, "user", "list", "--devices", t.TempDir()+"/none"); !strings.Contains(out, "state dir") {
		t.Errorf("user list without state: %s", out)
	}
}
