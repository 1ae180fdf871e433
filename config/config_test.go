package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// The example file must load, and say exactly what the defaults are.
func TestExampleMatchesDefaults(t *testing.T) {
	c, err := Load("../config.yaml.example")
	if err != nil {
		t.Fatal(err)
	}
	c.File = ""
	if len(c.Auth.Users) == 0 {
		c.Auth.Users = nil
	}
	if !reflect.DeepEqual(c, Default()) {
		t.Fatalf("config.yaml.example differs from Default():\n%+v\n%+v", c, Default())
	}
}

func TestLoadRejectsUnknownAndBadValues(t *testing.T) {
	dir := t.TempDir()
	write := func(body string) string {
		p := filepath.Join(dir, "c.yaml")
		os.WriteFile(p, []byte(body), 0o644)
		return p
	}
	if _, err := Load(write("devcies: /x\n")); err == nil || !strings.Contains(err.Error(), "devcies") {
		t.Fatalf("unknown key: %v", err)
	}
	for _, body := range []string{"bind: nope\n", "fallocate_reserve: 120%\n", "reclaim_age: -1\n",
		"log_level: loud\n", "auth:\n  users: [\"bad\"]\n", "replicas: 9\n",
		"metrics:\n  addr: nope\n", "backend_addr: x\n", "backend_addr: \"127.0.0.1:1,y\"\n", "log_format: xml\n",
		"access_log:\n  reveal_sensitive_prefix: -1\n", "listen:\n  header_timeout: 0\n", "listen:\n  client_timeout: -1\n",
		"listen:\n  keepalive_timeout: 0\n", "listen:\n  max_clients: -1\n", "listen:\n  keep_idle: -1\n",
		"tls:\n  cert_file: /x.crt\n", "tls:\n  key_file: /x.key\n", "tls:\n  cert_file: /x.crt\n  key_file: /x.key\n  self_signed: true\n"} {
		c, err := Load(write(body))
		if err == nil {
			err = c.Finish()
		}
		if err == nil {
			t.Errorf("%q: want error", body)
		}
	}
	c, err := Load(write("devices: " + dir + "\n"))
	if err != nil || c.Finish() != nil || c.StateDir != dir {
		t.Fatalf("state dir defaults to the config's dir: %v %q", err, c.StateDir)
	}
	if c.ReconCachePath != filepath.Join(dir, "recon") {
		t.Errorf("recon_cache_path defaults to <swift_dir>/recon, got %q", c.ReconCachePath)
	}
	for _, body := range []string{"metrics:\n  addr: \"\"\n", "backend_addr: \"\"\n", "backend_addr: \"127.0.0.1:6200, 127.0.0.1:6201\"\n", "log_format: json\n",
		"listen:\n  header_timeout: 0.5\n  max_clients: 10\n  keep_idle: 0\n", "tls:\n  self_signed: true\n", "tls:\n  cert_file: /x.crt\n  key_file: /x.key\n"} {
		c, err := Load(write("devices: " + dir + "\n" + body))
		if err == nil {
			err = c.Finish()
		}
		if err != nil {
			t.Errorf("%q: %v", body, err)
		}
	}
}

func TestParseUser(t *testing.T) {
	u, err := ParseUser("test:tester:testing:.admin,.reseller_admin")
	if err != nil || u.Account != "test" || u.Name != "tester" || u.Key != "testing" ||
		!reflect.DeepEqual(u.Groups, []string{".admin", ".reseller_admin"}) {
		t.Fatalf("%+v %v", u, err)
	}
	if u.String() != "test:tester:testing:.admin,.reseller_admin" {
		t.Fatal(u.String())
	}
	for _, bad := range []string{"", "a:b", "a::k", ":u:k", "a/b:u:k"} {
		if _, err := ParseUser(bad); err == nil {
			t.Errorf("%q: want error", bad)
		}
	}
}

func TestStateGeneratedOnceAndKept(t *testing.T) {
	dir := t.TempDir()
	st, created, err := LoadState(dir, false)
	if err != nil || len(created) != 1 || st.HashSuffix == "" {
		t.Fatalf("%v %v %+v", err, created, st)
	}
	if _, err := st.GenerateAdmin(); err != nil {
		t.Fatal(err)
	}
	st2, created, err := LoadState(dir, true)
	if err != nil || len(created) != 0 || st2.HashSuffix != st.HashSuffix ||
		string(st2.Secret) != string(st.Secret) || len(st2.Generated) != 1 {
		t.Fatalf("restart lost state: %v %v %+v", err, created, st2)
	}
	os.Remove(filepath.Join(dir, "swift.conf"))
	if _, _, err := LoadState(dir, true); err == nil {
		t.Fatal("missing swift.conf with data present must be an error")
	}
}
