package bulk

import (
	"bufio"
	"bytes"
	"io"
	"net/url"
	"strings"

	"github.com/valyala/fasthttp"

	"swiftbox/server/proxy"
	"swiftbox/server/pyfmt"
)

// Item is one name to delete: "/container/object" or "/container".
type Item struct {
	Name string
	// ErrCode is set when the item already failed (an SLO manifest that
	// could not be read), with its message ErrMsg: it is reported, not
	// deleted.
	ErrCode int
	ErrMsg  string
	// VersionID deletes one version (an SLO manifest deleted with
	// ?version-id=, as Swift's bulk delete passes it on).
	VersionID string
}

// DeleteOptions tune Delete.
type DeleteOptions struct {
	// MaxFailed stops the delete after that many failures.
	MaxFailed int
	// WithToken passes the request's X-Auth-Token on to each delete (bulk
	// runs before authentication).
	WithToken bool
	// Beat is called between items (heartbeats; nil = none).
	Beat func()
}

// delete serves ?bulk-delete.
func (b *bulk) delete(ctx *fasthttp.RequestCtx, next proxy.Handler, pathOK bool, version, account, outType string) {
	var fields []Field
	switch {
	case outType == "":
		fields = DeleteFields(Status(406), NotAcceptableBody, 0, 0)
	case !pathOK:
		fields = DeleteFields(Status(404), proxy.StatusBody(404), 0, 0)
	default:
		if ct := string(ctx.Request.Header.Peek("Content-Type")); ct != "" && !strings.HasPrefix(ct, "text/plain") {
			fields = DeleteFields(Status(406), NotAcceptableBody, 0, 0)
			break
		}
		items, err := deleteList(ctx, b.cfg.Bulk.MaxDeletesPerRequest)
		if err != nil {
			fields = DeleteFields(Status(proxy.StatusOf(err)), proxy.ErrorBody(err), 0, 0)
			break
		}
		b.stream(ctx, outType, "delete", func(ctx *fasthttp.RequestCtx, beat func()) ([]Field, [][2]string) {
			return Delete(ctx, next, version, account, items, DeleteOptions{MaxFailed: b.cfg.Bulk.MaxFailedDeletes, WithToken: true, Beat: beat})
		})
		return
	}
	Respond(ctx, outType, fields, nil, "delete")
}

// DeleteFields are a delete's result document.
func DeleteFields(status, body string, deleted, notFound int) []Field {
	return []Field{{"Response Status", status}, {"Response Body", body},
		{"Number Deleted", deleted}, {"Number Not Found", notFound}}
}

// deleteList reads the names of a bulk delete body.
func deleteList(ctx *fasthttp.RequestCtx, maxDeletes int) ([]Item, error) {
	h := &ctx.Request.Header
	if n := h.ContentLength(); n == -2 || n >= 0 && !proxy.IsInternal(ctx) && !proxy.HasRawHeader(h, "content-length") {
		return nil, proxy.Errorf(fasthttp.StatusLengthRequired, "")
	}
	var body io.Reader
	if s := ctx.RequestBodyStream(); s != nil {
		body = s
	} else {
		body = bytes.NewReader(ctx.PostBody())
	}
	br := bufio.NewReader(body)
	var items []Item
	for {
		line, err := br.ReadString('\n')
		if len(line) > maxPath*2 {
			return nil, proxy.Errorf(fasthttp.StatusBadRequest, "Invalid File Name")
		}
		name := strings.TrimSpace(line)
		if n, uerr := url.PathUnescape(name); uerr == nil {
			name = n
		}
		if name != "" || err == nil {
			items = append(items, Item{Name: name})
		}
		if len(items) > maxDeletes {
			return nil, proxy.Errorf(fasthttp.StatusRequestEntityTooLarge, "Maximum Bulk Deletes: %d per request", maxDeletes)
		}
		if err == io.EOF {
			return items, nil
		}
		if err != nil {
			return nil, proxy.ErrClientDisconnect
		}
	}
}

// maxPath is the longest name a bulk request takes (Swift's
// MAX_PATH_LENGTH: container and object names and slashes).
const maxPath = 1024 + 256 + 2

// Delete deletes items (objects first, then containers) through next,
// the pipeline after the calling middleware, and returns the result
// document.
func Delete(ctx *fasthttp.RequestCtx, next proxy.Handler, version, account string, items []Item, o DeleteOptions) ([]Field, [][2]string) {
	token := string(ctx.Request.Header.Peek("X-Auth-Token"))
	d := deletion{}
	for pass := 0; pass < 2; pass++ {
		for _, it := range items {
			if it.Name == "" {
				continue
			}
			if o.Beat != nil {
				o.Beat()
			}
			isObj := strings.Contains(strings.Trim(it.Name, "/"), "/")
			if isObj != (pass == 0) {
				continue
			}
			if it.ErrCode != 0 {
				d.report(pyfmt.Quote(it.Name), it.ErrCode, it.ErrMsg)
			} else {
				uri := "/" + version + "/" + pyfmt.Quote(account) + "/" + pyfmt.Quote(strings.TrimLeft(it.Name, "/"))
				if it.VersionID != "" {
					uri += "?version-id=" + url.QueryEscape(it.VersionID)
				}
				resp := proxy.Subrequest(ctx, next, fasthttp.MethodDelete, uri, func(req *fasthttp.Request) {
					if o.WithToken && token != "" {
						req.Header.Set("X-Auth-Token", token)
					}
				})
				code := resp.StatusCode()
				resp.CloseBodyStream()
				d.count(pyfmt.Quote(it.Name), code)
			}
			if len(d.failed) >= o.MaxFailed {
				return DeleteFields(Status(400), "Max delete failures exceeded", d.deleted, d.notFound), d.failed
			}
		}
	}
	switch {
	case len(d.failed) > 0:
		return DeleteFields(Status(d.failedStatus()), "", d.deleted, d.notFound), d.failed
	case d.deleted == 0 && d.notFound == 0:
		return DeleteFields(Status(400), "Invalid bulk delete.", d.deleted, d.notFound), nil
	}
	return DeleteFields(Status(200), "", d.deleted, d.notFound), nil
}

// deletion counts a delete's outcomes.
type deletion struct {
	deleted, notFound int
	failed            [][2]string
	serverFailed      bool // a delete failed with a 5xx: the result is 502
}

// count records the outcome of one delete.
func (d *deletion) count(name string, code int) {
	switch {
	case code/100 == 2:
		d.deleted++
	case code == 404:
		d.notFound++
	default:
		if code/100 == 5 {
			d.serverFailed = true
		}
		d.failed = append(d.failed, [2]string{name, Status(code)})
	}
}

// report records an item that failed before its delete, with msg.
func (d *deletion) report(name string, code int, msg string) {
	if code == 404 {
		d.notFound++
		return
	}
	d.failed = append(d.failed, [2]string{name, msg})
}

func (d *deletion) failedStatus() int {
	if d.serverFailed {
		return 502
	}
	return 400
}
