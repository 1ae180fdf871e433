package pickle

import (
	"math/big"
	"testing"
)

// Integers past 64 bits (Python longs) survive a decode→encode round trip,
// negative ones and the two's-complement edges included.
func TestBigIntRoundTrip(t *testing.T) {
	t.Parallel()
	for _, s := range []string{
		"9223372036854775808", "-9223372036854775809", "18446744073709551616",
		"-18446744073709551616", "340282366920938463463374607431768211455",
		"-340282366920938463463374607431768211456", "-340282366920938463463374607431768211457",
	} {
		n, _ := new(big.Int).SetString(s, 10)
		b, err := Marshal(n)
		if err != nil {
			t.Fatalf("%s: %v", s, err)
		}
		v, err := Unmarshal(b)
		if err != nil {
			t.Fatalf("%s: %v", s, err)
		}
		got, ok := v.(*big.Int)
		if !ok || got.Cmp(n) != 0 {
			t.Errorf("%s: round trip gave %v", s, v)
		}
	}
	b := make([]byte, 300) // LONG4
	b[0] = 1
	n := new(big.Int).SetBytes(b)
	if enc, err := Marshal(n); err != nil || enc[2] != opLong4 {
		t.Fatalf("a 300-byte integer: %v, opcode %x", err, enc[2])
	}
}
