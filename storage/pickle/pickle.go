// Package pickle encodes and decodes the subset of Python's pickle format
// that OpenStack Swift keeps on disk: object metadata xattrs, hashes.pkl and
// async_pending files.
//
// Marshal writes protocol 2, as Swift does (PICKLE_PROTOCOL = 2). Unmarshal
// reads what CPython 2 and 3 write for Swift's types with protocols 0-4.
//
// Go and Python values map as follows:
//
//	Python                         Go
//	None                           nil
//	bool                           bool
//	int (any size that fits)       int64
//	float                          float64
//	str, unicode, bytes            string
//	list                           []any
//	tuple                          Tuple
//	dict (and dict subclasses)     map[string]any (keys must be strings)
//
// Python 3 pickles of bytes objects in protocol 2 are calls of
// _codecs.encode(text, 'latin1'); Unmarshal evaluates that call and returns
// the bytes as a string.
package pickle

import "errors"

// Tuple is a Python tuple.
type Tuple []any

// ErrUnsupported is returned for values or opcodes outside the supported
// subset.
var ErrUnsupported = errors.New("pickle: unsupported")

// ErrMalformed is returned for truncated or inconsistent pickle data.
var ErrMalformed = errors.New("pickle: malformed data")

// Opcodes, named as in CPython's Lib/pickle.py.
const (
	opMark           = '('
	opStop           = '.'
	opPop            = '0'
	opPopMark        = '1'
	opDup            = '2'
	opFloat          = 'F'
	opInt            = 'I'
	opBinInt         = 'J'
	opBinInt1        = 'K'
	opLong           = 'L'
	opBinInt2        = 'M'
	opNone           = 'N'
	opReduce         = 'R'
	opString         = 'S'
	opBinString      = 'T'
	opShortBinString = 'U'
	opUnicode        = 'V'
	opBinUnicode     = 'X'
	opAppend         = 'a'
	opBuild          = 'b'
	opGlobal         = 'c'
	opDict           = 'd'
	opEmptyDict      = '}'
	opAppends        = 'e'
	opGet            = 'g'
	opBinGet         = 'h'
	opLongBinGet     = 'j'
	opList           = 'l'
	opEmptyList      = ']'
	opPut            = 'p'
	opBinPut         = 'q'
	opLongBinPut     = 'r'
	opSetItem        = 's'
	opTuple          = 't'
	opEmptyTuple     = ')'
	opSetItems       = 'u'
	opBinFloat       = 'G'

	opProto    = 0x80
	opNewObj   = 0x81
	opTuple1   = 0x85
	opTuple2   = 0x86
	opTuple3   = 0x87
	opNewTrue  = 0x88
	opNewFalse = 0x89
	opLong1    = 0x8a
	opLong4    = 0x8b

	opBinBytes      = 'B'
	opShortBinBytes = 'C'

	opShortBinUnicode = 0x8c
	opBinUnicode8     = 0x8d
	opBinBytes8       = 0x8e
	opEmptySet        = 0x8f
	opAddItems        = 0x90
	opFrozenSet       = 0x91
	opNewObjEx        = 0x92
	opStackGlobal     = 0x93
	opMemoize         = 0x94
	opFrame           = 0x95
)
