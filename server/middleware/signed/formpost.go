package signed

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"mime"
	"mime/multipart"
	"net/textproto"
	"net/url"
	"strconv"
	"strings"
	"unicode"

	"github.com/valyala/fasthttp"

	"swiftbox/config"
	"swiftbox/server/proxy"
	"swiftbox/server/pyfmt"
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

type formPost struct {
	cfg     *config.FormPostConfig
	core    proxy.Core
	digests []string
}

// NewFormPost builds formpost from its config section.
func NewFormPost(env *proxy.Env) (proxy.Middleware, error) {
	f := &formPost{cfg: &env.Config.FormPost, core: env.Core, digests: allowedDigests(env.Config.FormPost.AllowedDigests)}
	env.RegisterInfo("formpost", func() map[string]any {
		m := map[string]any{}
		digestInfo(m, f.cfg.AllowedDigests)
		return m
	})
	return f.middleware, nil
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

func (f *formPost) middleware(next proxy.Handler) proxy.Handler {
	return func(ctx *fasthttp.RequestCtx) error {
		if string(ctx.Method()) != fasthttp.MethodPost || proxy.IsInternal(ctx) {
			return next(ctx)
		}
		ctype, params, err := mime.ParseMediaType(string(ctx.Request.Header.ContentType()))
		if err != nil || ctype != "multipart/form-data" || params["boundary"] == "" {
			return next(ctx)
		}
		if ua := strings.TrimSpace(string(ctx.Request.Header.UserAgent()) + " FormPost"); ua != "" {
			ctx.Request.Header.SetUserAgent(ua)
		}
		fr := &form{f: f, ctx: ctx, next: next, attrs: map[string]string{}}
		err = fr.upload(params["boundary"])
		var fe *formError
		switch {
		case errors.As(err, &fe) && fe.status == fasthttp.StatusUnauthorized:
			return proxy.UnauthorizedBody(pathRealm(ctx), "FormPost: "+pyTitle(fe.message))
		case err != nil:
			return proxy.ConstraintErrorf(fasthttp.StatusBadRequest, "FormPost: %s", err.Error())
		}
		fr.answer()
		return nil
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

// form is one form POST being translated into uploads.
type form struct {
	f    *formPost
	ctx  *fasthttp.RequestCtx
	next proxy.Handler
	path string   // decoded
	keys []string // the Temp-URL-Keys that may sign it
	// attrs are the form's fields so far, by lower-case name.
	attrs           map[string]string
	status, message string      // the answer: "201 Created", a message
	subHeaders      [][2]string // of the last upload
	files           int
}

func statusLine(code int) string {
	return strconv.Itoa(code) + " " + fasthttp.StatusMessage(code)
}

// upload reads the form, uploading each file part once the fields
// before it are known, until one upload fails.
func (fr *form) upload(boundary string) error {
	ctx := fr.ctx
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
	var err error
	if fr.path, err = url.PathUnescape(rawPath); err != nil {
		fr.path = rawPath
	}
	fr.keys = fr.f.keys(ctx, fr.path)
	mr := multipart.NewReader(in, boundary)
	for first := true; ; first = false {
		part, err := mr.NextRawPart()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			if first {
				return formInvalid("invalid starting boundary")
			}
			return formInvalid("%s", err.Error())
		}
		disp, dattrs, _ := mime.ParseMediaType(part.Header.Get("Content-Disposition"))
		if disp != "form-data" || dattrs["filename"] == "" {
			data, _ := io.ReadAll(io.LimitReader(part, formMaxValueLength))
			io.Copy(io.Discard, part)
			if name, ok := dattrs["name"]; ok {
				fr.attrs[strings.ToLower(name)] = strings.TrimRight(string(data), "\r\n-")
			}
			continue
		}
		if done, err := fr.file(part, dattrs["filename"]); done || err != nil {
			return err
		}
	}
}

// file uploads one file part; done when the form's answer is decided.
func (fr *form) file(part *multipart.Part, filename string) (done bool, err error) {
	fr.files++
	maxCount, err := strconv.Atoi(orZero(fr.attrs["max_file_count"]))
	if err != nil {
		return true, formInvalid("max_file_count not an integer")
	}
	if fr.files > maxCount {
		fr.status, fr.message = statusLine(fasthttp.StatusBadRequest), "max file count exceeded"
		return true, nil
	}
	attrs := maps.Clone(fr.attrs)
	attrs["filename"] = filename
	if _, ok := fr.attrs["content-type"]; !ok {
		if ct, ok := part.Header[textproto.CanonicalMIMEHeaderKey("Content-Type")]; ok {
			attrs["content-type"] = ct[0]
			if ct[0] == "" {
				attrs["content-type"] = "application/octet-stream"
			}
		}
	}
	if _, ok := fr.attrs["content-encoding"]; !ok {
		if ce, ok := part.Header[textproto.CanonicalMIMEHeaderKey("Content-Encoding")]; ok {
			attrs["content-encoding"] = ce[0]
		}
	}
	code, hdrs, err := fr.f.formUpload(fr.ctx, fr.next, fr.path, attrs, part, fr.keys, fr.f.digests)
	if err != nil {
		return true, err
	}
	fr.status, fr.subHeaders = statusLine(code), hdrs
	return code/100 != 2, nil
}

// answer writes the form's answer: the status of the last upload as text,
// or a redirect to the form's redirect URL carrying it.
func (fr *form) answer() {
	ctx := fr.ctx
	if fr.status == "" {
		fr.status, fr.message = statusLine(fasthttp.StatusBadRequest), "no files to process"
	}
	for _, h := range fr.subHeaders {
		if strings.HasPrefix(strings.ToLower(h[0]), "access-control") {
			ctx.Response.Header.Set(h[0], h[1])
		}
	}
	redirect := fr.attrs["redirect"]
	if redirect == "" {
		body := fr.status
		if fr.message != "" {
			body = fr.status + "\r\nFormPost: " + pyTitle(fr.message)
		}
		code, _ := strconv.Atoi(fr.status[:3])
		ctx.Response.Header.Set("Content-Type", "text/plain")
		ctx.SetStatusCode(code)
		ctx.SetBodyString(body)
		return
	}
	if strings.Contains(redirect, "?") {
		redirect += "&"
	} else {
		redirect += "?"
	}
	redirect += "status=" + pyfmt.Quote(fr.status[:3]) + "&message=" + pyfmt.Quote(fr.message)
	ctx.Response.Header.Set("Location", redirect)
	ctx.SetStatusCode(fasthttp.StatusSeeOther)
	ctx.SetBodyString(`<html><body><p><a href="` + redirect + `">Click to continue...</a></p></body></html>`)
}

func orZero(s string) string {
	if s == "" {
		return "0"
	}
	return s
}

// keys are the account's and container's temp URL keys, when the path
// names a container.
func (f *formPost) keys(ctx *fasthttp.RequestCtx, path string) []string {
	parts := strings.SplitN(path, "/", 5)
	if len(parts) < 4 || parts[0] != "" || (parts[1] != "v1" && parts[1] != "v1.0") || parts[2] == "" || parts[3] == "" {
		return nil
	}
	var out []string
	for _, k := range keys(ctx, f.core, parts[2], parts[3]) {
		out = append(out, k.value)
	}
	return out
}
