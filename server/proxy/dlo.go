package proxy

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

	"swiftbox/storage/timestamp"
)

// Dynamic large objects (Swift's dlo middleware): a manifest with
// X-Object-Manifest: container/prefix reads as the concatenation of the
// objects listed under the prefix, in name order.

func (p *Proxy) dlo(next fasthttp.RequestHandler) fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) {
		version, account, container, obj, err := SplitPath(ctx)
		if err != nil || obj == "" {
			next(ctx)
			return
		}
		method := string(ctx.Method())
		switch {
		case (method == fasthttp.MethodGet || method == fasthttp.MethodHead) &&
			string(ctx.QueryArgs().Peek("multipart-manifest")) != "get":
			p.dloGetHead(ctx, next, version, account, container, obj)
		case method == fasthttp.MethodPut && ctx.Request.Header.Peek("X-Object-Manifest") != nil:
			v := string(ctx.Request.Header.Peek("X-Object-Manifest"))
			c, prefix, ok := strings.Cut(v, "/")
			if !ok || c == "" || prefix == "" || strings.ContainsAny(v, "?&") || strings.HasPrefix(prefix, "/") {
				WriteStatus(ctx, fasthttp.StatusBadRequest, "X-Object-Manifest must be in the format container/prefix")
				return
			}
			next(ctx)
		default:
			next(ctx)
		}
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
func dloListing(ctx *fasthttp.RequestCtx, next fasthttp.RequestHandler, version, account, container, prefix, marker string) ([]dloEntry, *fasthttp.Response) {
	uri := ObjectURI(version, account, container, "") + "?format=json&prefix=" + url.QueryEscape(prefix)
	if marker != "" {
		uri += "&marker=" + url.QueryEscape(marker)
	}
	resp := Subrequest(ctx, Lift(next), fasthttp.MethodGet, uri, nil)
	if code := resp.StatusCode(); code < 200 || code >= 300 {
		return nil, resp
	}
	defer resp.CloseBodyStream()
	body, _ := io.ReadAll(ResponseBody(resp))
	var out []dloEntry
	if len(body) > 0 {
		if err := json.Unmarshal(body, &out); err != nil {
			resp.SetStatusCode(fasthttp.StatusInternalServerError)
			return nil, resp
		}
	}
	return out, nil
}

func (p *Proxy) dloGetHead(ctx *fasthttp.RequestCtx, next fasthttp.RequestHandler, version, account, container, obj string) {
	h := &ctx.Request.Header
	addIgnoreRange(h, "X-Object-Manifest")
	next(ctx)
	rh := &ctx.Response.Header
	mv := rh.Peek("X-Object-Manifest")
	if mv == nil {
		return
	}
	manifest, err := url.PathUnescape(string(mv))
	if err != nil {
		manifest = string(mv)
	}
	ctx.Response.ResetBody()
	ctx.Response.SkipBody = false
	segCont, prefix, _ := strings.Cut(manifest, "/")
	isHead := string(ctx.Method()) == fasthttp.MethodHead
	segs, errResp := dloListing(ctx, next, version, account, segCont, prefix, "")
	if errResp != nil {
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
		Relay(ctx, errResp)
		return
	}
	limit := p.limits.ContainerListingLimit
	complete := len(segs) < limit
	var pageTotal int64
	for _, s := range segs {
		pageTotal += s.Bytes
	}
	first, last := int64(0), int64(-1) // last -1: to the end
	ranged := false
	size := int64(-1)
	if complete {
		size = pageTotal
	}
	if rv := string(h.Peek("Range")); rv != "" {
		spec, isBytes := strings.CutPrefix(strings.ToLower(strings.ReplaceAll(rv, " ", "")), "bytes=")
		rr, ok := parseRawRange(spec)
		if isBytes && ok && len(rr) == 1 {
			r := rr[0]
			// the range's end on an endless object (suffix ranges: unknown)
			endKnown := r.start >= 0 && r.end >= 0 && r.end < pageTotal
			if complete || endKnown {
				a, b, sat := r.forLength(pageTotal)
				if !sat {
					rh.Del("Etag")
					rh.Del("Content-Type")
					rh.Del("Last-Modified")
					rh.Set("Accept-Ranges", "bytes")
					if complete {
						rh.Set("Content-Range", fmt.Sprintf("bytes */%d", pageTotal))
					}
					WriteStatus(ctx, fasthttp.StatusRequestedRangeNotSatisfiable, "")
					return
				}
				first, last, ranged = a, b-1, true
			}
		}
	}
	rh.Del("Content-Range")
	if complete {
		m := md5.New()
		for _, s := range segs {
			io.WriteString(m, strings.Trim(s.Hash, `"`))
		}
		rh.Set("Etag", `"`+hex.EncodeToString(m.Sum(nil))+`"`)
	}
	// Conditional headers answer for the large object.
	r := &Request{Ctx: ctx, Method: string(ctx.Method())}
	ts, _ := timestamp.Parse(string(rh.Peek("X-Backend-Timestamp")))
	if code := conditional(r, strings.Trim(string(rh.Peek("Etag")), `"`), ts); code != 0 {
		if code == fasthttp.StatusNotModified {
			ctx.SetStatusCode(code)
			ctx.Response.Header.SetContentLength(0)
			ctx.Response.SkipBody = true
			return
		}
		rh.Del("Content-Type")
		WriteStatus(ctx, code, "")
		return
	}
	length := size
	if ranged {
		length = last - first + 1
	}
	if isHead {
		ctx.SetStatusCode(fasthttp.StatusOK)
		if ranged {
			ctx.SetStatusCode(fasthttp.StatusPartialContent)
			rh.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", first, last, pageTotal))
		}
		if length >= 0 {
			rh.SetContentLength(int(length))
		}
		ctx.Response.SkipBody = true
		return
	}
	manifestPath := "/" + version + "/" + account + "/" + container + "/" + obj
	var list iter.Seq2[segment, error] = func(yield func(segment, error) bool) {
		fb, lb := first, last
		if !ranged {
			lb = 1<<63 - 1
		}
		page := segs
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
				seg := segment{path: ObjectURI(version, account, segCont, s.Name), size: n,
					first: max(fb, 0), last: min(lb, n-1)}
				if !yield(seg, nil) {
					return
				}
				fb, lb = max(fb-n, -1), max(lb-n, -1)
			}
			if len(page) < limit || lb < 0 {
				return
			}
			var er *fasthttp.Response
			page, er = dloListing(ctx, next, version, account, segCont, prefix, page[len(page)-1].Name)
			if er != nil {
				code := er.StatusCode()
				er.CloseBodyStream()
				yield(segment{}, fmt.Errorf("got status %d listing container /%s/%s", code, account, segCont))
				return
			}
		}
	}
	rd := newSegmentReader(ctx, next, manifestPath, list)
	if err := rd.prime(); err != nil {
		rd.Close()
		rh.Del("Etag")
		rh.Del("Last-Modified")
		WriteStatus(ctx, fasthttp.StatusConflict, "")
		return
	}
	if ranged {
		ctx.SetStatusCode(fasthttp.StatusPartialContent)
		rh.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", first, last, pageTotal))
	} else {
		ctx.SetStatusCode(fasthttp.StatusOK)
	}
	SetBodyStream(ctx, rd, int(length))
}

// addIgnoreRange adds name to X-Backend-Ignore-Range-If-Metadata-Present
// (Swift's update_ignore_range_header).
func addIgnoreRange(h *fasthttp.RequestHeader, name string) {
	appendHeaderList(h, "X-Backend-Ignore-Range-If-Metadata-Present", name)
}

// addEtagIsAt names metadata key name as a source of the etag that answers
// If-Match/If-None-Match, after any a middleware earlier in the pipeline named
// (s3api's S3 ETag comes before SLO's, as in Swift): the first present wins.
func addEtagIsAt(h *fasthttp.RequestHeader, name string) {
	appendHeaderList(h, "X-Backend-Etag-Is-At", name)
}

func appendHeaderList(h *fasthttp.RequestHeader, k, name string) {
	if v := string(h.Peek(k)); v != "" {
		h.Set(k, v+","+name)
		return
	}
	h.Set(k, name)
}
