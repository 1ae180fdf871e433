package pickle

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/big"
	"sort"
	"unicode/utf8"
)

// batchSize is how many items CPython puts between MARK and SETITEMS or
// APPENDS; unpicklers accept any count, we follow CPython.
const batchSize = 1000

// Marshal returns v pickled with protocol 2. v may be nil, bool, any Go
// integer type, float32/64, string, []byte, Tuple, []any, []string,
// map[string]string or map[string]any, nested. Valid UTF-8 strings become
// Python str (BINUNICODE); invalid UTF-8 strings and []byte become Python 2
// byte strings (BINSTRING), which Swift decodes with surrogateescape. Map
// keys are written in sorted order so equal maps give equal bytes.
func Marshal(v any) ([]byte, error) {
	e := encoder{buf: make([]byte, 0, 256)}
	e.buf = append(e.buf, opProto, 2)
	if err := e.value(v); err != nil {
		return nil, err
	}
	e.buf = append(e.buf, opStop)
	return e.buf, nil
}

type encoder struct {
	buf []byte
}

func (e *encoder) value(v any) error {
	switch x := v.(type) {
	case nil:
		e.buf = append(e.buf, opNone)
	case bool:
		if x {
			e.buf = append(e.buf, opNewTrue)
		} else {
			e.buf = append(e.buf, opNewFalse)
		}
	case int:
		e.int(int64(x))
	case int8:
		e.int(int64(x))
	case int16:
		e.int(int64(x))
	case int32:
		e.int(int64(x))
	case int64:
		e.int(x)
	case uint8:
		e.int(int64(x))
	case uint16:
		e.int(int64(x))
	case uint32:
		e.int(int64(x))
	case uint:
		e.uint(uint64(x))
	case uint64:
		e.uint(x)
	case float32:
		e.float(float64(x))
	case float64:
		e.float(x)
	case *big.Int:
		e.bigInt(x)
	case string:
		e.string(x)
	case []byte:
		e.bytes(x)
	case Tuple:
		return e.tuple(x)
	case []any:
		return e.list(x)
	case []string:
		l := make([]any, len(x))
		for i, s := range x {
			l[i] = s
		}
		return e.list(l)
	case map[string]string:
		m := make(map[string]any, len(x))
		for k, s := range x {
			m[k] = s
		}
		return e.dict(m)
	case map[string]any:
		return e.dict(x)
	default:
		return fmt.Errorf("%w: Go type %T", ErrUnsupported, v)
	}
	return nil
}

func (e *encoder) int(n int64) {
	switch {
	case n >= 0 && n < 1<<8:
		e.buf = append(e.buf, opBinInt1, byte(n))
	case n >= 0 && n < 1<<16:
		e.buf = append(e.buf, opBinInt2, byte(n), byte(n>>8))
	case n >= math.MinInt32 && n <= math.MaxInt32:
		e.buf = append(e.buf, opBinInt)
		e.buf = binary.LittleEndian.AppendUint32(e.buf, uint32(int32(n)))
	default:
		// LONG1: minimal little-endian two's complement.
		var b []byte
		for {
			b = append(b, byte(n))
			last := int8(byte(n))
			n >>= 8
			if (n == 0 && last >= 0) || (n == -1 && last < 0) {
				break
			}
		}
		e.buf = append(e.buf, opLong1, byte(len(b)))
		e.buf = append(e.buf, b...)
	}
}

// bigInt writes n as LONG1 (LONG4 past 255 bytes): minimal little-endian
// two's complement, as the decoder reads any integer beyond 64 bits.
func (e *encoder) bigInt(n *big.Int) {
	if n.IsInt64() {
		e.int(n.Int64())
		return
	}
	k := n.BitLen()/8 + 1 // bytes, with room for the sign bit
	m := new(big.Int).Set(n)
	if n.Sign() < 0 {
		m.Add(m, new(big.Int).Lsh(big.NewInt(1), uint(8*k)))
	}
	be := m.FillBytes(make([]byte, k))
	if n.Sign() < 0 && k > 1 && be[0] == 0xff && be[1]&0x80 != 0 {
		be = be[1:] // -2^(8j) needs no extra byte
	}
	b := make([]byte, len(be))
	for i := range be {
		b[len(be)-1-i] = be[i]
	}
	if len(b) < 256 {
		e.buf = append(e.buf, opLong1, byte(len(b)))
	} else {
		e.buf = append(e.buf, opLong4)
		e.buf = binary.LittleEndian.AppendUint32(e.buf, uint32(len(b)))
	}
	e.buf = append(e.buf, b...)
}

func (e *encoder) uint(n uint64) {
	if n <= math.MaxInt64 {
		e.int(int64(n))
		return
	}
	e.bigInt(new(big.Int).SetUint64(n))
}

func (e *encoder) float(f float64) {
	e.buf = append(e.buf, opBinFloat)
	e.buf = binary.BigEndian.AppendUint64(e.buf, math.Float64bits(f))
}

func (e *encoder) string(s string) {
	if !utf8.ValidString(s) {
		e.bytes([]byte(s))
		return
	}
	e.buf = append(e.buf, opBinUnicode)
	e.buf = binary.LittleEndian.AppendUint32(e.buf, uint32(len(s)))
	e.buf = append(e.buf, s...)
}

func (e *encoder) bytes(b []byte) {
	if len(b) < 256 {
		e.buf = append(e.buf, opShortBinString, byte(len(b)))
	} else {
		e.buf = append(e.buf, opBinString)
		e.buf = binary.LittleEndian.AppendUint32(e.buf, uint32(len(b)))
	}
	e.buf = append(e.buf, b...)
}

func (e *encoder) tuple(t Tuple) error {
	switch len(t) {
	case 0:
		e.buf = append(e.buf, opEmptyTuple)
		return nil
	case 1, 2, 3:
		for _, v := range t {
			if err := e.value(v); err != nil {
				return err
			}
		}
		e.buf = append(e.buf, opTuple1+byte(len(t)-1))
		return nil
	}
	e.buf = append(e.buf, opMark)
	for _, v := range t {
		if err := e.value(v); err != nil {
			return err
		}
	}
	e.buf = append(e.buf, opTuple)
	return nil
}

func (e *encoder) list(l []any) error {
	e.buf = append(e.buf, opEmptyList)
	for start := 0; start < len(l); start += batchSize {
		end := min(start+batchSize, len(l))
		e.buf = append(e.buf, opMark)
		for _, v := range l[start:end] {
			if err := e.value(v); err != nil {
				return err
			}
		}
		e.buf = append(e.buf, opAppends)
	}
	return nil
}

func (e *encoder) dict(m map[string]any) error {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	e.buf = append(e.buf, opEmptyDict)
	for start := 0; start < len(keys); start += batchSize {
		end := min(start+batchSize, len(keys))
		e.buf = append(e.buf, opMark)
		for _, k := range keys[start:end] {
			e.string(k)
			if err := e.value(m[k]); err != nil {
				return err
			}
		}
		e.buf = append(e.buf, opSetItems)
	}
	return nil
}
