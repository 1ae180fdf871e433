package proxy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"syscall"

	"github.com/valyala/fasthttp"

	"swiftbox/server/backend"
	"swiftbox/server/pyfmt"
	"swiftbox/storage"
	"swiftbox/storage/db"
)

// HTTPError is an error that carries the status and body Swift would send.
type HTTPError struct {
	status int
	body   string
	ctype  string      // "" = Swift's default, text/html; charset=UTF-8
	header [][2]string // response headers the error sets (Allow, Www-Authenticate)
}

func (e *HTTPError) Error() string { return fmt.Sprintf("%d %s", e.status, e.body) }

// Errorf makes an httpError with a message body, sent as Swift's swob
// sends a body without a content type (text/html; charset=UTF-8).
func Errorf(status int, format string, args ...any) error {
	return &HTTPError{status: status, body: fmt.Sprintf(format, args...)}
}

// ConstraintErrorf is errorf for Swift's constraint checks, which answer
// with content_type text/plain.
func ConstraintErrorf(status int, format string, args ...any) error {
	return &HTTPError{status: status, body: fmt.Sprintf(format, args...), ctype: "text/plain"}
}

// UnauthorizedError is tempauth's 401, naming the realm (the account, or
// "unknown") so clients know to authenticate.
func UnauthorizedError(realm string) error {
	if realm == "" {
		realm = "unknown"
	}
	return &HTTPError{status: fasthttp.StatusUnauthorized, header: [][2]string{{"Www-Authenticate", `Swift realm="` + pyfmt.Quote(realm) + `"`}}}
}

// UnauthorizedBody is UnauthorizedError answering with body (tempurl's and
// formpost's messages).
func UnauthorizedBody(realm, body string) error {
	e := UnauthorizedError(realm).(*HTTPError)
	e.body = body
	return e
}

// MethodNotAllowedError is a 405 naming the methods the resource allows.
func MethodNotAllowedError(allow string) error {
	return &HTTPError{status: fasthttp.StatusMethodNotAllowed, header: [][2]string{{"Allow", allow}}}
}

const acceptedBody = "<html><h1>Accepted</h1><p>The request is accepted for processing.</p></html>"

// statusBody are Swift's default HTML bodies (swob's RESPONSE_REASONS).
var statusBody = map[int]string{
	400: "<html><h1>Bad Request</h1><p>The server could not comply with the request since it is either malformed or otherwise incorrect.</p></html>",
	401: "<html><h1>Unauthorized</h1><p>This server could not verify that you are authorized to access the document you requested.</p></html>",
	403: "<html><h1>Forbidden</h1><p>Access was denied to this resource.</p></html>",
	404: "<html><h1>Not Found</h1><p>The resource could not be found.</p></html>",
	405: "<html><h1>Method Not Allowed</h1><p>The method is not allowed for this resource.</p></html>",
	409: "<html><h1>Conflict</h1><p>There was a conflict when trying to complete your request.</p></html>",
	411: "<html><h1>Length Required</h1><p>Length Required</p></html>",
	412: "<html><h1>Precondition Failed</h1><p>A precondition for this request was not met.</p></html>",
	413: "<html><h1>Request Entity Too Large</h1><p>The body of your request was too large for this server.</p></html>",
	416: "<html><h1>Requested Range Not Satisfiable</h1><p>The Range requested is not available.</p></html>",
	422: "<html><h1>Unprocessable Entity</h1><p>Unable to process the contained instructions</p></html>",
	499: "<html><h1>Client Disconnect</h1><p>The client was disconnected during request.</p></html>",
	500: "<html><h1>Internal Error</h1><p>The server has either erred or is incapable of performing the requested operation.</p></html>",
	501: "<html><h1>Not Implemented</h1><p>The server is either unable or not yet able to perform the requested operation.</p></html>",
	503: "<html><h1>Service Unavailable</h1><p>The server is currently unavailable. Please try again at a later time.</p></html>",
	507: "<html><h1>Insufficient Storage</h1><p>There was not enough space to save the resource. Drive: unknown</p></html>",
}

// StatusOf returns the HTTP StatusOf for err: the one place storage and db
// errors become Swift StatusOf codes.
func StatusOf(err error) int {
	var he *HTTPError
	if errors.As(err, &he) {
		return he.status
	}
	if s := deviceFault(err); s != 0 {
		return s
	}
	switch {
	case errors.Is(err, storage.ErrCorrupt):
		// A replica failed its checksum while read (moved aside, which
		// also matches ErrNotFound, or not): the server's failure.
		return fasthttp.StatusServiceUnavailable
	case errors.Is(err, storage.ErrNotFound), errors.Is(err, db.ErrNotFound):
		return fasthttp.StatusNotFound
	case errors.Is(err, storage.ErrConflict):
		return fasthttp.StatusConflict
	case errors.Is(err, db.ErrNotEmpty), errors.Is(err, db.ErrConflict):
		return fasthttp.StatusConflict
	case errors.Is(err, context.Canceled), errors.Is(err, ErrClientDisconnect):
		return 499
	case errors.Is(err, errTimeout):
		return fasthttp.StatusRequestTimeout
	}
	return fasthttp.StatusInternalServerError
}

// deviceFault is the status a device's failure answers with, 0 when err
// is not one: 507 when the device is full or unavailable (Swift's
// Insufficient Storage, whatever wrote it: object files, journals or
// bbolt databases), 503 when it fails I/O or went read-only (Swift's
// proxy answers 503 when its backends fail with 500). A replica failing
// so is replaced by a handoff (fanout.go) and logged (logFaults).
func deviceFault(err error) int {
	switch {
	case err == nil:
		return 0
	case errors.Is(err, storage.ErrNoSpace), errors.Is(err, syscall.ENOSPC), errors.Is(err, syscall.EDQUOT),
		errors.Is(err, storage.ErrDeviceUnavailable), errors.Is(err, db.ErrDeviceUnavailable):
		return fasthttp.StatusInsufficientStorage
	case errors.Is(err, syscall.EIO), errors.Is(err, syscall.EROFS):
		return fasthttp.StatusServiceUnavailable
	}
	return 0
}

// logFaults wraps be so every device fault a backend call (or an object
// writer's Write or Commit) returns is logged with its device: a full or
// failing disk is never silent, whichever status the request ends with.
func logFaults(be backend.Backend, log *slog.Logger) backend.Backend {
	return backend.Observed(be, func(_ context.Context, c backend.Call) {
		if s := deviceFault(c.Err); s != 0 {
			n := c.Node
			log.Warn("device fault", "device", n.Device, "ip", n.IP, "port", n.Port, "status", s, "call", c.Method, "err", c.Err)
		}
	})
}

var (
	ErrClientDisconnect = errors.New("client disconnected")
	errTimeout          = errors.New("timed out reading request body")
)

// ErrorBody is the body WriteError sends for err: its own message, or
// Swift's default body of its status.
func ErrorBody(err error) string {
	var he *HTTPError
	if errors.As(err, &he) && he.body != "" {
		return he.body
	}
	return statusBody[StatusOf(err)]
}

// StatusBody is Swift's default body of a status ("" when it has none).
func StatusBody(code int) string { return statusBody[code] }

// WriteError sends err as Swift would.
func WriteError(ctx *fasthttp.RequestCtx, err error) {
	var he *HTTPError
	if errors.As(err, &he) {
		for _, kv := range he.header {
			ctx.Response.Header.Set(kv[0], kv[1])
		}
	}
	WriteStatus(ctx, StatusOf(err), ErrorBody(err))
	if he != nil && he.ctype != "" {
		ctx.Response.Header.SetContentType(he.ctype)
	}
}

// WriteStatus sends a status with the given body (default body when "").
func WriteStatus(ctx *fasthttp.RequestCtx, code int, body string) {
	ctx.SetStatusCode(code)
	if body == "" {
		body = statusBody[code]
	}
	if string(ctx.Method()) == fasthttp.MethodHead || code == fasthttp.StatusNoContent || code == fasthttp.StatusNotModified {
		ctx.Response.ResetBody()
		ctx.Response.Header.SetContentLength(0)
		if code != fasthttp.StatusNoContent && code != fasthttp.StatusNotModified && body != "" {
			ctx.Response.Header.SetContentLength(len(body))
			ctx.Response.SkipBody = true
		}
		if body != "" {
			ctx.Response.Header.SetContentType("text/html; charset=UTF-8")
		}
		return
	}
	ctx.Response.Header.SetContentType("text/html; charset=UTF-8")
	ctx.SetBodyString(body)
}
