package pickle

// Values the decoder builds: objects from REDUCE/NEWOBJ calls, and
// Python literals (ints, longs, quoted strings) as Go values.

import (
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"unicode/utf8"
)

// newObject stands in for cls.__new__(cls): every class Swift pickles is a
// dict subclass (HeaderKeyDict), so it becomes a dict that later SETITEMS
// fill.
func newObject(any) any { return map[string]any{} }

// call evaluates the few callables CPython emits for Swift's types.
func (d *decoder) call(fn, args any) (any, error) {
	g, ok := fn.(global)
	if !ok {
		return nil, d.errf("REDUCE of %T", fn)
	}
	a, ok := args.(Tuple)
	if !ok {
		return nil, d.errf("REDUCE args %T", args)
	}
	switch g.module + "." + g.name {
	case "_codecs.encode":
		if len(a) < 1 {
			return nil, d.errf("_codecs.encode without args")
		}
		s, ok := a[0].(string)
		if !ok {
			return nil, d.errf("_codecs.encode of %T", a[0])
		}
		enc := "utf-8"
		if len(a) > 1 {
			enc, _ = a[1].(string)
		}
		switch strings.ToLower(strings.ReplaceAll(enc, "_", "-")) {
		case "latin1", "latin-1", "iso-8859-1":
			b := make([]byte, 0, len(s))
			for _, r := range s {
				if r > 0xff {
					return nil, d.errf("latin1 rune %U", r)
				}
				b = append(b, byte(r))
			}
			return string(b), nil
		case "utf-8", "utf8":
			return s, nil
		}
		return nil, fmt.Errorf("%w: encoding %q", ErrUnsupported, enc)
	case "__builtin__.bytes", "builtins.bytes":
		return "", nil
	case "copy_reg._reconstructor", "copyreg._reconstructor":
		if len(a) == 3 {
			if m, ok := a[2].(map[string]any); ok {
				return m, nil
			}
		}
		return map[string]any{}, nil
	case "__builtin__.set", "builtins.set", "__builtin__.frozenset", "builtins.frozenset":
		if len(a) == 1 {
			if l, ok := a[0].(*listv); ok {
				return &listv{items: append([]any(nil), l.items...)}, nil
			}
		}
		return &listv{}, nil
	case "collections.OrderedDict":
		return map[string]any{}, nil
	}
	return nil, fmt.Errorf("%w: callable %s.%s", ErrUnsupported, g.module, g.name)
}

// finish replaces internal list values with []any.
func finish(v any, depth int) (any, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("%w: nesting deeper than %d", ErrUnsupported, maxDepth)
	}
	switch x := v.(type) {
	case *listv:
		out := make([]any, len(x.items))
		for i, it := range x.items {
			f, err := finish(it, depth+1)
			if err != nil {
				return nil, err
			}
			out[i] = f
		}
		return out, nil
	case Tuple:
		out := make(Tuple, len(x))
		for i, it := range x {
			f, err := finish(it, depth+1)
			if err != nil {
				return nil, err
			}
			out[i] = f
		}
		return out, nil
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, it := range x {
			f, err := finish(it, depth+1)
			if err != nil {
				return nil, err
			}
			out[k] = f
		}
		return out, nil
	case global:
		return nil, fmt.Errorf("%w: bare %T in result", ErrUnsupported, v)
	}
	return v, nil
}

func parseInt(s string) (any, error) {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return n, nil
	}
	b, ok := new(big.Int).SetString(s, 10)
	if !ok {
		return nil, strconv.ErrSyntax
	}
	return b, nil
}

// decodeLong decodes little-endian two's complement (LONG1/LONG4).
func decodeLong(b []byte) any {
	if len(b) == 0 {
		return int64(0)
	}
	if len(b) <= 8 {
		var u uint64
		for i := len(b) - 1; i >= 0; i-- {
			u = u<<8 | uint64(b[i])
		}
		if b[len(b)-1]&0x80 != 0 && len(b) < 8 {
			u |= ^uint64(0) << (8 * uint(len(b)))
		}
		return int64(u)
	}
	be := make([]byte, len(b))
	for i := range b {
		be[len(b)-1-i] = b[i]
	}
	n := new(big.Int).SetBytes(be)
	if b[len(b)-1]&0x80 != 0 {
		n.Sub(n, new(big.Int).Lsh(big.NewInt(1), uint(8*len(b))))
	}
	if n.IsInt64() {
		return n.Int64()
	}
	return n
}

// unquote decodes a protocol-0 STRING argument: a Python 2 repr of a str.
func unquote(s string) (string, error) {
	if len(s) < 2 || (s[0] != '\'' && s[0] != '"') || s[len(s)-1] != s[0] {
		return "", strconv.ErrSyntax
	}
	s = s[1 : len(s)-1]
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' {
			b.WriteByte(c)
			continue
		}
		i++
		if i >= len(s) {
			return "", strconv.ErrSyntax
		}
		switch s[i] {
		case 'n':
			b.WriteByte('\n')
		case 't':
			b.WriteByte('\t')
		case 'r':
			b.WriteByte('\r')
		case '\\', '\'', '"':
			b.WriteByte(s[i])
		case 'x':
			if i+2 >= len(s) {
				return "", strconv.ErrSyntax
			}
			n, err := strconv.ParseUint(s[i+1:i+3], 16, 8)
			if err != nil {
				return "", err
			}
			b.WriteByte(byte(n))
			i += 2
		default:
			if s[i] >= '0' && s[i] <= '7' {
				j := i
				for j < len(s) && j < i+3 && s[j] >= '0' && s[j] <= '7' {
					j++
				}
				n, _ := strconv.ParseUint(s[i:j], 8, 8)
				b.WriteByte(byte(n))
				i = j - 1
				continue
			}
			b.WriteByte('\\')
			b.WriteByte(s[i])
		}
	}
	return b.String(), nil
}

// rawUnicodeEscape decodes a protocol-0 UNICODE argument
// (raw-unicode-escape: \uXXXX and \UXXXXXXXX escapes, other bytes latin-1).
func rawUnicodeEscape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '\\' && i+1 < len(s) && (s[i+1] == 'u' || s[i+1] == 'U') {
			n := 4
			if s[i+1] == 'U' {
				n = 8
			}
			if i+2+n <= len(s) {
				if r, err := strconv.ParseUint(s[i+2:i+2+n], 16, 32); err == nil && utf8.ValidRune(rune(r)) {
					b.WriteRune(rune(r))
					i += 1 + n
					continue
				}
			}
		}
		b.WriteRune(rune(c))
	}
	return b.String()
}
