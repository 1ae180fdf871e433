package proxylogging

import (
	"bytes"
	"net/url"
	"strconv"
	"time"

	"swiftbox/server/pyfmt"
)

// AccessEntry is what one access log line says, in Swift's field order.
// Its byte fields are copies the entry owns (the request's memory is
// reused once it is answered).
type AccessEntry struct {
	ClientIP, RemoteAddr  []byte
	Method, Path          []byte // Path is Swift's path_qs: quoted path and query
	Protocol              []byte
	Status                int
	Referer, UserAgent    []byte
	AuthToken             []byte // as sent; obscured when written
	BytesRecvd, BytesSent int64
	ClientEtag, TransID   []byte
	Headers               []byte // "Name: value" lines, when header logging is on
	Source, LogInfo       []byte
	Start, End            time.Time
	PolicyIndex           []byte
}

// logSafe are the characters Swift's log_msg_template leaves unquoted.
const logSafe = ":/{}"

// AppendLine appends e rendered with Swift's default log_msg_template and
// a newline: every field is URL-quoted (safe ":/{}"), empty or zero
// fields are "-", the token keeps its first reveal characters followed by
// "...".
func AppendLine(dst []byte, e *AccessEntry, reveal int) []byte {
	dst = field(dst, e.ClientIP)
	dst = field(append(dst, ' '), e.RemoteAddr)
	dst = e.End.UTC().AppendFormat(append(dst, ' '), "02/Jan/2006/15/04/05")
	for _, f := range [...][]byte{e.Method, e.Path, e.Protocol} {
		dst = field(append(dst, ' '), f)
	}
	dst = strconv.AppendInt(append(dst, ' '), int64(e.Status), 10)
	dst = field(append(dst, ' '), e.Referer)
	dst = field(append(dst, ' '), e.UserAgent)
	dst = append(dst, ' ')
	if token := e.AuthToken; reveal >= 0 && len(token) > reveal {
		dst = append(pyfmt.AppendQuoteSafe(dst, token[:reveal], logSafe), "..."...)
	} else {
		dst = field(dst, token)
	}
	dst = number(append(dst, ' '), e.BytesRecvd)
	dst = number(append(dst, ' '), e.BytesSent)
	for _, f := range [...][]byte{e.ClientEtag, e.TransID, e.Headers} {
		dst = field(append(dst, ' '), f)
	}
	dst = strconv.AppendFloat(append(dst, ' '), e.End.Sub(e.Start).Seconds(), 'f', 4, 64)
	dst = field(append(dst, ' '), e.Source)
	dst = field(append(dst, ' '), e.LogInfo)
	dst = appendUnixTime(append(dst, ' '), e.Start)
	dst = appendUnixTime(append(dst, ' '), e.End)
	dst = field(append(dst, ' '), e.PolicyIndex)
	return append(dst, '\n')
}

func field(dst, f []byte) []byte {
	if len(f) == 0 {
		return append(dst, '-')
	}
	return pyfmt.AppendQuoteSafe(dst, f, logSafe)
}

func number(dst []byte, n int64) []byte {
	if n == 0 {
		return append(dst, '-')
	}
	return strconv.AppendInt(dst, n, 10)
}

// appendUnixTime is Swift's StrFormatTime: "%.9f" seconds since the epoch.
func appendUnixTime(dst []byte, t time.Time) []byte {
	dst = strconv.AppendInt(dst, t.Unix(), 10)
	dst = append(dst, '.')
	frac := t.Nanosecond()
	for d := 100000000; d > 0; d /= 10 {
		dst = append(dst, byte('0'+frac/d%10))
	}
	return dst
}

// appendLogPath appends swob's path_qs: the decoded path quoted again (so
// it reads the same however the client encoded it) plus the raw query
// string.
func appendLogPath(dst, uri []byte) []byte {
	raw, query, hasQuery := bytes.Cut(uri, []byte("?"))
	if bytes.IndexByte(raw, '%') < 0 {
		dst = pyfmt.AppendQuoteSafe(dst, raw, "/")
	} else if dec, err := url.PathUnescape(string(raw)); err == nil {
		dst = pyfmt.AppendQuoteSafe(dst, dec, "/")
	} else {
		dst = append(dst, raw...)
	}
	if hasQuery {
		dst = append(append(dst, '?'), query...)
	}
	return dst
}

// swiftPolicyIndex is the policy logged for a Swift API container or
// object request whose answer did not name one (X-Backend-Storage-Policy-
// Index, set once the container's policy is known): 0; account and other
// requests have none.
func swiftPolicyIndex(uri []byte) string {
	path, _, _ := bytes.Cut(uri, []byte("?"))
	if !bytes.HasPrefix(path, []byte("/v1/")) && !bytes.HasPrefix(path, []byte("/v1.0/")) {
		return ""
	}
	_, rest, _ := bytes.Cut(path[1:], []byte("/")) // after "v1/"
	_, rest, ok := bytes.Cut(rest, []byte("/"))    // after the account
	if ok && len(rest) > 0 && rest[0] != '/' {
		return "0"
	}
	return ""
}
