package proxy_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"swiftbox/config"
	"swiftbox/server/servertest"
)

func twoPolicies(c *config.Config) {
	c.StoragePolicies = []config.StoragePolicy{
		{Index: 0, Name: "gold", Aliases: "yellow", Default: true},
		{Index: 1, Name: "silver"},
		{Index: 2, Name: "bronze", Deprecated: true},
	}
}

// dataFiles lists the .data files under <device>/<dir> of every device.
func dataFiles(t *testing.T, devices, dir string) []string {
	t.Helper()
	var out []string
	for _, d := range []string{"d1", "d2", "d3"} {
		filepath.Walk(filepath.Join(devices, d, dir), func(p string, fi os.FileInfo, err error) error {
			if err == nil && strings.HasSuffix(p, ".data") {
				out = append(out, p)
			}
			return nil
		})
	}
	return out
}

func TestContainerPolicies(t *testing.T) {
	t.Parallel()
	c := servertest.Start(t, servertest.Options{Configure: twoPolicies})
	c.Must(201, "PUT", "/v1/AUTH_test/g", "")
	c.Must(201, "PUT", "/v1/AUTH_test/s", "", "X-Storage-Policy: Silver")
	c.Must(202, "PUT", "/v1/AUTH_test/s", "", "X-Storage-Policy: silver")
	c.Must(202, "PUT", "/v1/AUTH_test/s", "") // no policy named: keeps silver
	_, body := c.Must(409, "PUT", "/v1/AUTH_test/s", "", "X-Storage-Policy: YELLOW")
	if !strings.Contains(body, "Conflict") {
		t.Errorf("409 body %q", body)
	}
	if _, body := c.Must(400, "PUT", "/v1/AUTH_test/x", "", "X-Storage-Policy: tin"); body != "Invalid X-Storage-Policy 'tin'" {
		t.Errorf("unknown policy body %q", body)
	}
	if _, body := c.Must(400, "PUT", "/v1/AUTH_test/x", "", "X-Storage-Policy: bronze"); body != "Storage Policy 'bronze' is deprecated" {
		t.Errorf("deprecated policy body %q", body)
	}
	c.Must(404, "HEAD", "/v1/AUTH_test/x", "")
	for cont, want := range map[string]string{"g": "gold", "s": "silver"} {
		resp, _ := c.Must(204, "HEAD", "/v1/AUTH_test/"+cont, "")
		if got := resp.Header.Get("X-Storage-Policy"); got != want {
			t.Errorf("%s: X-Storage-Policy %q, want %q", cont, got, want)
		}
		if resp.Header.Get("X-Backend-Storage-Policy-Index") != "" {
			t.Error("backend header leaked to the client")
		}
	}
	c.Must(201, "PUT", "/v1/AUTH_test/s/o", "silver body")
	c.Must(201, "PUT", "/v1/AUTH_test/g/o", "gold")
	if n := len(dataFiles(t, c.Devices, "objects-1")); n != 3 {
		t.Errorf("objects-1 holds %d .data files, want 3", n)
	}
	if n := len(dataFiles(t, c.Devices, "objects")); n != 3 {
		t.Errorf("objects holds %d .data files, want 3", n)
	}
	if _, body := c.Must(200, "GET", "/v1/AUTH_test/s/o", ""); body != "silver body" {
		t.Errorf("GET %q", body)
	}
	c.Must(202, "POST", "/v1/AUTH_test/s/o", "", "X-Object-Meta-A: b")
	if resp, _ := c.Must(200, "HEAD", "/v1/AUTH_test/s/o", ""); resp.Header.Get("X-Object-Meta-A") != "b" {
		t.Error("POST to a policy-1 object")
	}
	// A server-side copy from silver to gold.
	c.Must(201, "PUT", "/v1/AUTH_test/g/copy", "", "X-Copy-From: s/o")
	if _, body := c.Must(200, "GET", "/v1/AUTH_test/g/copy", ""); body != "silver body" {
		t.Errorf("cross-policy copy %q", body)
	}
	c.Must(404, "GET", "/v1/AUTH_test/nocontainer/o", "")

	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		r, _ := c.Must(204, "HEAD", "/v1/AUTH_test", "")
		want := map[string]string{
			"X-Account-Storage-Policy-Gold-Container-Count":   "1",
			"X-Account-Storage-Policy-Gold-Object-Count":      "2",
			"X-Account-Storage-Policy-Gold-Bytes-Used":        "15",
			"X-Account-Storage-Policy-Silver-Container-Count": "1",
			"X-Account-Storage-Policy-Silver-Object-Count":    "1",
			"X-Account-Storage-Policy-Silver-Bytes-Used":      "11",
		}
		bad := ""
		for k, v := range want {
			if r.Header.Get(k) != v {
				bad += k + "=" + r.Header.Get(k) + " "
			}
		}
		if r.Header.Get("X-Account-Storage-Policy-Bronze-Container-Count") != "" {
			bad += "bronze listed"
		}
		if bad == "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("account policy headers: %s", bad)
		}
	}
	c.Must(204, "DELETE", "/v1/AUTH_test/s/o", "")
	if n := len(dataFiles(t, c.Devices, "objects-1")); n != 0 {
		t.Errorf("objects-1 holds %d .data files after DELETE", n)
	}
	// A deleted container may come back in another policy.
	c.Must(204, "DELETE", "/v1/AUTH_test/s", "")
	c.Must(201, "PUT", "/v1/AUTH_test/s", "", "X-Storage-Policy: gold")
}

// infoPolicies are the policies /info lists.
func infoPolicies(t *testing.T, c *servertest.Cluster) []map[string]any {
	t.Helper()
	_, body := c.Must(200, "GET", "/info", "")
	var doc struct {
		Swift struct {
			Policies []map[string]any `json:"policies"`
		} `json:"swift"`
	}
	if err := json.Unmarshal([]byte(body), &doc); err != nil {
		t.Fatal(err)
	}
	return doc.Swift.Policies
}

func TestInfoPolicies(t *testing.T) {
	t.Parallel()
	info := infoPolicies(t, servertest.Start(t, servertest.Options{Configure: twoPolicies}))
	if len(info) != 2 || info[0]["name"] != "gold" || info[0]["aliases"] != "gold, yellow" || info[0]["default"] != true ||
		info[1]["name"] != "silver" || info[1]["default"] != nil || info[1]["deprecated"] != nil {
		t.Fatalf("policy info %v", info)
	}
	one := infoPolicies(t, servertest.Start(t, servertest.Options{}))
	if len(one) != 1 || one[0]["name"] != "Policy-0" || one[0]["aliases"] != "Policy-0" || one[0]["default"] != true {
		t.Fatalf("default policy info %v", one)
	}
}

// A container whose policy was deprecated after it was made keeps
// serving and new containers cannot choose it (nor does it take
// versioning: server/middleware/versioning's tests).
func TestDeprecatedPolicyContainer(t *testing.T) {
	t.Parallel()
	c := servertest.Start(t, servertest.Options{Configure: twoPolicies})
	c.Must(201, "PUT", "/v1/AUTH_test/s", "", "X-Storage-Policy: silver")
	c.Must(201, "PUT", "/v1/AUTH_test/s/o", "kept")
	c.Config.Policies[1].Deprecated = true
	if _, body := c.Must(200, "GET", "/v1/AUTH_test/s/o", ""); body != "kept" {
		t.Fatalf("GET %q", body)
	}
	c.Must(201, "PUT", "/v1/AUTH_test/s/o2", "more")
	c.Must(400, "PUT", "/v1/AUTH_test/t", "", "X-Storage-Policy: silver")
	if resp, _ := c.Must(204, "HEAD", "/v1/AUTH_test/s", ""); resp.Header.Get("X-Storage-Policy") != "silver" {
		t.Errorf("HEAD: %v", resp.Header)
	}
}
