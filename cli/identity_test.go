package cli_test

import (
	"encoding/json"
	"net/http"
	"os/exec"
	"strings"
	"testing"
)

// v3 runs a command (swift or openstack) with Keystone v3 options for
// user/password in project.
func v3(t *testing.T, s *server, wantErr bool, tool, user, password, project string, args ...string) string {
	t.Helper()
	if _, err := exec.LookPath(tool); err != nil {
		t.Skipf("%s is not installed", tool)
	}
	base := []string{"--os-auth-url", s.URL + "/v3", "--os-username", user, "--os-password", password,
		"--os-project-name", project, "--os-user-domain-name", "Default", "--os-project-domain-name", "Default"}
	if tool == "swift" {
		base = append([]string{"--auth-version", "3"}, base...)
	}
	out, err := exec.Command(tool, append(base, args...)...).CombinedOutput()
	if (err != nil) != wantErr {
		t.Fatalf("%s %s as %s in %s: err %v (want error %v)\n%s", tool, strings.Join(args, " "), user, project, err, wantErr, out)
	}
	return string(out)
}

// The built-in identity endpoint lets Keystone clients use a box with no
// Keystone: swift with auth v3 and v2.0, and openstack object commands.
func TestBuiltinIdentityEndpoint(t *testing.T) {
	s := startServer(t, t.TempDir(), "--user", "test:tester:testing:.admin", "--user", "test2:tester:other:.admin",
		"--user", "test:reader:r3ad")
	out := v3(t, s, false, "swift", "tester", "testing", "test", "stat")
	if !strings.Contains(out, "Account: AUTH_test") {
		t.Fatalf("swift v3 stat:\n%s", out)
	}
	v3(t, s, false, "swift", "tester", "testing", "test", "post", "v3c")
	// Same user name in another project is another user with its own password.
	if out := v3(t, s, false, "swift", "tester", "other", "test2", "stat"); !strings.Contains(out, "Account: AUTH_test2") {
		t.Fatalf("tester in test2:\n%s", out)
	}
	v3(t, s, true, "swift", "tester", "wrong", "test", "stat")
	v3(t, s, true, "swift", "tester", "testing", "test2", "stat") // not a member of test2
	v3(t, s, true, "swift", "nobody", "testing", "test", "stat")
	// A non-admin member authenticates but does not own the account.
	if out := v3(t, s, true, "swift", "reader", "r3ad", "test", "list"); !strings.Contains(out, "403") {
		t.Fatalf("non-admin listing the account:\n%s", out)
	}
	if _, err := exec.LookPath("swift"); err == nil {
		out, err := exec.Command("swift", "--auth-version", "2.0", "--os-auth-url", s.URL+"/v2.0", "--os-username", "tester",
			"--os-password", "testing", "--os-tenant-name", "test", "list").CombinedOutput()
		if err != nil || !strings.Contains(string(out), "v3c") {
			t.Fatalf("swift v2.0 list: %v\n%s", err, out)
		}
	}
	if out := v3(t, s, false, "openstack", "tester", "testing", "test", "container", "list", "-f", "value"); !strings.Contains(out, "v3c") {
		t.Fatalf("openstack container list:\n%s", out)
	}

	// The REST side, as keystoneauth uses it.
	resp, err := http.Get(s.URL + "/v3")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET /v3: %v %v", resp, err)
	}
	var disc struct {
		Version struct{ ID, Status string }
	}
	json.NewDecoder(resp.Body).Decode(&disc)
	resp.Body.Close()
	if disc.Version.Status != "stable" || !strings.HasPrefix(disc.Version.ID, "v3") {
		t.Fatalf("discovery: %+v", disc)
	}
	body := `{"auth":{"identity":{"methods":["password"],"password":{"user":{"name":"tester","domain":{"id":"default"},"password":"testing"}}},"scope":{"project":{"name":"test","domain":{"id":"default"}}}}}`
	resp, err = http.Post(s.URL+"/v3/auth/tokens", "application/json", strings.NewReader(body))
	if err != nil || resp.StatusCode != 201 {
		t.Fatalf("POST /v3/auth/tokens: %v %v", resp, err)
	}
	token := resp.Header.Get("X-Subject-Token")
	var tok struct {
		Token struct {
			Project struct{ ID, Name string }
			Roles   []struct{ Name string }
			Catalog []struct {
				Type      string
				Endpoints []struct{ Interface, URL string }
			}
		}
	}
	json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()
	storage := ""
	for _, c := range tok.Token.Catalog {
		if c.Type == "object-store" {
			storage = c.Endpoints[0].URL
		}
	}
	if tok.Token.Project.Name != "test" || storage != s.URL+"/v1/AUTH_test" {
		t.Fatalf("token body: %+v", tok)
	}
	if code, _, _ := do(t, "GET", storage, token, nil, nil); code != 200 && code != 204 {
		t.Fatalf("account GET with a v3 token: %d", code)
	}
	// Validation and revocation.
	if code, hdr, _ := do(t, "GET", s.URL+"/v3/auth/tokens", token, map[string]string{"X-Subject-Token": token}, nil); code != 200 || hdr.Get("X-Subject-Token") != token {
		t.Fatalf("validate token: %d", code)
	}
	if code, _, _ := do(t, "GET", s.URL+"/v3/auth/tokens", token, map[string]string{"X-Subject-Token": token + "x"}, nil); code != 404 {
		t.Fatalf("validate forged token: %d, want 404", code)
	}
	if code, _, _ := do(t, "DELETE", s.URL+"/v3/auth/tokens", token, map[string]string{"X-Subject-Token": token}, nil); code != 204 {
		t.Fatalf("revoke: %d", code)
	}
	if code, _, _ := do(t, "GET", storage, token, nil, nil); code != 401 {
		t.Fatalf("revoked token used on the Swift API: %d, want 401", code)
	}
	// Bad input.
	for _, bad := range []string{`{`, `{"auth":{"identity":{"methods":["totp"]}}}`} {
		resp, err := http.Post(s.URL+"/v3/auth/tokens", "application/json", strings.NewReader(bad))
		if err != nil || (resp.StatusCode != 400 && resp.StatusCode != 401) {
			t.Fatalf("bad auth body %q: %v %v", bad, resp, err)
		}
		resp.Body.Close()
	}
}
