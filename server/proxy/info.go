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
		"swift":    swift,
		"tempauth": map[string]any{"account_acls": true},
	}
	for name, entry := range p.infos {
		doc[name] = entry()
	}
	return doc
}

// info serves GET/HEAD/OPTIONS /info.
func (p *Proxy) info(next Handler) Handler {
	return func(ctx *fasthttp.RequestCtx) error {
		if string(ctx.Path()) != "/info" {
			return next(ctx)
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
			return MethodNotAllowedError("HEAD, GET, OPTIONS")
		}
		return nil
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
