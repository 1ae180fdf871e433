// Package timestamp implements Swift's internal timestamp: a count of
// 10-microsecond units plus an optional offset, printed in fixed-width forms
// whose string order equals time order.
package timestamp

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"
)

// unitsPerSecond is Swift's precision: 1e-5 s.
const unitsPerSecond = 100000

// maxRaw is Swift's MAX_RAW_TIME: the largest timestamp %016.05f can print.
const maxRaw = 999999999999999

// ErrInvalid is returned for strings that are not Swift timestamps.
var ErrInvalid = errors.New("invalid timestamp")

// Timestamp is Swift's Timestamp: Raw in units of 10 µs since the epoch and
// an Offset that orders writes carrying the same Raw time.
type Timestamp struct {
	Raw    int64
	Offset uint64
}

var (
	mu   sync.Mutex
	last int64
)

// Now returns the current time; successive calls in one process never
// return the same Raw value, so two writes from this process never tie.
func Now() Timestamp {
	raw := time.Now().UnixNano() / 10000
	mu.Lock()
	if raw <= last {
		raw = last + 1
	}
	last = raw
	mu.Unlock()
	return Timestamp{Raw: raw}
}

// FromTime converts t, rounding to Swift's precision.
func FromTime(t time.Time) Timestamp {
	return Timestamp{Raw: (t.UnixNano() + 5000) / 10000}
}

// FromUnix converts seconds since the epoch.
func FromUnix(sec int64) Timestamp { return Timestamp{Raw: sec * unitsPerSecond} }

// Parse accepts Swift's forms: "1402464677", "1402464677.04188",
// "1402464677.04188_000000000000000a" and (from X-Timestamp headers) any
// float with up to 5 decimal places rounded like Swift does.
func Parse(s string) (Timestamp, error) {
	if s == "" {
		return Timestamp{}, ErrInvalid
	}
	var t Timestamp
	if i := strings.IndexByte(s, '_'); i >= 0 {
		off, err := strconv.ParseUint(s[i+1:], 16, 64)
		if err != nil || i+1 == len(s) {
			return Timestamp{}, ErrInvalid
		}
		t.Offset = off
		s = s[:i]
	}
	intPart, frac, hasDot := strings.Cut(s, ".")
	if intPart == "" && (!hasDot || frac == "") {
		return Timestamp{}, ErrInvalid
	}
	sec := int64(0)
	if intPart != "" {
		v, err := strconv.ParseInt(intPart, 10, 64)
		if err != nil || v < 0 || strings.ContainsAny(intPart, "+-") {
			return Timestamp{}, ErrInvalid
		}
		sec = v
	}
	units := int64(0)
	if hasDot {
		for _, c := range frac {
			if c < '0' || c > '9' {
				return Timestamp{}, ErrInvalid
			}
		}
		digits := frac
		roundUp := false
		if len(digits) > 5 {
			roundUp = digits[5] >= '5'
			digits = digits[:5]
		}
		digits += strings.Repeat("0", 5-len(digits))
		v, _ := strconv.ParseInt(digits, 10, 64)
		units = v
		if roundUp {
			units++
		}
	}
	if sec > maxRaw/unitsPerSecond {
		return Timestamp{}, ErrInvalid
	}
	t.Raw = sec*unitsPerSecond + units
	if t.Raw > maxRaw {
		return Timestamp{}, ErrInvalid
	}
	return t, nil
}

// Normal is the client-visible form, e.g. "1402464677.04188".
func (t Timestamp) Normal() string {
	return fmt.Sprintf("%010d.%05d", t.Raw/unitsPerSecond, t.Raw%unitsPerSecond)
}

// Internal is the on-disk form: Normal plus "_%016x" when Offset is set.
func (t Timestamp) Internal() string {
	if t.Offset == 0 {
		return t.Normal()
	}
	return fmt.Sprintf("%s_%016x", t.Normal(), t.Offset)
}

// Short is Normal plus "_%x" when Offset is set (container rows, .meta names).
func (t Timestamp) Short() string {
	if t.Offset == 0 {
		return t.Normal()
	}
	return fmt.Sprintf("%s_%x", t.Normal(), t.Offset)
}

// String returns Internal.
func (t Timestamp) String() string { return t.Internal() }

// Compare returns -1, 0 or 1 as t is older than, equal to or newer than o.
func (t Timestamp) Compare(o Timestamp) int {
	switch {
	case t.Raw < o.Raw:
		return -1
	case t.Raw > o.Raw:
		return 1
	case t.Offset < o.Offset:
		return -1
	case t.Offset > o.Offset:
		return 1
	}
	return 0
}

// After reports whether t is strictly newer than o.
func (t Timestamp) After(o Timestamp) bool { return t.Compare(o) > 0 }

// IsZero reports whether t is the zero timestamp.
func (t Timestamp) IsZero() bool { return t.Raw == 0 && t.Offset == 0 }

// Time converts to time.Time.
func (t Timestamp) Time() time.Time {
	return time.Unix(t.Raw/unitsPerSecond, (t.Raw%unitsPerSecond)*10000).UTC()
}

// Unix returns whole seconds (Swift's int(timestamp)).
func (t Timestamp) Unix() int64 { return t.Raw / unitsPerSecond }

// WithOffset returns t with Offset increased by n.
func (t Timestamp) WithOffset(n uint64) Timestamp { t.Offset += n; return t }
