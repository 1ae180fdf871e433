package largeobject

import (
	"bufio"
	"bytes"
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/valyala/fasthttp"

	"swiftbox/server/backend"
	"swiftbox/server/middleware/bulk"
	"swiftbox/server/proxy"
	"swiftbox/server/pyfmt"
)

// put serves ?multipart-manifest=put.
func (s *slo) put(ctx *fasthttp.RequestCtx, next, self proxy.Handler, version, account, container, obj string) error {
	h := &ctx.Request.Header
	if len(h.Peek("X-Copy-From")) > 0 {
		return proxy.Errorf(fasthttp.StatusMethodNotAllowed, "Multipart Manifest PUTs cannot be COPY requests")
	}
	n := h.ContentLength()
	if n >= 0 && !proxy.IsInternal(ctx) && !proxy.HasRawHeader(h, "content-length") || n == -2 {
		return proxy.Errorf(fasthttp.StatusLengthRequired, "")
	}
	maxSize := s.cfg.SLO.MaxManifestSize
	if n > maxSize {
		return proxy.Errorf(fasthttp.StatusRequestEntityTooLarge, "Manifest File > %d bytes", maxSize)
	}
	var body io.Reader
	if rs := ctx.RequestBodyStream(); rs != nil {
		body = rs
	} else {
		body = bytes.NewReader(ctx.PostBody())
	}
	data, err := io.ReadAll(io.LimitReader(body, int64(maxSize)))
	if err != nil {
		return proxy.ErrClientDisconnect
	}
	reqPath := proxy.ObjectURI(version, account, container, obj)
	input, err := parseSLOInput(data, version, account, reqPath)
	if err != nil {
		return err
	}
	objSegs := 0
	for _, in := range input {
		if !in.isData {
			objSegs++
		}
	}
	if objSegs > s.cfg.SLO.MaxManifestSegments {
		return proxy.Errorf(fasthttp.StatusRequestEntityTooLarge, "Number of object-backed segments must be <= %d", s.cfg.SLO.MaxManifestSegments)
	}
	outType, err := bulk.BestMatch(string(h.Peek("Accept")), bulk.Formats)
	if err != nil || outType == "" {
		outType = "text/plain"
	}
	// Everything the PUT needs from the request, copied now: the work may
	// run after the handler returned (heartbeat).
	headers := map[string]string{}
	for k, v := range h.All() {
		headers[string(k)] = string(v)
	}
	job := &sloPutJob{s: s, ctx: ctx, next: next, self: self, version: version, account: account,
		uri: reqPath, obj: obj, input: input, headers: headers, outType: outType}
	if !pyfmt.True(string(ctx.QueryArgs().Peek("heartbeat"))) {
		return job.run(nil)
	}
	ctx.SetStatusCode(fasthttp.StatusAccepted)
	ctx.Response.Header.SetContentType(outType)
	tid, _ := ctx.UserValue(proxy.KeyTransID).(string)
	job.ctx = proxy.Detach(ctx) // ctx belongs to the server once the handler returns
	proxy.SetBodyStreamWriter(ctx, func(w *bufio.Writer) {
		defer func() {
			if r := recover(); r != nil {
				s.log.Error("panic in SLO manifest PUT", "trans_id", tid, "panic", r, "stack", string(debug.Stack()))
			}
		}()
		w.WriteString(" ")
		w.Flush()
		job.run(w)
	})
	return nil
}

type sloPutJob struct {
	s                 *slo
	ctx               *fasthttp.RequestCtx
	next, self        proxy.Handler
	version, account  string
	uri, obj, outType string
	input             []sloInput
	headers           map[string]string
	w                 *bufio.Writer // the heartbeat body (nil: answer with a status)
}

// headResult is what a HEAD of a segment said.
type headResult struct {
	code                 int
	size                 int64
	etag, ctype, lastMod string
	slo                  bool
}

// run validates the segments and writes the manifest; w is the heartbeat
// body (nil: answer with a status, or return the error to answer).
func (j *sloPutJob) run(w *bufio.Writer) error {
	j.w = w
	segs, total, problems := j.segments(j.headSegments())
	if len(problems) > 0 {
		j.finish(fasthttp.StatusBadRequest, []bulk.Field{{Key: "Response Status", Value: bulk.Status(400)},
			{Key: "Response Body", Value: strings.Join([]string{"Bad Request", "The server could not comply with the request since it is either malformed or otherwise incorrect."}, "\n")}},
			problems)
		return nil
	}
	etag := sloEtag(segs)
	if ce := strings.Trim(j.headers["Etag"], `"`); ce != "" && ce != etag {
		if w == nil {
			return proxy.Errorf(fasthttp.StatusUnprocessableEntity, "")
		}
		j.finish(0, []bulk.Field{{Key: "Response Status", Value: bulk.Status(422)},
			{Key: "Response Body", Value: "Unprocessable Entity\nUnable to process the contained instructions"}}, nil)
		return nil
	}
	j.store(segs, etag, total)
	return nil
}

// headSegments HEADs each distinct path, a few at a time, heartbeating
// meanwhile.
func (j *sloPutJob) headSegments() map[string]headResult {
	var paths []string
	seen := map[string]bool{}
	for _, in := range j.input {
		if !in.isData && !seen[in.path] {
			seen[in.path] = true
			paths = append(paths, in.path)
		}
	}
	results := make(map[string]headResult, len(paths))
	var mu sync.Mutex
	work := make(chan string)
	var wg sync.WaitGroup
	for range min(sloHeadConcurrency, max(1, len(paths))) {
		wg.Go(func() {
			for path := range work {
				r := j.head(path)
				mu.Lock()
				results[path] = r
				mu.Unlock()
			}
		})
	}
	last := time.Now()
	for _, path := range paths {
		work <- path
		if j.w != nil && time.Since(last) > time.Duration(j.s.cfg.SLO.YieldFrequency)*time.Second {
			j.w.WriteString(" ")
			j.w.Flush()
			last = time.Now()
		}
	}
	close(work)
	wg.Wait()
	return results
}

// head HEADs one segment (through slo itself: a sub-manifest answers with
// its large object's size and etag).
func (j *sloPutJob) head(path string) headResult {
	uri := "/" + j.version + "/" + pyfmt.Quote(j.account) + "/" + pyfmt.Quote(strings.TrimLeft(path, "/"))
	resp := proxy.Subrequest(j.ctx, j.self, fasthttp.MethodHead, uri, nil)
	defer resp.CloseBodyStream()
	return headResult{code: resp.StatusCode(), size: int64(resp.Header.ContentLength()),
		etag:    strings.ReplaceAll(string(resp.Header.Peek("Etag")), `"`, ""),
		ctype:   strings.SplitN(string(resp.Header.ContentType()), ";", 2)[0],
		lastMod: string(resp.Header.Peek("Last-Modified")),
		slo:     pyfmt.True(string(resp.Header.Peek("X-Static-Large-Object")))}
}

// segments checks the input against what the segments' HEADs said and
// makes the manifest's entries; problems are the failed checks.
func (j *sloPutJob) segments(results map[string]headResult) (segs []sloSeg, total int64, problems [][2]string) {
	segs = make([]sloSeg, len(j.input))
	for i, in := range j.input {
		if in.isData {
			raw, _ := base64.StdEncoding.DecodeString(in.data)
			segs[i] = sloSeg{IsData: true, Data: in.data, raw: raw}
			total += int64(len(raw))
			continue
		}
		r := results[in.path]
		name := pyfmt.Quote(in.path)
		if r.code < 200 || r.code >= 300 {
			problems = append(problems, [2]string{name, bulk.Status(r.code)})
			continue
		}
		segLen := r.size
		rng := ""
		if in.rng != nil {
			a, b, ok := in.rng.forLength(r.size)
			switch {
			case !ok:
				problems = append(problems, [2]string{name, "Unsatisfiable Range"})
			case a == 0 && b == r.size:
				// the whole object: no range kept
			default:
				rng = fmt.Sprintf("%d-%d", a, b-1)
				segLen = b - a
			}
		}
		if segLen < 1 && i != len(j.input)-1 {
			problems = append(problems, [2]string{name, "Too small; each segment must be at least 1 byte."})
		}
		if in.sizeBytes != nil && *in.sizeBytes != r.size {
			problems = append(problems, [2]string{name, "Size Mismatch"})
		}
		if in.etag != nil && *in.etag != r.etag {
			problems = append(problems, [2]string{name, "Etag Mismatch"})
		}
		lm := time.Now().UTC()
		if t, ok := proxy.ParseHTTPDate(r.lastMod); ok {
			lm = t.UTC()
		}
		segs[i] = sloSeg{Name: "/" + strings.TrimLeft(in.path, "/"), Bytes: r.size, Hash: r.etag,
			ContentType: r.ctype, LastModified: lm.Format("2006-01-02T15:04:05.000000"), Range: rng, SubSLO: r.slo}
		total += segLen
	}
	return segs, total, problems
}

// finish answers with a result document: in the heartbeat body, or with
// status code.
func (j *sloPutJob) finish(code int, fields []bulk.Field, errs [][2]string) {
	if j.w != nil {
		j.w.WriteString("\r\n\r\n")
		j.w.Write(bulk.ResponseBody(j.outType, fields, errs, "upload"))
		j.w.Flush()
		return
	}
	j.ctx.SetStatusCode(code)
	j.ctx.Response.Header.SetContentType(j.outType)
	j.ctx.SetBody(bulk.ResponseBody(j.outType, nil, errs, "upload"))
}

// store PUTs the manifest of segs (etag and total bytes of the large
// object) and answers with its response.
func (j *sloPutJob) store(segs []sloSeg, etag string, total int64) {
	manifest := sloManifestJSON(segs)
	sum := md5.Sum(manifest)
	manifestEtag := hex.EncodeToString(sum[:])
	ctype := j.headers["Content-Type"]
	if ctype == "" {
		ctype = proxy.GuessContentType(j.obj)
	}
	ctype += ";swift_bytes=" + strconv.FormatInt(total, 10)
	override := manifestEtag
	if v := j.headers[backend.OverrideEtagKey]; v != "" {
		override = v
	}
	resp := proxy.Subrequest(j.ctx, j.next, fasthttp.MethodPut, j.uri, func(req *fasthttp.Request) {
		for k, v := range j.headers {
			switch strings.ToLower(k) {
			case "content-length", "transfer-encoding", "etag", "content-type":
				continue
			}
			req.Header.Set(k, v)
		}
		req.Header.Set(sloEtagKey, etag)
		req.Header.Set(sloSizeKey, strconv.FormatInt(total, 10))
		req.Header.Set("X-Static-Large-Object", "True")
		req.Header.Set("Etag", manifestEtag)
		req.Header.Set(backend.OverrideEtagKey, override+"; slo_etag="+etag)
		req.Header.Set("Content-Type", ctype)
		req.SetBodyStream(bytes.NewReader(manifest), len(manifest))
	})
	ok := resp.StatusCode() >= 200 && resp.StatusCode() < 300
	if ok {
		resp.Header.Set("Etag", `"`+etag+`"`)
	}
	if j.w == nil {
		proxy.Relay(j.ctx, resp)
		return
	}
	fields := []bulk.Field{{Key: "Response Status", Value: bulk.Status(resp.StatusCode())}}
	if ok {
		fields = append(fields, bulk.Field{Key: "Etag", Value: `"` + etag + `"`},
			bulk.Field{Key: "Last Modified", Value: string(resp.Header.Peek("Last-Modified"))})
	}
	b, _ := io.ReadAll(proxy.ResponseBody(resp))
	resp.CloseBodyStream()
	fields = append(fields, bulk.Field{Key: "Response Body", Value: string(b)})
	j.finish(0, fields, nil)
}
