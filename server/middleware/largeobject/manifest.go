package largeobject

import (
	"bytes"
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"strconv"
	"strings"

	"swiftbox/server/proxy"
	"swiftbox/server/pyfmt"
)

// sloSeg is one entry of a stored manifest, in Swift's JSON.
type sloSeg struct {
	Name         string
	Bytes        int64
	Hash         string
	ContentType  string
	LastModified string
	Range        string // "first-last", "" = whole
	SubSLO       bool
	Data         string // base64: an inline data segment
	IsData       bool
	raw          []byte
}

// sloManifestJSON is json.dumps of the stored manifest.
func sloManifestJSON(segs []sloSeg) []byte {
	return segsJSON(segs, func(b *strings.Builder, s *sloSeg) {
		b.WriteString(`{"name": ` + proxy.JSONString(s.Name) + `, "bytes": ` + strconv.FormatInt(s.Bytes, 10) +
			`, "hash": ` + proxy.JSONString(s.Hash) + `, "content_type": ` + proxy.JSONString(s.ContentType) +
			`, "last_modified": ` + proxy.JSONString(s.LastModified))
		if s.Range != "" {
			b.WriteString(`, "range": ` + proxy.JSONString(s.Range))
		}
		if s.SubSLO {
			b.WriteString(`, "sub_slo": true`)
		}
		b.WriteByte('}')
	})
}

// segsJSON writes segs as a JSON list as json.dumps does: inline data
// segments as {"data": …}, the others as object writes them.
func segsJSON(segs []sloSeg, object func(b *strings.Builder, s *sloSeg)) []byte {
	var b strings.Builder
	b.WriteByte('[')
	for i := range segs {
		if i > 0 {
			b.WriteString(", ")
		}
		if segs[i].IsData {
			b.WriteString(`{"data": ` + proxy.JSONString(segs[i].Data) + "}")
			continue
		}
		object(&b, &segs[i])
	}
	b.WriteByte(']')
	return []byte(b.String())
}

// parseSLOManifest reads a stored manifest.
func parseSLOManifest(body []byte) ([]sloSeg, error) {
	var raw []map[string]any
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&raw); err != nil {
		return nil, err
	}
	out := make([]sloSeg, 0, len(raw))
	for _, m := range raw {
		var s sloSeg
		if d, ok := m["data"].(string); ok {
			s.IsData, s.Data = true, d
			s.raw, _ = base64.StdEncoding.DecodeString(d)
			out = append(out, s)
			continue
		}
		s.Name, _ = m["name"].(string)
		s.Hash, _ = m["hash"].(string)
		s.ContentType, _ = m["content_type"].(string)
		s.LastModified, _ = m["last_modified"].(string)
		s.Range, _ = m["range"].(string)
		switch v := m["bytes"].(type) {
		case json.Number:
			s.Bytes, _ = v.Int64()
		case string:
			s.Bytes, _ = strconv.ParseInt(v, 10, 64)
		}
		switch v := m["sub_slo"].(type) {
		case bool:
			s.SubSLO = v
		case string:
			s.SubSLO = pyfmt.True(v)
		}
		if s.SubSLO {
			// override_bytes_from_content_type
			if n, ct := proxy.ListingSize(s.Bytes, s.ContentType); n != s.Bytes {
				s.Bytes, s.ContentType = n, ct
			}
		}
		out = append(out, s)
	}
	return out, nil
}

// length is the bytes the segment adds to the large object.
func (s *sloSeg) length() int64 {
	if s.IsData {
		return int64(len(s.raw))
	}
	if s.Range != "" {
		a, b, _ := strings.Cut(s.Range, "-")
		x, _ := strconv.ParseInt(a, 10, 64)
		y, _ := strconv.ParseInt(b, 10, 64)
		return y - x + 1
	}
	return s.Bytes
}

// etagPart is the segment's contribution to the SLO's etag.
func (s *sloSeg) etagPart() string {
	switch {
	case s.IsData:
		h := md5.Sum(s.raw)
		return hex.EncodeToString(h[:])
	case s.Range != "":
		return s.Hash + ":" + s.Range + ";"
	}
	return s.Hash
}

func sloEtag(segs []sloSeg) string {
	h := md5.New()
	for i := range segs {
		io.WriteString(h, segs[i].etagPart())
	}
	return hex.EncodeToString(h.Sum(nil))
}

// sloRawJSON is the manifest as it was PUT (?format=raw): json.dumps
// with sorted keys.
func sloRawJSON(segs []sloSeg) []byte {
	return segsJSON(segs, func(b *strings.Builder, s *sloSeg) {
		b.WriteString(`{"etag": ` + proxy.JSONString(s.Hash) + `, "path": ` + proxy.JSONString(s.Name))
		if s.Range != "" {
			b.WriteString(`, "range": ` + proxy.JSONString(s.Range))
		}
		b.WriteString(`, "size_bytes": ` + strconv.FormatInt(s.Bytes, 10) + "}")
	})
}
