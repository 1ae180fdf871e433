package server

import (
	"strconv"
	"strings"
)

// byteRange is one satisfiable range: [start, end] inclusive.
type byteRange struct{ start, end int64 }

// parseRange parses a Range header for an object of size bytes, following
// swob.Range: syntactically invalid headers are ignored (ok=false, whole
// object); a valid header with no satisfiable range gives unsatisfiable.
func parseRange(h string, size int64) (ranges []byteRange, ok, unsatisfiable bool) {
	h = strings.TrimSpace(h)
	unit, spec, found := strings.Cut(h, "=")
	if !found || strings.TrimSpace(strings.ToLower(unit)) != "bytes" {
		return nil, false, false
	}
	parts := strings.Split(spec, ",")
	if len(parts) > 100 {
		return nil, false, false
	}
	type raw struct{ s, e int64 } // -1 = absent
	var raws []raw
	for _, part := range parts {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		a, b, dash := strings.Cut(part, "-")
		if !dash {
			return nil, false, false
		}
		a, b = strings.TrimSpace(a), strings.TrimSpace(b)
		r := raw{-1, -1}
		if a != "" {
			v, err := strconv.ParseInt(a, 10, 64)
			if err != nil || v < 0 {
				return nil, false, false
			}
			r.s = v
		}
		if b != "" {
			v, err := strconv.ParseInt(b, 10, 64)
			if err != nil || v < 0 {
				return nil, false, false
			}
			r.e = v
		}
		if r.s < 0 && r.e < 0 {
			return nil, false, false
		}
		if r.s >= 0 && r.e >= 0 && r.e < r.s {
			return nil, false, false
		}
		raws = append(raws, r)
	}
	if len(raws) == 0 {
		return nil, false, false
	}
	for _, r := range raws {
		switch {
		case r.s < 0: // suffix: last r.e bytes
			if r.e == 0 || size == 0 {
				continue
			}
			n := min(r.e, size)
			ranges = append(ranges, byteRange{size - n, size - 1})
		case r.s >= size:
			continue
		default:
			end := size - 1
			if r.e >= 0 && r.e < end {
				end = r.e
			}
			ranges = append(ranges, byteRange{r.s, end})
		}
	}
	if len(ranges) == 0 {
		return nil, true, true
	}
	return ranges, true, false
}
