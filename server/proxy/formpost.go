package proxy

import (
	"bytes"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/textproto"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"

	"swiftbox/server/pyfmt"

	"github.com/valyala/fasthttp"
)

// HTML form uploads (Swift's formpost): a multipart/form-data POST to a
// container (or a prefix in it), signed with a Temp-URL-Key, uploads each
// file part as an object. Each file streams straight into its PUT.

const formMaxValueLength = 4096

// formError is a form Swift refuses with 400 (invalid) or 401 (unauthorized).
type formError struct {
	status  int
	message string
}

func (e *formError) Error() string { return e.message }

func formInvalid(format string, args ...any) error {
	return &formError{fasthttp.StatusBadRequest, fmt.Sprintf(format, args...)}
}

func formUnauthorized(msg string) error { return &formError{fasthttp.StatusUnauthorized, msg} }

func (p *Proxy) formPostInfo() map[string]any {
	m := map[string]any{}
	digestInfo(m, p.cfg.FormPost.AllowedDigests)
	return m
}

// pyTitle is Python's str.title: each run of letters capitalised.
func pyTitle(s string) string {
	var b strings.Builder
	prevLetter := false
	for _, r := range s {
		if unicode.IsLetter(r) {
			if prevLetter {
				b.WriteRune(unicode.ToLower(r))
			} else {
				b.WriteRune(unicode.ToUpper(r))
			}
			prevLetter = true
		} else {
			b.WriteRune(r)
			prevLetter = false
		}
	}
	return b.String()
}

func (p *Proxy) formPost(next fasthttp.RequestHandler) fasthttp.RequestHandler {
	digests := allowedDigests(p.cfg.FormPost.AllowedDigests)
	return func(ctx *fasthttp.RequestCtx) {
		if string(ctx.Method()) != fasthttp.MethodPost || IsInternal(ctx) {
			next(ctx)
			return
		}
		ctype, params, err := mime.ParseMediaType(string(ctx.Request.Header.ContentType()))
		if err != nil || ctype != "multipart/form-data" || params["boundary"] == "" {
			next(ctx)
			return
		}
		if ua := strings.TrimSpace(string(ctx.Request.Header.UserAgent()) + " FormPost"); ua != "" {
			ctx.Request.Header.SetUserAgent(ua)
		}
		status, headers, body, err := p.translateForm(ctx, next, params["boundary"], digests)
		var fe *formError
		switch {
		case errors.As(err, &fe) && fe.status == fasthttp.StatusUnauthorized:
			Unauthorized(ctx, pathRealm(ctx))
			ctx.SetBodyString("FormPost: " + pyTitle(fe.message))
			return
		case err != nil:
			ctx.SetStatusCode(fasthttp.StatusBadRequest)
			ctx.Response.Header.SetContentType("text/plain")
			ctx.SetBodyString("FormPost: " + err.Error())
			return
		}
		for _, h := range headers {
			ctx.Response.Header.Set(h[0], h[1])
		}
		ctx.SetStatusCode(status)
		ctx.SetBodyString(body)
	}
}

// pathRealm is swob's realm for a 401: the account of the path.
func pathRealm(ctx *fasthttp.RequestCtx) string {
	parts := strings.SplitN(strings.TrimPrefix(string(ctx.Path()), "/"), "/", 3)
	if len(parts) >= 2 && parts[1] != "" && parts[1] != "auth" && parts[1] != "v1.0" {
		return parts[1]
	}
	return "unknown"
}

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

func statusLine(code int) string {
	return strconv.Itoa(code) + " " + fasthttp.StatusMessage(code)
}

// translateForm uploads the form's files and returns the answer: status,
// headers and body.
func (p *Proxy) translateForm(ctx *fasthttp.RequestCtx, next fasthttp.RequestHandler, boundary string, digests []string) (int, [][2]string, string, error) {
	var in io.Reader
	if s := ctx.RequestBodyStream(); s != nil {
		in = s
	} else {
		in = bytes.NewReader(ctx.PostBody())
	}
	rawPath := string(ctx.Request.Header.RequestURI())
	if i := strings.IndexByte(rawPath, '?'); i >= 0 {
		rawPath = rawPath[:i]
	}
	path, err := url.PathUnescape(rawPath)
	if err != nil {
		path = rawPath
	}
	keys := p.formPostKeys(ctx, path)
	mr := multipart.NewReader(in, boundary)
	attrs := map[string]string{}
	status, message := "", ""
	var subHeaders [][2]string
	fileCount := 0
	first := true
	for {
		part, err := mr.NextRawPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			if first {
				return 0, nil, "", formInvalid("invalid starting boundary")
			}
			return 0, nil, "", formInvalid("%s", err.Error())
		}
		first = false
		disp, dattrs, _ := mime.ParseMediaType(part.Header.Get("Content-Disposition"))
		if disp == "form-data" && dattrs["filename"] != "" {
			fileCount++
			maxCount, err := strconv.Atoi(orZero(attrs["max_file_count"]))
			if err != nil {
				return 0, nil, "", formInvalid("max_file_count not an integer")
			}
			if fileCount > maxCount {
				status, message = statusLine(fasthttp.StatusBadRequest), "max file count exceeded"
				break
			}
			fattrs := map[string]string{}
			for k, v := range attrs {
				fattrs[k] = v
			}
			fattrs["filename"] = dattrs["filename"]
			if _, ok := attrs["content-type"]; !ok {
				if ct, ok := part.Header[textproto.CanonicalMIMEHeaderKey("Content-Type")]; ok {
					fattrs["content-type"] = ct[0]
					if ct[0] == "" {
						fattrs["content-type"] = "application/octet-stream"
					}
				}
			}
			if _, ok := attrs["content-encoding"]; !ok {
				if ce, ok := part.Header[textproto.CanonicalMIMEHeaderKey("Content-Encoding")]; ok {
					fattrs["content-encoding"] = ce[0]
				}
			}
			code, hdrs, err := p.formUpload(ctx, next, path, fattrs, part, keys, digests)
			if err != nil {
				return 0, nil, "", err
			}
			status, subHeaders = statusLine(code), hdrs
			if code/100 != 2 {
				break
			}
			continue
		}
		data, _ := io.ReadAll(io.LimitReader(part, formMaxValueLength))
		io.Copy(io.Discard, part)
		if name, ok := dattrs["name"]; ok {
			attrs[strings.ToLower(name)] = strings.TrimRight(string(data), "\r\n-")
		}
	}
	if status == "" {
		status, message = statusLine(fasthttp.StatusBadRequest), "no files to process"
	}
	var headers [][2]string
	for _, h := range subHeaders {
		if strings.HasPrefix(strings.ToLower(h[0]), "access-control") {
			headers = append(headers, h)
		}
	}
	code, _ := strconv.Atoi(status[:3])
	redirect := attrs["redirect"]
	if redirect == "" {
		body := status
		if message != "" {
			body = status + "\r\nFormPost: " + pyTitle(message)
		}
		headers = append(headers, [2]string{"Content-Type", "text/plain"})
		return code, headers, body, nil
	}
	if strings.Contains(redirect, "?") {
		redirect += "&"
	} else {
		redirect += "?"
	}
	redirect += "status=" + pyfmt.Quote(status[:3]) + "&message=" + pyfmt.Quote(message)
	body := `<html><body><p><a href="` + redirect + `">Click to continue...</a></p></body></html>`
	headers = append(headers, [2]string{"Location", redirect})
	return fasthttp.StatusSeeOther, headers, body, nil
}

func orZero(s string) string {
	if s == "" {
		return "0"
	}
	return s
}

// formPostKeys are the account's and container's temp URL keys, when the
// path names a container.
func (p *Proxy) formPostKeys(ctx *fasthttp.RequestCtx, path string) []string {
	parts := strings.SplitN(path, "/", 5)
	if len(parts) < 4 || parts[0] != "" || (parts[1] != "v1" && parts[1] != "v1.0") || parts[2] == "" || parts[3] == "" {
		return nil
	}
	var keys []string
	if info, err := p.AccountInfo(parts[2]); err == nil {
		keys = append(keys, tempURLKeys(info.Metadata, "Account")...)
	}
	if info, err := p.ContainerInfo(ctx, parts[2], parts[3]); err == nil {
		keys = append(keys, tempURLKeys(info.Metadata, "Container")...)
	}
	return keys
}

// formUpload checks the form's signature and PUTs one file part.
func (p *Proxy) formUpload(ctx *fasthttp.RequestCtx, next fasthttp.RequestHandler, path string, attrs map[string]string,
	body io.Reader, keys, digests []string) (int, [][2]string, error) {
	if len(keys) == 0 {
		return 0, nil, formUnauthorized("invalid signature")
	}
	maxSize, err := strconv.ParseInt(orZero(attrs["max_file_size"]), 10, 64)
	if err != nil {
		return 0, nil, formInvalid("max_file_size not an integer")
	}
	target := path
	if !strings.HasSuffix(target, "/") && strings.Count(target, "/") < 4 {
		target += "/"
	}
	target += attrs["filename"]
	hdrs := map[string]string{}
	if v, ok := attrs["x_delete_at"]; ok {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return 0, nil, formInvalid("x_delete_at not an integer: Unix timestamp required.")
		}
		hdrs["X-Delete-At"] = strconv.FormatInt(n, 10)
	}
	if v, ok := attrs["x_delete_after"]; ok {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return 0, nil, formInvalid("x_delete_after not an integer: Number of seconds required.")
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
	expires, err := strconv.ParseInt(orZero(attrs["expires"]), 10, 64)
	if err != nil {
		return 0, nil, formInvalid("expired not an integer")
	}
	if float64(expires) < float64(time.Now().UnixNano())/1e9 {
		return 0, nil, formUnauthorized("form expired")
	}
	msg := path + "\n" + attrs["redirect"] + "\n" + orZero(attrs["max_file_size"]) + "\n" +
		orZero(attrs["max_file_count"]) + "\n" + orZero(attrs["expires"])
	algo, sig, ok := splitSignature(attrs["signature"])
	if !ok || !containsString(digests, algo) {
		return 0, nil, formUnauthorized("invalid signature")
	}
	valid := false
	for _, k := range keys {
		if subtle.ConstantTimeCompare([]byte(signHMACRaw(algo, k, msg)), []byte(sig)) == 1 {
			valid = true
		}
	}
	if !valid {
		return 0, nil, formUnauthorized("invalid signature")
	}
	capped := &cappedReader{r: body, max: maxSize}
	SetAuthorized(ctx, AuthorizedRequest)
	resp := Subrequest(ctx, Lift(next), fasthttp.MethodPut, pyfmt.Quote(target), func(req *fasthttp.Request) {
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

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
