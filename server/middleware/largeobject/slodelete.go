package largeobject

import (
	"io"
	"math"
	"net/url"
	"strings"

	"github.com/valyala/fasthttp"

	"swiftbox/server/middleware/bulk"
	"swiftbox/server/proxy"
	"swiftbox/server/pyfmt"
)

// delete serves ?multipart-manifest=delete: the segments (sub-manifests
// recursively), then the manifest, as a bulk delete (package bulk's).
func (s *slo) delete(ctx *fasthttp.RequestCtx, next proxy.Handler, version, account, container, obj string) {
	outType := bulk.Negotiate(ctx)
	if outType == "" {
		bulk.Respond(ctx, outType, bulk.DeleteFields(bulk.Status(406), bulk.NotAcceptableBody, 0, 0), nil, "delete")
		return
	}
	// queued is a name to delete; a manifest's segments are queued
	// before it.
	type queued struct {
		bulk.Item
		subSLO bool
	}
	var items []bulk.Item
	versionID := string(ctx.QueryArgs().Peek("version-id"))
	queue := []queued{{Item: bulk.Item{Name: "/" + container + "/" + obj, VersionID: versionID}, subSLO: true}}
	for len(queue) > 0 {
		if len(queue) > s.cfg.SLO.MaxManifestSegments*10 {
			bulk.Respond(ctx, outType, bulk.DeleteFields(bulk.Status(400), "Too many buffered slo segments to delete.", 0, 0), nil, "delete")
			return
		}
		it := queue[0]
		queue = queue[1:]
		if !it.subSLO {
			items = append(items, it.Item)
			continue
		}
		segs, code, msg := sloSegmentsOf(ctx, next, version, account, it.Name)
		if code != 0 {
			it.ErrCode, it.ErrMsg = code, msg
		}
		for _, seg := range segs {
			if !seg.IsData {
				queue = append(queue, queued{Item: bulk.Item{Name: seg.Name}, subSLO: seg.SubSLO})
			}
		}
		it.subSLO = false
		queue = append(queue, it)
	}
	fields, errs := bulk.Delete(ctx, next, version, account, items, bulk.DeleteOptions{MaxFailed: math.MaxInt})
	bulk.Respond(ctx, outType, fields, errs, "delete")
}

// sloSegmentsOf reads the manifest /container/object; code is non-zero
// with a message when it cannot be (Swift's get_slo_segments).
func sloSegmentsOf(ctx *fasthttp.RequestCtx, next proxy.Handler, version, account, name string) ([]sloSeg, int, string) {
	uri := "/" + version + "/" + pyfmt.Quote(account) + "/" + pyfmt.Quote(strings.TrimLeft(name, "/")) + "?multipart-manifest=get"
	if v := ctx.QueryArgs().Peek("version-id"); len(v) > 0 {
		// Swift's get_slo_segments reads every manifest at that version.
		uri += "&version-id=" + url.QueryEscape(string(v))
	}
	resp := proxy.Subrequest(ctx, next, fasthttp.MethodGet, uri, func(req *fasthttp.Request) {
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
		body, _ := io.ReadAll(io.LimitReader(proxy.ResponseBody(resp), 64<<20))
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
