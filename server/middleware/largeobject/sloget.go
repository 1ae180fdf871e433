package largeobject

import (
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"io"
	"iter"
	"strconv"
	"strings"

	"github.com/valyala/fasthttp"

	"swiftbox/server/proxy"
	"swiftbox/server/pyfmt"
)

// getHead serves GET/HEAD: manifests become their segments' bytes.
func (s *slo) getHead(ctx *fasthttp.RequestCtx, next proxy.Handler, version, account, container, obj string) error {
	args := ctx.QueryArgs()
	mget := string(args.Peek("multipart-manifest")) == "get"
	h := &ctx.Request.Header
	if !mget {
		addEtagIsAt(h, sloEtagKey)
		addIgnoreRange(h, "X-Static-Large-Object")
	}
	if err := next(ctx); err != nil {
		return err
	}
	rh := &ctx.Response.Header
	if !pyfmt.True(string(rh.Peek("X-Static-Large-Object"))) {
		return nil
	}
	if mget {
		if string(args.Peek("format")) == "raw" && ctx.Response.StatusCode() == fasthttp.StatusOK {
			body, _ := io.ReadAll(proxy.ResponseBody(&ctx.Response))
			segs, _ := parseSLOManifest(body)
			raw := sloRawJSON(segs)
			sum := md5.Sum(raw)
			rh.Set("Etag", hex.EncodeToString(sum[:]))
			ctx.Response.SetBody(raw)
		} else if rh.Peek("Content-Type") != nil {
			rh.SetContentType("application/json; charset=utf-8")
		}
		return nil
	}
	code := ctx.Response.StatusCode()
	etag, size := string(rh.Peek(sloEtagKey)), string(rh.Peek(sloSizeKey))
	manifestEtag := string(rh.Peek("Etag"))
	isHead := string(ctx.Method()) == fasthttp.MethodHead
	if code != fasthttp.StatusOK || isHead && etag != "" && size != "" {
		if etag != "" {
			rh.Set("Etag", `"`+etag+`"`)
			rh.Set("X-Manifest-Etag", manifestEtag)
		}
		if code == fasthttp.StatusOK {
			n, _ := strconv.Atoi(size)
			rh.SetContentLength(n)
		}
		return nil
	}
	var body []byte
	if isHead {
		// No sysmeta (an old manifest): read it to know size and etag.
		sub := proxy.Subrequest(ctx, next, fasthttp.MethodGet, proxy.ObjectURI(version, account, container, obj)+"?multipart-manifest=get", nil)
		body, _ = io.ReadAll(io.LimitReader(proxy.ResponseBody(sub), 64<<20))
		sub.CloseBodyStream()
	} else {
		body, _ = io.ReadAll(io.LimitReader(proxy.ResponseBody(&ctx.Response), 64<<20))
		ctx.Response.ResetBody()
	}
	segs, _ := parseSLOManifest(body)
	if etag == "" {
		etag = sloEtag(segs)
	}
	total, err := strconv.ParseInt(size, 10, 64)
	if err != nil {
		total = 0
		for i := range segs {
			total += segs[i].length()
		}
	}
	rh.Del("Content-Range")
	rh.Set("X-Manifest-Etag", manifestEtag)
	rh.Set("Etag", `"`+etag+`"`)
	if isHead {
		ctx.Response.ResetBody()
		rh.SetContentLength(int(total))
		ctx.Response.SkipBody = true
		return nil
	}
	manifestPath := "/" + version + "/" + account + "/" + container + "/" + obj
	ctype := string(rh.ContentType())
	return serveSegments(ctx, next, manifestPath, total, ctype, func(first, last int64) iter.Seq2[segment, error] {
		return func(yield func(segment, error) bool) {
			w := &sloWalker{ctx: ctx, next: next, version: version, account: account, manifest: manifestPath}
			w.walk(segs, first, last, 1, yield)
		}
	})
}

// sloWalker yields the segments covering a byte range, reading
// sub-manifests as it reaches them.
type sloWalker struct {
	ctx              *fasthttp.RequestCtx
	next             proxy.Handler
	version, account string
	manifest         string
	lastSub          string
	lastSubSegs      []sloSeg
}

func (w *sloWalker) walk(segs []sloSeg, first, last int64, depth int, yield func(segment, error) bool) bool {
	for i := range segs {
		s := &segs[i]
		n := s.length()
		if first >= n {
			first -= n
			last -= n
			continue
		}
		if last < 0 {
			return true
		}
		if s.IsData {
			if !yield(segment{data: s.raw, size: n, first: max(0, first), last: min(n-1, last)}, nil) {
				return false
			}
			first -= n
			last -= n
			continue
		}
		rs, re := int64(0), n-1
		if s.Range != "" {
			a, b, _ := strings.Cut(s.Range, "-")
			rs, _ = strconv.ParseInt(a, 10, 64)
			re, _ = strconv.ParseInt(b, 10, 64)
		}
		if s.SubSLO {
			if depth >= sloMaxRecursion {
				yield(segment{}, fmt.Errorf("while processing manifest %q, max recursion depth was exceeded", w.manifest))
				return false
			}
			sub := w.lastSubSegs
			if w.lastSub != s.Name {
				var err error
				sub, err = w.fetch(s.Name)
				if err != nil {
					yield(segment{}, err)
					return false
				}
				w.lastSub, w.lastSubSegs = s.Name, sub
			}
			if !w.walk(sub, rs+max(0, first), min(re, rs+last), depth+1, yield) {
				return false
			}
		} else {
			seg := segment{path: "/" + w.version + "/" + pyfmt.Quote(w.account) + "/" + pyfmt.Quote(strings.TrimLeft(s.Name, "/")),
				etag: s.Hash, size: s.Bytes, verify: true, first: max(0, first) + rs, last: min(re, rs+last)}
			if !yield(seg, nil) {
				return false
			}
		}
		first -= n
		last -= n
	}
	return true
}

func (w *sloWalker) fetch(name string) ([]sloSeg, error) {
	uri := "/" + w.version + "/" + pyfmt.Quote(w.account) + "/" + pyfmt.Quote(strings.TrimLeft(name, "/"))
	resp := proxy.Subrequest(w.ctx, w.next, fasthttp.MethodGet, uri, nil)
	defer resp.CloseBodyStream()
	body, _ := io.ReadAll(io.LimitReader(proxy.ResponseBody(resp), 64<<20))
	if code := resp.StatusCode(); code < 200 || code >= 300 {
		msg := string(body)
		if len(msg) > 60 {
			msg = msg[:57] + "..."
		}
		return nil, fmt.Errorf("while fetching %s, GET of submanifest %s failed with status %d (%s)", w.manifest, uri, code, msg)
	}
	segs, err := parseSLOManifest(body)
	if err != nil {
		return nil, fmt.Errorf("while fetching %s, JSON-decoding of submanifest %s failed with %v", w.manifest, uri, err)
	}
	return segs, nil
}
