package replicator

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"time"

	"swiftbox/ring"
	"swiftbox/storage"
)

// PassStats summarises one replication pass, as Swift's replicator logs
// and records it for recon.
type PassStats struct {
	Start, End time.Time
	// Partitions processed; Handoffs among them were not primaries here.
	Partitions, Handoffs int
	// SuffixesChecked compared with a peer; SuffixesSynced pushed.
	SuffixesChecked, SuffixesSynced int
	// Files and Bytes copied to peers (objects) or rows merged (DBs).
	Files int
	Bytes int64
	// Removed counts handoff partitions (or databases) deleted after every
	// primary had them.
	Removed int
	// Failures counts peers or partitions that could not be replicated.
	Failures int
	// Remote counts peers skipped because they are on another node.
	Remote int
}

// Duration is how long the pass took.
func (s PassStats) Duration() time.Duration { return s.End.Sub(s.Start) }

func (s *PassStats) add(o PassStats) {
	s.Partitions += o.Partitions
	s.Handoffs += o.Handoffs
	s.SuffixesChecked += o.SuffixesChecked
	s.SuffixesSynced += o.SuffixesSynced
	s.Files += o.Files
	s.Bytes += o.Bytes
	s.Removed += o.Removed
	s.Failures += o.Failures
	s.Remote += o.Remote
}

// Objects is the object replicator.
type Objects struct {
	Store *storage.ObjectStore
	// Ring returns the current object ring.
	Ring func() *ring.Ring
	// Policies, if set, are the storage policies to replicate, each with
	// its own store (objects-N) and ring, instead of Store and Ring.
	Policies []Policy
	// Local reports whether a ring device is on this node (its directory
	// is under the store's devices dir).
	Local func(*ring.Device) bool
	// Devices lists this node's devices to replicate from.
	Devices func() []string
	// Concurrency is how many partitions are replicated at once (≥ 1).
	Concurrency int
	// Limit paces bytes copied; nil is unlimited.
	Limit *RateLimiter
	Log   *slog.Logger
	// OnPass, if set, receives every pass's summary (metrics, recon).
	OnPass func(PassStats)
}

// Policy is one storage policy's objects: its store and object ring.
type Policy struct {
	Store *storage.ObjectStore
	Ring  func() *ring.Ring
}

// perPolicy is o for each policy to replicate.
func (o *Objects) perPolicy() []*Objects {
	if len(o.Policies) == 0 {
		return []*Objects{o}
	}
	out := make([]*Objects, len(o.Policies))
	for i, p := range o.Policies {
		po := *o
		po.Store, po.Ring, po.Policies = p.Store, p.Ring, nil
		out[i] = &po
	}
	return out
}

type partJob struct {
	o      *Objects // the policy's replicator
	device string
	part   int
}

// RunOnce replicates every partition of every local device once.
func (o *Objects) RunOnce(ctx context.Context) PassStats {
	total := PassStats{Start: time.Now()}
	jobs := make(chan partJob)
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range max(1, o.Concurrency) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				st := j.o.replicatePartition(ctx, j.device, j.part)
				mu.Lock()
				total.add(st)
				mu.Unlock()
			}
		}()
	}
feed:
	for _, dev := range o.Devices() {
		if err := o.Store.CheckDevice(dev); err != nil {
			o.log().Warn("skipping device", "device", dev, "err", err)
			mu.Lock()
			total.Failures++
			mu.Unlock()
			continue
		}
		for _, po := range o.perPolicy() {
			parts, err := po.Store.Partitions(dev)
			if err != nil {
				o.log().Warn("listing partitions", "device", dev, "policy", po.Store.PolicyIndex(), "err", err)
				mu.Lock()
				total.Failures++
				mu.Unlock()
				continue
			}
			for _, p := range parts {
				select {
				case jobs <- partJob{po, dev, p}:
				case <-ctx.Done():
					break feed
				}
			}
		}
	}
	close(jobs)
	wg.Wait()
	total.End = time.Now()
	lvl := slog.LevelDebug
	if total.Files+total.Failures+total.Removed > 0 {
		lvl = slog.LevelInfo
	}
	o.log().Log(ctx, lvl, "object replication pass done", "partitions", total.Partitions, "handoffs", total.Handoffs,
		"suffixes_checked", total.SuffixesChecked, "suffixes_synced", total.SuffixesSynced,
		"files", total.Files, "bytes", total.Bytes, "handoffs_removed", total.Removed,
		"failures", total.Failures, "remote_skipped", total.Remote, "duration", total.Duration().Round(time.Millisecond))
	if o.OnPass != nil {
		o.OnPass(total)
	}
	return total
}

// Run replicates every interval until ctx ends.
func (o *Objects) Run(ctx context.Context, interval time.Duration) {
	for {
		o.RunOnce(ctx)
		select {
		case <-ctx.Done():
			return
		case <-time.After(interval):
		}
	}
}

func (o *Objects) log() *slog.Logger {
	if o.Log == nil {
		return slog.Default().With("component", "replicator")
	}
	return o.Log.With("component", "replicator")
}

// replicatePartition is Swift's update() for a primary partition and
// update_deleted() for a handoff one.
func (o *Objects) replicatePartition(ctx context.Context, dev string, part int) PassStats {
	st := PassStats{Partitions: 1}
	r := o.Ring()
	if part >= r.PartitionCount() {
		// A partition of an older ring with a bigger part power: leave it
		// for an operator (Swift's relinker), don't guess.
		o.log().Warn("partition outside the ring", "device", dev, "partition", part)
		st.Failures++
		return st
	}
	primaries := r.PrimaryNodes(part)
	isPrimary := slices.ContainsFunc(primaries, func(d *ring.Device) bool { return o.Local(d) && d.Device == dev })
	// Handoffs in ring order stand in for primaries that are down or full
	// (Swift moves on to the next handoff on a 507), so the partition
	// keeps its replica count.
	var spare []string
	for h := range r.Handoffs(part) {
		if o.Local(h) && h.Device != dev {
			spare = append(spare, h.Device)
		}
	}
	used := map[string]bool{dev: true}
	for _, d := range primaries {
		used[d.Device] = true
	}
	standIn := func() string {
		for len(spare) > 0 {
			h := spare[0]
			spare = spare[1:]
			if !used[h] && o.Store.CheckDevice(h) == nil {
				used[h] = true
				return h
			}
		}
		return ""
	}
	ok := 0
	for _, d := range primaries {
		if isPrimary && d.Device == dev && o.Local(d) {
			continue
		}
		if !o.Local(d) {
			st.Remote++
			continue
		}
		peer := d.Device
		for peer != "" {
			ps, err := o.syncTo(ctx, dev, peer, part)
			st.add(ps)
			if err == nil {
				if peer == d.Device {
					ok++
				}
				break
			}
			st.Failures++
			o.log().Warn("sync failed", "device", dev, "partition", part, "peer", peer, "err", err)
			if !isPrimary || !(errors.Is(err, storage.ErrDeviceUnavailable) || errors.Is(err, storage.ErrNoSpace)) {
				break
			}
			peer = standIn()
		}
	}
	if !isPrimary && ok == len(primaries) && st.Remote == 0 {
		names := make([]string, 0, len(primaries))
		for _, d := range primaries {
			names = append(names, d.Device)
		}
		remain, err := o.Store.PruneHandoff(dev, part, names)
		switch {
		case err != nil:
			o.log().Warn("removing handoff partition", "device", dev, "partition", part, "err", err)
			st.Failures++
		case remain == 0:
			st.Removed++
		}
	}
	return st
}

// syncTo pushes the suffixes whose hashes differ from dev to peer.
func (o *Objects) syncTo(ctx context.Context, dev, peer string, part int) (PassStats, error) {
	var st PassStats
	local, err := o.Store.SuffixHashes(dev, part, nil)
	if err != nil {
		return st, err
	}
	remote, err := o.Store.SuffixHashes(peer, part, nil)
	if err != nil {
		return st, err
	}
	var diff []string
	for suf, h := range local {
		st.SuffixesChecked++
		if remote[suf] != h {
			diff = append(diff, suf)
		}
	}
	if len(diff) == 0 {
		return st, nil
	}
	// Rehash the differing suffixes here first, as Swift does, so a stale
	// hashes.pkl doesn't send work for nothing.
	if local, err = o.Store.SuffixHashes(dev, part, diff); err != nil {
		return st, err
	}
	for _, suf := range diff {
		if _, ok := local[suf]; !ok {
			continue
		}
		if ctx.Err() != nil {
			return st, ctx.Err()
		}
		ss, err := o.Store.SyncSuffix(dev, peer, part, suf, o.Limit.Bind(ctx))
		st.Files += ss.Files
		st.Bytes += ss.Bytes
		if err != nil {
			return st, err
		}
		st.SuffixesSynced++
	}
	_, err = o.Store.SuffixHashes(peer, part, diff)
	return st, err
}
