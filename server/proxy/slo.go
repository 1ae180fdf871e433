package proxy

import (
	"bufio"
	"bytes"
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"iter"
	"math"
	"net/url"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"swiftbox/server/pyfmt"

	"github.com/valyala/fasthttp"

	"swiftbox/server/backend"
)

// Static large objects (Swift's slo middleware): a manifest PUT with
// ?multipart-manifest=put lists segments; GET/HEAD serve the
// concatenation; ?multipart-manifest=get returns the manifest and
// ?multipart-manifest=delete removes it with its segments.

const (
	sloEtagKey = "X-Object-Sysmeta-Slo-Etag"
	sloSizeKey = "X-Object-Sysmeta-Slo-Size"

	sloMaxRecursion    = 10
	sloHeadConcurrency = 2
)

// sloSeg is one entry of a stored manifest, in Swift's JSON.
type sloSeg struct {
	Name         string
	Bytes        int64
	Hash         string
	ContentType  string
	LastModified string
	Range        string // "first-last", "" = whole
	SubSLO       bool
	Data         string // base64: an inline data segment
	IsData       bool
	raw          []byte
}

// sloManifestJSON is json.dumps of the stored manifest.
func sloManifestJSON(segs []sloSeg) []byte {
	var b strings.Builder
	b.WriteByte('[')
	for i, s := range segs {
		if i > 0 {
			b.WriteString(", ")
		}
		if s.IsData {
			b.WriteString(`{"data": ` + JSONString(s.Data) + "}")
			continue
		}
		b.WriteString(`{"name": ` + JSONString(s.Name) + `, "bytes": ` + strconv.FormatInt(s.Bytes, 10) +
			`, "hash": ` + JSONString(s.Hash) + `, "content_type": ` + JSONString(s.ContentType) +
			`, "last_modified": ` + JSONString(s.LastModified))
		if s.Range != "" {
			b.WriteString(`, "range": ` + JSONString(s.Range))
		}
		if s.SubSLO {
			b.WriteString(`, "sub_slo": true`)
		}
		b.WriteByte('}')
	}
	b.WriteByte(']')
	return []byte(b.String())
}

// parseSLOManifest reads a stored manifest.
func parseSLOManifest(body []byte) ([]sloSeg, error) {
	var raw []map[string]any
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&raw); err != nil {
		return nil, err
	}
	out := make([]sloSeg, 0, len(raw))
	for _, m := range raw {
		var s sloSeg
		if d, ok := m["data"].(string); ok {
			s.IsData, s.Data = true, d
			s.raw, _ = base64.StdEncoding.DecodeString(d)
			out = append(out, s)
			continue
		}
		s.Name, _ = m["name"].(string)
		s.Hash, _ = m["hash"].(string)
		s.ContentType, _ = m["content_type"].(string)
		s.LastModified, _ = m["last_modified"].(string)
		s.Range, _ = m["range"].(string)
		switch v := m["bytes"].(type) {
		case json.Number:
			s.Bytes, _ = v.Int64()
		case string:
			s.Bytes, _ = strconv.ParseInt(v, 10, 64)
		}
		switch v := m["sub_slo"].(type) {
		case bool:
			s.SubSLO = v
		case string:
			s.SubSLO = pyfmt.True(v)
		}
		if s.SubSLO {
			// override_bytes_from_content_type
			if n, ct := listingSize(s.Bytes, s.ContentType); n != s.Bytes {
				s.Bytes, s.ContentType = n, ct
			}
		}
		out = append(out, s)
	}
	return out, nil
}

// length is the bytes the segment adds to the large object.
func (s *sloSeg) length() int64 {
	if s.IsData {
		return int64(len(s.raw))
	}
	if s.Range != "" {
		a, b, _ := strings.Cut(s.Range, "-")
		x, _ := strconv.ParseInt(a, 10, 64)
		y, _ := strconv.ParseInt(b, 10, 64)
		return y - x + 1
	}
	return s.Bytes
}

// etagPart is the segment's contribution to the SLO's etag.
func (s *sloSeg) etagPart() string {
	switch {
	case s.IsData:
		h := md5.Sum(s.raw)
		return hex.EncodeToString(h[:])
	case s.Range != "":
		return s.Hash + ":" + s.Range + ";"
	}
	return s.Hash
}

func sloEtag(segs []sloSeg) string {
	h := md5.New()
	for i := range segs {
		io.WriteString(h, segs[i].etagPart())
	}
	return hex.EncodeToString(h.Sum(nil))
}

func (p *Proxy) slo(next fasthttp.RequestHandler) fasthttp.RequestHandler {
	var self fasthttp.RequestHandler
	self = func(ctx *fasthttp.RequestCtx) {
		version, account, container, obj, err := SplitPath(ctx)
		if err != nil || account == "" || container == "" {
			next(ctx)
			return
		}
		method := string(ctx.Method())
		mm := string(ctx.QueryArgs().Peek("multipart-manifest"))
		if obj == "" || syncOverride(ctx) {
			next(ctx)
			return
		}
		switch {
		case method == fasthttp.MethodPut && mm == "put":
			err = p.sloPut(ctx, next, self, version, account, container, obj)
		case method == fasthttp.MethodDelete && mm == "delete":
			p.sloDelete(ctx, next, version, account, container, obj)
		case method == fasthttp.MethodGet || method == fasthttp.MethodHead:
			p.sloGetHead(ctx, next, version, account, container, obj)
		case ctx.Request.Header.Peek("X-Static-Large-Object") != nil:
			err = Errorf(fasthttp.StatusBadRequest, "X-Static-Large-Object is a reserved header. "+
				"To create a static large object add query param multipart-manifest=put.")
		default:
			next(ctx)
		}
		if err != nil {
			WriteError(ctx, err)
		}
	}
	return self
}

// sloInput is one validated entry of a manifest PUT.
type sloInput struct {
	path      string
	etag      *string
	sizeBytes *int64
	rng       *rawRange
	data      string // normalized base64 for data segments
	isData    bool
}

type rawRange struct{ start, end int64 } // -1 = absent

// parseRawRange is swob.Range's parser for "bytes=<spec>".
func parseRawRange(spec string) ([]rawRange, bool) {
	spec = strings.ReplaceAll(spec, " ", "")
	var out []rawRange
	for _, part := range strings.Split(spec, ",") {
		a, b, ok := strings.Cut(part, "-")
		if !ok {
			return nil, false
		}
		r := rawRange{-1, -1}
		if a != "" {
			v, err := strconv.ParseInt(a, 10, 64)
			if err != nil {
				return nil, false
			}
			r.start = v
		}
		if b != "" {
			if !isDigits(b) {
				return nil, false
			}
			v, err := strconv.ParseInt(b, 10, 64)
			if err != nil {
				return nil, false
			}
			if r.start >= 0 && v < r.start || a != "" && r.start < 0 {
				return nil, false
			}
			r.end = v
		} else if a == "" {
			return nil, false
		}
		out = append(out, r)
	}
	return out, true
}

// forLength is ranges_for_length of one range: [start, end) or ok=false.
func (r rawRange) forLength(n int64) (int64, int64, bool) {
	if r.start < 0 {
		if r.end == 0 {
			return 0, 0, false
		}
		if r.end > n {
			return 0, n, true
		}
		return n - r.end, n, true
	}
	if r.start >= n {
		return 0, 0, false
	}
	if r.end < 0 {
		return r.start, n, true
	}
	return r.start, min(r.end+1, n), true
}

// pyInt is Python's int() of a JSON value.
func pyInt(v any) (int64, bool) {
	switch x := v.(type) {
	case json.Number:
		if n, err := x.Int64(); err == nil {
			return n, true
		}
		f, err := x.Float64()
		if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			return 0, false
		}
		return int64(f), true
	case string:
		n, err := strconv.ParseInt(strings.ReplaceAll(strings.TrimSpace(x), "_", ""), 10, 64)
		return n, err == nil
	case bool:
		if x {
			return 1, true
		}
		return 0, true
	}
	return 0, false
}

// parseSLOInput is Swift's parse_and_validate_input.
func parseSLOInput(body []byte, version, account, reqPath string) ([]sloInput, error) {
	var raw any
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&raw); err != nil || dec.More() {
		return nil, Errorf(fasthttp.StatusBadRequest, "Manifest must be valid JSON.\n")
	}
	list, ok := raw.([]any)
	if !ok {
		return nil, Errorf(fasthttp.StatusBadRequest, "Manifest must be a list.\n")
	}
	var errs []string
	out := make([]sloInput, len(list))
	for i, item := range list {
		m, ok := item.(map[string]any)
		if !ok {
			errs = append(errs, fmt.Sprintf("Index %d: not a JSON object", i))
			continue
		}
		kind := ""
		if _, ok := m["data"]; ok {
			kind = "data"
		} else if _, ok := m["path"]; ok {
			kind = "path"
		} else {
			errs = append(errs, fmt.Sprintf("Index %d: expected keys to include one of 'data' or 'path'", i))
			continue
		}
		allowed := map[string]bool{kind: true}
		if kind == "path" {
			allowed["range"], allowed["etag"], allowed["size_bytes"] = true, true, true
		}
		var extra []string
		for k := range m {
			if !allowed[k] {
				extra = append(extra, k)
			}
		}
		if len(extra) > 0 {
			sort.Strings(extra)
			for j, k := range extra {
				extra[j] = JSONString(k)
			}
			errs = append(errs, fmt.Sprintf("Index %d: extraneous keys %s", i, strings.Join(extra, ", ")))
			continue
		}
		in := sloInput{}
		if kind == "data" {
			s, ok := m["data"].(string)
			data, err := strictB64(s)
			if !ok || err != nil {
				errs = append(errs, fmt.Sprintf("Index %d: data must be valid base64", i))
				continue
			}
			if len(data) < 1 {
				errs = append(errs, fmt.Sprintf("Index %d: too small; each segment must be at least 1 byte.", i))
				continue
			}
			in.isData, in.data = true, base64.StdEncoding.EncodeToString(data)
			out[i] = in
			continue
		}
		path, ok := m["path"].(string)
		if !ok {
			errs = append(errs, fmt.Sprintf(`Index %d: "path" must be a string`, i))
			continue
		}
		in.path = path
		if e, present := m["etag"]; present && e != nil {
			s, ok := e.(string)
			if !ok {
				errs = append(errs, fmt.Sprintf(`Index %d: "etag" must be a string or null (if provided)`, i))
				continue
			}
			in.etag = &s
		}
		if !strings.Contains(strings.Trim(path, "/"), "/") {
			errs = append(errs, fmt.Sprintf("Index %d: path does not refer to an object. Path must be of the form /container/object.", i))
			continue
		}
		if v, present := m["size_bytes"]; present && v != nil {
			n, ok := pyInt(v)
			if !ok {
				errs = append(errs, fmt.Sprintf("Index %d: invalid size_bytes", i))
				continue
			}
			if n < 1 && i != len(list)-1 {
				errs = append(errs, fmt.Sprintf("Index %d: too small; each segment must be at least 1 byte.", i))
				continue
			}
			in.sizeBytes = &n
		}
		if "/"+version+"/"+account+"/"+pyfmt.Quote(strings.TrimLeft(path, "/")) == reqPath {
			errs = append(errs, fmt.Sprintf("Index %d: manifest must not include itself as a segment", i))
			continue
		}
		if rv, present := m["range"]; present && rv != nil && rv != "" && rv != false {
			rs, ok := rv.(string)
			var rr []rawRange
			if ok {
				rr, ok = parseRawRange(rs)
			}
			if !ok {
				errs = append(errs, fmt.Sprintf("Index %d: invalid range", i))
				continue
			}
			if len(rr) > 1 {
				errs = append(errs, fmt.Sprintf("Index %d: multiple ranges (only one allowed)", i))
				continue
			}
			if in.sizeBytes != nil {
				if _, _, ok := rr[0].forLength(*in.sizeBytes); !ok {
					errs = append(errs, fmt.Sprintf("Index %d: unsatisfiable range", i))
					continue
				}
			}
			in.rng = &rr[0]
		}
		out[i] = in
	}
	allData := len(list) > 0
	for _, item := range list {
		m, ok := item.(map[string]any)
		if _, has := m["data"]; !ok || !has {
			allData = false
		}
	}
	if allData {
		errs = append(errs, "Inline data segments require at least one object-backed segment.")
	}
	if len(errs) > 0 {
		return nil, ConstraintErrorf(fasthttp.StatusBadRequest, "%s", strings.Join(errs, "\n")+"\n")
	}
	return out, nil
}

// strictB64 is Swift's strict_b64decode: standard or URL-safe alphabet,
// padding optional but no stray characters.
func strictB64(s string) ([]byte, error) {
	s = strings.TrimRight(s, "=")
	if strings.ContainsAny(s, "-_") {
		return base64.RawURLEncoding.DecodeString(s)
	}
	return base64.RawStdEncoding.DecodeString(s)
}

// sloPut serves ?multipart-manifest=put.
func (p *Proxy) sloPut(ctx *fasthttp.RequestCtx, next, self fasthttp.RequestHandler, version, account, container, obj string) error {
	h := &ctx.Request.Header
	if len(h.Peek("X-Copy-From")) > 0 {
		return Errorf(fasthttp.StatusMethodNotAllowed, "Multipart Manifest PUTs cannot be COPY requests")
	}
	n := h.ContentLength()
	if n >= 0 && !IsInternal(ctx) && !hasRawHeader(h, "content-length") || n == -2 {
		return Errorf(fasthttp.StatusLengthRequired, "")
	}
	maxSize := p.cfg.SLO.MaxManifestSize
	if n > maxSize {
		return Errorf(fasthttp.StatusRequestEntityTooLarge, "Manifest File > %d bytes", maxSize)
	}
	var body io.Reader
	if s := ctx.RequestBodyStream(); s != nil {
		body = s
	} else {
		body = bytes.NewReader(ctx.PostBody())
	}
	data, err := io.ReadAll(io.LimitReader(body, int64(maxSize)))
	if err != nil {
		return ErrClientDisconnect
	}
	reqPath := ObjectURI(version, account, container, obj)
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
	if objSegs > p.cfg.SLO.MaxManifestSegments {
		return Errorf(fasthttp.StatusRequestEntityTooLarge, "Number of object-backed segments must be <= %d", p.cfg.SLO.MaxManifestSegments)
	}
	outType, err := bestMatch(string(h.Peek("Accept")), bulkFormats)
	if err != nil || outType == "" {
		outType = "text/plain"
	}
	heartbeat := pyfmt.True(string(ctx.QueryArgs().Peek("heartbeat")))
	// Everything the PUT needs from the request, copied now: the work may
	// run after the handler returned (heartbeat).
	headers := map[string]string{}
	for k, v := range h.All() {
		headers[string(k)] = string(v)
	}
	job := &sloPutJob{p: p, ctx: ctx, next: next, self: self, version: version, account: account,
		uri: reqPath, obj: obj, input: input, headers: headers, outType: outType}
	if !heartbeat {
		job.run(nil)
		return nil
	}
	ctx.SetStatusCode(fasthttp.StatusAccepted)
	ctx.Response.Header.SetContentType(outType)
	tid, _ := ctx.UserValue(KeyTransID).(string)
	job.ctx = Detach(ctx) // ctx belongs to the server once the handler returns
	SetBodyStreamWriter(ctx, func(w *bufio.Writer) {
		defer func() {
			if r := recover(); r != nil {
				p.log.Error("panic in SLO manifest PUT", "trans_id", tid, "panic", r, "stack", string(debug.Stack()))
			}
		}()
		w.WriteString(" ")
		w.Flush()
		job.run(w)
	})
	return nil
}

type sloPutJob struct {
	p                 *Proxy
	ctx               *fasthttp.RequestCtx
	next, self        fasthttp.RequestHandler
	version, account  string
	uri, obj, outType string
	input             []sloInput
	headers           map[string]string
}

// run validates the segments and writes the manifest; w is the heartbeat
// body (nil: answer with a status).
func (j *sloPutJob) run(w *bufio.Writer) {
	ctx := j.ctx
	type headResult struct {
		code                 int
		size                 int64
		etag, ctype, lastMod string
		slo                  bool
	}
	// HEAD each distinct path, a few at a time, heartbeating meanwhile.
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
		wg.Add(1)
		go func() {
			defer wg.Done()
			for path := range work {
				uri := "/" + j.version + "/" + pyfmt.Quote(j.account) + "/" + pyfmt.Quote(strings.TrimLeft(path, "/"))
				resp := Subrequest(ctx, Lift(j.self), fasthttp.MethodHead, uri, nil)
				r := headResult{code: resp.StatusCode(), size: int64(resp.Header.ContentLength()),
					etag:    strings.ReplaceAll(string(resp.Header.Peek("Etag")), `"`, ""),
					ctype:   strings.SplitN(string(resp.Header.ContentType()), ";", 2)[0],
					lastMod: string(resp.Header.Peek("Last-Modified")),
					slo:     pyfmt.True(string(resp.Header.Peek("X-Static-Large-Object")))}
				resp.CloseBodyStream()
				mu.Lock()
				results[path] = r
				mu.Unlock()
			}
		}()
	}
	last := time.Now()
	for _, path := range paths {
		work <- path
		if w != nil && time.Since(last) > time.Duration(j.p.cfg.SLO.YieldFrequency)*time.Second {
			w.WriteString(" ")
			w.Flush()
			last = time.Now()
		}
	}
	close(work)
	wg.Wait()

	var problems [][2]string
	segs := make([]sloSeg, len(j.input))
	var total int64
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
			problems = append(problems, [2]string{name, swiftStatus(r.code)})
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
		if t, ok := ParseHTTPDate(r.lastMod); ok {
			lm = t.UTC()
		}
		segs[i] = sloSeg{Name: "/" + strings.TrimLeft(in.path, "/"), Bytes: r.size, Hash: r.etag,
			ContentType: r.ctype, LastModified: lm.Format("2006-01-02T15:04:05.000000"), Range: rng, SubSLO: r.slo}
		total += segLen
	}
	finish := func(code int, fields []bulkField, errs [][2]string) {
		if w != nil {
			w.WriteString("\r\n\r\n")
			w.Write(bulkResponseBody(j.outType, fields, errs, "upload"))
			w.Flush()
			return
		}
		ctx.SetStatusCode(code)
		ctx.Response.Header.SetContentType(j.outType)
		ctx.SetBody(bulkResponseBody(j.outType, nil, errs, "upload"))
	}
	if len(problems) > 0 {
		finish(fasthttp.StatusBadRequest, []bulkField{{"Response Status", swiftStatus(400)},
			{"Response Body", strings.Join([]string{"Bad Request", "The server could not comply with the request since it is either malformed or otherwise incorrect."}, "\n")}},
			problems)
		return
	}
	etag := sloEtag(segs)
	if ce := strings.Trim(j.headers["Etag"], `"`); ce != "" && ce != etag {
		if w != nil {
			finish(0, []bulkField{{"Response Status", swiftStatus(422)},
				{"Response Body", "Unprocessable Entity\nUnable to process the contained instructions"}}, nil)
			return
		}
		WriteStatus(ctx, fasthttp.StatusUnprocessableEntity, "")
		return
	}
	manifest := sloManifestJSON(segs)
	sum := md5.Sum(manifest)
	manifestEtag := hex.EncodeToString(sum[:])
	ctype := j.headers["Content-Type"]
	if ctype == "" {
		ctype = guessContentType(j.obj)
	}
	ctype += ";swift_bytes=" + strconv.FormatInt(total, 10)
	override := manifestEtag
	if v := j.headers[backend.OverrideEtagKey]; v != "" {
		override = v
	}
	resp := Subrequest(ctx, Lift(j.next), fasthttp.MethodPut, j.uri, func(req *fasthttp.Request) {
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
	if w == nil {
		Relay(ctx, resp)
		return
	}
	fields := []bulkField{{"Response Status", swiftStatus(resp.StatusCode())}}
	if ok {
		fields = append(fields, bulkField{"Etag", `"` + etag + `"`}, bulkField{"Last Modified", string(resp.Header.Peek("Last-Modified"))})
	}
	b, _ := io.ReadAll(ResponseBody(resp))
	resp.CloseBodyStream()
	fields = append(fields, bulkField{"Response Body", string(b)})
	finish(0, fields, nil)
}

// sloGetHead serves GET/HEAD: manifests become their segments' bytes.
func (p *Proxy) sloGetHead(ctx *fasthttp.RequestCtx, next fasthttp.RequestHandler, version, account, container, obj string) {
	args := ctx.QueryArgs()
	mget := string(args.Peek("multipart-manifest")) == "get"
	h := &ctx.Request.Header
	if !mget {
		addEtagIsAt(h, sloEtagKey)
		addIgnoreRange(h, "X-Static-Large-Object")
	}
	next(ctx)
	rh := &ctx.Response.Header
	if !pyfmt.True(string(rh.Peek("X-Static-Large-Object"))) {
		return
	}
	if mget {
		if string(args.Peek("format")) == "raw" && ctx.Response.StatusCode() == fasthttp.StatusOK {
			body, _ := io.ReadAll(ResponseBody(&ctx.Response))
			segs, _ := parseSLOManifest(body)
			raw := sloRawJSON(segs)
			sum := md5.Sum(raw)
			rh.Set("Etag", hex.EncodeToString(sum[:]))
			ctx.Response.SetBody(raw)
		} else if rh.Peek("Content-Type") != nil {
			rh.SetContentType("application/json; charset=utf-8")
		}
		return
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
		return
	}
	var body []byte
	if isHead {
		// No sysmeta (an old manifest): read it to know size and etag.
		sub := Subrequest(ctx, Lift(next), fasthttp.MethodGet, ObjectURI(version, account, container, obj)+"?multipart-manifest=get", nil)
		body, _ = io.ReadAll(io.LimitReader(ResponseBody(sub), 64<<20))
		sub.CloseBodyStream()
	} else {
		body, _ = io.ReadAll(io.LimitReader(ResponseBody(&ctx.Response), 64<<20))
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
		return
	}
	manifestPath := "/" + version + "/" + account + "/" + container + "/" + obj
	ctype := string(rh.ContentType())
	serveSegments(ctx, next, manifestPath, total, ctype, func(first, last int64) iter.Seq2[segment, error] {
		return func(yield func(segment, error) bool) {
			w := &sloWalker{ctx: ctx, next: next, version: version, account: account, manifest: manifestPath}
			w.walk(segs, first, last, 1, yield)
		}
	})
}

// sloRawJSON is the manifest as it was PUT (?format=raw): json.dumps
// with sorted keys.
func sloRawJSON(segs []sloSeg) []byte {
	var b strings.Builder
	b.WriteByte('[')
	for i, s := range segs {
		if i > 0 {
			b.WriteString(", ")
		}
		if s.IsData {
			b.WriteString(`{"data": ` + JSONString(s.Data) + "}")
			continue
		}
		b.WriteString(`{"etag": ` + JSONString(s.Hash) + `, "path": ` + JSONString(s.Name))
		if s.Range != "" {
			b.WriteString(`, "range": ` + JSONString(s.Range))
		}
		b.WriteString(`, "size_bytes": ` + strconv.FormatInt(s.Bytes, 10) + "}")
	}
	b.WriteByte(']')
	return []byte(b.String())
}

// sloWalker yields the segments covering a byte range, reading
// sub-manifests as it reaches them.
type sloWalker struct {
	ctx              *fasthttp.RequestCtx
	next             fasthttp.RequestHandler
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
	resp := Subrequest(w.ctx, Lift(w.next), fasthttp.MethodGet, uri, nil)
	defer resp.CloseBodyStream()
	body, _ := io.ReadAll(io.LimitReader(ResponseBody(resp), 64<<20))
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

// sloDelete serves ?multipart-manifest=delete: the segments (sub-manifests
// recursively), then the manifest, as a bulk delete.
func (p *Proxy) sloDelete(ctx *fasthttp.RequestCtx, next fasthttp.RequestHandler, version, account, container, obj string) {
	outType, err := bestMatch(string(ctx.Request.Header.Peek("Accept")), bulkFormats)
	if err != nil {
		outType = ""
	}
	if outType == "" {
		bulkRespond(ctx, outType, bulkDeleteFields(swiftStatus(406), notAcceptableBody, 0, 0), nil, "delete")
		return
	}
	var items []bulkItem
	versionID := string(ctx.QueryArgs().Peek("version-id"))
	queue := []bulkItem{{name: "/" + container + "/" + obj, subSLO: true, versionID: versionID}}
	for len(queue) > 0 {
		if len(queue) > p.cfg.SLO.MaxManifestSegments*10 {
			bulkRespond(ctx, outType, bulkDeleteFields(swiftStatus(400), "Too many buffered slo segments to delete.", 0, 0), nil, "delete")
			return
		}
		it := queue[0]
		queue = queue[1:]
		if !it.subSLO {
			items = append(items, it)
			continue
		}
		segs, code, msg := p.sloSegmentsOf(ctx, next, version, account, it.name)
		if code != 0 {
			it.errCode, it.errMsg = code, msg
		}
		for _, s := range segs {
			if !s.IsData {
				queue = append(queue, bulkItem{name: s.Name, subSLO: s.SubSLO})
			}
		}
		it.subSLO = false
		queue = append(queue, it)
	}
	fields, errs := p.bulkDelete(ctx, next, version, account, items, math.MaxInt, false, func() {})
	bulkRespond(ctx, outType, fields, errs, "delete")
}

// sloSegmentsOf reads the manifest /container/object; code is non-zero
// with a message when it cannot be (Swift's get_slo_segments).
func (p *Proxy) sloSegmentsOf(ctx *fasthttp.RequestCtx, next fasthttp.RequestHandler, version, account, name string) ([]sloSeg, int, string) {
	uri := "/" + version + "/" + pyfmt.Quote(account) + "/" + pyfmt.Quote(strings.TrimLeft(name, "/")) + "?multipart-manifest=get"
	if v := ctx.QueryArgs().Peek("version-id"); len(v) > 0 {
		// Swift's get_slo_segments reads every manifest at that version.
		uri += "&version-id=" + url.QueryEscape(string(v))
	}
	resp := Subrequest(ctx, Lift(next), fasthttp.MethodGet, uri, func(req *fasthttp.Request) {
		req.Header.Set("Range", "bytes=-1")
		req.Header.Set("X-Backend-Ignore-Range-If-Metadata-Present", "X-Static-Large-Object")
	})
	defer resp.CloseBodyStream()
	code := resp.StatusCode()
	switch {
	case code >= 200 && code < 300:
		if !pyfmt.True(string(resp.Header.Peek("X-Static-Large-Object"))) {
			return nil, 400, "Not an SLO manifest"
		}
		body, _ := io.ReadAll(io.LimitReader(ResponseBody(resp), 64<<20))
		segs, err := parseSLOManifest(body)
		if err != nil {
			return nil, 500, "Unable to load SLO manifest"
		}
		return segs, 0, ""
	case code == 404:
		return nil, 404, "SLO manifest not found"
	case code == 401:
		return nil, 401, "401 Unauthorized"
	}
	return nil, 500, "Unable to load SLO manifest or segment."
}
