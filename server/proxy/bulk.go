package proxy

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/bzip2"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"net/url"
	"runtime/debug"
	"strings"
	"time"

	"swiftbox/server/pyfmt"

	"github.com/valyala/fasthttp"
)

// Bulk operations (Swift's bulk middleware): ?bulk-delete removes the
// newline-separated objects and containers of the body; ?extract-archive
// uploads the files of a tar (optionally gzip or bzip2) archive. Both
// answer 200 and report per-item results in the body (text, JSON or XML
// as Accept asks).

// bulkItem is one name to delete.
type bulkItem struct {
	name    string
	subSLO  bool
	errCode int    // set when the item already failed (SLO manifests)
	errMsg  string // its message
	// versionID deletes one version (an SLO manifest deleted with
	// ?version-id=, as Swift's bulk delete passes it on).
	versionID string
}

const notAcceptableBody = "<html><h1>Not Acceptable</h1><p>The resource is not available in a format acceptable to your browser.</p></html>"

func (p *Proxy) bulk(next fasthttp.RequestHandler) fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) {
		args := ctx.QueryArgs()
		method := string(ctx.Method())
		extract := args.Peek("extract-archive")
		isExtract := extract != nil && method == fasthttp.MethodPut
		isDelete := args.Has("bulk-delete") && (method == fasthttp.MethodPost || method == fasthttp.MethodDelete)
		if !isExtract && !isDelete {
			next(ctx)
			return
		}
		version, account, rest, ok := bulkPath(ctx)
		outType, err := bestMatch(string(ctx.Request.Header.Peek("Accept")), bulkFormats)
		if err != nil {
			outType = ""
		}
		if isExtract && !isDelete {
			kind := strings.Trim(strings.ToLower(string(extract)), ".")
			if kind != "tar" && kind != "tar.gz" && kind != "tar.bz2" {
				WriteStatus(ctx, fasthttp.StatusBadRequest, "Unsupported archive format")
				return
			}
			p.bulkStream(ctx, outType, "extract", func(ctx *fasthttp.RequestCtx, beat func()) ([]bulkField, [][2]string) {
				return p.extractArchive(ctx, next, ok, version, account, rest, kind, outType, beat)
			})
			return
		}
		var fields []bulkField
		var errs [][2]string
		switch {
		case outType == "":
			fields = bulkDeleteFields(swiftStatus(406), notAcceptableBody, 0, 0)
		case !ok:
			fields = bulkDeleteFields(swiftStatus(404), statusBody[404], 0, 0)
		default:
			if ct := string(ctx.Request.Header.Peek("Content-Type")); ct != "" && !strings.HasPrefix(ct, "text/plain") {
				fields = bulkDeleteFields(swiftStatus(406), notAcceptableBody, 0, 0)
				break
			}
			items, err := bulkDeleteList(ctx, p.cfg.Bulk.MaxDeletesPerRequest)
			if err != nil {
				var he *HTTPError
				errors.As(err, &he)
				body := statusBody[StatusOf(err)]
				if he != nil && he.body != "" {
					body = he.body
				}
				fields = bulkDeleteFields(swiftStatus(StatusOf(err)), body, 0, 0)
				break
			}
			p.bulkStream(ctx, outType, "delete", func(ctx *fasthttp.RequestCtx, beat func()) ([]bulkField, [][2]string) {
				return p.bulkDelete(ctx, next, version, account, items, p.cfg.Bulk.MaxFailedDeletes, true, beat)
			})
			return
		}
		bulkRespond(ctx, outType, fields, errs, "delete")
	}
}

// bulkStream answers 200 at once and runs work while the body streams:
// beat, called between items, sends a space (an XML declaration first)
// every yield frequency so clients and proxies do not time out, as Swift.
// work gets a detached copy of the request: ctx belongs to the server
// once the handler has returned.
func (p *Proxy) bulkStream(ctx *fasthttp.RequestCtx, outType, root string, work func(ctx *fasthttp.RequestCtx, beat func()) ([]bulkField, [][2]string)) {
	ctx.SetStatusCode(fasthttp.StatusOK)
	if outType != "" {
		ctx.Response.Header.SetContentType(outType)
	} else {
		ctx.Response.Header.SetContentType("text/html; charset=UTF-8")
	}
	tid, _ := ctx.UserValue(KeyTransID).(string)
	dctx := Detach(ctx)
	SetBodyStreamWriter(ctx, func(w *bufio.Writer) {
		sep := ""
		first := " "
		if strings.HasSuffix(outType, "/xml") {
			first = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		}
		last := time.Now()
		beat := func() {
			if time.Since(last) > time.Duration(p.cfg.Bulk.YieldFrequency)*time.Second {
				last = time.Now()
				w.WriteString(first)
				w.Flush()
				first, sep = " ", "\r\n\r\n"
			}
		}
		defer func() {
			if r := recover(); r != nil {
				p.log.Error("panic in bulk request", "trans_id", tid, "panic", r, "stack", string(debug.Stack()))
				w.WriteString(sep)
				w.Write(bulkResponseBody(outType, []bulkField{{"Response Status", swiftStatus(500)}, {"Response Body", ""}}, nil, root))
				w.Flush()
			}
		}()
		fields, errs := work(dctx, beat)
		w.WriteString(sep)
		w.Write(bulkResponseBody(outType, fields, errs, root))
		w.Flush()
	})
}

// bulkRespond sends a result document with status 200.
func bulkRespond(ctx *fasthttp.RequestCtx, outType string, fields []bulkField, errs [][2]string, root string) {
	ctx.SetStatusCode(fasthttp.StatusOK)
	if outType != "" {
		ctx.Response.Header.SetContentType(outType)
	} else {
		ctx.Response.Header.SetContentType("text/html; charset=UTF-8")
	}
	// (Swift starts XML with a declaration only when it heartbeats.)
	ctx.SetBody(bulkResponseBody(outType, fields, errs, root))
}

// bulkPath splits the request path as split_path(2, 3, True): the rest
// is the container (and object) part, raw.
func bulkPath(ctx *fasthttp.RequestCtx) (version, account, rest string, ok bool) {
	raw := string(ctx.Path())
	dec, err := url.PathUnescape(strings.TrimPrefix(string(ctx.Request.URI().PathOriginal()), "/"))
	if err != nil {
		dec = strings.TrimPrefix(raw, "/")
	}
	parts := strings.SplitN(dec, "/", 3)
	if len(parts) < 2 || parts[0] == "" || parts[1] == "" {
		return "", "", "", false
	}
	if len(parts) == 3 {
		rest = parts[2]
	}
	return parts[0], parts[1], rest, true
}

func bulkDeleteFields(status, body string, deleted, notFound int) []bulkField {
	return []bulkField{{"Response Status", status}, {"Response Body", body},
		{"Number Deleted", deleted}, {"Number Not Found", notFound}}
}

// bulkDeleteList reads the names of a bulk delete body.
func bulkDeleteList(ctx *fasthttp.RequestCtx, maxDeletes int) ([]bulkItem, error) {
	h := &ctx.Request.Header
	if n := h.ContentLength(); n == -2 || n >= 0 && !IsInternal(ctx) && !hasRawHeader(h, "content-length") {
		return nil, Errorf(fasthttp.StatusLengthRequired, "")
	}
	var body io.Reader
	if s := ctx.RequestBodyStream(); s != nil {
		body = s
	} else {
		body = bytes.NewReader(ctx.PostBody())
	}
	maxPath := 1024 + 256 + 2
	br := bufio.NewReader(body)
	var items []bulkItem
	for {
		line, err := br.ReadString('\n')
		if len(line) > maxPath*2 {
			return nil, Errorf(fasthttp.StatusBadRequest, "Invalid File Name")
		}
		name := strings.TrimSpace(line)
		if n, uerr := url.PathUnescape(name); uerr == nil {
			name = n
		}
		if name != "" || err == nil {
			items = append(items, bulkItem{name: name})
		}
		if len(items) > maxDeletes {
			return nil, Errorf(fasthttp.StatusRequestEntityTooLarge, "Maximum Bulk Deletes: %d per request", maxDeletes)
		}
		if err == io.EOF {
			return items, nil
		}
		if err != nil {
			return nil, ErrClientDisconnect
		}
	}
}

// bulkDelete deletes items (objects first, then containers) through next
// and returns the result document. withToken passes the request's token
// on (bulk runs before authentication).
func (p *Proxy) bulkDelete(ctx *fasthttp.RequestCtx, next fasthttp.RequestHandler, version, account string,
	items []bulkItem, maxFailed int, withToken bool, beat func()) ([]bulkField, [][2]string) {
	token := string(ctx.Request.Header.Peek("X-Auth-Token"))
	deleted, notFound := 0, 0
	var failed [][2]string
	failedStatus := 400
	for pass := 0; pass < 2; pass++ {
		for _, it := range items {
			name := it.name
			if name == "" {
				continue
			}
			beat()
			isObj := strings.Contains(strings.Trim(name, "/"), "/")
			if isObj != (pass == 0) {
				continue
			}
			if it.errCode != 0 {
				if it.errCode == 404 {
					notFound++
				} else {
					failed = append(failed, [2]string{pyfmt.Quote(name), it.errMsg})
				}
			} else {
				uri := "/" + version + "/" + pyfmt.Quote(account) + "/" + pyfmt.Quote(strings.TrimLeft(name, "/"))
				if it.versionID != "" {
					uri += "?version-id=" + url.QueryEscape(it.versionID)
				}
				resp := Subrequest(ctx, Lift(next), fasthttp.MethodDelete, uri, func(req *fasthttp.Request) {
					if withToken && token != "" {
						req.Header.Set("X-Auth-Token", token)
					}
				})
				code := resp.StatusCode()
				resp.CloseBodyStream()
				switch {
				case code/100 == 2:
					deleted++
				case code == 404:
					notFound++
				case code == 401:
					failed = append(failed, [2]string{pyfmt.Quote(name), swiftStatus(401)})
				default:
					if code/100 == 5 {
						failedStatus = 502
					}
					failed = append(failed, [2]string{pyfmt.Quote(name), swiftStatus(code)})
				}
			}
			if len(failed) >= maxFailed {
				return bulkDeleteFields(swiftStatus(400), "Max delete failures exceeded", deleted, notFound), failed
			}
		}
	}
	switch {
	case len(failed) > 0:
		return bulkDeleteFields(swiftStatus(failedStatus), "", deleted, notFound), failed
	case deleted == 0 && notFound == 0:
		return bulkDeleteFields(swiftStatus(400), "Invalid bulk delete.", deleted, notFound), nil
	}
	return bulkDeleteFields(swiftStatus(200), "", deleted, notFound), nil
}

// paxHeader maps a tar PAX record to the Swift header it sets.
func paxHeader(k string) string {
	switch {
	case k == "SCHILY.xattr.user.mime_type" || k == "LIBARCHIVE.xattr.user.mime_type":
		return "Content-Type"
	case strings.HasPrefix(k, "SCHILY.xattr.user.meta."):
		return "X-Object-Meta-" + k[len("SCHILY.xattr.user.meta."):]
	case strings.HasPrefix(k, "LIBARCHIVE.xattr.user.meta."):
		return "X-Object-Meta-" + k[len("LIBARCHIVE.xattr.user.meta."):]
	}
	return ""
}

// extractArchive uploads the files of the request's archive.
func (p *Proxy) extractArchive(ctx *fasthttp.RequestCtx, next fasthttp.RequestHandler, pathOK bool,
	version, account, base, kind, outType string, beat func()) ([]bulkField, [][2]string) {
	created := 0
	result := func(status, body string) []bulkField {
		return []bulkField{{"Response Status", status}, {"Response Body", body}, {"Number Files Created", created}}
	}
	if outType == "" {
		return result(swiftStatus(406), notAcceptableBody), nil
	}
	h := &ctx.Request.Header
	if n := h.ContentLength(); n == -2 || n >= 0 && !IsInternal(ctx) && !hasRawHeader(h, "content-length") {
		return result(swiftStatus(411), statusBody[411]), nil
	}
	if !pathOK {
		return result(swiftStatus(404), statusBody[404]), nil
	}
	base = strings.TrimRight(base, "/")
	var body io.Reader
	if s := ctx.RequestBodyStream(); s != nil {
		body = s
	} else {
		body = bytes.NewReader(ctx.PostBody())
	}
	switch kind {
	case "tar.gz":
		gz, err := gzip.NewReader(body)
		if err != nil {
			return result(swiftStatus(400), "Invalid Tar File: "+err.Error()), nil
		}
		body = gz
	case "tar.bz2":
		body = bzip2.NewReader(body)
	}
	token := string(h.Peek("X-Auth-Token"))
	withToken := func(req *fasthttp.Request) {
		if token != "" {
			req.Header.Set("X-Auth-Token", token)
		}
	}
	var failed [][2]string
	failedStatus := 400
	accessed := map[string]bool{}
	containersCreated := 0
	maxPath := 1024 + 256 + 2
	short := func(s string) string {
		if len(s) > maxPath {
			s = s[:maxPath]
		}
		return pyfmt.Quote(s)
	}
	tr := tar.NewReader(body)
	for len(failed) < p.cfg.Bulk.MaxFailedExtractions {
		beat()
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return result(swiftStatus(400), "Invalid Tar File: "+err.Error()), failed
		}
		if hdr.Typeflag != tar.TypeReg && hdr.Typeflag != tar.TypeRegA {
			continue
		}
		objPath := strings.TrimPrefix(hdr.Name, "./")
		objPath = strings.TrimLeft(objPath, "/")
		if base != "" {
			objPath = base + "/" + objPath
		}
		if !strings.Contains(objPath, "/") {
			continue // files at the top level have no container
		}
		container, _, _ := strings.Cut(objPath, "/")
		if !utf8Valid(objPath) || strings.IndexByte(objPath, 0) >= 0 {
			failed = append(failed, [2]string{short(objPath), swiftStatus(412)})
			continue
		}
		if hdr.Size > p.limits.MaxFileSize {
			failed = append(failed, [2]string{short(objPath), swiftStatus(413)})
			continue
		}
		var containerFailure *[2]string
		if !accessed[container] {
			contURI := "/" + version + "/" + pyfmt.Quote(account) + "/" + pyfmt.Quote(container)
			head := Subrequest(ctx, Lift(next), fasthttp.MethodHead, contURI, withToken)
			code := head.StatusCode()
			head.CloseBodyStream()
			if code == 404 {
				put := Subrequest(ctx, Lift(next), fasthttp.MethodPut, contURI, withToken)
				code = put.StatusCode()
				put.CloseBodyStream()
				if code/100 == 2 {
					containersCreated++
					if containersCreated > p.cfg.Bulk.MaxContainersPerExtraction {
						return result(swiftStatus(400), fmt.Sprintf("More than %d containers to create from tar.", p.cfg.Bulk.MaxContainersPerExtraction)), failed
					}
				}
			}
			if code/100 != 2 {
				if code == 401 {
					return result(swiftStatus(401), statusBody[401]), failed
				}
				cp := "/" + version + "/" + account + "/" + container
				containerFailure = &[2]string{short(cp), swiftStatus(code)}
			}
		}
		uri := "/" + version + "/" + pyfmt.Quote(account) + "/" + pyfmt.Quote(objPath)
		resp := Subrequest(ctx, Lift(next), fasthttp.MethodPut, uri, func(req *fasthttp.Request) {
			withToken(req)
			for k, v := range h.All() {
				lk := strings.ToLower(string(k))
				if lk == "x-delete-at" || lk == "x-delete-after" || strings.HasPrefix(lk, "x-object-meta-") {
					req.Header.SetBytesKV(k, v)
				}
			}
			for k, v := range hdr.PAXRecords {
				if name := paxHeader(k); name != "" {
					req.Header.Set(name, v)
				}
			}
			req.SetBodyStream(io.LimitReader(tr, hdr.Size), int(hdr.Size))
		})
		code := resp.StatusCode()
		resp.CloseBodyStream()
		accessed[container] = true
		if code/100 == 2 {
			created++
			continue
		}
		if containerFailure != nil {
			failed = append(failed, *containerFailure)
		}
		if code == 401 {
			failed = append(failed, [2]string{short(objPath), swiftStatus(401)})
			return result(swiftStatus(401), statusBody[401]), failed
		}
		if code/100 == 5 {
			failedStatus = 502
		}
		failed = append(failed, [2]string{short(objPath), swiftStatus(code)})
	}
	switch {
	case len(failed) > 0:
		return result(swiftStatus(failedStatus), ""), failed
	case created == 0:
		return result(swiftStatus(400), "Invalid Tar File: No Valid Files"), nil
	}
	return result(swiftStatus(201), ""), nil
}
