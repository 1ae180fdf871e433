package proxy

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf16"

	"github.com/valyala/fasthttp"

	"swiftbox/storage/db"
	"swiftbox/storage/timestamp"
)

// listingOffers are the listing content types, in Swift's preference order.
var listingOffers = []struct{ mime, format string }{
	{"text/plain", "plain"}, {"application/json", "json"}, {"application/xml", "xml"}, {"text/xml", "xml"},
}

// ListingFormat picks plain, json or xml from ?format= or, as Swift's
// listing_formats middleware does, the best match for Accept.
func ListingFormat(r *Request) (string, error) {
	if f := strings.ToLower(r.Query("format")); f != "" {
		switch f {
		case "json", "xml":
			return f, nil
		}
		return "plain", nil
	}
	accept := r.Header("Accept")
	if strings.TrimSpace(accept) == "" {
		return "plain", nil
	}
	best, bestQ := "", 0.0
	for _, o := range listingOffers {
		if q := AcceptQuality(accept, o.mime); q > bestQ {
			best, bestQ = o.format, q
		}
	}
	if best == "" {
		return "", Errorf(fasthttp.StatusNotAcceptable, "")
	}
	return best, nil
}

// AcceptQuality is the q-value Accept gives mime: that of the most
// specific matching media range (type/subtype over type/* over */*).
func AcceptQuality(accept, mime string) float64 {
	typ, _, _ := strings.Cut(mime, "/")
	q, spec := 0.0, -1
	for _, part := range strings.Split(accept, ",") {
		fields := strings.Split(part, ";")
		rng := strings.ToLower(strings.TrimSpace(fields[0]))
		s := -1
		switch {
		case rng == mime:
			s = 2
		case rng == typ+"/*":
			s = 1
		case rng == "*/*" || rng == "*":
			s = 0
		}
		if s < spec || s < 0 {
			continue
		}
		v := 1.0
		for _, f := range fields[1:] {
			if k, val, ok := strings.Cut(strings.TrimSpace(f), "="); ok && strings.TrimSpace(k) == "q" {
				if x, err := strconv.ParseFloat(strings.TrimSpace(val), 64); err == nil {
					v = x
				}
			}
		}
		if s > spec || v > q {
			q, spec = v, s
		}
	}
	return q
}

// listOptions parses the listing query parameters with Swift's checks.
func listOptions(r *Request, maxLimit int) (db.ListOptions, error) {
	o := db.ListOptions{
		Prefix:    r.Query("prefix"),
		Delimiter: r.Query("delimiter"),
		Marker:    r.Query("marker"),
		EndMarker: r.Query("end_marker"),
		Limit:     maxLimit,
		// Hidden (reserved) names are listed for middlewares that ask.
		AllowReserved: IsInternal(r.Ctx) && r.Header("X-Backend-Allow-Reserved-Names") == "true",
	}
	for _, s := range []string{o.Prefix, o.Delimiter, o.Marker, o.EndMarker} {
		if !utf8Valid(s) { // NUL is allowed: "marker\x00" is how clients say "after marker"
			return o, Errorf(fasthttp.StatusPreconditionFailed, "Invalid UTF8 or contains NULL")
		}
	}
	// Any delimiter is allowed, several characters too (as in Swift 2.30).
	// Swift's constrain_req_limit: a limit that is not all digits is
	// ignored; a larger one than allowed is refused.
	if l := r.Query("limit"); l != "" && IsDigits(l) {
		n, err := strconv.Atoi(l)
		if err != nil || n > maxLimit {
			return o, Errorf(fasthttp.StatusPreconditionFailed, "Maximum limit is %d", maxLimit)
		}
		o.Limit = n
	}
	if v := strings.ToLower(r.Query("reverse")); v == "1" || v == "true" || v == "yes" || v == "on" || v == "t" || v == "y" {
		o.Reverse = true
	}
	return o, nil
}

func IsDigits(s string) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return s != ""
}

// isoTime formats a timestamp as Swift's listings do: microseconds, no zone.
func isoTime(ts timestamp.Timestamp) string {
	return ts.Time().Format("2006-01-02T15:04:05.000000")
}

// lastModified is a listed object's last change: its metadata timestamp
// when a POST came after the data (Swift's _transform_record).
func lastModified(row db.ObjectRow) timestamp.Timestamp {
	if row.MetaTimestamp.After(row.Timestamp) {
		return row.MetaTimestamp
	}
	return row.Timestamp
}

// listingItem is one listing entry, rendered for json and xml; subdir
// entries (delimiter roll-ups) carry only their name.
type listingItem struct {
	name, subdir string
	json, xml    string
}

// writeObjectListing renders a container listing in format.
func writeObjectListing(ctx *fasthttp.RequestCtx, format, container string, entries []db.ObjectEntry, hooks listingHooks) {
	items := make([]listingItem, len(entries))
	version, account, _, _, _ := SplitPath(ctx)
	for i, e := range entries {
		if e.Subdir != "" {
			items[i] = listingItem{subdir: e.Subdir}
			continue
		}
		size, ctype := ListingSize(e.Size, e.ContentType)
		row := ListingRow{Version: version, Account: account, Hash: e.ETag, Bytes: size}
		hooks.rewrite(&row)
		items[i] = listingItem{name: e.Name,
			// Swift's shape: json.dumps with its key order and ", " separators.
			json: `{"bytes": ` + strconv.FormatInt(row.Bytes, 10) + `, "hash": ` + JSONString(row.Hash) +
				`, "name": ` + JSONString(e.Name) + `, "content_type": ` + JSONString(ctype) +
				`, "last_modified": ` + JSONString(isoTime(lastModified(e.ObjectRow))) + row.extraJSON() + "}",
			xml: "<object><name>" + xmlEscape(e.Name) + "</name><hash>" + xmlEscape(row.Hash) +
				"</hash><bytes>" + strconv.FormatInt(row.Bytes, 10) + "</bytes><content_type>" +
				xmlEscape(ctype) + "</content_type><last_modified>" + isoTime(lastModified(e.ObjectRow)) +
				"</last_modified></object>"}
	}
	writeListing(ctx, format, "container", container, items)
}

// writeContainerListing renders an account listing in format.
func writeContainerListing(ctx *fasthttp.RequestCtx, format, account string, entries []db.ContainerEntry) {
	items := make([]listingItem, len(entries))
	for i, e := range entries {
		if e.Subdir != "" {
			items[i] = listingItem{subdir: e.Subdir}
			continue
		}
		items[i] = listingItem{name: e.Name,
			json: `{"name": ` + JSONString(e.Name) + `, "count": ` + strconv.FormatInt(e.ObjectCount, 10) +
				`, "bytes": ` + strconv.FormatInt(e.BytesUsed, 10) + `, "last_modified": ` +
				JSONString(isoTime(e.PutTimestamp)) + "}",
			xml: "<container><name>" + xmlEscape(e.Name) + "</name><count>" +
				strconv.FormatInt(e.ObjectCount, 10) + "</count><bytes>" + strconv.FormatInt(e.BytesUsed, 10) +
				"</bytes><last_modified>" + isoTime(e.PutTimestamp) + "</last_modified></container>"}
	}
	writeListing(ctx, format, "account", account, items)
}

// writeListing sends items as Swift's listing formats do: json array, xml
// under <root name="…">, or plain names (an empty plain listing is 204).
func writeListing(ctx *fasthttp.RequestCtx, format, root, rootName string, items []listingItem) {
	varyAccept(ctx)
	var buf bytes.Buffer
	switch format {
	case "json":
		buf.WriteByte('[')
		for i, it := range items {
			if i > 0 {
				buf.WriteString(", ")
			}
			if it.subdir != "" {
				buf.WriteString(`{"subdir": ` + JSONString(it.subdir) + "}")
			} else {
				buf.WriteString(it.json)
			}
		}
		buf.WriteByte(']')
		ctx.Response.Header.SetContentType("application/json; charset=utf-8")
	case "xml":
		buf.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
		buf.WriteString("<" + root + ` name="` + xmlEscape(rootName) + `">`)
		for _, it := range items {
			if it.subdir != "" {
				buf.WriteString(`<subdir name="` + xmlEscape(it.subdir) + `"><name>` + xmlEscape(it.subdir) + `</name></subdir>`)
			} else {
				buf.WriteString(it.xml)
			}
		}
		buf.WriteString("</" + root + ">")
		ctx.Response.Header.SetContentType("application/xml; charset=utf-8")
	default:
		for _, it := range items {
			if it.subdir != "" {
				buf.WriteString(it.subdir)
			} else {
				buf.WriteString(it.name)
			}
			buf.WriteByte('\n')
		}
		ctx.Response.Header.SetContentType("text/plain; charset=utf-8")
		if len(items) == 0 {
			ctx.SetStatusCode(fasthttp.StatusNoContent)
			return
		}
	}
	ctx.SetBody(buf.Bytes())
}

// varyAccept marks a listing whose format came from Accept, not ?format=.
func varyAccept(ctx *fasthttp.RequestCtx) {
	if !ctx.QueryArgs().Has("format") {
		ctx.Response.Header.Set("Vary", "Accept")
	}
}

// JSONString is s as a JSON string the way Python's json.dumps writes it
// (non-ASCII as \uXXXX escapes, "/" unescaped).
func JSONString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"':
			b.WriteString(`\"`)
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\b':
			b.WriteString(`\b`)
		case r == '\f':
			b.WriteString(`\f`)
		case r < 0x20 || r > 0x7e:
			if r > 0xffff {
				r1, r2 := utf16.EncodeRune(r)
				fmt.Fprintf(&b, `\u%04x\u%04x`, r1, r2)
			} else {
				fmt.Fprintf(&b, `\u%04x`, r)
			}
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

func xmlEscape(s string) string {
	var b strings.Builder
	xml.EscapeText(&b, []byte(s))
	return b.String()
}

// ListingSize is the container server's override_bytes_from_content_type:
// a ";swift_bytes=N" content-type parameter (SLO manifests) is the size
// listed, and is not shown.
func ListingSize(size int64, ctype string) (int64, string) {
	i := strings.Index(ctype, ";swift_bytes=")
	if i < 0 {
		return size, ctype
	}
	rest := ctype[i+len(";swift_bytes="):]
	val, tail, _ := strings.Cut(rest, ";")
	if n, err := strconv.ParseInt(val, 10, 64); err == nil {
		size = n
	}
	if tail != "" {
		return size, ctype[:i] + ";" + tail
	}
	return size, ctype[:i]
}
