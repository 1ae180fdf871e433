package proxy

import (
	"encoding/json"

	"github.com/valyala/fasthttp"
)

// swiftVersion is the Swift release whose API /info claims.
const swiftVersion = "2.30.1"

// infoDoc is the /info document: capabilities keyed by middleware name,
// exactly as Swift's register_swift_info builds them.
func (p *Proxy) infoDoc() map[string]any {
	l := p.limits
	swift := map[string]any{
		"version":                    swiftVersion,
		"strict_cors_mode":           p.cfg.CORS.StrictCORSMode,
		"allow_account_management":   false,
		"account_autocreate":         true,
		"auto_create_account_prefix": ".",
		"valid_api_versions":         []string{"v1", "v1.0"},
		"policies":                   p.policyInfo(),
		"max_file_size":              l.MaxFileSize,
		"max_meta_name_length":       l.MaxMetaNameLength,
		"max_meta_value_length":      l.MaxMetaValueLength,
		"max_meta_count":             l.MaxMetaCount,
		"max_meta_overall_size":      l.MaxMetaOverallSize,
		"max_header_size":            l.MaxHeaderSize,
		"max_object_name_length":     l.MaxObjectNameLength,
		"container_listing_limit":    l.ContainerListingLimit,
		"account_listing_limit":      l.AccountListingLimit,
		"max_account_name_length":    l.MaxAccountNameLength,
		"max_container_name_length":  l.MaxContainerNameLen,
		"extra_header_count":         l.ExtraHeaderCount,
	}
	doc := map[string]any{
		"swift":            swift,
		"tempauth":         map[string]any{"account_acls": true},
		"tempurl":          p.tempURLInfo(),
		"staticweb":        map[string]any{},
		"formpost":         p.formPostInfo(),
		"container_quotas": map[string]any{},
		"account_quotas":   map[string]any{},
		"ratelimit":        p.rateLimitInfo(),
		"crossdomain":      map[string]any{},
		"etag_quoter":      map[string]any{"enable_by_default": p.cfg.EtagQuoter.EnableByDefault},
		"container_sync":   p.containerSyncInfo(),
		"slo": map[string]any{
			"max_manifest_segments": p.cfg.SLO.MaxManifestSegments,
			"max_manifest_size":     p.cfg.SLO.MaxManifestSize,
			"yield_frequency":       p.cfg.SLO.YieldFrequency,
			"min_segment_size":      1,
			"allow_async_delete":    false,
		},
		"bulk_upload": map[string]any{
			"max_containers_per_extraction": p.cfg.Bulk.MaxContainersPerExtraction,
			"max_failed_extractions":        p.cfg.Bulk.MaxFailedExtractions,
		},
		"bulk_delete": map[string]any{
			"max_deletes_per_request": p.cfg.Bulk.MaxDeletesPerRequest,
			"max_failed_deletes":      p.cfg.Bulk.MaxFailedDeletes,
		},
		"symlink": map[string]any{"symloop_max": p.cfg.Symlink.SymloopMax, "static_links": true},
	}
	for name, entry := range p.infos {
		doc[name] = entry()
	}
	p.versioningInfoDoc(doc)
	if len(storageDomains(p.cfg.DomainRemap.StorageDomain)) > 0 {
		doc["domain_remap"] = p.domainRemapInfo()
	}
	if len(storageDomains(p.cfg.CNAMELookup.StorageDomain)) > 0 {
		doc["cname_lookup"] = p.cnameLookupInfo()
	}
	return doc
}

// versioningInfoDoc adds the versioning middlewares' entries, when on.
func (p *Proxy) versioningInfoDoc(doc map[string]any) {
	if p.cfg.Versioning.AllowVersionedWrites {
		doc["versioned_writes"] = map[string]any{"allowed_flags": []string{"x-versions-location", "x-history-location"}}
	}
	if p.cfg.Versioning.AllowObjectVersioning {
		doc["object_versioning"] = map[string]any{}
	}
}

// info serves GET/HEAD/OPTIONS /info.
func (p *Proxy) info(next fasthttp.RequestHandler) fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) {
		if string(ctx.Path()) != "/info" {
			next(ctx)
			return
		}
		switch string(ctx.Method()) {
		case fasthttp.MethodGet, fasthttp.MethodHead:
			body, _ := json.Marshal(p.infoDoc())
			ctx.Response.Header.SetContentType("application/json; charset=UTF-8")
			ctx.SetBody(body)
		case fasthttp.MethodOptions:
			ctx.Response.Header.Set("Allow", "HEAD, GET, OPTIONS")
			ctx.Response.Header.SetContentLength(0)
		default:
			ctx.Response.Header.Set("Allow", "HEAD, GET, OPTIONS")
			WriteStatus(ctx, fasthttp.StatusMethodNotAllowed, "")
		}
	}
}

// policyInfo is Swift's get_policy_info: every policy but the deprecated
// ones, with "default" and "deprecated" only where true.
func (p *Proxy) policyInfo() []map[string]any {
	out := []map[string]any{}
	for _, pol := range p.Policies() {
		if pol.Deprecated {
			continue
		}
		e := map[string]any{"name": pol.Name, "aliases": pol.AliasList()}
		if pol.Default {
			e["default"] = true
		}
		out = append(out, e)
	}
	return out
}
