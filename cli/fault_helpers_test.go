package cli_test

import (
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"io"
	"math/rand"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"swiftbox/storage"
	"swiftbox/storage/timestamp"
)

// Shared parts of the fault scenarios (fault_test.go) and the soak
// (soak_test.go): the size of a run, the result table, a plain HTTP client,
// a model of what each key may hold, and checks that read real state back
// (objects over the API, listings, the files on disk).

// faultFull selects the full-size run (`make fault`): SWIFTBOX_FAULT=full.
// Without it the scenarios run a few rounds each, inside `go test ./...`.
func faultFull() bool { return os.Getenv("SWIFTBOX_FAULT") == "full" }

// faultPick returns full in a full run, short otherwise.
func faultPick[T any](short, full T) T {
	if faultFull() {
		return full
	}
	return short
}

// faultRow is one line of the table `make fault` prints.
type faultRow struct {
	Scenario                                                        string
	Rounds, Acked, Lost, Corrupt, Mismatches, Quarantined, Repaired int
	Result                                                          string
}

var (
	faultRowsMu sync.Mutex
	faultRows   []faultRow
)

// reportFault records row and fails t when the scenario failed. problems are
// the scenario's failed checks (empty = PASS).
func reportFault(t *testing.T, row faultRow, problems []string) {
	t.Helper()
	row.Result = "PASS"
	if len(problems) > 0 {
		// The table gets the first problem, shortened; the log has all.
		first := problems[0]
		if r := []rune(first); len(r) > 110 {
			first = string(r[:110]) + "…"
		}
		row.Result = "FAIL: " + first
		if len(problems) > 1 {
			row.Result += fmt.Sprintf(" (+%d more)", len(problems)-1)
		}
		for _, p := range problems {
			t.Error(p)
		}
	}
	faultRowsMu.Lock()
	faultRows = append(faultRows, row)
	faultRowsMu.Unlock()
	t.Logf("%s: rounds %d, acked %d, lost %d, corrupt served %d, listing mismatches %d, quarantined %d, repaired %d: %s",
		row.Scenario, row.Rounds, row.Acked, row.Lost, row.Corrupt, row.Mismatches, row.Quarantined, row.Repaired, row.Result)
}

// reportSkip records a skipped scenario with its reason and skips t.
func reportSkip(t *testing.T, scenario, reason string) {
	t.Helper()
	faultRowsMu.Lock()
	faultRows = append(faultRows, faultRow{Scenario: scenario, Result: "SKIP: " + reason})
	faultRowsMu.Unlock()
	t.Skip(reason)
}

// printFaultTable writes the rows recorded so far as a table.
func printFaultTable(w io.Writer) {
	faultRowsMu.Lock()
	defer faultRowsMu.Unlock()
	if len(faultRows) == 0 {
		return
	}
	fmt.Fprintf(w, "\n%-22s | %6s | %6s | %4s | %14s | %18s | %11s | %8s | %s\n",
		"scenario", "rounds", "acked", "lost", "corrupt served", "listing mismatches", "quarantined", "repaired", "result")
	fmt.Fprintln(w, strings.Repeat("-", 130))
	for _, r := range faultRows {
		fmt.Fprintf(w, "%-22s | %6d | %6d | %4d | %14d | %18d | %11d | %8d | %s\n",
			r.Scenario, r.Rounds, r.Acked, r.Lost, r.Corrupt, r.Mismatches, r.Quarantined, r.Repaired, r.Result)
	}
	fmt.Fprintln(w)
}

// startFaultServer starts serve over devices with a config file in the
// default state dir (<devices>/.swiftbox, so the daemon commands find the
// same state with --devices alone), the user test:tester, and no access
// log, metrics or backend listener (several servers run side by side).
func startFaultServer(t *testing.T, devices, configYAML string, extra ...string) *server {
	t.Helper()
	return startFaultServerWith(t, "", devices, configYAML, extra...)
}

// startFaultServerWith is startFaultServer with shell run before serve in
// the same process (exec'd, so kill -9 reaches serve), e.g. "ulimit -n 256".
func startFaultServerWith(t *testing.T, prelude, devices, configYAML string, extra ...string) *server {
	t.Helper()
	state := filepath.Join(devices, ".swiftbox")
	if err := os.MkdirAll(state, 0o700); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(state, "config.yaml")
	if err := os.WriteFile(cfg, []byte(configYAML), 0o600); err != nil {
		t.Fatal(err)
	}
	args := append([]string{"--config", cfg, "--user", "test:tester:testing:.admin", "--access-log", "",
		"--metrics-addr", "", "--backend-addr", "", "--log-level", "warn"}, extra...)
	s := &server{t: t, Devices: devices, args: args}
	if prelude != "" {
		s.wrap = []string{"sh", "-c", prelude + `; exec "$0" "$@"`}
	}
	s.start()
	t.Cleanup(func() {
		s.Stop()
		if t.Failed() {
			out := s.Output()
			if len(out) > 6000 {
				out = "…" + out[len(out)-6000:]
			}
			t.Logf("server output:\n%s", out)
		}
	})
	return s
}

// kill9 kills the server with SIGKILL and waits for it to be gone.
func (s *server) kill9() {
	s.cmd.Process.Kill()
	<-s.done
}

// daemonOnce runs `swiftbox NAME --once` against the devices of the
// running serve, which makes the pass (cli/daemoncmds.go askServe), and
// returns its output.
func daemonOnce(t *testing.T, devices, name string) string {
	t.Helper()
	out := run(t, false, name, "--once", "--devices", devices)
	if !strings.Contains(out, "running serve") {
		t.Fatalf("%s --once did not go through the running serve:\n%s", name, out)
	}
	return out
}

// fclient is a plain HTTP client of one account's storage URL; it reads
// every body in full so a response cut short is an error, not data.
type fclient struct {
	base, token string
	hc          *http.Client
}

// newFclient authenticates test:tester on s.
func newFclient(t *testing.T, s *server, timeout time.Duration) *fclient {
	t.Helper()
	su, tok := s.token(t, "test:tester", "testing")
	return &fclient{base: su, token: tok, hc: &http.Client{Timeout: timeout, Transport: &http.Transport{MaxIdleConnsPerHost: 4}}}
}

// do sends method path (below the storage URL, already escaped) with hdr
// and body. err is a transport error or a body cut short.
func (c *fclient) do(method, path string, hdr map[string]string, body []byte) (int, http.Header, []byte, error) {
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, c.base+path, r)
	if err != nil {
		return 0, nil, nil, err
	}
	req.Header.Set("X-Auth-Token", c.token)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	if body != nil {
		req.ContentLength = int64(len(body))
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b, err
}

func objPath(container, name string) string {
	return "/" + url.PathEscape(container) + "/" + (&url.URL{Path: name}).EscapedPath()
}

// listRow is one row of a JSON container or account listing.
type listRow struct {
	Name  string `json:"name"`
	Hash  string `json:"hash"`
	Bytes int64  `json:"bytes"`
	Count int64  `json:"count"`
	// LastModified is the row's timestamp (object listings).
	LastModified string `json:"last_modified"`
	// VersionID is set in ?versions listings.
	VersionID string `json:"version_id"`
}

// list pages through a JSON listing of path ("" = the account).
func (c *fclient) list(path string) ([]listRow, error) {
	var all []listRow
	marker := ""
	for {
		st, _, b, err := c.do("GET", path+"?format=json&marker="+url.QueryEscape(marker), nil, nil)
		if err != nil {
			return nil, err
		}
		if st == 204 || st == 404 && path != "" {
			return all, nil
		}
		if st != 200 {
			return nil, fmt.Errorf("listing %q: %d %s", path, st, b)
		}
		var rows []listRow
		if err := json.Unmarshal(b, &rows); err != nil {
			return nil, fmt.Errorf("listing %q: %v", path, err)
		}
		if len(rows) == 0 {
			return all, nil
		}
		all = append(all, rows...)
		marker = rows[len(rows)-1].Name
	}
}

// bodyOf is the deterministic content of version ver of key: sizes from
// empty to 256 KiB, mostly small.
func bodyOf(key string, ver int) []byte {
	h := fnv.New64a()
	fmt.Fprintf(h, "%s#%d", key, ver)
	rng := rand.New(rand.NewSource(int64(h.Sum64())))
	var n int
	switch r := rng.Intn(20); {
	case r == 0:
		n = 0
	case r < 16:
		n = rng.Intn(8 << 10)
	default:
		n = rng.Intn(256 << 10)
	}
	b := make([]byte, n)
	rng.Read(b)
	return b
}

func md5hex(b []byte) string {
	s := md5.Sum(b)
	return hex.EncodeToString(s[:])
}

// keyState is what one key may hold: its data version (0 = absent) and
// its metadata version, as last acknowledged, plus the versions of
// requests that failed since (they may or may not have landed).
type keyState struct {
	container, name string
	data, meta      int
	pendData        []int
	pendMeta        []int
	etags           map[int]string // every data version ever sent: its MD5
}

func (k *keyState) allowedData(v int) bool { return v == k.data || slices.Contains(k.pendData, v) }
func (k *keyState) allowedMeta(v int) bool { return v == k.meta || slices.Contains(k.pendMeta, v) }

// model holds the keys of a load; each key is written by one worker at a
// time, so its acknowledged state is exact.
type model struct {
	mu    sync.Mutex
	keys  []*keyState
	acked int // acknowledged writes (PUT, POST, DELETE)
	ops   map[string]int
	codes map[int]int // statuses other than 2xx seen
}

func newModel(containers []string, perContainer int) *model {
	m := &model{ops: map[string]int{}, codes: map[int]int{}}
	for i := 0; i < perContainer; i++ {
		for _, c := range containers {
			m.keys = append(m.keys, &keyState{container: c, name: fmt.Sprintf("k%03d/obj-%d", i, i%7), etags: map[int]string{}})
		}
	}
	return m
}

// op makes one random write on key k and records its outcome.
func (m *model) op(c *fclient, k *keyState, rng *rand.Rand, ver int) {
	path := objPath(k.container, k.name)
	kind := "PUT"
	if k.data != 0 || len(k.pendData) > 0 {
		switch r := rng.Intn(100); {
		case r < 40:
			kind = "PUT"
		case r < 65:
			kind = "DELETE"
		default:
			kind = "POST"
		}
	}
	var st int
	var err error
	switch kind {
	case "PUT":
		body := bodyOf(k.container+"/"+k.name, ver)
		m.mu.Lock()
		k.etags[ver] = md5hex(body)
		m.mu.Unlock()
		st, _, _, err = c.do("PUT", path, map[string]string{"Content-Type": "application/octet-stream"}, body)
	case "DELETE":
		st, _, _, err = c.do("DELETE", path, nil, nil)
	case "POST":
		st, _, _, err = c.do("POST", path, map[string]string{"X-Object-Meta-Ver": strconv.Itoa(ver)}, []byte{})
	}
	ok := err == nil && st >= 200 && st < 300
	m.mu.Lock()
	defer m.mu.Unlock()
	m.ops[kind]++
	if err == nil && !ok {
		m.codes[st]++
	}
	switch {
	case kind == "PUT" && ok:
		k.data, k.meta, k.pendData, k.pendMeta = ver, 0, nil, nil
	case kind == "PUT":
		k.pendData, k.pendMeta = append(k.pendData, ver), append(k.pendMeta, 0)
	case kind == "DELETE" && ok:
		k.data, k.meta, k.pendData, k.pendMeta = 0, 0, nil, nil
	case kind == "DELETE":
		k.pendData = append(k.pendData, 0)
	case kind == "POST" && ok:
		k.meta, k.pendMeta = ver, nil
	case kind == "POST":
		k.pendMeta = append(k.pendMeta, ver)
	}
	if ok {
		m.acked++
	}
}

// runLoad runs workers over the model's keys (worker w owns every
// workers-th key) until stop closes.
func (m *model) runLoad(t *testing.T, s *server, workers int, seed int64, stop <-chan struct{}) *sync.WaitGroup {
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		c := newFclient(t, s, 10*time.Second)
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			rng := rand.New(rand.NewSource(seed*1000 + int64(w)))
			var mine []*keyState
			for i := w; i < len(m.keys); i += workers {
				mine = append(mine, m.keys[i])
			}
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				// Versions unique per key across rounds: seed, worker, count.
				m.op(c, mine[rng.Intn(len(mine))], rng, int(seed)<<20|i+1)
			}
		}(w)
	}
	return &wg
}

// verifyResult counts what a read-back found.
type verifyResult struct {
	lost, corrupt, stale int
	problems             []string
}

func (v *verifyResult) note(format string, args ...any) {
	if len(v.problems) < 8 {
		v.problems = append(v.problems, fmt.Sprintf(format, args...))
	}
}

// verify GETs every key and compares the bytes (by MD5 of what arrived)
// and metadata with what the model allows. A GET whose body arrives in
// full with bytes no version of the key ever had is corrupt. A state the
// model does not allow (an older version, 404 for an acknowledged write,
// an object back after an acknowledged delete) is read again with
// X-Newest: only when that is wrong too is the key lost, otherwise the
// first read was stale (one replica behind, which replication repairs).
func (m *model) verify(c *fclient) verifyResult {
	var res verifyResult
	for _, k := range m.keys {
		path := objPath(k.container, k.name)
		msg, corrupt := m.judge(c, k, path, nil)
		if corrupt {
			res.corrupt++
			res.note("%s", msg)
		}
		if msg == "" || corrupt {
			continue
		}
		msg2, corrupt2 := m.judge(c, k, path, map[string]string{"X-Newest": "true"})
		switch {
		case corrupt2:
			res.corrupt++
			res.note("%s", msg2)
		case msg2 != "":
			res.lost++
			res.note("%s", msg2)
		default:
			res.stale++
		}
	}
	return res
}

// judge GETs key k and says what is wrong with the answer ("" = nothing),
// and whether it is corrupt bytes served in full.
func (m *model) judge(c *fclient, k *keyState, path string, hdr map[string]string) (string, bool) {
	var st int
	var rh http.Header
	var body []byte
	var err error
	for try := 0; try < 5; try++ { // a transport error or 5xx is retried
		if st, rh, body, err = c.do("GET", path, hdr, nil); err == nil && st < 500 {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	switch {
	case err != nil || st != 200 && st != 404:
		return fmt.Sprintf("GET %s/%s: %d %v", k.container, k.name, st, err), false
	case st == 404:
		if !k.allowedData(0) {
			return fmt.Sprintf("GET %s/%s: 404, acknowledged version %d", k.container, k.name, k.data), false
		}
		return "", false
	}
	sum, known := md5hex(body), false
	for v, e := range k.etags {
		if e != sum {
			continue
		}
		known = true
		if k.allowedData(v) {
			mv, _ := strconv.Atoi(rh.Get("X-Object-Meta-Ver"))
			if !k.allowedMeta(mv) {
				return fmt.Sprintf("GET %s/%s: metadata version %d, acknowledged %d (pending %v)", k.container, k.name, mv, k.meta, k.pendMeta), false
			}
			return "", false
		}
	}
	if !known {
		return fmt.Sprintf("GET %s/%s: 200 with %d bytes no version had (etag header %s)", k.container, k.name, len(body), rh.Get("Etag")), true
	}
	return fmt.Sprintf("GET %s/%s: a version not acknowledged (acknowledged %d, pending %v)", k.container, k.name, k.data, k.pendData), false
}

// diskObj is the newest state of one object on disk, over every device.
type diskObj struct {
	name, ts string // name /a/c/o; ts the newest .data or .ts timestamp (or a newer .meta's)
	dataTS   string // the newest .data or .ts timestamp
	deleted  bool
	etag     string
	size     int64
	replicas []string // the .data files with that timestamp
}

// diskState reads every device's object files and returns the newest
// state of each object by name. Files that vanish meanwhile (a daemon at
// work) are skipped.
func diskState(t *testing.T, devices string) map[string]*diskObj {
	t.Helper()
	type cand struct {
		path, stem string
		ts         bool
	}
	newest := map[string][]cand{} // by hash
	newestMeta := map[string]string{}
	devs, _ := os.ReadDir(devices)
	for _, d := range devs {
		if !d.IsDir() || strings.HasPrefix(d.Name(), ".") {
			continue
		}
		pols, _ := filepath.Glob(filepath.Join(devices, d.Name(), "objects*"))
		for _, pol := range pols {
			hashes, _ := filepath.Glob(filepath.Join(pol, "*", "*", "*"))
			for _, hd := range hashes {
				files, _ := os.ReadDir(hd)
				h := filepath.Base(hd)
				for _, f := range files {
					n := f.Name()
					ext := filepath.Ext(n)
					if ext == ".meta" { // "<ts>.meta" or "<ts>±<ctype delta>.meta"
						stem, _, _ := strings.Cut(strings.ReplaceAll(strings.TrimSuffix(n, ext), "+", "-"), "-")
						newestMeta[h] = max(newestMeta[h], stem)
					}
					if ext != ".data" && ext != ".ts" {
						continue
					}
					c := cand{path: filepath.Join(hd, n), stem: strings.TrimSuffix(n, ext), ts: ext == ".ts"}
					cur := newest[h]
					switch {
					case len(cur) == 0 || c.stem > cur[0].stem:
						newest[h] = []cand{c}
					case c.stem == cur[0].stem:
						newest[h] = append(cur, c)
					}
				}
			}
		}
	}
	store := storage.NewObjectStore(storage.ObjectStoreConfig{DevicesDir: devices})
	out := map[string]*diskObj{}
	for h, cs := range newest {
		o := &diskObj{ts: cs[0].stem, dataTS: cs[0].stem, deleted: cs[0].ts}
		if !o.deleted && newestMeta[h] > o.ts { // a POST's time is the object's (fast-POST)
			o.ts = newestMeta[h]
		}
		for _, c := range cs {
			md, err := store.FileMetadata(c.path)
			if err != nil {
				continue
			}
			o.name = md["name"]
			if !c.ts {
				o.etag = strings.ToLower(md["ETag"])
				o.size, _ = strconv.ParseInt(md["Content-Length"], 10, 64)
				o.replicas = append(o.replicas, c.path)
			}
		}
		if o.name != "" {
			out[o.name] = o
		}
	}
	return out
}

// timeOnly marks a listing mismatch in the row's time alone (the ETag
// and size are right; e.g. a POST's update missing).
const timeOnly = "time only"

// timeOnlyCount counts the mismatches in the row's time alone.
func timeOnlyCount(bad map[string]string) int {
	n := 0
	for _, v := range bad {
		if strings.Contains(v, timeOnly) {
			n++
		}
	}
	return n
}

// listingTime is how a listing shows the on-disk timestamp ts.
func listingTime(ts string) string {
	t, err := timestamp.Parse(ts)
	if err != nil {
		return "bad timestamp " + ts
	}
	return t.Time().UTC().Format("2006-01-02T15:04:05.000000")
}

// listingMismatches compares the listing of each container with the
// newest state on disk: a row per live object with its ETag, size and
// timestamp, and
// no row for an object deleted or not on disk. It returns one line per
// wrong row, keyed container/name.
func listingMismatches(c *fclient, account string, containers []string, disk map[string]*diskObj) (map[string]string, error) {
	bad := map[string]string{}
	for _, cn := range containers {
		rows, err := c.list("/" + url.PathEscape(cn))
		if err != nil {
			return nil, err
		}
		listed := map[string]listRow{}
		for _, r := range rows {
			listed[r.Name] = r
		}
		prefix := "/" + account + "/" + cn + "/"
		for name, o := range disk {
			obj, ok := strings.CutPrefix(name, prefix)
			if !ok {
				continue
			}
			r, isListed := listed[obj]
			delete(listed, obj)
			switch {
			case o.deleted && isListed:
				bad[cn+"/"+obj] = fmt.Sprintf("%s/%s listed (etag %s) but deleted on disk at %s", cn, obj, r.Hash, o.ts)
			case !o.deleted && !isListed:
				bad[cn+"/"+obj] = fmt.Sprintf("%s/%s on disk (%s) but not listed", cn, obj, o.ts)
			case !o.deleted && (r.Hash != o.etag || r.Bytes != o.size):
				bad[cn+"/"+obj] = fmt.Sprintf("%s/%s listed with etag %s, %d bytes, %s; disk has %s, %d bytes, %s",
					cn, obj, r.Hash, r.Bytes, r.LastModified, o.etag, o.size, listingTime(o.ts))
			case !o.deleted && r.LastModified != listingTime(o.ts):
				bad[cn+"/"+obj] = fmt.Sprintf("%s/%s listed at %s, the newest replica is of %s (%s): %s",
					cn, obj, r.LastModified, listingTime(o.ts), timeOnly, o.ts)
			}
		}
		for obj := range listed {
			bad[cn+"/"+obj] = fmt.Sprintf("%s/%s listed but not on disk", cn, obj)
		}
	}
	return bad, nil
}

// accountMismatches compares each account listing row and the account's
// totals with the containers themselves (HEAD and listing); want, when
// not nil, is the exact set of containers that must be listed (true) or
// may be (false: a request about it failed). totals compares the
// account's HEAD with the sum of the rows (not with hidden containers,
// e.g. of object versioning, which count there but are not listed).
func accountMismatches(c *fclient, want map[string]bool, totals bool) []string {
	var bad []string
	rows, err := c.list("")
	if err != nil {
		return []string{err.Error()}
	}
	var count, bytesUsed int64
	seen := map[string]bool{}
	for _, r := range rows {
		seen[r.Name] = true
		count += r.Count
		bytesUsed += r.Bytes
		if _, ok := want[r.Name]; want != nil && !ok {
			bad = append(bad, fmt.Sprintf("account lists container %s (count %d, bytes %d) that does not exist", r.Name, r.Count, r.Bytes))
			continue
		}
		objs, err := c.list("/" + url.PathEscape(r.Name))
		if err != nil {
			bad = append(bad, err.Error())
			continue
		}
		var n, b int64
		for _, o := range objs {
			n++
			b += o.Bytes
		}
		st, h, _, err := c.do("HEAD", "/"+url.PathEscape(r.Name), nil, nil)
		hc, _ := strconv.ParseInt(h.Get("X-Container-Object-Count"), 10, 64)
		hb, _ := strconv.ParseInt(h.Get("X-Container-Bytes-Used"), 10, 64)
		if strings.EqualFold(h.Get("X-Versions-Enabled"), "true") {
			b = hb // old versions count in bytes used, not in the listing
		}
		if err != nil || st/100 != 2 || r.Count != n || r.Bytes != b || hc != n || hb != b {
			bad = append(bad, fmt.Sprintf("container %s: account row %d objects/%d bytes, HEAD %d %v/%d/%d, listing %d/%d",
				r.Name, r.Count, r.Bytes, st, err, hc, hb, n, b))
		}
	}
	for name, must := range want {
		if must && !seen[name] {
			bad = append(bad, fmt.Sprintf("container %s exists but is not in the account listing", name))
		}
	}
	if !totals {
		return bad
	}
	st, h, _, err := c.do("HEAD", "", nil, nil)
	ac, _ := strconv.ParseInt(h.Get("X-Account-Container-Count"), 10, 64)
	ao, _ := strconv.ParseInt(h.Get("X-Account-Object-Count"), 10, 64)
	ab, _ := strconv.ParseInt(h.Get("X-Account-Bytes-Used"), 10, 64)
	if err != nil || st/100 != 2 || ac != int64(len(rows)) || ao != count || ab != bytesUsed {
		bad = append(bad, fmt.Sprintf("account HEAD %d %v: %d containers, %d objects, %d bytes; rows sum to %d, %d, %d",
			st, err, ac, ao, ab, len(rows), count, bytesUsed))
	}
	return bad
}

// settle retries check until it finds nothing or within is over (account
// rows follow container changes asynchronously) and returns its last
// findings.
func settle(within time.Duration, check func() []string) []string {
	deadline := time.Now().Add(within)
	for {
		bad := check()
		if len(bad) == 0 || time.Now().After(deadline) {
			return bad
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// quarantinedCount counts quarantined items of kind (objects, containers,
// accounts) on every device.
func quarantinedCount(devices, kind string) int {
	n := 0
	devs, _ := os.ReadDir(devices)
	for _, d := range devs {
		ents, _ := os.ReadDir(filepath.Join(devices, d.Name(), "quarantined", kind))
		n += len(ents)
	}
	return n
}

// flipBytes overwrites n bytes of path at off with their complement.
func flipBytes(path string, off int64, n int) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	b := make([]byte, n)
	if _, err := f.ReadAt(b, off); err != nil {
		return err
	}
	for i := range b {
		b[i] = ^b[i]
	}
	_, err = f.WriteAt(b, off)
	return err
}

// firstLines joins at most n of lines (sorted) for a message.
func firstLines(lines []string, n int) string {
	sort.Strings(lines)
	if len(lines) > n {
		return strings.Join(lines[:n], "; ") + fmt.Sprintf(" (and %d more)", len(lines)-n)
	}
	return strings.Join(lines, "; ")
}

func mapValues(m map[string]string) []string {
	var out []string
	for _, v := range m {
		out = append(out, v)
	}
	return out
}
