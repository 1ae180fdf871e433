package cli_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/ncw/swift/v2"
)

// tlsClient trusts only the PEM certificates in caFile.
func tlsClient(t *testing.T, caFile string) *http.Client {
	t.Helper()
	raw, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(raw) {
		t.Fatalf("no certificate in %s", caFile)
	}
	return &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
}

func fingerprint(der []byte) string {
	sum := sha256.Sum256(der)
	var parts []string
	for _, b := range sum {
		parts = append(parts, fmt.Sprintf("%02X", b))
	}
	return strings.Join(parts, ":")
}

func pemFingerprint(t *testing.T, path string) string {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := pem.Decode(raw)
	if b == nil {
		t.Fatalf("no PEM in %s", path)
	}
	return fingerprint(b.Bytes)
}

// A serve with --tls-self-signed speaks HTTPS on the API: the certificate
// (kept in the state dir, key 0600 in a 0700 folder, fingerprint printed,
// the same after a restart) is trusted by real clients given it as their
// CA — ncw/swift, aws-sdk-go-v2, Debian's swift CLI, the aws CLI and
// rclone — and the storage URLs tempauth hands out are https.
// aws:SecureTransport holds, and the daemon commands reach serve over TLS.
func TestServeTLSSelfSignedClients(t *testing.T) {
	t.Parallel()
	x := startTLSServe(t)
	x.data = x.swiftClient()
	x.s3Client()

	// A daemon command asks the running serve over TLS, pinning its certificate.
	if out := run(t, false, "expirer", "--once", "--devices", x.dev, "--config", x.cfg); !strings.Contains(out, "running serve") {
		t.Fatalf("expirer --once through a TLS serve:\n%s", out)
	}

	x.work = t.TempDir()
	os.WriteFile(filepath.Join(x.work, "up.bin"), x.data, 0o644)
	t.Run("swift CLI", x.swiftCLI)
	t.Run("aws CLI", x.awsCLI)
	t.Run("rclone", x.rclone)
	x.restartKeepsCertificate()
}

// tlsServe is a serve with --tls-self-signed and what its clients need.
type tlsServe struct {
	t        *testing.T
	s        *server
	dev, cfg string
	s3Addr   string
	ca, fp   string // the certificate's file and fingerprint
	hc       *http.Client
	work     string // the CLIs' folder, holding up.bin
	data     []byte // up.bin's content
}

// startTLSServe starts the serve and checks its certificate's files and
// printed fingerprint.
func startTLSServe(t *testing.T) *tlsServe {
	x := &tlsServe{t: t, dev: t.TempDir()}
	x.cfg = listenConfig(t, "s3:\n  anonymous_account: AUTH_test\n")
	x.s3Addr = freeAddr(t)
	x.s = startServer(t, x.dev, "--config", x.cfg, "--tls-self-signed", "--user", "test:tester:testing:.admin",
		"--s3-addr", x.s3Addr, "--metrics-addr", "", "--backend-addr", "", "--access-log", "")
	s := x.s
	if !strings.HasPrefix(s.URL, "https://") {
		t.Fatalf("serving on %s:\n%s", s.URL, s.Output())
	}
	tlsDir := filepath.Join(filepath.Dir(x.cfg), "tls")
	x.ca = filepath.Join(tlsDir, "selfsigned.crt")
	x.fp = pemFingerprint(t, x.ca)
	if !strings.Contains(s.Output(), "SHA-256 fingerprint "+x.fp) {
		t.Fatalf("fingerprint %s not printed:\n%s", x.fp, s.Output())
	}
	for path, want := range map[string]os.FileMode{tlsDir: os.ModeDir | 0o700, filepath.Join(tlsDir, "selfsigned.key"): 0o600} {
		if fi, err := os.Stat(path); err != nil || fi.Mode() != want {
			t.Errorf("%s: %v %v, want %v", path, fi.Mode(), err, want)
		}
	}
	x.hc = tlsClient(t, x.ca)
	return x
}

// swiftClient: Go's Swift client over TLS; the storage URL is https. A
// client without the CA is refused. It returns the object it stored.
func (x *tlsServe) swiftClient() []byte {
	t, s, hc := x.t, x.s, x.hc
	ctx := context.Background()
	sc := &swift.Connection{UserName: "test:tester", ApiKey: "testing", AuthUrl: s.AuthURL(), Timeout: time.Minute,
		Transport: hc.Transport}
	if err := sc.Authenticate(ctx); err != nil {
		t.Fatalf("ncw/swift over TLS: %v", err)
	}
	if !strings.HasPrefix(sc.StorageUrl, "https://") {
		t.Fatalf("X-Storage-Url %s is not https", sc.StorageUrl)
	}
	if err := sc.ContainerCreate(ctx, "tls", nil); err != nil {
		t.Fatal(err)
	}
	data := randBytes(t, 3<<20)
	if err := sc.ObjectPutBytes(ctx, "tls", "obj", data, ""); err != nil {
		t.Fatal(err)
	}
	if got, err := sc.ObjectGetBytes(ctx, "tls", "obj"); err != nil || string(got) != string(data) {
		t.Fatalf("ncw/swift GET over TLS: %v", err)
	}
	// A client without the CA is refused.
	if _, err := http.Get(s.URL + "/healthcheck"); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("a client without the CA: %v", err)
	}
	return data
}

// s3Client: aws-sdk-go-v2, which sends aws-chunked bodies with trailing
// checksums over TLS; and aws:SecureTransport is true.
func (x *tlsServe) s3Client() {
	t, s, hc, s3Addr := x.t, x.s, x.hc, x.s3Addr
	ctx := context.Background()
	c := s3ClientAt(t, s.URL, hc, "test:tester", "testing")
	b := aws.String("tlsbucket")
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: b}); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"open", "secure-only/x", "plain-only/x"} {
		if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: b, Key: aws.String(k), Body: strings.NewReader("v " + k)}); err != nil {
			t.Fatalf("S3 PUT over TLS: %v", err)
		}
	}
	got, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: b, Key: aws.String("open")})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(got.Body)
	got.Body.Close()
	if string(body) != "v open" {
		t.Fatalf("S3 GET over TLS: %q", body)
	}
	policy := `{"Version":"2012-10-17","Statement":[` +
		`{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::tlsbucket/secure-only/*","Condition":{"Bool":{"aws:SecureTransport":"true"}}},` +
		`{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::tlsbucket/plain-only/*","Condition":{"Bool":{"aws:SecureTransport":"false"}}}]}`
	if _, err := c.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: b, Policy: aws.String(policy)}); err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]int{"secure-only/x": 200, "plain-only/x": 403} {
		resp, err := hc.Get("https://" + s3Addr + "/tlsbucket/" + key)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("anonymous GET %s over TLS (aws:SecureTransport): %d, want %d", key, resp.StatusCode, want)
		}
	}
}

// swiftCLI: Debian's swift CLI round trip.
func (x *tlsServe) swiftCLI(t *testing.T) {
	s, work, ca, data := x.s, x.work, x.ca, x.data
	if _, err := exec.LookPath("swift"); err != nil {
		t.Skip("Debian's swift CLI (python3-swiftclient) is not installed")
	}
	swiftCLI(t, s, work, "--os-cacert", ca, "upload", "--object-name", "cli.bin", "tls", "up.bin")
	swiftCLI(t, s, work, "--os-cacert", ca, "download", "tls", "cli.bin", "-o", "down.bin")
	if got, _ := os.ReadFile(filepath.Join(work, "down.bin")); string(got) != string(data) {
		t.Fatal("swift CLI round trip over TLS differs")
	}
}

// awsCLI: the aws CLI round trip.
func (x *tlsServe) awsCLI(t *testing.T) {
	s, work, ca, data := x.s, x.work, x.ca, x.data
	needTool(t, "aws", "awscli")
	env := clientEnv(t, "AWS_ACCESS_KEY_ID=test:tester", "AWS_SECRET_ACCESS_KEY=testing",
		"AWS_DEFAULT_REGION=us-east-1", "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "AWS_PAGER=")
	runTool(t, s, env, work, "aws", "--endpoint-url", s.URL, "--ca-bundle", ca, "s3", "cp", "up.bin", "s3://tlsbucket/aws.bin")
	runTool(t, s, env, work, "aws", "--endpoint-url", s.URL, "--ca-bundle", ca, "s3", "cp", "s3://tlsbucket/aws.bin", "aws-down.bin")
	if got, _ := os.ReadFile(filepath.Join(work, "aws-down.bin")); string(got) != string(data) {
		t.Fatal("aws CLI round trip over TLS differs")
	}
}

// rclone: rclone over S3 and Swift.
func (x *tlsServe) rclone(t *testing.T) {
	s, work, ca, data := x.s, x.work, x.ca, x.data
	needTool(t, "rclone", "rclone")
	env := clientEnv(t, "RCLONE_CONFIG=/dev/null", "RCLONE_CONFIG_SB_TYPE=s3", "RCLONE_CONFIG_SB_PROVIDER=Other",
		"RCLONE_CONFIG_SB_ACCESS_KEY_ID=test:tester", "RCLONE_CONFIG_SB_SECRET_ACCESS_KEY=testing",
		"RCLONE_CONFIG_SB_ENDPOINT="+s.URL, "RCLONE_CONFIG_SB_REGION=us-east-1", "RCLONE_CONFIG_SB_FORCE_PATH_STYLE=true",
		"RCLONE_CONFIG_SW_TYPE=swift", "RCLONE_CONFIG_SW_AUTH="+s.AuthURL(), "RCLONE_CONFIG_SW_USER=test:tester", "RCLONE_CONFIG_SW_KEY=testing")
	runTool(t, s, env, work, "rclone", "--ca-cert", ca, "copyto", "up.bin", "sb:tlsbucket/rclone.bin")
	runTool(t, s, env, work, "rclone", "--ca-cert", ca, "copyto", "up.bin", "sw:tls/rclone.bin")
	for _, remote := range []string{"sb:tlsbucket/rclone.bin", "sw:tls/rclone.bin"} {
		if got := runTool(t, s, env, work, "rclone", "--ca-cert", ca, "cat", remote); got != string(data) {
			t.Fatalf("rclone %s over TLS differs", remote)
		}
	}
}

// restartKeepsCertificate: the certificate is kept, a restart presents
// the same one.
func (x *tlsServe) restartKeepsCertificate() {
	t, s, ca, fp := x.t, x.s, x.ca, x.fp
	s.Restart()
	if !strings.Contains(s.Output(), "using self-signed certificate") || pemFingerprint(t, ca) != fp {
		t.Fatalf("restart did not reuse the certificate:\n%s", s.Output())
	}
	resp, err := tlsClient(t, ca).Get(s.URL + "/healthcheck")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := fingerprint(resp.TLS.PeerCertificates[0].Raw); got != fp {
		t.Fatalf("after restart served %s, want %s", got, fp)
	}
}

// writePair writes a fresh self-signed certificate for 127.0.0.1 and its
// key, each through a rename as an operator's renewal tool would.
func writePair(t *testing.T, certFile, keyFile string) string {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: "test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true, IsCA: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalPKCS8PrivateKey(key)
	for path, b := range map[string]*pem.Block{certFile: {Type: "CERTIFICATE", Bytes: der}, keyFile: {Type: "PRIVATE KEY", Bytes: kder}} {
		if err := os.WriteFile(path+".new", pem.EncodeToMemory(b), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(path+".new", path); err != nil {
			t.Fatal(err)
		}
	}
	return fingerprint(der)
}

// tls.cert_file/key_file from the config serve the API, S3 and metrics
// listeners; replaced files take effect on SIGHUP for new connections, and
// a broken replacement keeps the old certificate in use.
func TestServeTLSReloadOnSIGHUP(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "server.crt"), filepath.Join(dir, "server.key")
	first := writePair(t, certFile, keyFile)
	s3Addr, metricsAddr := freeAddr(t), freeAddr(t)
	cfg := listenConfig(t, fmt.Sprintf("tls:\n  cert_file: %s\n  key_file: %s\n", certFile, keyFile))
	s := startServer(t, t.TempDir(), "--config", cfg, "--s3-addr", s3Addr, "--metrics-addr", metricsAddr,
		"--backend-addr", "", "--access-log", "")
	// The CA file is read again for every client: it changes below.
	served := func(url string) string {
		t.Helper()
		resp, err := tlsClient(t, certFile).Get(url)
		if err != nil {
			t.Fatalf("GET %s: %v", url, err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return fingerprint(resp.TLS.PeerCertificates[0].Raw)
	}
	urls := []string{s.URL + "/healthcheck", "https://" + s3Addr + "/", "https://" + metricsAddr + "/metrics"}
	for _, u := range urls {
		if got := served(u); got != first {
			t.Fatalf("%s served %s, want %s", u, got, first)
		}
	}
	second := writePair(t, certFile, keyFile)
	s.cmd.Process.Signal(syscall.SIGHUP)
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(s.Output(), "certificate reloaded") && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	for _, u := range urls {
		if got := served(u); got != second {
			t.Fatalf("%s after SIGHUP served %s, want %s", u, got, second)
		}
	}
	os.WriteFile(keyFile, []byte("not a key"), 0o600)
	s.cmd.Process.Signal(syscall.SIGHUP)
	deadline = time.Now().Add(10 * time.Second)
	for !strings.Contains(s.Output(), "the previous one stays in use") && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if got := served(urls[0]); got != second {
		t.Fatalf("after a broken replacement served %s, want %s", got, second)
	}
}

// freeAddr is a loopback address free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}
