package db

import (
	"bytes"

	bolt "go.etcd.io/bbolt"
)

// DefaultListLimit is Swift's container_listing_limit and
// account_listing_limit, used when ListOptions.Limit is 0 or less.
const DefaultListLimit = 10000

// ListOptions selects a listing, with the meaning of Swift's query
// parameters of the same names.
type ListOptions struct {
	Prefix    string
	Delimiter string
	Marker    string // exclusive; with Reverse, the exclusive upper end
	EndMarker string // exclusive; with Reverse, the exclusive lower end
	Limit     int    // DefaultListLimit if 0 or less
	Reverse   bool
	// IncludeDeleted lists deleted rows too, merged in name order.
	IncludeDeleted bool
	// AllowReserved lists names starting with Swift's reserved byte
	// "\x00" (hidden by default, as in Swift).
	AllowReserved bool
}

// reservedFloor is the smallest name listed unless AllowReserved: names
// beginning with "\x00" are Swift's internal ones.
var reservedFloor = []byte{0x01}

// scanner walks one or two buckets (live, and deleted when asked) as one
// sorted sequence in one direction. Names are never in both buckets, so
// merging is a pick of the smaller (or larger, in reverse) head.
type scanner struct {
	curs    []*bolt.Cursor
	keys    [][]byte
	vals    [][]byte
	cur     int
	reverse bool
	visited int // keys read from the buckets; tests check listings stay cheap
}

func newScanner(tx *bolt.Tx, includeDeleted, reverse bool) *scanner {
	s := &scanner{reverse: reverse}
	names := [][]byte{bucketLive}
	if includeDeleted {
		names = append(names, bucketDeleted)
	}
	for _, n := range names {
		s.curs = append(s.curs, tx.Bucket(n).Cursor())
	}
	s.keys = make([][]byte, len(s.curs))
	s.vals = make([][]byte, len(s.curs))
	return s
}

// seek positions every cursor at its first key >= k (forward; nil k means
// the start) or its last key < k (reverse; nil k means the end).
func (s *scanner) seek(k []byte) ([]byte, []byte, bool) {
	for i, c := range s.curs {
		switch {
		case !s.reverse && k == nil:
			s.keys[i], s.vals[i] = c.First()
		case !s.reverse:
			s.keys[i], s.vals[i] = c.Seek(k)
		case k == nil:
			s.keys[i], s.vals[i] = c.Last()
		default:
			if key, _ := c.Seek(k); key == nil {
				s.keys[i], s.vals[i] = c.Last()
			} else {
				s.keys[i], s.vals[i] = c.Prev()
			}
		}
		s.visited++
	}
	return s.pick()
}

// step moves past the current key.
func (s *scanner) step() ([]byte, []byte, bool) {
	if s.reverse {
		s.keys[s.cur], s.vals[s.cur] = s.curs[s.cur].Prev()
	} else {
		s.keys[s.cur], s.vals[s.cur] = s.curs[s.cur].Next()
	}
	s.visited++
	return s.pick()
}

// pick returns the head of the merged sequence and whether it is deleted.
func (s *scanner) pick() ([]byte, []byte, bool) {
	s.cur = -1
	for i, k := range s.keys {
		if k == nil {
			continue
		}
		if s.cur < 0 {
			s.cur = i
			continue
		}
		c := bytes.Compare(k, s.keys[s.cur])
		if (!s.reverse && c < 0) || (s.reverse && c > 0) {
			s.cur = i
		}
	}
	if s.cur < 0 {
		return nil, nil, false
	}
	return s.keys[s.cur], s.vals[s.cur], s.cur == 1
}

// successor returns the smallest byte string greater than every string
// that starts with b, or nil if there is none. For valid UTF-8 this is the
// same bound as Swift's "last character + 1".
func successor(b []byte) []byte {
	out := bytes.Clone(b)
	for len(out) > 0 && out[len(out)-1] == 0xff {
		out = out[:len(out)-1]
	}
	if len(out) == 0 {
		return nil
	}
	out[len(out)-1]++
	return out
}

// scanListing walks a listing exactly as Swift's list_objects_iter and
// list_containers_iter do, calling row for each entry and subdir for each
// delimiter roll-up. A roll-up is followed by a seek past every name under
// it, so the cost is O(limit + roll-ups) cursor moves whatever the size of
// the database. It returns the number of keys read.
func scanListing(tx *bolt.Tx, o ListOptions, row func(k, v []byte, deleted bool) error, subdir func(dir string)) (int, error) {
	limit := o.Limit
	if limit <= 0 {
		limit = DefaultListLimit
	}
	marker, endMarker := o.Marker, o.EndMarker
	if o.Reverse {
		marker, endMarker = endMarker, marker
	}
	prefix := []byte(o.Prefix)
	delim := []byte(o.Delimiter)

	var endPrefix, upper, lower []byte
	if len(prefix) > 0 {
		endPrefix = successor(prefix)
	}
	switch {
	case endMarker != "" && (len(prefix) == 0 || endPrefix == nil || endMarker < string(endPrefix)):
		upper = []byte(endMarker)
	case len(prefix) > 0:
		upper = endPrefix
	}
	switch {
	case marker != "" && (len(prefix) == 0 || marker >= o.Prefix):
		lower = append([]byte(marker), 0) // exclusive marker
	case len(prefix) > 0:
		lower = prefix
	}
	if !o.AllowReserved && bytes.Compare(lower, reservedFloor) < 0 {
		lower = reservedFloor
	}
	origMarker := marker

	s := newScanner(tx, o.IncludeDeleted, o.Reverse)
	var k, v []byte
	var deleted bool
	if o.Reverse {
		k, v, deleted = s.seek(upper)
	} else {
		k, v, deleted = s.seek(lower)
	}
	for n := 0; k != nil && n < limit; {
		if o.Reverse && bytes.Compare(k, lower) < 0 {
			break
		}
		if !o.Reverse && upper != nil && bytes.Compare(k, upper) >= 0 {
			break
		}
		if !bytes.HasPrefix(k, prefix) {
			break // only reachable for prefixes that are not UTF-8
		}
		if len(delim) > 0 {
			if i := bytes.Index(k[len(prefix):], delim); i >= 0 {
				dir := k[:len(prefix)+i+len(delim)]
				if string(dir) != origMarker {
					subdir(string(dir))
					n++
				}
				if o.Reverse {
					k, v, deleted = s.seek(bytes.Clone(dir))
					continue
				}
				next := successor(dir)
				if next == nil {
					break
				}
				k, v, deleted = s.seek(next)
				continue
			}
		}
		if err := row(k, v, deleted); err != nil {
			return s.visited, err
		}
		n++
		k, v, deleted = s.step()
	}
	return s.visited, nil
}
