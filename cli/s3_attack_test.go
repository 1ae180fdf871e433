package cli_test

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"swiftbox/s3compat/s3test"
)

// URLs presigned by real clients work as issued, and refuse the headers
// an attacker would add (finding 2): aws CLI (SigV4 query) and s3cmd
// signurl (SigV2 query).
func TestS3PresignedByClients(t *testing.T) {
	s := startServer(t, t.TempDir(), "--user", "test:tester:testing:.admin")
	now := time.Now()
	mustS3(t, signedReq(t, "PUT", s.URL+"/pre", nil, sha256hex(""), now), 200)
	mustS3(t, signedReq(t, "PUT", s.URL+"/pre/obj", strings.NewReader("presigned"), sha256hex("presigned"), now), 200)
	check := func(t *testing.T, u, wantCode string) {
		t.Helper()
		u = strings.TrimSpace(u)
		if st, body := doS3(t, withHeaders("GET", u)); st != 200 || body != "presigned" {
			t.Fatalf("GET %s: %d %s", u, st, body)
		}
		st, body := doS3(t, withHeaders("GET", u, "X-Amz-Copy-Source: /pre/obj", "X-Amz-Acl: public-read"))
		if st != 403 || s3test.Between(body, "<Code>", "</Code>") != wantCode {
			t.Fatalf("GET %s with unsigned x-amz headers: %d %s", u, st, body)
		}
	}
	t.Run("aws", func(t *testing.T) {
		needTool(t, "aws", "awscli")
		env := clientEnv(t, "AWS_ACCESS_KEY_ID=test:tester", "AWS_SECRET_ACCESS_KEY=testing",
			"AWS_DEFAULT_REGION=us-east-1", "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "AWS_PAGER=")
		// aws-cli 1.x presigns with SigV2 unless told SigV4: ask for SigV4.
		cfg := t.TempDir() + "/config"
		if err := os.WriteFile(cfg, []byte("[default]\ns3 =\n    signature_version = s3v4\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		env = append(env, "AWS_CONFIG_FILE="+cfg)
		u := runTool(t, s, env, t.TempDir(), "aws", "--endpoint-url", s.URL, "s3", "presign", "s3://pre/obj", "--expires-in", "300")
		if !strings.Contains(u, "X-Amz-Signature=") {
			t.Fatalf("aws s3 presign gave no SigV4 URL: %s", u)
		}
		check(t, u, "AccessDenied")
	})
	t.Run("s3cmd", func(t *testing.T) {
		needTool(t, "s3cmd", "s3cmd")
		work := t.TempDir()
		host := strings.TrimPrefix(s.URL, "http://")
		cfg := filepath.Join(work, "s3cfg")
		os.WriteFile(cfg, fmt.Appendf(nil, "[default]\naccess_key = test:tester\nsecret_key = testing\nhost_base = %s\nhost_bucket = %s\nuse_https = False\n", host, host), 0o600)
		u := runTool(t, s, clientEnv(t), work, "s3cmd", "-c", cfg, "signurl", "s3://pre/obj", "+300")
		check(t, u, "SignatureDoesNotMatch")
	})
}

func withHeaders(method, u string, hdr ...string) *http.Request {
	req, _ := http.NewRequest(method, u, nil)
	for _, h := range hdr {
		k, v, _ := strings.Cut(h, ":")
		req.Header.Set(k, strings.TrimSpace(v))
	}
	return req
}
