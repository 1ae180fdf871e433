package cli_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ncw/swift/v2"
	"github.com/pkg/xattr"

	"swiftbox/storage/pickle"
	"swiftbox/storage/timestamp"
)

// Kill -9 during concurrent uploads, 20 times: every object acknowledged
// with 201 reads back byte-identical after restart and is in the listing;
// no temp files are left behind and no async_pendings remain.
func TestKillDuringUploadsLosesNothingAcknowledged(t *testing.T) {
	dev := t.TempDir()
	s := startServer(t, dev, "--user", "test:tester:testing:.admin")
	ctx := context.Background()
	c := s.conn(t, "test:tester", "testing")
	if err := c.ContainerCreate(ctx, "crash", nil); err != nil {
		t.Fatal(err)
	}
	acked := map[string][]byte{}
	var mu sync.Mutex
	rng := rand.New(rand.NewSource(1))
	const rounds = 20
	for round := 0; round < rounds; round++ {
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for w := 0; w < 8; w++ {
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				conn := &swift.Connection{UserName: "test:tester", ApiKey: "testing", AuthUrl: s.AuthURL(), Timeout: 10 * time.Second, Retries: 0}
				if conn.Authenticate(ctx) != nil {
					return
				}
				for i := 0; ; i++ {
					select {
					case <-stop:
						return
					default:
					}
					name := fmt.Sprintf("r%d/w%d/o%d", round, w, i)
					body := bytes.Repeat([]byte(name), 1+i%500)
					if _, err := conn.ObjectPut(ctx, "crash", name, bytes.NewReader(body), true, "", "", nil); err == nil {
						mu.Lock()
						acked[name] = body
						mu.Unlock()
					}
				}
			}(w)
		}
		time.Sleep(time.Duration(150+rng.Intn(500)) * time.Millisecond)
		s.cmd.Process.Kill()
		<-s.done
		close(stop)
		wg.Wait()
		s.start()
	}
	c = s.conn(t, "test:tester", "testing")
	names, err := c.ObjectNamesAll(ctx, "crash", nil)
	if err != nil {
		t.Fatal(err)
	}
	listed := map[string]bool{}
	for _, n := range names {
		listed[n] = true
	}
	var missing []string
	for name, body := range acked {
		got, err := c.ObjectGetBytes(ctx, "crash", name)
		if err != nil || !bytes.Equal(got, body) {
			t.Errorf("acknowledged %s: read back %d bytes, err %v", name, len(got), err)
		}
		if !listed[name] {
			missing = append(missing, name)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("%d acknowledged objects missing from the listing, e.g. %v", len(missing), missing[:min(5, len(missing))])
	}
	if left := tmpFiles(t, dev); len(left) > 0 {
		t.Errorf("temp files left after restart: %v", left)
	}
	if left := findFiles(t, dev, ".async"); len(left) > 0 {
		t.Errorf("async_pendings left after restart: %v", left)
	}
	pending := 0
	for _, d := range []string{"d1", "d2", "d3"} {
		ents, _ := os.ReadDir(filepath.Join(dev, d, "async_pending"))
		for _, e := range ents {
			sub, _ := os.ReadDir(filepath.Join(dev, d, "async_pending", e.Name()))
			pending += len(sub)
		}
	}
	if pending > 0 {
		t.Errorf("%d async_pendings not drained after restart", pending)
	}
	t.Logf("%d objects acknowledged across %d kills, all intact and listed, 0 lost", len(acked), rounds)
}

// crashRounds is the number of kill -9 rounds of the overwrite/delete
// crash test: SWIFTBOX_CRASH_ROUNDS, else a few for `make test`.
func crashRounds(t *testing.T, short int) int {
	if v := os.Getenv("SWIFTBOX_CRASH_ROUNDS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("SWIFTBOX_CRASH_ROUNDS=%q: want a positive number", v)
		}
		return n
	}
	return short
}

// diskObject is the newest state of one object across every device.
type diskObject struct {
	ts      timestamp.Timestamp
	deleted bool
	etag    string
	size    int64
}

// newestOnDisk reads every hash directory under devices and returns the
// newest .data or .ts of each object, by name ("/a/c/o").
func newestOnDisk(t *testing.T, devices string) map[string]diskObject {
	t.Helper()
	out := map[string]diskObject{}
	hashDirs, _ := filepath.Glob(filepath.Join(devices, "*", "objects", "*", "*", "*"))
	for _, hd := range hashDirs {
		ents, err := os.ReadDir(hd)
		if err != nil {
			continue
		}
		var best string
		var bestTS timestamp.Timestamp
		for _, e := range ents {
			ext := filepath.Ext(e.Name())
			if ext != ".data" && ext != ".ts" {
				continue
			}
			ts, err := timestamp.Parse(strings.TrimSuffix(e.Name(), ext))
			if err == nil && (best == "" || ts.After(bestTS)) {
				best, bestTS = e.Name(), ts
			}
		}
		if best == "" {
			continue
		}
		p := filepath.Join(hd, best)
		raw, err := xattr.Get(p, "user.swift.metadata")
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		md, err := pickle.UnmarshalStringMap(raw)
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		d := diskObject{ts: bestTS, deleted: filepath.Ext(best) == ".ts"}
		if !d.deleted {
			body, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			sum := md5.Sum(body)
			d.etag, d.size = hex.EncodeToString(sum[:]), int64(len(body))
		}
		if prev, ok := out[md["name"]]; !ok || d.ts.After(prev.ts) {
			out[md["name"]] = d
		}
	}
	return out
}

// Kill -9 under overwrite and delete load, many times — every other time
// at the moment an object's file has just been renamed into place: after the restart
// (which replays the update journals and makes one updater pass) every
// container listing row equals the newest state on disk — name, etag,
// size and timestamp, deleted objects absent — and the disk holds, for
// every object, its last acknowledged state or a later unacknowledged one.
func TestKillDuringOverwritesListingMatchesDisk(t *testing.T) {
	rounds := crashRounds(t, 8)
	dev := t.TempDir()
	s := startServer(t, dev, "--user", "test:tester:testing:.admin")
	ctx := context.Background()
	c := s.conn(t, "test:tester", "testing")
	if err := c.ContainerCreate(ctx, "crash", nil); err != nil {
		t.Fatal(err)
	}
	const workers = 8
	m := &overwriteModel{possible: map[string]map[string]bool{}}
	selfKilled := 0
	rng := rand.New(rand.NewSource(2))
	// Every other round ends at a failpoint instead of a random kill.
	failpointRound := func(r int) bool { return r%2 == 1 && r < rounds }
	for round := 0; round < rounds; round++ {
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func(w int, seed int64) {
				defer wg.Done()
				m.work(ctx, s, w, round, seed, stop)
			}(w, rng.Int63())
		}
		if killRound(s, failpointRound(round), rng) {
			selfKilled++
		}
		close(stop)
		wg.Wait()
		s.env = nil
		if failpointRound(round + 1) {
			s.env = []string{fmt.Sprintf("SWIFTBOX_FAILPOINT=object-renamed:%d", 20+rng.Intn(300))}
		}
		s.start()
	}
	s.env = nil
	c = s.conn(t, "test:tester", "testing")
	disks, mismatches, lost := m.checkListingMatchesDisk(t, c, dev)
	t.Logf("%d kill -9 rounds (%d at the failpoint right after an object's rename), %d acknowledged overwrites/deletes over %d objects: %d listing mismatches, %d lost",
		rounds, selfKilled, m.acked, disks, mismatches, lost)
}

// killRound ends a round of load: at the failpoint the server set for it
// (true if it killed itself there), or with a kill -9 at a random moment.
func killRound(s *server, failpoint bool, rng *rand.Rand) (selfKilled bool) {
	if failpoint {
		// The server kills itself right after renaming an object's
		// file into place: the crash window of a lost update.
		select {
		case <-s.done:
			return true
		case <-time.After(10 * time.Second):
			s.cmd.Process.Kill()
			<-s.done
		}
	} else {
		time.Sleep(time.Duration(150+rng.Intn(500)) * time.Millisecond)
		s.cmd.Process.Kill()
		<-s.done
	}
	return false
}

// overwriteModel is what TestKillDuringOverwritesListingMatchesDisk's
// workers asked for and were acknowledged.
type overwriteModel struct {
	mu sync.Mutex
	// possible holds, per object, the states the disk may hold: the last
	// acknowledged one and every one requested after it ("" = deleted).
	possible map[string]map[string]bool
	acked    int
}

// overwriteNames is how many names each worker overwrites and deletes.
const overwriteNames = 6

// work overwrites and deletes worker w's objects in crash until stop.
func (m *overwriteModel) work(ctx context.Context, s *server, w, round int, seed int64, stop chan struct{}) {
	r := rand.New(rand.NewSource(seed))
	conn := &swift.Connection{UserName: "test:tester", ApiKey: "testing", AuthUrl: s.AuthURL(), Timeout: 10 * time.Second, Retries: 0}
	if conn.Authenticate(ctx) != nil {
		return
	}
	for i := 0; ; i++ {
		select {
		case <-stop:
			return
		default:
		}
		name := fmt.Sprintf("w%d/n%d", w, r.Intn(overwriteNames))
		fresh := r.Intn(3) == 0
		if fresh {
			// A name never written before: no earlier journal
			// record of it can bring its listing up to date.
			name = fmt.Sprintf("w%d/fresh-%d-%d", w, round, i)
		}
		state := ""
		var body []byte
		if fresh || r.Intn(10) < 7 {
			n := 1 + r.Intn(4000)
			if r.Intn(40) == 0 {
				n = 1<<20 + r.Intn(1<<18) // a large object: its own fsyncs
			}
			unit := []byte(fmt.Sprintf("%d/%d/%s.", round, i, name))
			body = bytes.Repeat(unit, n/len(unit)+1)[:n]
			sum := md5.Sum(body)
			state = hex.EncodeToString(sum[:])
		}
		m.mu.Lock()
		if m.possible[name] == nil {
			m.possible[name] = map[string]bool{"": true}
		}
		m.possible[name][state] = true
		m.mu.Unlock()
		var err error
		if body != nil {
			_, err = conn.ObjectPut(ctx, "crash", name, bytes.NewReader(body), true, "", "", nil)
		} else if err = conn.ObjectDelete(ctx, "crash", name); err == swift.ObjectNotFound {
			err = nil
		}
		if err == nil {
			m.mu.Lock()
			m.possible[name] = map[string]bool{state: true}
			m.acked++
			m.mu.Unlock()
		}
	}
}

// checkListingMatchesDisk checks that every listing row of crash equals
// the newest state on disk, and that the disk holds, for every object,
// a state the model allows. It returns the number of objects on disk,
// the listing mismatches and the objects lost.
func (m *overwriteModel) checkListingMatchesDisk(t *testing.T, c *swift.Connection, dev string) (disks, mismatches, lost int) {
	listing, err := c.ObjectsAll(context.Background(), "crash", nil)
	if err != nil {
		t.Fatal(err)
	}
	disk := newestOnDisk(t, dev)
	listed := map[string]bool{}
	for _, o := range listing {
		listed[o.Name] = true
		d, ok := disk["/AUTH_test/crash/"+o.Name]
		switch {
		case !ok || d.deleted:
			mismatches++
			t.Errorf("%s listed (etag %s) but the disk holds no live object (%+v)", o.Name, o.Hash, d)
		case o.Hash != d.etag || o.Bytes != d.size || o.ServerLastModified != d.ts.Time().Format("2006-01-02T15:04:05.000000"):
			mismatches++
			t.Errorf("%s listed as %s/%d bytes/%s, the newest replica is %s/%d bytes/%s", o.Name, o.Hash, o.Bytes,
				o.ServerLastModified, d.etag, d.size, d.ts.Time().Format("2006-01-02T15:04:05.000000"))
		}
	}
	for name, d := range disk {
		short := strings.TrimPrefix(name, "/AUTH_test/crash/")
		if !d.deleted && !listed[short] {
			mismatches++
			t.Errorf("%s is on disk (etag %s) but not listed", short, d.etag)
		}
		state := d.etag
		if d.deleted {
			state = ""
		}
		if !m.possible[short][state] {
			lost++
			t.Errorf("%s: the disk holds %q, neither the last acknowledged state nor a later request (%v)", short, state, m.possible[short])
		}
	}
	return len(disk), mismatches, lost
}
