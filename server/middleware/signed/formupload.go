package signed

import (
	"crypto/subtle"
	"errors"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"swiftbox/server/proxy"
	"swiftbox/server/pyfmt"
)

// cappedReader fails once more than max bytes were read.
type cappedReader struct {
	r        io.Reader
	max, n   int64
	exceeded bool
}

var errMaxFileSize = errors.New("max_file_size exceeded")

func (c *cappedReader) Read(b []byte) (int, error) {
	k, err := c.r.Read(b)
	c.n += int64(k)
	if c.n > c.max {
		c.exceeded = true
		return k, errMaxFileSize
	}
	return k, err
}

// formUpload checks the form's signature and PUTs one file part.
func (f *formPost) formUpload(ctx *fasthttp.RequestCtx, next proxy.Handler, path string, attrs map[string]string,
	body io.Reader, keys, digests []string) (int, [][2]string, error) {
	if len(keys) == 0 {
		return 0, nil, formUnauthorized("invalid signature")
	}
	maxSize, err := strconv.ParseInt(orZero(attrs["max_file_size"]), 10, 64)
	if err != nil {
		return 0, nil, formInvalid("max_file_size not an integer")
	}
	hdrs, err := uploadHeaders(attrs)
	if err != nil {
		return 0, nil, err
	}
	if err := checkFormSignature(path, attrs, keys, digests); err != nil {
		return 0, nil, err
	}
	target := path
	if !strings.HasSuffix(target, "/") && strings.Count(target, "/") < 4 {
		target += "/"
	}
	target += attrs["filename"]
	capped := &cappedReader{r: body, max: maxSize}
	proxy.SetAuthorized(ctx, proxy.AuthorizedRequest)
	resp := proxy.Subrequest(ctx, next, fasthttp.MethodPut, pyfmt.Quote(target), func(req *fasthttp.Request) {
		for k, v := range hdrs {
			req.Header.Set(k, v)
		}
		if ua := ctx.Request.Header.UserAgent(); len(ua) > 0 {
			req.Header.SetUserAgentBytes(ua)
		}
		for _, h := range []string{"Origin", "Referer"} {
			if v := ctx.Request.Header.Peek(h); v != nil {
				req.Header.SetBytesV(h, v)
			}
		}
		req.SetBodyStream(capped, -1)
	})
	defer resp.CloseBodyStream()
	if capped.exceeded {
		return 0, nil, formInvalid("max_file_size exceeded")
	}
	var out [][2]string
	for k, v := range resp.Header.All() {
		out = append(out, [2]string{string(k), string(v)})
	}
	return resp.StatusCode(), out, nil
}

// uploadHeaders are the headers of a file's PUT the form's fields set.
func uploadHeaders(attrs map[string]string) (map[string]string, error) {
	hdrs := map[string]string{}
	if v, ok := attrs["x_delete_at"]; ok {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return nil, formInvalid("x_delete_at not an integer: Unix timestamp required.")
		}
		hdrs["X-Delete-At"] = strconv.FormatInt(n, 10)
	}
	if v, ok := attrs["x_delete_after"]; ok {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return nil, formInvalid("x_delete_after not an integer: Number of seconds required.")
		}
		hdrs["X-Delete-After"] = strconv.FormatInt(n, 10)
	}
	if v, ok := attrs["content-type"]; ok {
		if v == "" {
			v = "application/octet-stream"
		}
		hdrs["Content-Type"] = v
	}
	if v, ok := attrs["content-encoding"]; ok {
		hdrs["Content-Encoding"] = v
	}
	return hdrs, nil
}

// checkFormSignature checks that the form has not expired and that one
// of keys signed its fields.
func checkFormSignature(path string, attrs map[string]string, keys, digests []string) error {
	expires, err := strconv.ParseInt(orZero(attrs["expires"]), 10, 64)
	if err != nil {
		return formInvalid("expired not an integer")
	}
	if float64(expires) < float64(time.Now().UnixNano())/1e9 {
		return formUnauthorized("form expired")
	}
	msg := path + "\n" + attrs["redirect"] + "\n" + orZero(attrs["max_file_size"]) + "\n" +
		orZero(attrs["max_file_count"]) + "\n" + orZero(attrs["expires"])
	algo, sig, ok := splitSignature(attrs["signature"])
	if !ok || !slices.Contains(digests, algo) {
		return formUnauthorized("invalid signature")
	}
	valid := false
	for _, k := range keys {
		if subtle.ConstantTimeCompare([]byte(signHMACRaw(algo, k, msg)), []byte(sig)) == 1 {
			valid = true
		}
	}
	if !valid {
		return formUnauthorized("invalid signature")
	}
	return nil
}
