package proxy

import (
	"net/http"
	"time"

	"swiftbox/storage/timestamp"
)

// HTTPDate is Swift's Last-Modified: the timestamp rounded up to a second.
func HTTPDate(ts timestamp.Timestamp) string {
	sec := ts.Unix()
	if ts.Raw%100000 != 0 {
		sec++
	}
	return time.Unix(sec, 0).UTC().Format(http.TimeFormat)
}

// lastModifiedSec is the second Last-Modified names, for If-*-Since.
func lastModifiedSec(ts timestamp.Timestamp) int64 {
	sec := ts.Unix()
	if ts.Raw%100000 != 0 {
		sec++
	}
	return sec
}

// ParseHTTPDate accepts the three date forms HTTP allows and the RFC 2822
// ones with a numeric zone ("-0000", as Python's email.utils.formatdate
// writes), which Swift's parsedate takes too.
func ParseHTTPDate(s string) (time.Time, bool) {
	if t, err := http.ParseTime(s); err == nil {
		return t, true
	}
	for _, f := range []string{time.RFC1123Z, "Mon, 2 Jan 2006 15:04:05 -0700", "Mon, 2 Jan 2006 15:04:05 MST"} {
		if t, err := time.Parse(f, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}
