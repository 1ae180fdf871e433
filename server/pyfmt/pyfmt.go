// Package pyfmt renders values exactly as Swift's Python code does, so
// messages, headers and listings match Swift byte for byte: urllib's
// quote, repr of a str, str of a bool, a float in json, and
// config_true_value.
package pyfmt

import (
	"strconv"
	"strings"
)

// Quote is urllib.parse.quote(s): everything but letters, digits, "_.-~"
// and "/" percent-encoded (Swift quotes realms and paths this way, so a
// crafted name cannot inject headers).
func Quote(s string) string { return QuoteSafe(s, "/") }

// QuoteSafe is urllib.parse.quote(s, safe): letters, digits, "_.-~" and
// the safe characters stay, every other byte is %XX.
func QuoteSafe(s, safe string) string {
	return string(AppendQuoteSafe(make([]byte, 0, len(s)), s, safe))
}

// AppendQuoteSafe appends QuoteSafe(s, safe) to dst (the access log builds
// its lines without allocating).
func AppendQuoteSafe[S ~string | ~[]byte](dst []byte, s S, safe string) []byte {
	const hex = "0123456789ABCDEF"
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
			c == '_' || c == '.' || c == '-' || c == '~' || strings.IndexByte(safe, c) >= 0 {
			dst = append(dst, c)
			continue
		}
		dst = append(dst, '%', hex[c>>4], hex[c&15])
	}
	return dst
}

// Repr is Python's repr of a str, as Swift's messages quote values.
func Repr(s string) string {
	if strings.Contains(s, "'") && !strings.Contains(s, `"`) {
		return `"` + s + `"`
	}
	return "'" + strings.ReplaceAll(s, "'", `\'`) + "'"
}

// Bool is Python's str of a bool.
func Bool(b bool) string {
	if b {
		return "True"
	}
	return "False"
}

// True is Swift's config_true_value: what Swift reads as "on" in a
// header or config value.
func True(v string) bool {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "true", "1", "yes", "on", "t", "y":
		return true
	}
	return false
}

// Float marshals to JSON as Python's json does a float: 60.0, not 60.
type Float float64

func (f Float) MarshalJSON() ([]byte, error) {
	s := strconv.FormatFloat(float64(f), 'f', -1, 64)
	if !strings.ContainsAny(s, ".eE") {
		s += ".0"
	}
	return []byte(s), nil
}
