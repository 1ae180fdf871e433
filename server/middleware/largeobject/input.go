package largeobject

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/valyala/fasthttp"

	"swiftbox/server/proxy"
	"swiftbox/server/pyfmt"
)

// sloInput is one validated entry of a manifest PUT.
type sloInput struct {
	path      string
	etag      *string
	sizeBytes *int64
	rng       *rawRange
	data      string // normalized base64 for data segments
	isData    bool
}

type rawRange struct{ start, end int64 } // -1 = absent

// parseRawRange is swob.Range's parser for "bytes=<spec>".
func parseRawRange(spec string) ([]rawRange, bool) {
	spec = strings.ReplaceAll(spec, " ", "")
	var out []rawRange
	for _, part := range strings.Split(spec, ",") {
		a, b, ok := strings.Cut(part, "-")
		if !ok {
			return nil, false
		}
		r := rawRange{-1, -1}
		if a != "" {
			v, err := strconv.ParseInt(a, 10, 64)
			if err != nil {
				return nil, false
			}
			r.start = v
		}
		if b != "" {
			if strings.Trim(b, "0123456789") != "" {
				return nil, false
			}
			v, err := strconv.ParseInt(b, 10, 64)
			if err != nil {
				return nil, false
			}
			if r.start >= 0 && v < r.start || a != "" && r.start < 0 {
				return nil, false
			}
			r.end = v
		} else if a == "" {
			return nil, false
		}
		out = append(out, r)
	}
	return out, true
}

// forLength is ranges_for_length of one range: [start, end) or ok=false.
func (r rawRange) forLength(n int64) (int64, int64, bool) {
	if r.start < 0 {
		if r.end == 0 {
			return 0, 0, false
		}
		if r.end > n {
			return 0, n, true
		}
		return n - r.end, n, true
	}
	if r.start >= n {
		return 0, 0, false
	}
	if r.end < 0 {
		return r.start, n, true
	}
	return r.start, min(r.end+1, n), true
}

// pyInt is Python's int() of a JSON value.
func pyInt(v any) (int64, bool) {
	switch x := v.(type) {
	case json.Number:
		if n, err := x.Int64(); err == nil {
			return n, true
		}
		f, err := x.Float64()
		if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			return 0, false
		}
		return int64(f), true
	case string:
		n, err := strconv.ParseInt(strings.ReplaceAll(strings.TrimSpace(x), "_", ""), 10, 64)
		return n, err == nil
	case bool:
		if x {
			return 1, true
		}
		return 0, true
	}
	return 0, false
}

// parseSLOInput is Swift's parse_and_validate_input.
func parseSLOInput(body []byte, version, account, reqPath string) ([]sloInput, error) {
	var raw any
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&raw); err != nil || dec.More() {
		return nil, proxy.Errorf(fasthttp.StatusBadRequest, "Manifest must be valid JSON.\n")
	}
	list, ok := raw.([]any)
	if !ok {
		return nil, proxy.Errorf(fasthttp.StatusBadRequest, "Manifest must be a list.\n")
	}
	var errs []string
	out := make([]sloInput, len(list))
	for i, item := range list {
		in, problem := parseSLOEntry(item, i == len(list)-1, version, account, reqPath)
		if problem != "" {
			errs = append(errs, fmt.Sprintf("Index %d: %s", i, problem))
			continue
		}
		out[i] = in
	}
	allData := len(list) > 0
	for _, item := range list {
		m, ok := item.(map[string]any)
		if _, has := m["data"]; !ok || !has {
			allData = false
		}
	}
	if allData {
		errs = append(errs, "Inline data segments require at least one object-backed segment.")
	}
	if len(errs) > 0 {
		return nil, proxy.ConstraintErrorf(fasthttp.StatusBadRequest, "%s", strings.Join(errs, "\n")+"\n")
	}
	return out, nil
}

// parseSLOEntry validates one entry of the manifest; problem is why it is
// not valid.
func parseSLOEntry(item any, last bool, version, account, reqPath string) (in sloInput, problem string) {
	m, ok := item.(map[string]any)
	if !ok {
		return in, "not a JSON object"
	}
	kind := ""
	if _, ok := m["data"]; ok {
		kind = "data"
	} else if _, ok := m["path"]; ok {
		kind = "path"
	} else {
		return in, "expected keys to include one of 'data' or 'path'"
	}
	allowed := map[string]bool{kind: true}
	if kind == "path" {
		allowed["range"], allowed["etag"], allowed["size_bytes"] = true, true, true
	}
	var extra []string
	for k := range m {
		if !allowed[k] {
			extra = append(extra, k)
		}
	}
	if len(extra) > 0 {
		sort.Strings(extra)
		for j, k := range extra {
			extra[j] = proxy.JSONString(k)
		}
		return in, "extraneous keys " + strings.Join(extra, ", ")
	}
	if kind == "data" {
		s, ok := m["data"].(string)
		data, err := strictB64(s)
		if !ok || err != nil {
			return in, "data must be valid base64"
		}
		if len(data) < 1 {
			return in, "too small; each segment must be at least 1 byte."
		}
		return sloInput{isData: true, data: base64.StdEncoding.EncodeToString(data)}, ""
	}
	return parsePathEntry(m, last, version, account, reqPath)
}

// parsePathEntry validates an object-backed entry of the manifest.
func parsePathEntry(m map[string]any, last bool, version, account, reqPath string) (in sloInput, problem string) {
	path, ok := m["path"].(string)
	if !ok {
		return in, `"path" must be a string`
	}
	in.path = path
	if e, present := m["etag"]; present && e != nil {
		s, ok := e.(string)
		if !ok {
			return in, `"etag" must be a string or null (if provided)`
		}
		in.etag = &s
	}
	if !strings.Contains(strings.Trim(path, "/"), "/") {
		return in, "path does not refer to an object. Path must be of the form /container/object."
	}
	if v, present := m["size_bytes"]; present && v != nil {
		n, ok := pyInt(v)
		if !ok {
			return in, "invalid size_bytes"
		}
		if n < 1 && !last {
			return in, "too small; each segment must be at least 1 byte."
		}
		in.sizeBytes = &n
	}
	if "/"+version+"/"+account+"/"+pyfmt.Quote(strings.TrimLeft(path, "/")) == reqPath {
		return in, "manifest must not include itself as a segment"
	}
	if rv, present := m["range"]; present && rv != nil && rv != "" && rv != false {
		rs, ok := rv.(string)
		var rr []rawRange
		if ok {
			rr, ok = parseRawRange(rs)
		}
		if !ok {
			return in, "invalid range"
		}
		if len(rr) > 1 {
			return in, "multiple ranges (only one allowed)"
		}
		if in.sizeBytes != nil {
			if _, _, ok := rr[0].forLength(*in.sizeBytes); !ok {
				return in, "unsatisfiable range"
			}
		}
		in.rng = &rr[0]
	}
	return in, ""
}

// strictB64 is Swift's strict_b64decode: standard or URL-safe alphabet,
// padding optional but no stray characters.
func strictB64(s string) ([]byte, error) {
	s = strings.TrimRight(s, "=")
	if strings.ContainsAny(s, "-_") {
		return base64.RawURLEncoding.DecodeString(s)
	}
	return base64.RawStdEncoding.DecodeString(s)
}
