package proxy

import "strings"

// Middlewares that store something in an object's listed etag (SLO's
// "; slo_etag=…", symlink's "; symlink_target=…") rewrite the container
// listing rows, as Swift's middlewares rewrite listing responses: each
// registers a ListingHook, and the core runs them on every object row
// before rendering it.

// ListingRow is one object row of a container listing, as the hooks may
// rewrite it.
type ListingRow struct {
	// Version and Account are the listing request's.
	Version, Account string
	// Hash is the etag listed ("hash" in JSON and XML).
	Hash string
	// Bytes is the size listed.
	Bytes int64
	// Extra are JSON members added after "last_modified", in order, each
	// `"key": value` (JSON listings only, as Swift's).
	Extra []string
}

// ListingHook rewrites one listing row in place.
type ListingHook func(row *ListingRow)

// listingHooks are the registered hooks by filter name.
type listingHooks map[string]ListingHook

// RegisterListingRow has h rewrite every object row of container listings
// (one hook a filter: a second registration replaces the first). Hooks
// run as Swift's filters see a listing response: the filter last in the
// pipeline first.
func (e *Env) RegisterListingRow(h ListingHook) {
	if e.p.rowHooks == nil {
		e.p.rowHooks = listingHooks{}
	}
	e.p.rowHooks[e.name] = h
}

// rewrite runs the hooks on row.
func (hs listingHooks) rewrite(row *ListingRow) {
	if len(hs) == 0 {
		return
	}
	for i := len(pipelineOrder) - 1; i >= 0; i-- {
		if h := hs[pipelineOrder[i]]; h != nil {
			h(row)
		}
	}
}

// extraJSON is the row's extra members as they follow last_modified.
func (r *ListingRow) extraJSON() string {
	if len(r.Extra) == 0 {
		return ""
	}
	return ", " + strings.Join(r.Extra, ", ")
}
