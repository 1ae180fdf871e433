package staticweb

import "testing"

func TestHumanReadable(t *testing.T) {
	for n, want := range map[int64]string{0: "0", 1023: "1023", 1024: "1Ki", 1536: "2Ki", 1048576: "1Mi", 5 << 30: "5Gi"} {
		if got := humanReadable(n); got != want {
			t.Errorf("humanReadable(%d) = %q, want %q", n, got, want)
		}
	}
}
