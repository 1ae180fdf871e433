package proxy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/valyala/fasthttp"
)

// JSONItem is one entry of a JSON listing with its keys in order, so a
// middleware can rewrite a listing and send it back in Swift's shape.
type JSONItem struct {
	keys []string
	vals map[string]any
}

// NewJSONItem is an entry with one key.
func NewJSONItem(k string, v any) *JSONItem {
	it := &JSONItem{vals: map[string]any{}}
	it.Set(k, v)
	return it
}

// Get is k's value.
func (it *JSONItem) Get(k string) (any, bool) { v, ok := it.vals[k]; return v, ok }

// Str is k's value if it is a string.
func (it *JSONItem) Str(k string) (string, bool) {
	s, ok := it.vals[k].(string)
	return s, ok
}

// Int is k's value if it is an integer.
func (it *JSONItem) Int(k string) (int64, bool) {
	switch v := it.vals[k].(type) {
	case json.Number:
		n, err := v.Int64()
		return n, err == nil
	case int64:
		return v, true
	case int:
		return int64(v), true
	}
	return 0, false
}

// Set sets k, a new key going last.
func (it *JSONItem) Set(k string, v any) {
	if _, ok := it.vals[k]; !ok {
		it.keys = append(it.keys, k)
	}
	it.vals[k] = v
}

// Del removes k.
func (it *JSONItem) Del(k string) {
	if _, ok := it.vals[k]; !ok {
		return
	}
	delete(it.vals, k)
	for i, x := range it.keys {
		if x == k {
			it.keys = append(it.keys[:i], it.keys[i+1:]...)
			break
		}
	}
}

// Key is what listings sort by: the name, or a subdir's prefix.
func (it *JSONItem) Key() string {
	if s, ok := it.Str("subdir"); ok {
		return s
	}
	s, _ := it.Str("name")
	return s
}

// DecodeListing parses a JSON listing keeping each entry's key order.
func DecodeListing(body []byte) ([]*JSONItem, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if t, err := dec.Token(); err != nil || t != json.Delim('[') {
		return nil, fmt.Errorf("listing: not a JSON array")
	}
	var out []*JSONItem
	for dec.More() {
		if t, err := dec.Token(); err != nil || t != json.Delim('{') {
			return nil, fmt.Errorf("listing: not an object")
		}
		it := &JSONItem{vals: map[string]any{}}
		for dec.More() {
			t, err := dec.Token()
			if err != nil {
				return nil, err
			}
			k, _ := t.(string)
			var v any
			if err := dec.Decode(&v); err != nil {
				return nil, err
			}
			it.Set(k, v)
		}
		if _, err := dec.Token(); err != nil {
			return nil, err
		}
		out = append(out, it)
	}
	return out, nil
}

// jsonValue renders v as Python's json.dumps does.
func jsonValue(v any) string {
	switch x := v.(type) {
	case string:
		return JSONString(x)
	case json.Number:
		return x.String()
	case bool:
		if x {
			return "true"
		}
		return "false"
	case int:
		return strconv.Itoa(x)
	case int64:
		return strconv.FormatInt(x, 10)
	case nil:
		return "null"
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func (it *JSONItem) json() string {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, k := range it.keys {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(JSONString(k) + ": " + jsonValue(it.vals[k]))
	}
	b.WriteByte('}')
	return b.String()
}

// WriteJSONItems writes items as a JSON listing in Swift's shape.
func WriteJSONItems(b *bytes.Buffer, items []*JSONItem) {
	b.WriteByte('[')
	for i, it := range items {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(it.json())
	}
	b.WriteByte(']')
}

// text is a value as listing_formats puts it in XML.
func (it *JSONItem) text(k string) string {
	switch x := it.vals[k].(type) {
	case string:
		return xmlEscape(x)
	case nil:
		return "None"
	default:
		return xmlEscape(jsonValue(x))
	}
}

// RenderObjectListing sends a rewritten container listing in format.
func RenderObjectListing(ctx *fasthttp.RequestCtx, format, container string, items []*JSONItem) {
	writeListing(ctx, format, "container", container, renderItems(items, func(it *JSONItem) string {
		return "<object><name>" + it.text("name") + "</name><hash>" + it.text("hash") + "</hash><bytes>" +
			it.text("bytes") + "</bytes><content_type>" + it.text("content_type") + "</content_type><last_modified>" +
			it.text("last_modified") + "</last_modified></object>"
	}))
}

// RenderContainerListing sends a rewritten account listing in format.
func RenderContainerListing(ctx *fasthttp.RequestCtx, format, account string, items []*JSONItem) {
	writeListing(ctx, format, "account", account, renderItems(items, func(it *JSONItem) string {
		return "<container><name>" + it.text("name") + "</name><count>" + it.text("count") + "</count><bytes>" +
			it.text("bytes") + "</bytes><last_modified>" + it.text("last_modified") + "</last_modified></container>"
	}))
}

// renderItems turns rewritten rows into listing items: subdirs as they
// are, the rest as their JSON and the XML xmlOf makes of them.
func renderItems(items []*JSONItem, xmlOf func(*JSONItem) string) []listingItem {
	out := make([]listingItem, len(items))
	for i, it := range items {
		if sd, ok := it.Str("subdir"); ok {
			out[i] = listingItem{subdir: sd}
			continue
		}
		name, _ := it.Str("name")
		out[i] = listingItem{name: name, json: it.json(), xml: xmlOf(it)}
	}
	return out
}
