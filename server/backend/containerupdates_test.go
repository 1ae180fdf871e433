package backend

import (
	"testing"

	"swiftbox/storage/db"
	"swiftbox/storage/timestamp"
)

// A container update survives the trip through Swift's async_pending form.
func TestAsyncPendingRoundTrip(t *testing.T) {
	ts, _ := timestamp.Parse("1700000000.12345")
	meta, _ := timestamp.Parse("1700000001.00000_0000000000000002")
	for _, row := range []db.ObjectRow{
		{Name: "a/b c☃", Timestamp: ts, Size: 42, ContentType: "text/plain", ETag: "d41d8cd98f00b204e9800998ecf8427e"},
		{Name: "gone", Timestamp: ts, Deleted: true},
		{Name: "posted", Timestamp: ts, Size: 1, ContentType: "image/png", ETag: "x", CtypeTimestamp: meta, MetaTimestamp: meta},
	} {
		ap := AsyncPendingFor("AUTH_a", "c", row.Name, row)
		if ap.Account != "AUTH_a" || ap.Container != "c" || ap.Object != row.Name {
			t.Fatalf("names: %+v", ap)
		}
		if (ap.Op == "DELETE") != row.Deleted {
			t.Fatalf("op %s for %+v", ap.Op, row)
		}
		got, err := RowFromAsyncPending(ap)
		if err != nil {
			t.Fatal(err)
		}
		if got != row {
			t.Errorf("round trip:\n got %+v\nwant %+v", got, row)
		}
	}
	if _, err := RowFromAsyncPending(AsyncPendingFor("a", "c", "o", db.ObjectRow{})); err == nil {
		// a zero timestamp is still a valid one; a missing header is not
		ap := AsyncPendingFor("a", "c", "o", db.ObjectRow{})
		delete(ap.Headers, "X-Timestamp")
		if _, err := RowFromAsyncPending(ap); err == nil {
			t.Error("an async_pending without X-Timestamp must be refused")
		}
	}
}
