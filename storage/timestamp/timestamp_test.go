package timestamp

import "testing"

func TestParseFormat(t *testing.T) {
	cases := []struct{ in, normal, internal string }{
		{"1402464677.04188", "1402464677.04188", "1402464677.04188"},
		{"1402464677", "1402464677.00000", "1402464677.00000"},
		{"1402464677.041885", "1402464677.04189", "1402464677.04189"},
		{"1402464677.04188_000000000000000a", "1402464677.04188", "1402464677.04188_000000000000000a"},
		{"0000000001.00000", "0000000001.00000", "0000000001.00000"},
		{"1.5", "0000000001.50000", "0000000001.50000"},
	}
	for _, c := range cases {
		ts, err := Parse(c.in)
		if err != nil {
			t.Fatalf("%q: %v", c.in, err)
		}
		if ts.Normal() != c.normal || ts.Internal() != c.internal {
			t.Errorf("%q: got %q %q want %q %q", c.in, ts.Normal(), ts.Internal(), c.normal, c.internal)
		}
	}
	for _, bad := range []string{"", "abc", "-1", "1.2.3", "1_zz", "99999999999", "1._"} {
		if _, err := Parse(bad); err == nil {
			t.Errorf("%q: want error", bad)
		}
	}
}

func TestOrderAndNow(t *testing.T) {
	a, b := Now(), Now()
	if !b.After(a) || a.Internal() >= b.Internal() {
		t.Fatalf("Now not increasing: %v %v", a, b)
	}
	x, _ := Parse("1.00000_1")
	y, _ := Parse("1.00000_2")
	if x.Compare(y) != -1 || x.Internal() >= y.Internal() {
		t.Fatal("offset ordering")
	}
}
