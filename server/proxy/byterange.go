package proxy

import (
	"strconv"
	"strings"
)

// ByteRange is one satisfiable range: [start, end] inclusive.
type ByteRange struct{ Start, End int64 }

// ParseRange parses a Range header for an object of size bytes, following
// swob.Range: syntactically invalid headers are ignored (ok=false, whole
// object); a valid header with no satisfiable range gives unsatisfiable.
func ParseRange(h string, size int64) (ranges []ByteRange, ok, unsatisfiable bool) {
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
			ranges = append(ranges, ByteRange{size - n, size - 1})
		case r.s >= size:
			continue
		default:
			end := size - 1
			if r.e >= 0 && r.e < end {
				end = r.e
			}
			ranges = append(ranges, ByteRange{r.s, end})
		}
	}
	if len(ranges) == 0 {
		return nil, true, true
	}
	if egregious(ranges, size) {
		return nil, false, false
	}
	return ranges, true, false
}

// Swift's limits on multiple ranges (swob.py, after RFC 7233 section 6.1).
const (
	maxRanges           = 50
	maxRangeOverlaps    = 2
	maxNonascendingRngs = 8
)

// egregious reports range sets served as the whole object instead: more
// than 50 ranges, more than 2 overlapping pairs, 8 or more ranges out of
// order (Swift's rules, where such sets get a 416; swiftbox ignores the
// header as RFC 7233 allows), and — beyond Swift, whose overlap test lets
// identical ranges through — several ranges adding up to more bytes than
// the object has, so a response is never larger than about the object.
func egregious(ranges []ByteRange, size int64) bool {
	if len(ranges) <= 1 {
		return false
	}
	if len(ranges) > maxRanges {
		return true
	}
	overlaps := 0
	for i, a := range ranges {
		for _, b := range ranges[i+1:] {
			// Swift's test, on half-open ranges: sharing a byte overlaps,
			// identical ranges do not.
			s1, e1, s2, e2 := a.Start, a.End+1, b.Start, b.End+1
			if (s1 < s2 && s2 < e1) || (s1 < e2 && e2 < e1) || (s2 < s1 && s1 < e2) || (s2 < e1 && e1 < e2) {
				if overlaps++; overlaps > maxRangeOverlaps {
					return true
				}
			}
		}
	}
	if len(ranges) >= maxNonascendingRngs {
		for i := 1; i < len(ranges); i++ {
			a, b := ranges[i-1], ranges[i]
			if a.Start > b.Start || (a.Start == b.Start && a.End > b.End) { // Python's tuple order
				return true
			}
		}
	}
	var total int64
	for _, r := range ranges {
		total += r.End - r.Start + 1
	}
	return total > size
}
