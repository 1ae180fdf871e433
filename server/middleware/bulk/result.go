package bulk

import (
	"errors"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/valyala/fasthttp"

	"swiftbox/server/proxy"
)

// Bulk-style result documents, shared by bulk delete, archive extraction
// and SLO (Swift's bulk.get_response_body).

// Formats are the result documents' types, as Accept chooses them.
var Formats = []string{"text/plain", "application/json", "application/xml", "text/xml"}

var errBadAccept = errors.New("invalid accept header")

var acceptToken = `[!#$%&'*+\-.^_` + "`" + `|~0-9A-Za-z]+`
var acceptPattern = regexp.MustCompile(`(` + acceptToken + `|\*)/(` + acceptToken + `|\*)((?:\s*;\s*` + acceptToken + `\s*=\s*(?:` + acceptToken + `|"[^"]*"))*)`)

// BestMatch is swob's Accept.best_match: "" when nothing is acceptable.
func BestMatch(accept string, options []string) (string, error) {
	if strings.TrimSpace(accept) == "" {
		return options[0], nil
	}
	type cand struct {
		re    *regexp.Regexp
		q     float64
		exact bool
	}
	var cands []cand
	for _, typ := range strings.Split(accept, ",") {
		m := acceptPattern.FindStringSubmatch(typ)
		if m == nil {
			return "", errBadAccept
		}
		q := 1.0
		seenQ := false
		for _, parm := range strings.Split(m[3], ";") {
			parm = strings.TrimSpace(parm)
			if parm == "" {
				continue
			}
			k, v, ok := strings.Cut(parm, "=")
			if !ok {
				return "", errBadAccept
			}
			if strings.TrimSpace(k) == "q" {
				if seenQ {
					return "", errBadAccept
				}
				seenQ = true
				f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
				if err != nil {
					return "", errBadAccept
				}
				q = f
			}
		}
		part := func(s string) string {
			if s == "*" {
				return acceptToken
			}
			return regexp.QuoteMeta(s)
		}
		re := regexp.MustCompile("^" + part(m[1]) + "/" + part(m[2]) + "$")
		cands = append(cands, cand{re, q, m[1] != "*" && m[2] != "*"})
	}
	sort.SliceStable(cands, func(i, j int) bool {
		if cands[i].q != cands[j].q {
			return cands[i].q > cands[j].q
		}
		return cands[i].exact && !cands[j].exact
	})
	for _, c := range cands {
		for _, o := range options {
			if c.re.MatchString(o) {
				return o, nil
			}
		}
	}
	return "", nil
}

// Status is a status line as swob writes it ("404 Not Found").
func Status(code int) string {
	if s, ok := swiftReasons[code]; ok {
		return strconv.Itoa(code) + " " + s
	}
	return strconv.Itoa(code) + " " + fasthttp.StatusMessage(code)
}

var swiftReasons = map[int]string{
	200: "OK", 201: "Created", 202: "Accepted", 204: "No Content", 206: "Partial Content",
	400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
	405: "Method Not Allowed", 406: "Not Acceptable", 408: "Request Timeout", 409: "Conflict",
	411: "Length Required", 412: "Precondition Failed", 413: "Request Entity Too Large",
	416: "Requested Range Not Satisfiable", 422: "Unprocessable Entity", 499: "Client Disconnect",
	500: "Internal Error", 501: "Not Implemented", 502: "Bad Gateway", 503: "Service Unavailable",
	507: "Insufficient Storage",
}

// Field is one entry of a result document, in insertion order.
type Field struct {
	Key   string
	Value any // string or int
}

// ResponseBody renders a result document in format ("" = text).
func ResponseBody(format string, fields []Field, errs [][2]string, root string) []byte {
	str := func(v any) string {
		switch x := v.(type) {
		case string:
			return x
		case int:
			return strconv.Itoa(x)
		}
		return ""
	}
	if format == "application/json" {
		var b strings.Builder
		b.WriteByte('{')
		for _, f := range fields {
			b.WriteString(proxy.JSONString(f.Key) + ": ")
			if s, ok := f.Value.(string); ok {
				b.WriteString(proxy.JSONString(s))
			} else {
				b.WriteString(str(f.Value))
			}
			b.WriteString(", ")
		}
		b.WriteString(`"Errors": [`)
		for i, e := range errs {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString("[" + proxy.JSONString(e[0]) + ", " + proxy.JSONString(e[1]) + "]")
		}
		b.WriteString("]}")
		return []byte(b.String())
	}
	sorted := append([]Field(nil), fields...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Key < sorted[j].Key })
	var b strings.Builder
	if strings.HasSuffix(format, "/xml") {
		b.WriteString("<" + root + ">\n")
		for _, f := range sorted {
			k := strings.ToLower(strings.ReplaceAll(f.Key, " ", "_"))
			b.WriteString("<" + k + ">" + saxEscape(str(f.Value)) + "</" + k + ">\n")
		}
		b.WriteString("<errors>\n")
		for _, e := range errs {
			b.WriteString("<object><name>" + saxEscape(e[0]) + "</name><status>" + saxEscape(e[1]) + "</status></object>\n")
		}
		b.WriteString("</errors>\n</" + root + ">\n")
		return []byte(b.String())
	}
	for _, f := range sorted {
		b.WriteString(f.Key + ": " + str(f.Value) + "\n")
	}
	b.WriteString("Errors:\n")
	for _, e := range errs {
		b.WriteString(e[0] + ", " + e[1] + "\n")
	}
	return []byte(b.String())
}

// saxEscape is xml.sax.saxutils.escape: &, < and > only.
func saxEscape(s string) string {
	s = strings.ReplaceAll(s, "&", "&amp;")
	s = strings.ReplaceAll(s, "<", "&lt;")
	return strings.ReplaceAll(s, ">", "&gt;")
}
