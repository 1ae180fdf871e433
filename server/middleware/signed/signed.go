// Package signed holds Swift's two middlewares that let a request act
// without a token because it is signed with an account's or container's
// Temp-URL-Key: tempurl (one object, or every object under a prefix,
// until the signature expires) and formpost (HTML form uploads into a
// container). They share the key lookup and the HMAC code.
package signed

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"hash"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/valyala/fasthttp"

	"swiftbox/server/proxy"
	"swiftbox/storage/db"
)

// Filters are the package's middlewares, by their names in the pipeline.
func Filters() []proxy.Filter {
	return []proxy.Filter{{Name: "tempurl", New: NewTempURL}, {Name: "formpost", New: NewFormPost}}
}

// allowedDigests is Swift's get_allowed_digests: the supported ones of
// the configured names (all when none), sorted.
func allowedDigests(conf []string) []string {
	set := map[string]bool{}
	for _, d := range conf {
		d = strings.ToLower(d)
		if d == "sha1" || d == "sha256" || d == "sha512" {
			set[d] = true
		}
	}
	if len(conf) == 0 {
		set = map[string]bool{"sha1": true, "sha256": true, "sha512": true}
	}
	out := make([]string, 0, len(set))
	for d := range set {
		out = append(out, d)
	}
	sort.Strings(out)
	return out
}

// digestInfo adds the /info entries of the digests conf allows to m.
func digestInfo(m map[string]any, conf []string) {
	digests := allowedDigests(conf)
	m["allowed_digests"] = digests
	if slices.Contains(digests, "sha1") {
		m["deprecated_digests"] = []string{"sha1"}
	}
}

func digestHash(name string) func() hash.Hash {
	switch name {
	case "sha1":
		return sha1.New
	case "sha256":
		return sha256.New
	case "sha512":
		return sha512.New
	}
	return nil
}

// splitSignature is Swift's extract_digest_and_algorithm: a hex digest
// whose length names the algorithm, or "<algo>:<base64 digest>" (URL-safe
// alphabet accepted), returned as the algorithm and the hex digest.
func splitSignature(sig string) (algo, hexSig string, ok bool) {
	if a, v, found := strings.Cut(sig, ":"); found {
		if strings.ContainsAny(v, "-_") && !strings.ContainsAny(v, "+/") {
			v = strings.NewReplacer("-", "+", "_", "/").Replace(v)
		}
		raw, err := base64.RawStdEncoding.DecodeString(strings.TrimRight(v, "="))
		if err != nil {
			return "", "", false
		}
		return a, hex.EncodeToString(raw), true
	}
	if _, err := hex.DecodeString(sig); err != nil {
		return "", "", false
	}
	switch len(sig) {
	case 40:
		return "sha1", sig, true
	case 64:
		return "sha256", sig, true
	case 128:
		return "sha512", sig, true
	}
	return "", "", false
}

// signHMAC is Swift's get_hmac: the hex HMAC of "[ip=<range>\n]<method>\n<expires>\n<path>".
func signHMAC(algo, method string, expires int64, path, key, ipRange string) string {
	msg := method + "\n" + strconv.FormatInt(expires, 10) + "\n" + path
	if ipRange != "" {
		msg = "ip=" + ipRange + "\n" + msg
	}
	return signHMACRaw(algo, key, msg)
}

// signHMACRaw is the hex HMAC of msg with key.
func signHMACRaw(algo, key, msg string) string {
	m := hmac.New(digestHash(algo), []byte(key))
	m.Write([]byte(msg))
	return hex.EncodeToString(m.Sum(nil))
}

// key is a Temp-URL-Key and what it signs for: its account's every
// container, or one container.
type key struct {
	value              string
	account, container string // container "" for an account's key
}

// keys are the Temp-URL-Key and Temp-URL-Key-2 of account and of
// container.
func keys(ctx *fasthttp.RequestCtx, core proxy.Core, account, container string) []key {
	var out []key
	if info, err := core.AccountInfo(ctx, account); err == nil {
		for _, k := range metaKeys(info.Metadata, "Account") {
			out = append(out, key{k, account, ""})
		}
	}
	if info, err := core.ContainerInfo(ctx, account, container); err == nil {
		for _, k := range metaKeys(info.Metadata, "Container") {
			out = append(out, key{k, account, container})
		}
	}
	return out
}

// metaKeys are the Temp-URL-Key and Temp-URL-Key-2 values of metadata.
func metaKeys(meta db.Metadata, kind string) []string {
	var keys []string
	for _, n := range []string{"X-" + kind + "-Meta-Temp-Url-Key", "X-" + kind + "-Meta-Temp-Url-Key-2"} {
		for k, v := range meta {
			if strings.EqualFold(k, n) && v.Value != "" {
				keys = append(keys, v.Value)
			}
		}
	}
	return keys
}
