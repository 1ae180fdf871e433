package bulk

import (
	"archive/tar"
	"bytes"
	"compress/bzip2"
	"compress/gzip"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/valyala/fasthttp"

	"swiftbox/server/proxy"
	"swiftbox/server/pyfmt"
)

// extraction uploads the files of one ?extract-archive request.
type extraction struct {
	b                *bulk
	ctx              *fasthttp.RequestCtx
	next             proxy.Handler
	version, account string
	beat             func()

	created           int
	containersCreated int
	accessed          map[string]bool // containers checked (and made)
	failed            [][2]string
	serverFailed      bool // an upload failed with a 5xx: the result is 502
}

func (x *extraction) result(status, body string) []Field {
	return []Field{{"Response Status", status}, {"Response Body", body}, {"Number Files Created", x.created}}
}

// run uploads the files of the request's archive, under base.
func (x *extraction) run(pathOK bool, base, kind, outType string) ([]Field, [][2]string) {
	if outType == "" {
		return x.result(Status(406), NotAcceptableBody), nil
	}
	h := &x.ctx.Request.Header
	if n := h.ContentLength(); n == -2 || n >= 0 && !proxy.IsInternal(x.ctx) && !proxy.HasRawHeader(h, "content-length") {
		return x.result(Status(411), proxy.StatusBody(411)), nil
	}
	if !pathOK {
		return x.result(Status(404), proxy.StatusBody(404)), nil
	}
	base = strings.TrimRight(base, "/")
	body, err := x.body(kind)
	if err != nil {
		return x.result(Status(400), "Invalid Tar File: "+err.Error()), nil
	}
	x.accessed = map[string]bool{}
	tr := tar.NewReader(body)
	for len(x.failed) < x.b.cfg.Bulk.MaxFailedExtractions {
		x.beat()
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return x.result(Status(400), "Invalid Tar File: "+err.Error()), x.failed
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
		if stop := x.file(tr, hdr, objPath); stop != nil {
			return stop, x.failed
		}
	}
	switch {
	case len(x.failed) > 0:
		status := 400
		if x.serverFailed {
			status = 502
		}
		return x.result(Status(status), ""), x.failed
	case x.created == 0:
		return x.result(Status(400), "Invalid Tar File: No Valid Files"), nil
	}
	return x.result(Status(201), ""), nil
}

// body is the request's archive, decompressed as kind says.
func (x *extraction) body(kind string) (io.Reader, error) {
	var body io.Reader
	if s := x.ctx.RequestBodyStream(); s != nil {
		body = s
	} else {
		body = bytes.NewReader(x.ctx.PostBody())
	}
	switch kind {
	case "tar.gz":
		gz, err := gzip.NewReader(body)
		if err != nil {
			return nil, err
		}
		body = gz
	case "tar.bz2":
		body = bzip2.NewReader(body)
	}
	return body, nil
}

// withToken passes the request's token on (bulk runs before
// authentication).
func (x *extraction) withToken(req *fasthttp.Request) {
	if token := x.ctx.Request.Header.Peek("X-Auth-Token"); len(token) > 0 {
		req.Header.SetBytesV("X-Auth-Token", token)
	}
}

// short is a failed name as the result lists it.
func short(s string) string {
	if len(s) > maxPath {
		s = s[:maxPath]
	}
	return pyfmt.Quote(s)
}

// file uploads one archived file to objPath; stop is the result when
// the extraction ends here.
func (x *extraction) file(tr *tar.Reader, hdr *tar.Header, objPath string) (stop []Field) {
	container, _, _ := strings.Cut(objPath, "/")
	if !utf8.ValidString(objPath) || strings.IndexByte(objPath, 0) >= 0 {
		x.failed = append(x.failed, [2]string{short(objPath), Status(412)})
		return nil
	}
	if hdr.Size > x.b.maxFileSize {
		x.failed = append(x.failed, [2]string{short(objPath), Status(413)})
		return nil
	}
	var containerFailure *[2]string
	if !x.accessed[container] {
		if containerFailure, stop = x.container(container); stop != nil {
			return stop
		}
	}
	uri := "/" + x.version + "/" + pyfmt.Quote(x.account) + "/" + pyfmt.Quote(objPath)
	resp := proxy.Subrequest(x.ctx, x.next, fasthttp.MethodPut, uri, func(req *fasthttp.Request) {
		x.withToken(req)
		for k, v := range x.ctx.Request.Header.All() {
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
	x.accessed[container] = true
	if code/100 == 2 {
		x.created++
		return nil
	}
	if containerFailure != nil {
		x.failed = append(x.failed, *containerFailure)
	}
	if code == 401 {
		x.failed = append(x.failed, [2]string{short(objPath), Status(401)})
		return x.result(Status(401), proxy.StatusBody(401))
	}
	if code/100 == 5 {
		x.serverFailed = true
	}
	x.failed = append(x.failed, [2]string{short(objPath), Status(code)})
	return nil
}

// container checks that container exists and makes it if not; failure
// is reported if the upload into it fails too, stop ends the extraction.
func (x *extraction) container(container string) (failure *[2]string, stop []Field) {
	contURI := "/" + x.version + "/" + pyfmt.Quote(x.account) + "/" + pyfmt.Quote(container)
	head := proxy.Subrequest(x.ctx, x.next, fasthttp.MethodHead, contURI, x.withToken)
	code := head.StatusCode()
	head.CloseBodyStream()
	if code == 404 {
		put := proxy.Subrequest(x.ctx, x.next, fasthttp.MethodPut, contURI, x.withToken)
		code = put.StatusCode()
		put.CloseBodyStream()
		if code/100 == 2 {
			x.containersCreated++
			if limit := x.b.cfg.Bulk.MaxContainersPerExtraction; x.containersCreated > limit {
				return nil, x.result(Status(400), fmt.Sprintf("More than %d containers to create from tar.", limit))
			}
		}
	}
	if code/100 != 2 {
		if code == 401 {
			return nil, x.result(Status(401), proxy.StatusBody(401))
		}
		cp := "/" + x.version + "/" + x.account + "/" + container
		return &[2]string{short(cp), Status(code)}, nil
	}
	return nil, nil
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
