// Package bulk is Swift's bulk middleware: ?bulk-delete removes the
// newline-separated objects and containers of the body; ?extract-archive
// uploads the files of a tar (optionally gzip or bzip2) archive. Both
// answer 200 and report per-item results in the body (text, JSON or XML
// as Accept asks). Its result documents and its delete are also the
// machinery of SLO's multipart-manifest=delete (Delete, Respond).
package bulk

import (
	"bufio"
	"log/slog"
	"net/url"
	"runtime/debug"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"swiftbox/config"
	"swiftbox/server/proxy"
)

// NotAcceptableBody is the body of a 406 in a result document.
const NotAcceptableBody = "<html><h1>Not Acceptable</h1><p>The resource is not available in a format acceptable to your browser.</p></html>"

// Filter is the "bulk" filter of the pipeline.
func Filter() proxy.Filter { return proxy.Filter{Name: "bulk", New: New} }

type bulk struct {
	cfg         *config.Config
	maxFileSize int64
	log         *slog.Logger
}

// New builds the bulk middleware and registers its /info entries.
func New(env *proxy.Env) (proxy.Middleware, error) {
	b := &bulk{cfg: env.Config, maxFileSize: env.Config.Constraints.MaxFileSize, log: env.Log.With("component", "bulk")}
	env.RegisterInfo("bulk_upload", func() map[string]any {
		return map[string]any{
			"max_containers_per_extraction": b.cfg.Bulk.MaxContainersPerExtraction,
			"max_failed_extractions":        b.cfg.Bulk.MaxFailedExtractions,
		}
	})
	env.RegisterInfo("bulk_delete", func() map[string]any {
		return map[string]any{
			"max_deletes_per_request": b.cfg.Bulk.MaxDeletesPerRequest,
			"max_failed_deletes":      b.cfg.Bulk.MaxFailedDeletes,
		}
	})
	return b.middleware, nil
}

func (b *bulk) middleware(next proxy.Handler) proxy.Handler {
	return func(ctx *fasthttp.RequestCtx) error {
		args := ctx.QueryArgs()
		method := string(ctx.Method())
		extract := args.Peek("extract-archive")
		isExtract := extract != nil && method == fasthttp.MethodPut
		isDelete := args.Has("bulk-delete") && (method == fasthttp.MethodPost || method == fasthttp.MethodDelete)
		if !isExtract && !isDelete {
			return next(ctx)
		}
		version, account, rest, ok := bulkPath(ctx)
		outType := Negotiate(ctx)
		if isExtract && !isDelete {
			kind := strings.Trim(strings.ToLower(string(extract)), ".")
			if kind != "tar" && kind != "tar.gz" && kind != "tar.bz2" {
				return proxy.Errorf(fasthttp.StatusBadRequest, "Unsupported archive format")
			}
			b.stream(ctx, outType, "extract", func(ctx *fasthttp.RequestCtx, beat func()) ([]Field, [][2]string) {
				x := &extraction{b: b, ctx: ctx, next: next, version: version, account: account, beat: beat}
				return x.run(ok, rest, kind, outType)
			})
			return nil
		}
		b.delete(ctx, next, ok, version, account, outType)
		return nil
	}
}

// Negotiate is the result document's type Accept asks for: "" when none
// is acceptable.
func Negotiate(ctx *fasthttp.RequestCtx) string {
	outType, err := BestMatch(string(ctx.Request.Header.Peek("Accept")), Formats)
	if err != nil {
		return ""
	}
	return outType
}

// stream answers 200 at once and runs work while the body streams:
// beat, called between items, sends a space (an XML declaration first)
// every yield frequency so clients and proxies do not time out, as Swift.
// work gets a detached copy of the request: ctx belongs to the server
// once the handler has returned.
func (b *bulk) stream(ctx *fasthttp.RequestCtx, outType, root string, work func(ctx *fasthttp.RequestCtx, beat func()) ([]Field, [][2]string)) {
	ctx.SetStatusCode(fasthttp.StatusOK)
	setContentType(ctx, outType)
	tid, _ := ctx.UserValue(proxy.KeyTransID).(string)
	dctx := proxy.Detach(ctx)
	proxy.SetBodyStreamWriter(ctx, func(w *bufio.Writer) {
		sep := ""
		first := " "
		if strings.HasSuffix(outType, "/xml") {
			first = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		}
		last := time.Now()
		beat := func() {
			if time.Since(last) > time.Duration(b.cfg.Bulk.YieldFrequency)*time.Second {
				last = time.Now()
				w.WriteString(first)
				w.Flush()
				first, sep = " ", "\r\n\r\n"
			}
		}
		defer func() {
			if r := recover(); r != nil {
				b.log.Error("panic in bulk request", "trans_id", tid, "panic", r, "stack", string(debug.Stack()))
				w.WriteString(sep)
				w.Write(ResponseBody(outType, []Field{{"Response Status", Status(500)}, {"Response Body", ""}}, nil, root))
				w.Flush()
			}
		}()
		fields, errs := work(dctx, beat)
		w.WriteString(sep)
		w.Write(ResponseBody(outType, fields, errs, root))
		w.Flush()
	})
}

// Respond sends a result document with status 200.
func Respond(ctx *fasthttp.RequestCtx, outType string, fields []Field, errs [][2]string, root string) {
	ctx.SetStatusCode(fasthttp.StatusOK)
	setContentType(ctx, outType)
	// (Swift starts XML with a declaration only when it heartbeats.)
	ctx.SetBody(ResponseBody(outType, fields, errs, root))
}

func setContentType(ctx *fasthttp.RequestCtx, outType string) {
	if outType != "" {
		ctx.Response.Header.SetContentType(outType)
	} else {
		ctx.Response.Header.SetContentType("text/html; charset=UTF-8")
	}
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
