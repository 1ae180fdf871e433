package listener

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"time"
)

// Certs is the certificate TLS listeners present, loaded from a PEM
// certificate (chain) and key file. Reload swaps it whole, so a handshake
// sees either the old pair or the new one, never a mix.
type Certs struct {
	CertFile, KeyFile string
	cur               atomic.Pointer[tls.Certificate]
}

// LoadCerts reads the pair.
func LoadCerts(certFile, keyFile string) (*Certs, error) {
	c := &Certs{CertFile: certFile, KeyFile: keyFile}
	if err := c.Reload(); err != nil {
		return nil, err
	}
	return c, nil
}

// Reload reads the files again; on an error the certificate in use stays.
func (c *Certs) Reload() error {
	pair, err := tls.LoadX509KeyPair(c.CertFile, c.KeyFile)
	if err != nil {
		return fmt.Errorf("tls: loading %s and %s: %w", c.CertFile, c.KeyFile, err)
	}
	c.cur.Store(&pair)
	return nil
}

// Fingerprint is the SHA-256 of the leaf certificate, as colon-separated hex
// (what `openssl x509 -fingerprint -sha256` prints).
func (c *Certs) Fingerprint() string { return Fingerprint(c.cur.Load().Certificate[0]) }

// Fingerprint formats the SHA-256 of a DER certificate.
func Fingerprint(der []byte) string {
	sum := sha256.Sum256(der)
	var b strings.Builder
	for i, x := range sum {
		if i > 0 {
			b.WriteByte(':')
		}
		fmt.Fprintf(&b, "%02X", x)
	}
	return b.String()
}

// Config is the TLS configuration of a listener: HTTP/1.1 only, TLS 1.2 or
// newer, the current certificate at each handshake.
func (c *Certs) Config() *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		NextProtos: []string{"http/1.1"},
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
			return c.cur.Load(), nil
		},
	}
}

// Self-signed certificate files under the state dir.
const (
	selfSignedDir  = "tls"
	selfSignedCert = "selfsigned.crt"
	selfSignedKey  = "selfsigned.key"
	// selfSignedLife stays within the 825 days Apple's clients accept for
	// a TLS server certificate.
	selfSignedLife = 825 * 24 * time.Hour
	// selfSignedRenew is how long before expiry a new one is made.
	selfSignedRenew = 30 * 24 * time.Hour
)

// SelfSigned returns the self-signed certificate kept in stateDir/tls,
// making one (ECDSA P-256) for names — host names and IP addresses — when
// there is none or it is about to expire. The key is 0600 in a 0700
// folder. missing lists names the kept certificate does not cover.
func SelfSigned(stateDir string, names []string) (c *Certs, created bool, missing []string, err error) {
	dir := filepath.Join(stateDir, selfSignedDir)
	certFile, keyFile := filepath.Join(dir, selfSignedCert), filepath.Join(dir, selfSignedKey)
	if _, err := os.Stat(certFile); err == nil {
		// Whatever happened to them since, the key and its folder are the
		// serve user's alone.
		os.Chmod(dir, 0o700)
		os.Chmod(keyFile, 0o600)
		c, err := LoadCerts(certFile, keyFile)
		if err != nil {
			return nil, false, nil, fmt.Errorf("%w (remove %s to make a new one)", err, dir)
		}
		leaf, err := x509.ParseCertificate(c.cur.Load().Certificate[0])
		if err != nil {
			return nil, false, nil, fmt.Errorf("tls: %s: %w", certFile, err)
		}
		if time.Until(leaf.NotAfter) > selfSignedRenew {
			for _, n := range names {
				if leaf.VerifyHostname(n) != nil {
					missing = append(missing, n)
				}
			}
			return c, false, missing, nil
		}
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, false, nil, fmt.Errorf("tls: %w", err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return nil, false, nil, fmt.Errorf("tls: %w", err)
	}
	certPEM, keyPEM, err := makeSelfSigned(names, time.Now())
	if err != nil {
		return nil, false, nil, err
	}
	// Key first: a certificate never sits beside a key it does not match
	// for longer than the two renames.
	if err := writeFileAtomic(keyFile, keyPEM, 0o600); err != nil {
		return nil, false, nil, err
	}
	if err := writeFileAtomic(certFile, certPEM, 0o644); err != nil {
		return nil, false, nil, err
	}
	c, err = LoadCerts(certFile, keyFile)
	return c, true, nil, err
}

// makeSelfSigned makes a certificate that is its own CA, so clients can be
// given it as their CA bundle (--cacert, --ca-bundle).
func makeSelfSigned(names []string, now time.Time) (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("tls: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, nil, fmt.Errorf("tls: %w", err)
	}
	pub, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return nil, nil, fmt.Errorf("tls: %w", err)
	}
	ski := sha1.Sum(pub)
	host, _ := os.Hostname()
	cn := "swiftbox"
	if host != "" {
		cn = "swiftbox " + host
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: cn, Organization: []string{"swiftbox self-signed"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(selfSignedLife),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		SubjectKeyId:          ski[:],
		AuthorityKeyId:        ski[:],
	}
	for _, n := range names {
		if ip := net.ParseIP(n); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else if n != "" && !slices.Contains(tmpl.DNSNames, n) {
			tmpl.DNSNames = append(tmpl.DNSNames, n)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, fmt.Errorf("tls: %w", err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, fmt.Errorf("tls: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), nil
}

// writeFileAtomic writes data to path through a synced temp file and a rename.
func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-"+filepath.Base(path))
	if err != nil {
		return fmt.Errorf("tls: %w", err)
	}
	defer os.Remove(f.Name())
	if err := f.Chmod(perm); err == nil {
		if _, err = f.Write(data); err == nil {
			err = f.Sync()
		}
	}
	if cerr := f.Close(); err == nil && cerr != nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		return fmt.Errorf("tls: writing %s: %w", path, err)
	}
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// BoxNames are the names and addresses a self-signed certificate should
// cover: the host name, localhost, the loopback addresses, the given
// listen hosts and every non-loopback interface address.
func BoxNames(listenHosts ...string) []string {
	seen := map[string]bool{}
	var out []string
	add := func(n string) {
		if n != "" && !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	if h, err := os.Hostname(); err == nil {
		add(h)
	}
	add("localhost")
	add("127.0.0.1")
	add("::1")
	for _, h := range listenHosts {
		if ip := net.ParseIP(h); ip == nil || !ip.IsUnspecified() {
			add(h)
		}
	}
	if addrs, err := net.InterfaceAddrs(); err == nil {
		for _, a := range addrs {
			if ipn, ok := a.(*net.IPNet); ok && !ipn.IP.IsLoopback() {
				add(ipn.IP.String())
			}
		}
	}
	return out
}

// SameCert reports whether der is one of the certificates in the PEM file
// path: how a local client pins the certificate serve presents.
func SameCert(path string, der []byte) bool {
	raw, err := os.ReadFile(path)
	if err != nil {
		return false
	}
	for {
		var b *pem.Block
		if b, raw = pem.Decode(raw); b == nil {
			return false
		}
		if b.Type == "CERTIFICATE" && bytes.Equal(b.Bytes, der) {
			return true
		}
	}
}
