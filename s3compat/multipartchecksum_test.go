package s3compat

import (
	"encoding/base64"
	"math/rand/v2"
	"testing"
)

func TestFullObjectCRC(t *testing.T) {
	data := make([]byte, 300000)
	for i := range data {
		data[i] = byte(rand.IntN(256))
	}
	cuts := []int{0, 1, 70000, 70001, 250000, len(data)}
	for _, alg := range []string{"crc32", "crc32c", "crc64nvme"} {
		var sums []string
		var sizes []int64
		for i := 1; i < len(cuts); i++ {
			h := newChecksum(alg)
			h.Write(data[cuts[i-1]:cuts[i]])
			sums = append(sums, base64.StdEncoding.EncodeToString(h.Sum(nil)))
			sizes = append(sizes, int64(cuts[i]-cuts[i-1]))
		}
		whole := newChecksum(alg)
		whole.Write(data)
		want := base64.StdEncoding.EncodeToString(whole.Sum(nil))
		if got, ok := fullObjectCRC(alg, sums, sizes); !ok || got != want {
			t.Errorf("%s: combined %s, whole %s", alg, got, want)
		}
	}
	if _, ok := fullObjectCRC("sha256", nil, nil); ok {
		t.Error("sha256 has no full-object form")
	}
}
