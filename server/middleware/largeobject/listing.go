package largeobject

import (
	"strings"

	"swiftbox/server/proxy"
)

// sloListingRow shows a manifest's large-object etag, which the manifest
// PUT stored as an "; slo_etag=X" parameter of its listed etag, in its
// own "slo_etag" field, as Swift's slo rewrites container listings.
func sloListingRow(row *proxy.ListingRow) {
	etag, slo := splitSLOEtag(row.Hash)
	if slo == "" {
		return
	}
	row.Hash = etag
	row.Extra = append(row.Extra, `"slo_etag": `+proxy.JSONString(`"`+slo+`"`))
}

// splitSLOEtag takes the "; slo_etag=X" parameter SLO adds to a
// manifest's listed etag off, as the slo middleware rewrites listings.
func splitSLOEtag(etag string) (string, string) {
	base, params, ok := strings.Cut(etag, ";")
	if !ok {
		return etag, ""
	}
	slo := ""
	var keep []string
	for _, p := range strings.Split(params, ";") {
		k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
		if k == "slo_etag" {
			slo = v
			continue
		}
		if strings.TrimSpace(p) != "" {
			keep = append(keep, strings.TrimSpace(p))
		}
	}
	if slo == "" {
		return etag, ""
	}
	out := strings.TrimSpace(base)
	for _, p := range keep {
		out += "; " + p
	}
	return out, slo
}
