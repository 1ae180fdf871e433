package db

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"sort"
	"testing"
)

func TestContainerCreateDeleteRecreate(t *testing.T) {
	s, _ := newTestStore(t, 0)
	const a, c = "AUTH_a", "c"

	created, err := s.CreateContainer(dev, 1, a, c, ts(10), 2, nil)
	if err != nil || !created {
		t.Fatalf("first PUT: created=%v err=%v, want 201", created, err)
	}
	created, err = s.CreateContainer(dev, 1, a, c, ts(11), -1, nil)
	if err != nil || created {
		t.Fatalf("second PUT: created=%v err=%v, want 202", created, err)
	}
	if _, err := s.CreateContainer(dev, 1, a, c, ts(12), 1, nil); !errors.Is(err, ErrConflict) {
		t.Fatalf("PUT with another policy: %v, want ErrConflict", err)
	}
	info, err := s.ContainerInfo(dev, 1, a, c)
	if err != nil || info.PutTimestamp != ts(11) || info.StoragePolicy != 2 || info.Account != a || info.Container != c {
		t.Fatalf("info %+v %v", info, err)
	}
	// An older PUT keeps the newer put timestamp.
	if _, err := s.CreateContainer(dev, 1, a, c, ts(5), 2, nil); err != nil {
		t.Fatal(err)
	}
	if info, _ := s.ContainerInfo(dev, 1, a, c); info.PutTimestamp != ts(11) {
		t.Fatalf("put timestamp went back to %v", info.PutTimestamp)
	}

	if err := s.PutObjectRow(dev, 1, a, c, ObjectRow{Name: "o", Timestamp: ts(20), Size: 3}); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteContainer(dev, 1, a, c, ts(21)); !errors.Is(err, ErrNotEmpty) {
		t.Fatalf("DELETE non-empty: %v, want ErrNotEmpty", err)
	}
	if err := s.PutObjectRow(dev, 1, a, c, ObjectRow{Name: "o", Timestamp: ts(22), Deleted: true}); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteContainer(dev, 1, a, c, ts(9)); !errors.Is(err, ErrConflict) {
		t.Fatalf("DELETE older than PUT: %v, want ErrConflict", err)
	}
	if err := s.DeleteContainer(dev, 1, a, c, ts(30)); err != nil {
		t.Fatalf("DELETE: %v", err)
	}
	info, err = s.ContainerInfo(dev, 1, a, c)
	if !errors.Is(err, ErrNotFound) || !info.Deleted || info.DeleteTimestamp != ts(30) || info.StatusChangedAt != ts(30) {
		t.Fatalf("deleted info %+v %v", info, err)
	}
	if err := s.DeleteContainer(dev, 1, a, c, ts(31)); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second DELETE: %v, want ErrNotFound", err)
	}
	// Rows survive the delete for replication.
	rows, _, err := s.ObjectRowsSince(dev, 1, a, c, 0, 10)
	if err != nil || len(rows) != 1 || !rows[0].Deleted {
		t.Fatalf("rows after delete: %+v %v", rows, err)
	}
	// A PUT older than the delete cannot resurrect it.
	if _, err := s.CreateContainer(dev, 1, a, c, ts(25), 0, nil); !errors.Is(err, ErrConflict) {
		t.Fatalf("PUT older than DELETE: %v, want ErrConflict", err)
	}
	created, err = s.CreateContainer(dev, 1, a, c, ts(40), 1, nil)
	if err != nil || !created {
		t.Fatalf("re-PUT: created=%v err=%v, want 201", created, err)
	}
	info, err = s.ContainerInfo(dev, 1, a, c)
	if err != nil || info.StoragePolicy != 1 || info.StatusChangedAt != ts(40) || info.Deleted {
		t.Fatalf("recreated info %+v %v", info, err)
	}
	if err := s.DeleteContainer(dev, 1, "AUTH_a", "never", ts(1)); !errors.Is(err, ErrNotFound) {
		t.Fatalf("DELETE missing: %v", err)
	}
}

func TestContainerMetadataMerge(t *testing.T) {
	s, _ := newTestStore(t, 0)
	const a, c = "AUTH_a", "c"
	_, err := s.CreateContainer(dev, 1, a, c, ts(10), 0, Metadata{
		"X-Container-Meta-Color": {"red", ts(10)},
		"X-Container-Read":       {".r:*", ts(10)},
	})
	if err != nil {
		t.Fatal(err)
	}
	err = s.UpdateContainerMetadata(dev, 1, a, c, Metadata{
		"X-Container-Meta-Color": {"blue", ts(12)},
		"X-Container-Read":       {"", ts(12)},
		"X-Versions-Location":    {"old", ts(9)},
	})
	if err != nil {
		t.Fatal(err)
	}
	// Older updates lose, including an older delete.
	err = s.UpdateContainerMetadata(dev, 1, a, c, Metadata{
		"X-Container-Meta-Color": {"green", ts(11)},
		"X-Container-Read":       {"AUTH_b", ts(11)},
	})
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.ContainerInfo(dev, 1, a, c)
	if err != nil {
		t.Fatal(err)
	}
	want := Metadata{"X-Container-Meta-Color": {"blue", ts(12)}, "X-Versions-Location": {"old", ts(9)}}
	if fmt.Sprint(info.Metadata) != fmt.Sprint(want) {
		t.Fatalf("metadata %v, want %v", info.Metadata, want)
	}
	// A PUT on a live container merges its metadata too.
	if _, err := s.CreateContainer(dev, 1, a, c, ts(13), 0, Metadata{"X-Container-Read": {".r:*", ts(13)}}); err != nil {
		t.Fatal(err)
	}
	info, _ = s.ContainerInfo(dev, 1, a, c)
	if info.Metadata["X-Container-Read"].Value != ".r:*" {
		t.Fatalf("metadata after PUT %v", info.Metadata)
	}
	// DELETE clears metadata; a recreate starts without the old items.
	if err := s.DeleteContainer(dev, 1, a, c, ts(20)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateContainer(dev, 1, a, c, ts(21), 0, nil); err != nil {
		t.Fatal(err)
	}
	info, _ = s.ContainerInfo(dev, 1, a, c)
	if len(info.Metadata) != 0 {
		t.Fatalf("metadata survived delete: %v", info.Metadata)
	}
}

// TestObjectRowMergeModel applies random PUT/DELETE rows in random order
// (so many arrive older than what is stored) and checks every count and
// row against a model that keeps the newest update per name.
func TestObjectRowMergeModel(t *testing.T) {
	s, _ := newTestStore(t, 0)
	const a, c = "AUTH_a", "c"
	mustCreateContainer(t, s, c)
	rng := rand.New(rand.NewPCG(1, 2))
	model := map[string]ObjectRow{}
	for i := range 1200 {
		r := ObjectRow{
			Name:        fmt.Sprintf("obj%02d", rng.IntN(40)),
			Timestamp:   ts(100 + rng.IntN(5000)),
			ContentType: "text/plain",
		}
		if rng.IntN(3) == 0 {
			r.Deleted, r.ContentType, r.ETag = true, "application/deleted", "noetag"
		} else {
			r.Size = int64(rng.IntN(1000))
			r.ETag = fmt.Sprintf("etag%d", i)
		}
		var err error
		if i%7 == 0 {
			err = s.MergeObjectRows(dev, 1, a, c, []ObjectRow{r, r})
		} else {
			err = s.PutObjectRow(dev, 1, a, c, r)
		}
		if err != nil {
			t.Fatal(err)
		}
		if old, ok := model[r.Name]; !ok || r.Timestamp.After(old.Timestamp) {
			model[r.Name] = r
		}
	}
	var count, bytes int64
	var live, all []string
	for name, r := range model {
		all = append(all, name)
		if !r.Deleted {
			count++
			bytes += r.Size
			live = append(live, name)
		}
	}
	sort.Strings(live)
	sort.Strings(all)
	info, err := s.ContainerInfo(dev, 1, a, c)
	if err != nil || info.ObjectCount != count || info.BytesUsed != bytes {
		t.Fatalf("info %d/%d (%v), model %d/%d", info.ObjectCount, info.BytesUsed, err, count, bytes)
	}
	got, err := s.ListObjects(dev, 1, a, c, ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if names(got) != fmt.Sprint(live) {
		t.Fatalf("live listing %s, want %v", names(got), live)
	}
	for _, e := range got {
		m := model[e.Name]
		if e.Size != m.Size || e.ETag != m.ETag || e.Timestamp != m.Timestamp || e.MetaTimestamp != m.Timestamp {
			t.Fatalf("row %+v, model %+v", e.ObjectRow, m)
		}
	}
	got, err = s.ListObjects(dev, 1, a, c, ListOptions{IncludeDeleted: true})
	if err != nil || names(got) != fmt.Sprint(all) {
		t.Fatalf("listing with deleted %s (%v), want %v", names(got), err, all)
	}
	for _, e := range got {
		if e.Deleted != model[e.Name].Deleted {
			t.Fatalf("%s deleted=%v", e.Name, e.Deleted)
		}
	}
	if err := s.Check(s.FileOf(KindContainers, dev, 1, a, c)); err != nil {
		t.Fatal(err)
	}
	// The change log holds each name once, in change order, in pages.
	var since []string
	var after uint64
	for {
		rows, last, err := s.ObjectRowsSince(dev, 1, a, c, after, 7)
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) == 0 {
			break
		}
		if last <= after {
			t.Fatalf("change number went from %d to %d", after, last)
		}
		after = last
		for _, r := range rows {
			since = append(since, r.Name)
		}
	}
	sort.Strings(since)
	if fmt.Sprint(since) != fmt.Sprint(all) {
		t.Fatalf("rows since 0: %v, want %v", since, all)
	}
}

func names(es []ObjectEntry) string {
	var out []string
	for _, e := range es {
		if e.Subdir != "" {
			out = append(out, "sub:"+e.Subdir)
		} else {
			out = append(out, e.Name)
		}
	}
	return fmt.Sprint(out)
}

func TestObjectRowContentTypeAndMetaTimestamps(t *testing.T) {
	s, _ := newTestStore(t, 0)
	const a, c = "AUTH_a", "c"
	mustCreateContainer(t, s, c)
	put := func(r ObjectRow) {
		t.Helper()
		if err := s.PutObjectRow(dev, 1, a, c, r); err != nil {
			t.Fatal(err)
		}
	}
	get := func() ObjectRow {
		t.Helper()
		es, err := s.ListObjects(dev, 1, a, c, ListOptions{})
		if err != nil || len(es) != 1 {
			t.Fatalf("%v %v", es, err)
		}
		return es[0].ObjectRow
	}
	put(ObjectRow{Name: "o", Timestamp: ts(10), Size: 5, ContentType: "text/plain;swift_bytes=99", ETag: "e1"})
	// A POST changing content type and metadata, then a late-arriving
	// older POST that must not win.
	put(ObjectRow{Name: "o", Timestamp: ts(10), Size: 5, ContentType: "image/png", ETag: "e1",
		CtypeTimestamp: ts(12), MetaTimestamp: ts(13)})
	put(ObjectRow{Name: "o", Timestamp: ts(10), Size: 5, ContentType: "text/html", ETag: "e1",
		CtypeTimestamp: ts(11), MetaTimestamp: ts(11)})
	r := get()
	if r.ContentType != "image/png;swift_bytes=99" || r.CtypeTimestamp != ts(12) || r.MetaTimestamp != ts(13) || r.Timestamp != ts(10) {
		t.Fatalf("after POSTs: %+v", r)
	}
	// A newer PUT replaces the data, keeps nothing from before.
	put(ObjectRow{Name: "o", Timestamp: ts(20), Size: 7, ContentType: "a/b", ETag: "e2"})
	r = get()
	if r.ContentType != "a/b" || r.Size != 7 || r.ETag != "e2" || r.MetaTimestamp != ts(20) {
		t.Fatalf("after PUT: %+v", r)
	}
	info, _ := s.ContainerInfo(dev, 1, a, c)
	if info.ObjectCount != 1 || info.BytesUsed != 7 {
		t.Fatalf("counts %d/%d", info.ObjectCount, info.BytesUsed)
	}
	// A DELETE at the same timestamp as the PUT loses (existing wins ties).
	put(ObjectRow{Name: "o", Timestamp: ts(20), Deleted: true})
	if r := get(); r.Deleted {
		t.Fatal("tie went to the DELETE")
	}
}

func TestExtractSwiftBytes(t *testing.T) {
	for _, tc := range []struct{ in, ct, sb string }{
		{"text/plain", "text/plain", ""},
		{"text/plain;swift_bytes=10", "text/plain", "10"},
		{"text/plain;swift_bytes=10;charset=utf-8", "text/plain;charset=utf-8", "10"},
	} {
		ct, sb := extractSwiftBytes(tc.in)
		if ct != tc.ct || sb != tc.sb {
			t.Errorf("extractSwiftBytes(%q) = %q, %q", tc.in, ct, sb)
		}
	}
}
