package proxylogging

import (
	"bytes"
	"io"
	"strings"
	"testing"
)

type writerToReader struct {
	io.Reader
	used bool
}

func (w *writerToReader) WriteTo(dst io.Writer) (int64, error) {
	w.used = true
	return io.Copy(dst, readOnly{w.Reader})
}

// The wrapped response stream keeps its WriteTo (GETs copy in 1 MiB steps).
func TestSentCounterKeepsWriteTo(t *testing.T) {
	rec := &record{l: &Logging{}, inFlight: func() {}}
	src := &writerToReader{Reader: strings.NewReader(strings.Repeat("w", 5000))}
	var dst bytes.Buffer
	sc := &sentCounter{r: src, rec: rec}
	n, err := sc.WriteTo(&dst)
	if err != nil || n != 5000 || dst.Len() != 5000 || !src.used || sc.n.Load() != 5000 {
		t.Errorf("WriteTo: n %d err %v used %v counted %d", n, err, src.used, sc.n.Load())
	}
	plain := &sentCounter{r: readOnly{strings.NewReader("abc")}, rec: rec}
	dst.Reset()
	if n, err := plain.WriteTo(&dst); n != 3 || err != nil || plain.n.Load() != 3 {
		t.Errorf("WriteTo of a plain reader: %d %v counted %d", n, err, plain.n.Load())
	}
}
