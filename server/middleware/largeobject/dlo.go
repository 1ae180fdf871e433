package largeobject

import (
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"iter"
	"net/url"
	"strings"

	"github.com/valyala/fasthttp"

	"swiftbox/server/proxy"
	"swiftbox/storage/timestamp"
)

// Dynamic large objects (Swift's dlo middleware): a manifest with
// X-Object-Manifest: container/prefix reads as the concatenation of the
// objects listed under the prefix, in name order.

type dlo struct {
	listingLimit int // a listing page's length: a shorter page is the last
}

// NewDLO builds the dlo middleware.
func NewDLO(env *proxy.Env) (proxy.Middleware, error) {
	d := &dlo{listingLimit: env.Config.Constraints.ContainerListingLimit}
	return d.middleware, nil
}

func (d *dlo) middleware(next proxy.Handler) proxy.Handler {
	return func(ctx *fasthttp.RequestCtx) error {
		version, account, container, obj, err := proxy.SplitPath(ctx)
		if err != nil || obj == "" {
			return next(ctx)
		}
		method := string(ctx.Method())
		switch {
		case (method == fasthttp.MethodGet || method == fasthttp.MethodHead) &&
			string(ctx.QueryArgs().Peek("multipart-manifest")) != "get":
			return d.getHead(ctx, next, version, account, container, obj)
		case method == fasthttp.MethodPut && ctx.Request.Header.Peek("X-Object-Manifest") != nil:
			v := string(ctx.Request.Header.Peek("X-Object-Manifest"))
			c, prefix, ok := strings.Cut(v, "/")
			if !ok || c == "" || prefix == "" || strings.ContainsAny(v, "?&") || strings.HasPrefix(prefix, "/") {
				return proxy.Errorf(fasthttp.StatusBadRequest, "X-Object-Manifest must be in the format container/prefix")
			}
		}
		return next(ctx)
	}
}

// dloEntry is one listed segment.
type dloEntry struct {
	Name  string `json:"name"`
	Bytes int64  `json:"bytes"`
	Hash  string `json:"hash"`
}

// dloListing GETs one page of the segment container's listing; resp is
// set (and owned by the caller) when the listing failed.
func dloListing(ctx *fasthttp.RequestCtx, next proxy.Handler, version, account, container, prefix, marker string) ([]dloEntry, *fasthttp.Response) {
	uri := proxy.ObjectURI(version, account, container, "") + "?format=json&prefix=" + url.QueryEscape(prefix)
	if marker != "" {
		uri += "&marker=" + url.QueryEscape(marker)
	}
	resp := proxy.Subrequest(ctx, next, fasthttp.MethodGet, uri, nil)
	if code := resp.StatusCode(); code < 200 || code >= 300 {
		return nil, resp
	}
	defer resp.CloseBodyStream()
	body, _ := io.ReadAll(proxy.ResponseBody(resp))
	var out []dloEntry
	if len(body) > 0 {
		if err := json.Unmarshal(body, &out); err != nil {
			resp.SetStatusCode(fasthttp.StatusInternalServerError)
			return nil, resp
		}
	}
	return out, nil
}

// dloRead is one GET or HEAD of a DLO manifest.
type dloRead struct {
	d                *dlo
	ctx              *fasthttp.RequestCtx
	next             proxy.Handler
	version, account string
	segCont, prefix  string
	segs             []dloEntry // the listing's first page
	complete         bool       // the first page is the whole listing
	pageTotal        int64      // the first page's bytes
	first, last      int64      // the range to send (last -1: to the end)
	ranged           bool
}

func (d *dlo) getHead(ctx *fasthttp.RequestCtx, next proxy.Handler, version, account, container, obj string) error {
	addIgnoreRange(&ctx.Request.Header, "X-Object-Manifest")
	if err := next(ctx); err != nil {
		return err
	}
	rh := &ctx.Response.Header
	mv := rh.Peek("X-Object-Manifest")
	if mv == nil {
		return nil
	}
	manifest, err := url.PathUnescape(string(mv))
	if err != nil {
		manifest = string(mv)
	}
	ctx.Response.ResetBody()
	ctx.Response.SkipBody = false
	r := &dloRead{d: d, ctx: ctx, next: next, version: version, account: account, last: -1}
	r.segCont, r.prefix, _ = strings.Cut(manifest, "/")
	isHead := string(ctx.Method()) == fasthttp.MethodHead
	segs, errResp := dloListing(ctx, next, version, account, r.segCont, r.prefix, "")
	if errResp != nil {
		relayListingError(ctx, errResp, isHead)
		return nil
	}
	r.segs, r.complete = segs, len(segs) < d.listingLimit
	for _, s := range segs {
		r.pageTotal += s.Bytes
	}
	if err := r.readRange(); err != nil {
		return err
	}
	rh.Del("Content-Range")
	if r.complete {
		m := md5.New()
		for _, s := range segs {
			io.WriteString(m, strings.Trim(s.Hash, `"`))
		}
		rh.Set("Etag", `"`+hex.EncodeToString(m.Sum(nil))+`"`)
	}
	if done, err := conditional(ctx); done {
		return err
	}
	if isHead {
		r.answerHead()
		return nil
	}
	return r.answer("/" + version + "/" + account + "/" + container + "/" + obj)
}

// relayListingError answers with the failed listing of the segments.
func relayListingError(ctx *fasthttp.RequestCtx, errResp *fasthttp.Response, isHead bool) {
	rh := &ctx.Response.Header
	if isHead {
		errResp.CloseBodyStream()
		errResp.ResetBody()
	}
	tid := string(rh.Peek("X-Trans-Id"))
	rh.Reset()
	if tid != "" {
		rh.Set("X-Trans-Id", tid)
		rh.Set("X-Openstack-Request-Id", tid)
	}
	proxy.Relay(ctx, errResp)
}

// readRange takes the Range header for the large object: a range of an
// object of unknown size (more than a page of segments) is honoured when
// its end is known.
func (r *dloRead) readRange() error {
	rv := string(r.ctx.Request.Header.Peek("Range"))
	if rv == "" {
		return nil
	}
	spec, isBytes := strings.CutPrefix(strings.ToLower(strings.ReplaceAll(rv, " ", "")), "bytes=")
	rr, ok := parseRawRange(spec)
	if !isBytes || !ok || len(rr) != 1 {
		return nil
	}
	rg := rr[0]
	// the range's end on an endless object (suffix ranges: unknown)
	endKnown := rg.start >= 0 && rg.end >= 0 && rg.end < r.pageTotal
	if !r.complete && !endKnown {
		return nil
	}
	a, b, sat := rg.forLength(r.pageTotal)
	if !sat {
		rh := &r.ctx.Response.Header
		rh.Del("Etag")
		rh.Del("Content-Type")
		rh.Del("Last-Modified")
		rh.Set("Accept-Ranges", "bytes")
		if r.complete {
			rh.Set("Content-Range", fmt.Sprintf("bytes */%d", r.pageTotal))
		}
		return proxy.Errorf(fasthttp.StatusRequestedRangeNotSatisfiable, "")
	}
	r.first, r.last, r.ranged = a, b-1, true
	return nil
}

// conditional answers If-* headers for the large object (its etag, the
// manifest's timestamp); done when that is the answer.
func conditional(ctx *fasthttp.RequestCtx) (done bool, err error) {
	rh := &ctx.Response.Header
	req := &proxy.Request{Ctx: ctx, Method: string(ctx.Method())}
	ts, _ := timestamp.Parse(string(rh.Peek("X-Backend-Timestamp")))
	code := proxy.Conditional(req, strings.Trim(string(rh.Peek("Etag")), `"`), ts)
	switch code {
	case 0:
		return false, nil
	case fasthttp.StatusNotModified:
		ctx.SetStatusCode(code)
		rh.SetContentLength(0)
		ctx.Response.SkipBody = true
		return true, nil
	}
	rh.Del("Content-Type")
	return true, proxy.Errorf(code, "")
}

// length is the bytes sent, -1 when unknown.
func (r *dloRead) length() int64 {
	if r.ranged {
		return r.last - r.first + 1
	}
	if r.complete {
		return r.pageTotal
	}
	return -1
}

func (r *dloRead) setRangeStatus() {
	if r.ranged {
		r.ctx.SetStatusCode(fasthttp.StatusPartialContent)
		r.ctx.Response.Header.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", r.first, r.last, r.pageTotal))
	} else {
		r.ctx.SetStatusCode(fasthttp.StatusOK)
	}
}

func (r *dloRead) answerHead() {
	r.setRangeStatus()
	if n := r.length(); n >= 0 {
		r.ctx.Response.Header.SetContentLength(int(n))
	}
	r.ctx.Response.SkipBody = true
}

// answer streams the segments of the range.
func (r *dloRead) answer(manifestPath string) error {
	rd := newSegmentReader(r.ctx, r.next, manifestPath, r.segments())
	if err := rd.prime(); err != nil {
		rd.Close()
		return brokenSegments(r.ctx)
	}
	r.setRangeStatus()
	proxy.SetBodyStream(r.ctx, rd, int(r.length()))
	return nil
}

// segments yields the segments of the range, listing further pages as
// it reaches them.
func (r *dloRead) segments() iter.Seq2[segment, error] {
	return func(yield func(segment, error) bool) {
		fb, lb := r.first, r.last
		if !r.ranged {
			lb = 1<<63 - 1
		}
		page := r.segs
		for {
			for _, s := range page {
				n := s.Bytes
				if fb >= n {
					fb, lb = max(fb-n, -1), max(lb-n, -1)
					continue
				}
				if lb < 0 {
					return
				}
				seg := segment{path: proxy.ObjectURI(r.version, r.account, r.segCont, s.Name), size: n,
					first: max(fb, 0), last: min(lb, n-1)}
				if !yield(seg, nil) {
					return
				}
				fb, lb = max(fb-n, -1), max(lb-n, -1)
			}
			if len(page) < r.d.listingLimit || lb < 0 {
				return
			}
			var er *fasthttp.Response
			page, er = dloListing(r.ctx, r.next, r.version, r.account, r.segCont, r.prefix, page[len(page)-1].Name)
			if er != nil {
				code := er.StatusCode()
				er.CloseBodyStream()
				yield(segment{}, fmt.Errorf("got status %d listing container /%s/%s", code, r.account, r.segCont))
				return
			}
		}
	}
}
