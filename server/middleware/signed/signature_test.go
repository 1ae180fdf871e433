package signed

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"
)

func TestSplitSignature(t *testing.T) {
	for _, tc := range []struct {
		in, algo, hex string
		ok            bool
	}{
		{strings.Repeat("ab", 20), "sha1", strings.Repeat("ab", 20), true},
		{strings.Repeat("ab", 32), "sha256", strings.Repeat("ab", 32), true},
		{strings.Repeat("ab", 64), "sha512", strings.Repeat("ab", 64), true},
		{strings.Repeat("ab", 21), "", "", false},
		{strings.Repeat("zz", 20), "", "", false},
		{"sha512:" + base64.StdEncoding.EncodeToString([]byte{0xfb, 0xff}), "sha512", "fbff", true},
		{"sha512:" + base64.RawURLEncoding.EncodeToString([]byte{0xfb, 0xff}), "sha512", "fbff", true},
		{"sha256:!!", "", "", false},
	} {
		algo, h, ok := splitSignature(tc.in)
		if ok != tc.ok || algo != tc.algo || h != tc.hex {
			t.Errorf("splitSignature(%q) = %q %q %v", tc.in, algo, h, ok)
		}
	}
}

func TestSignHMACVector(t *testing.T) {
	// Computed with Python: hmac.new(b"mykey", b"GET\n1440619048\n/v1/AUTH_account/container/object", sha1).
	got := signHMAC("sha1", "GET", 1440619048, "/v1/AUTH_account/container/object", "mykey", "")
	if got != "da720a7e11f9f2c7b0fe46039811229c1c7a9cb4" {
		t.Fatal(got)
	}
	with := signHMAC("sha256", "GET", 1, "/v1/a/c/o", "k", "1.2.3.0/24")
	m := hmac.New(sha256.New, []byte("k"))
	m.Write([]byte("ip=1.2.3.0/24\nGET\n1\n/v1/a/c/o"))
	if with != fmt.Sprintf("%x", m.Sum(nil)) {
		t.Fatal("ip range not signed first")
	}
}
