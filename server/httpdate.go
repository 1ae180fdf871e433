package server

import (
	"net/http"
	"time"

	"swiftbox/storage/timestamp"
)

// httpDate is Swift's Last-Modified: the timestamp rounded up to a second.
func httpDate(ts timestamp.Timestamp) string {
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

// parseHTTPDate accepts the three date forms HTTP allows.
func parseHTTPDate(s string) (time.Time, bool) {
	t, err := http.ParseTime(s)
	return t, err == nil
}
