package proxy

import (
	"testing"

	"github.com/valyala/fasthttp"

	"swiftbox/storage/db"
)

// Listing hooks rewrite every object row, the filter last in the pipeline
// first (as Swift's filters see the listing response), whatever order the
// filters were built in.
func TestListingHooksOrder(t *testing.T) {
	p := &Proxy{}
	var order []string
	for _, name := range []string{"slo", "symlink", "bulk"} {
		env := &Env{p: p, name: name}
		env.RegisterListingRow(func(row *ListingRow) {
			order = append(order, name)
			row.Hash += "+" + name
			row.Bytes++
			row.Extra = append(row.Extra, `"`+name+`": true`)
		})
	}
	ctx := &fasthttp.RequestCtx{}
	ctx.Request.SetRequestURI("/v1/AUTH_a/c?format=json")
	entries := []db.ObjectEntry{{ObjectRow: db.ObjectRow{Name: "o", Size: 3, ContentType: "text/plain", ETag: "e"}}}
	writeObjectListing(ctx, "json", "c", entries, p.rowHooks)
	want := `[{"bytes": 6, "hash": "e+symlink+slo+bulk", "name": "o", "content_type": "text/plain", ` +
		`"last_modified": "1970-01-01T00:00:00.000000", "symlink": true, "slo": true, "bulk": true}]`
	if got := string(ctx.Response.Body()); got != want {
		t.Fatalf("listing\n got %s\nwant %s", got, want)
	}
	if len(order) != 3 || order[0] != "symlink" || order[1] != "slo" || order[2] != "bulk" {
		t.Fatalf("hooks ran in order %v", order)
	}
}
