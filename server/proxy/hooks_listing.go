package proxy

// ListingRow is what a container listing shows of one object; the
// hooks middlewares register may rewrite it.
type ListingRow struct {
	Hash  string // the stored etag
	Bytes int64
	// Extra is JSON fields to append (`, "key": value…`).
	Extra string
}

// ListingRowFunc rewrites a row of a listing of account (under API
// version) in place.
type ListingRowFunc func(version, account string, row *ListingRow)

// RegisterListingRow adds f to the hooks every object listing row goes
// through, in the order registered.
func (e *Env) RegisterListingRow(f ListingRowFunc) {
	e.p.listHooks = append(e.p.listHooks, f)
}

// rewriteRow runs the registered hooks over a row.
func rewriteRow(hooks []ListingRowFunc, version, account string, row *ListingRow) {
	for _, f := range hooks {
		f(version, account, row)
	}
}
