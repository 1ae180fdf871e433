package pickle

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
)

// maxDepth bounds nesting (and so cycles built from memo references).
const maxDepth = 100

// Unmarshal decodes one pickle from data. Bytes after the STOP opcode are
// ignored, as pickle.loads does.
func Unmarshal(data []byte) (any, error) {
	d := decoder{data: data, memo: map[int]any{}}
	v, err := d.run()
	if err != nil {
		return nil, err
	}
	return finish(v, 0)
}

// UnmarshalDict decodes a pickle that must hold a dict.
func UnmarshalDict(data []byte) (map[string]any, error) {
	v, err := Unmarshal(data)
	if err != nil {
		return nil, err
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%w: top-level %T, want dict", ErrMalformed, v)
	}
	return m, nil
}

// UnmarshalStringMap decodes a dict whose values are scalars, formatting
// non-string values as Python's str() would (Swift metadata is all strings,
// but old writers stored a few ints).
func UnmarshalStringMap(data []byte) (map[string]string, error) {
	m, err := UnmarshalDict(data)
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		s, err := ScalarString(v)
		if err != nil {
			return nil, fmt.Errorf("key %q: %w", k, err)
		}
		out[k] = s
	}
	return out, nil
}

// ScalarString formats a decoded scalar as Python's str() would.
func ScalarString(v any) (string, error) {
	switch x := v.(type) {
	case string:
		return x, nil
	case int64:
		return strconv.FormatInt(x, 10), nil
	case *big.Int:
		return x.String(), nil
	case float64:
		return formatFloat(x), nil
	case bool:
		if x {
			return "True", nil
		}
		return "False", nil
	case nil:
		return "None", nil
	}
	return "", fmt.Errorf("%w: non-scalar value %T", ErrUnsupported, v)
}

func formatFloat(f float64) string {
	s := strconv.FormatFloat(f, 'g', -1, 64)
	if !strings.ContainsAny(s, ".eEn") {
		s += ".0"
	}
	return s
}

type listv struct{ items []any }

type global struct{ module, name string }

type decoder struct {
	data  []byte
	pos   int
	stack []any
	marks []int
	memo  map[int]any
}

func (d *decoder) errf(format string, a ...any) error {
	return fmt.Errorf("%w at offset %d: %s", ErrMalformed, d.pos, fmt.Sprintf(format, a...))
}

func (d *decoder) read(n int) ([]byte, error) {
	if n < 0 || d.pos+n > len(d.data) {
		return nil, d.errf("truncated")
	}
	b := d.data[d.pos : d.pos+n]
	d.pos += n
	return b, nil
}

func (d *decoder) readLine() (string, error) {
	i := strings.IndexByte(string(d.data[d.pos:]), '\n')
	if i < 0 {
		return "", d.errf("unterminated line")
	}
	s := string(d.data[d.pos : d.pos+i])
	d.pos += i + 1
	return s, nil
}

func (d *decoder) uint(n int) (uint64, error) {
	b, err := d.read(n)
	if err != nil {
		return 0, err
	}
	var u uint64
	for i := n - 1; i >= 0; i-- {
		u = u<<8 | uint64(b[i])
	}
	return u, nil
}

func (d *decoder) push(v any) { d.stack = append(d.stack, v) }

func (d *decoder) pop() (any, error) {
	if len(d.stack) == 0 || (len(d.marks) > 0 && len(d.stack) <= d.marks[len(d.marks)-1]) {
		return nil, d.errf("stack underflow")
	}
	v := d.stack[len(d.stack)-1]
	d.stack = d.stack[:len(d.stack)-1]
	return v, nil
}

func (d *decoder) top() (any, error) {
	if len(d.stack) == 0 {
		return nil, d.errf("empty stack")
	}
	return d.stack[len(d.stack)-1], nil
}

// popMark returns the items pushed since the last MARK and removes them.
func (d *decoder) popMark() ([]any, error) {
	if len(d.marks) == 0 {
		return nil, d.errf("no MARK")
	}
	m := d.marks[len(d.marks)-1]
	d.marks = d.marks[:len(d.marks)-1]
	items := append([]any(nil), d.stack[m:]...)
	d.stack = d.stack[:m]
	return items, nil
}

func (d *decoder) run() (any, error) {
	for {
		b, err := d.read(1)
		if err != nil {
			return nil, err
		}
		op := b[0]
		switch op {
		case opStop:
			if len(d.stack) != 1 || len(d.marks) != 0 {
				return nil, d.errf("STOP with %d items on the stack", len(d.stack))
			}
			return d.stack[0], nil
		case opProto:
			if _, err := d.read(1); err != nil {
				return nil, err
			}
		case opFrame:
			if _, err := d.read(8); err != nil {
				return nil, err
			}
		case opMark:
			d.marks = append(d.marks, len(d.stack))
		case opPop:
			if len(d.marks) > 0 && len(d.stack) == d.marks[len(d.marks)-1] {
				d.marks = d.marks[:len(d.marks)-1]
			} else if _, err := d.pop(); err != nil {
				return nil, err
			}
		case opPopMark:
			if _, err := d.popMark(); err != nil {
				return nil, err
			}
		case opDup:
			v, err := d.top()
			if err != nil {
				return nil, err
			}
			d.push(v)
		case opNone:
			d.push(nil)
		case opNewTrue:
			d.push(true)
		case opNewFalse:
			d.push(false)
		case opInt:
			s, err := d.readLine()
			if err != nil {
				return nil, err
			}
			switch s {
			case "00":
				d.push(false)
			case "01":
				d.push(true)
			default:
				v, err := parseInt(s)
				if err != nil {
					return nil, d.errf("INT %q", s)
				}
				d.push(v)
			}
		case opLong:
			s, err := d.readLine()
			if err != nil {
				return nil, err
			}
			v, err := parseInt(strings.TrimSuffix(s, "L"))
			if err != nil {
				return nil, d.errf("LONG %q", s)
			}
			d.push(v)
		case opBinInt:
			u, err := d.uint(4)
			if err != nil {
				return nil, err
			}
			d.push(int64(int32(uint32(u))))
		case opBinInt1:
			u, err := d.uint(1)
			if err != nil {
				return nil, err
			}
			d.push(int64(u))
		case opBinInt2:
			u, err := d.uint(2)
			if err != nil {
				return nil, err
			}
			d.push(int64(u))
		case opLong1, opLong4:
			size := 1
			if op == opLong4 {
				size = 4
			}
			n, err := d.uint(size)
			if err != nil {
				return nil, err
			}
			b, err := d.read(int(n))
			if err != nil {
				return nil, err
			}
			d.push(decodeLong(b))
		case opFloat:
			s, err := d.readLine()
			if err != nil {
				return nil, err
			}
			f, err := strconv.ParseFloat(s, 64)
			if err != nil {
				return nil, d.errf("FLOAT %q", s)
			}
			d.push(f)
		case opBinFloat:
			u, err := d.read(8)
			if err != nil {
				return nil, err
			}
			d.push(math.Float64frombits(binary.BigEndian.Uint64(u)))
		case opString:
			s, err := d.readLine()
			if err != nil {
				return nil, err
			}
			v, err := unquote(s)
			if err != nil {
				return nil, d.errf("STRING %q", s)
			}
			d.push(v)
		case opUnicode:
			s, err := d.readLine()
			if err != nil {
				return nil, err
			}
			d.push(rawUnicodeEscape(s))
		case opShortBinString, opShortBinBytes, opShortBinUnicode:
			if err := d.pushCounted(1); err != nil {
				return nil, err
			}
		case opBinString, opBinBytes, opBinUnicode:
			if err := d.pushCounted(4); err != nil {
				return nil, err
			}
		case opBinUnicode8, opBinBytes8:
			if err := d.pushCounted(8); err != nil {
				return nil, err
			}
		case opEmptyDict:
			d.push(map[string]any{})
		case opEmptyList:
			d.push(&listv{})
		case opEmptyTuple:
			d.push(Tuple{})
		case opEmptySet:
			d.push(&listv{})
		case opDict:
			items, err := d.popMark()
			if err != nil {
				return nil, err
			}
			m := map[string]any{}
			if err := d.setItems(m, items); err != nil {
				return nil, err
			}
			d.push(m)
		case opList:
			items, err := d.popMark()
			if err != nil {
				return nil, err
			}
			d.push(&listv{items: items})
		case opTuple, opFrozenSet:
			items, err := d.popMark()
			if err != nil {
				return nil, err
			}
			if op == opFrozenSet {
				d.push(&listv{items: items})
			} else {
				d.push(Tuple(items))
			}
		case opTuple1, opTuple2, opTuple3:
			n := int(op-opTuple1) + 1
			if len(d.stack) < n {
				return nil, d.errf("stack underflow")
			}
			t := append(Tuple(nil), d.stack[len(d.stack)-n:]...)
			d.stack = d.stack[:len(d.stack)-n]
			d.push(t)
		case opAppend:
			v, err := d.pop()
			if err != nil {
				return nil, err
			}
			if err := d.appendTo([]any{v}); err != nil {
				return nil, err
			}
		case opAppends, opAddItems:
			items, err := d.popMark()
			if err != nil {
				return nil, err
			}
			if err := d.appendTo(items); err != nil {
				return nil, err
			}
		case opSetItem:
			v, err := d.pop()
			if err != nil {
				return nil, err
			}
			k, err := d.pop()
			if err != nil {
				return nil, err
			}
			if err := d.setItemsOnTop([]any{k, v}); err != nil {
				return nil, err
			}
		case opSetItems:
			items, err := d.popMark()
			if err != nil {
				return nil, err
			}
			if err := d.setItemsOnTop(items); err != nil {
				return nil, err
			}
		case opPut:
			s, err := d.readLine()
			if err != nil {
				return nil, err
			}
			n, err := strconv.Atoi(s)
			if err != nil {
				return nil, d.errf("PUT %q", s)
			}
			if err := d.put(n); err != nil {
				return nil, err
			}
		case opBinPut, opLongBinPut:
			size := 1
			if op == opLongBinPut {
				size = 4
			}
			n, err := d.uint(size)
			if err != nil {
				return nil, err
			}
			if err := d.put(int(n)); err != nil {
				return nil, err
			}
		case opMemoize:
			if err := d.put(len(d.memo)); err != nil {
				return nil, err
			}
		case opGet:
			s, err := d.readLine()
			if err != nil {
				return nil, err
			}
			n, err := strconv.Atoi(s)
			if err != nil {
				return nil, d.errf("GET %q", s)
			}
			if err := d.get(n); err != nil {
				return nil, err
			}
		case opBinGet, opLongBinGet:
			size := 1
			if op == opLongBinGet {
				size = 4
			}
			n, err := d.uint(size)
			if err != nil {
				return nil, err
			}
			if err := d.get(int(n)); err != nil {
				return nil, err
			}
		case opGlobal:
			mod, err := d.readLine()
			if err != nil {
				return nil, err
			}
			name, err := d.readLine()
			if err != nil {
				return nil, err
			}
			d.push(global{mod, name})
		case opStackGlobal:
			name, err := d.pop()
			if err != nil {
				return nil, err
			}
			mod, err := d.pop()
			if err != nil {
				return nil, err
			}
			ms, ok1 := mod.(string)
			ns, ok2 := name.(string)
			if !ok1 || !ok2 {
				return nil, d.errf("STACK_GLOBAL of non-strings")
			}
			d.push(global{ms, ns})
		case opReduce:
			args, err := d.pop()
			if err != nil {
				return nil, err
			}
			fn, err := d.pop()
			if err != nil {
				return nil, err
			}
			v, err := d.call(fn, args)
			if err != nil {
				return nil, err
			}
			d.push(v)
		case opNewObj:
			if _, err := d.pop(); err != nil { // args
				return nil, err
			}
			cls, err := d.pop()
			if err != nil {
				return nil, err
			}
			d.push(newObject(cls))
		case opNewObjEx:
			for range 2 { // kwargs, args
				if _, err := d.pop(); err != nil {
					return nil, err
				}
			}
			cls, err := d.pop()
			if err != nil {
				return nil, err
			}
			d.push(newObject(cls))
		case opBuild:
			// Instance state (__dict__) of dict subclasses such as
			// HeaderKeyDict carries nothing Swift stores; drop it.
			if _, err := d.pop(); err != nil {
				return nil, err
			}
			if _, err := d.top(); err != nil {
				return nil, err
			}
		default:
			return nil, fmt.Errorf("%w: opcode 0x%02x at offset %d", ErrUnsupported, op, d.pos-1)
		}
	}
}

func (d *decoder) pushCounted(size int) error {
	n, err := d.uint(size)
	if err != nil {
		return err
	}
	if n > uint64(len(d.data)) {
		return d.errf("length %d beyond data", n)
	}
	b, err := d.read(int(n))
	if err != nil {
		return err
	}
	d.push(string(b))
	return nil
}

func (d *decoder) put(n int) error {
	v, err := d.top()
	if err != nil {
		return err
	}
	d.memo[n] = v
	return nil
}

func (d *decoder) get(n int) error {
	v, ok := d.memo[n]
	if !ok {
		return d.errf("memo %d missing", n)
	}
	d.push(v)
	return nil
}

func (d *decoder) appendTo(items []any) error {
	v, err := d.top()
	if err != nil {
		return err
	}
	l, ok := v.(*listv)
	if !ok {
		return d.errf("APPEND to %T", v)
	}
	l.items = append(l.items, items...)
	return nil
}

func (d *decoder) setItemsOnTop(items []any) error {
	v, err := d.top()
	if err != nil {
		return err
	}
	m, ok := v.(map[string]any)
	if !ok {
		return d.errf("SETITEM on %T", v)
	}
	return d.setItems(m, items)
}

func (d *decoder) setItems(m map[string]any, items []any) error {
	if len(items)%2 != 0 {
		return d.errf("odd number of dict items")
	}
	for i := 0; i < len(items); i += 2 {
		k, ok := items[i].(string)
		if !ok {
			return fmt.Errorf("%w: dict key of type %T", ErrUnsupported, items[i])
		}
		m[k] = items[i+1]
	}
	return nil
}
