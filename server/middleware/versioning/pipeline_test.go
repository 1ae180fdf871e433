package versioning_test

import (
	"strings"
	"testing"

	"github.com/valyala/fasthttp"

	"swiftbox/config"
	"swiftbox/server/proxy"
	"swiftbox/server/servertest"
)

// twoPolicies makes silver a second policy.
func twoPolicies(c *config.Config) {
	c.StoragePolicies = []config.StoragePolicy{
		{Index: 0, Name: "gold", Default: true}, {Index: 1, Name: "silver"}}
}

// The hidden versions container takes its primary's storage policy; a
// primary in a deprecated policy cannot enable versioning.
func TestObjectVersioningPolicy(t *testing.T) {
	t.Parallel()
	c := servertest.Start(t, servertest.Options{Configure: twoPolicies})
	c.Must(201, "PUT", "/v1/AUTH_test/v", "", "X-Storage-Policy: silver", "X-Versions-Enabled: true")
	info, err := c.Proxy.ReadContainerInfo(nil, "AUTH_test", "\x00versions\x00v", false)
	if err != nil || info.StoragePolicy != 1 {
		t.Fatalf("versions container: policy %d, %v", info.StoragePolicy, err)
	}
	c.Must(201, "PUT", "/v1/AUTH_test/w", "", "X-Storage-Policy: silver")
	c.Must(204, "POST", "/v1/AUTH_test/w", "", "X-Versions-Enabled: true")
	if info, err := c.Proxy.ReadContainerInfo(nil, "AUTH_test", "\x00versions\x00w", false); err != nil || info.StoragePolicy != 1 {
		t.Fatalf("versions container of an existing primary: policy %d, %v", info.StoragePolicy, err)
	}
}

// A container whose policy was deprecated after it was made takes no
// versioning.
func TestObjectVersioningDeprecatedPolicy(t *testing.T) {
	t.Parallel()
	var cfg *config.Config
	c := servertest.Start(t, servertest.Options{Configure: func(c *config.Config) { twoPolicies(c); cfg = c }})
	c.Must(201, "PUT", "/v1/AUTH_test/s", "", "X-Storage-Policy: silver")
	c.Must(201, "PUT", "/v1/AUTH_test/s/o", "kept")
	cfg.Policies[1].Deprecated = true
	_, body := c.Must(400, "POST", "/v1/AUTH_test/s", "", "X-Versions-Enabled: true")
	if !strings.Contains(body, "deprecated storage policy") {
		t.Errorf("versioning on a deprecated policy: %q", body)
	}
}

// Container sync and object versioning exclude each other, either way round.
func TestObjectVersioningRefusesContainerSync(t *testing.T) {
	t.Parallel()
	c := servertest.Start(t, servertest.Options{Configure: func(c *config.Config) {
		c.ContainerSync.AllowedSyncHosts = []string{"127.0.0.1"}
		c.ContainerSync.Realms = map[string]config.SyncRealm{
			"REALM1": {Key: "realmkey", Clusters: map[string]string{"CLUSTER1": "http://127.0.0.1:8080/v1/"}},
		}
	}})
	c.Must(201, "PUT", "/v1/AUTH_test/c", "")
	c.Must(204, "POST", "/v1/AUTH_test/c", "", "X-Container-Sync-To: //realm1/cluster1/AUTH_x/c", "X-Container-Sync-Key: k")
	c.Must(201, "PUT", "/v1/AUTH_test/v", "", "X-Versions-Enabled: true")
	_, body := c.Must(400, "POST", "/v1/AUTH_test/v", "", "X-Container-Sync-To: //realm1/cluster1/AUTH_x/c")
	if body != "Cannot configure container sync on a container with object versioning configured." {
		t.Errorf("sync-to on versioned container: %q", body)
	}
	c.Must(400, "POST", "/v1/AUTH_test/c", "", "X-Versions-Enabled: true")
}

// scopeFront limits a request to the buckets X-Test-Buckets names, as the
// S3 layer limits an access key's requests (proxy.SetKeyScope).
func scopeFront(next proxy.Handler) proxy.Handler {
	return func(ctx *fasthttp.RequestCtx) error {
		if b := string(ctx.Request.Header.Peek("X-Test-Buckets")); b != "" {
			var containers []string // a bucket's: its own, segments and versions
			for _, b := range strings.Split(b, ",") {
				containers = append(containers, b, b+"+segments", "\x00versions\x00"+b)
			}
			proxy.SetKeyScope(ctx, containers)
		}
		return next(ctx)
	}
}

// Versioning's bookkeeping runs pre-authed but keeps to an access key's
// buckets: object versioning's container is the bucket's own, legacy
// versioning into another container is outside them.
func TestVersioningKeyScope(t *testing.T) {
	t.Parallel()
	c := servertest.Start(t, servertest.Options{Front: []proxy.Middleware{scopeFront}})
	scoped := "X-Test-Buckets: a"
	c.Must(201, "PUT", "/v1/AUTH_test/a", "", "X-Versions-Enabled: true")
	c.Must(201, "PUT", "/v1/AUTH_test/a/own", "v1", scoped)
	c.Must(201, "PUT", "/v1/AUTH_test/a/own", "v2", scoped)
	c.Must(201, "PUT", "/v1/AUTH_test/a/own", "v3", scoped)
	c.Must(201, "PUT", "/v1/AUTH_test/arch", "")
	c.Must(201, "PUT", "/v1/AUTH_test/b2", "", "X-Versions-Location: arch")
	c.Must(201, "PUT", "/v1/AUTH_test/b2/o", "v1")
	c.Must(201, "PUT", "/v1/AUTH_test/b2/o", "v2", "X-Test-Buckets: b2,arch")
	if resp, _ := c.Do("PUT", "/v1/AUTH_test/b2/o", "v3", "X-Test-Buckets: b2"); resp.StatusCode/100 == 2 {
		t.Errorf("legacy versioning wrote outside the key's buckets: %d", resp.StatusCode)
	}
}
