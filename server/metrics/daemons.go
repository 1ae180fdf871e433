package metrics

// The daemons report here; each call updates the Prometheus families and,
// when New was given a ReconSink, the recon cache swift-recon reads:
//
//	m.Replication.ObservePass(metrics.ReplicationPass{Type: "object", Start: start, End: time.Now(),
//		Attempted: n, Success: ok, Failure: failed, Hashmatch: same, Remove: removed,
//		SuffixHash: hashed, SuffixSync: synced, Handoffs: handoffs})
//	m.Auditor.ObserveFile("object", "passed"|"quarantined"|"error", bytes)   // per file
//	m.Auditor.ObservePass(metrics.AuditPass{Type: "object", Mode: "ALL", Start: start,
//		Passes: p, Quarantined: q, Errors: e, BytesProcessed: b, AuditTime: busy,
//		Complete: done, End: time.Now()})                                     // every few minutes and at the end
//	m.Updater.ObservePass(metrics.UpdaterPass{...})
//	m.Expirer.ObservePass(metrics.ExpirerPass{...})
//
// Every method is a no-op on a nil receiver, so a daemon built without
// metrics needs no checks.

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// ReconSink receives daemon statistics in Swift's recon cache form: kind
// is "object", "container" or "account" (object.recon, …) and entries are
// the keys Swift's daemons dump_recon_cache there.
type ReconSink interface {
	Dump(kind string, entries map[string]any)
}

func gaugeVec(subsystem, name, help string, labels ...string) *prometheus.GaugeVec {
	return prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: namespace, Subsystem: subsystem, Name: name, Help: help}, labels)
}

func counterVec(subsystem, name, help string, labels ...string) *prometheus.CounterVec {
	return prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Subsystem: subsystem, Name: name, Help: help}, labels)
}

func unixSeconds(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }

// lastPass is a daemon's last-pass gauges: how long its last pass took
// and when it ended, by the daemon's labels (none, or its type).
type lastPass struct{ duration, last *prometheus.GaugeVec }

func newLastPass(reg prometheus.Registerer, subsystem, pass string, labels ...string) lastPass {
	l := lastPass{
		duration: gaugeVec(subsystem, "last_pass_duration_seconds", "How long the last "+pass+" took.", labels...),
		last:     gaugeVec(subsystem, "last_pass_timestamp_seconds", "When the last "+pass+" ended, in seconds since the epoch.", labels...),
	}
	if len(labels) == 0 {
		// Exported from the start, as a plain gauge is.
		l.duration.WithLabelValues()
		l.last.WithLabelValues()
	}
	reg.MustRegister(l.duration, l.last)
	return l
}

// set records a pass that took d and ended at end.
func (l lastPass) set(d time.Duration, end time.Time, labels ...string) {
	l.duration.WithLabelValues(labels...).Set(d.Seconds())
	l.last.WithLabelValues(labels...).Set(unixSeconds(end))
}

// Replication holds the replicators' families.
type Replication struct {
	recon      ReconSink
	passes     *prometheus.CounterVec
	pass       lastPass
	partitions *prometheus.CounterVec
	suffixes   *prometheus.CounterVec
	handoffs   *prometheus.GaugeVec
}

func newReplication(reg prometheus.Registerer, recon ReconSink) *Replication {
	r := &Replication{
		recon: recon,
		passes: counterVec("replication", "passes_total",
			"Complete replication passes.", "type"),
		pass: newLastPass(reg, "replication", "complete replication pass", "type"),
		partitions: counterVec("replication", "partitions_total",
			"Partitions (or databases) replicated, by result: success, failure, hashmatch (already in sync), removed (handoff cleared).", "type", "result"),
		suffixes: counterVec("replication", "suffixes_total",
			"Suffix directories checked (hashed) and synced to other nodes.", "type", "action"),
		handoffs: gaugeVec("replication", "handoff_partitions",
			"Handoff partitions found on this node's devices in the last pass.", "type"),
	}
	reg.MustRegister(r.passes, r.partitions, r.suffixes, r.handoffs)
	return r
}

// ReplicationPass is the outcome of one complete replication pass. The
// counts use Swift's replication_stats names.
type ReplicationPass struct {
	// Type is "object", "container" or "account".
	Type       string
	Start, End time.Time
	// Attempted partitions (databases for container/account), of which
	// Success and Failure; Hashmatch were already in sync, Remove handoffs
	// were removed after being pushed, Rsync partitions were synced.
	Attempted, Success, Failure, Hashmatch, Remove, Rsync int
	// SuffixHash suffixes were rehashed; SuffixSync suffixes were synced.
	SuffixHash, SuffixSync int
	// Handoffs is the number of handoff partitions found.
	Handoffs int
	// FailureNodes counts failures by node IP and device.
	FailureNodes map[string]map[string]int
}

// ObservePass records a complete pass (metrics and recon cache).
func (r *Replication) ObservePass(p ReplicationPass) {
	if r == nil {
		return
	}
	dur := p.End.Sub(p.Start)
	r.passes.WithLabelValues(p.Type).Inc()
	r.pass.set(dur, p.End, p.Type)
	for res, n := range map[string]int{"success": p.Success, "failure": p.Failure, "hashmatch": p.Hashmatch, "removed": p.Remove} {
		r.partitions.WithLabelValues(p.Type, res).Add(float64(n))
	}
	r.suffixes.WithLabelValues(p.Type, "hashed").Add(float64(p.SuffixHash))
	r.suffixes.WithLabelValues(p.Type, "synced").Add(float64(p.SuffixSync))
	r.handoffs.WithLabelValues(p.Type).Set(float64(p.Handoffs))
	if r.recon == nil {
		return
	}
	fn := p.FailureNodes
	if fn == nil {
		fn = map[string]map[string]int{}
	}
	stats := map[string]any{
		"attempted": p.Attempted, "success": p.Success, "failure": p.Failure,
		"hashmatch": p.Hashmatch, "remove": p.Remove, "rsync": p.Rsync,
		"failure_nodes": fn, "start": unixSeconds(p.Start),
	}
	if p.Type == "object" {
		stats["suffix_count"] = p.SuffixHash
		stats["suffix_hash"] = p.SuffixHash
		stats["suffix_sync"] = p.SuffixSync
		minutes := dur.Minutes()
		r.recon.Dump("object", map[string]any{
			"replication_stats": stats, "replication_time": minutes, "replication_last": unixSeconds(p.End),
			"object_replication_time": minutes, "object_replication_last": unixSeconds(p.End),
		})
		return
	}
	stats["no_change"] = p.Hashmatch
	r.recon.Dump(p.Type, map[string]any{
		"replication_stats": stats, "replication_time": dur.Seconds(), "replication_last": unixSeconds(p.End),
	})
}

// Auditor holds the auditors' families.
type Auditor struct {
	recon ReconSink
	files *prometheus.CounterVec
	bytes *prometheus.CounterVec
	pass  lastPass
}

func newAuditor(reg prometheus.Registerer, recon ReconSink) *Auditor {
	a := &Auditor{
		recon: recon,
		files: counterVec("auditor", "files_total",
			"Files (objects, or databases) audited, by result: passed, quarantined, error.", "type", "result"),
		bytes: counterVec("auditor", "bytes_total",
			"Bytes read and verified by the auditor.", "type"),
		pass: newLastPass(reg, "auditor", "complete audit pass", "type"),
	}
	a.files.WithLabelValues("object", "quarantined")
	reg.MustRegister(a.files, a.bytes)
	return a
}

// ObserveFile records one audited file: result is "passed", "quarantined"
// or "error".
func (a *Auditor) ObserveFile(typ, result string, bytes int64) {
	if a == nil {
		return
	}
	a.files.WithLabelValues(typ, result).Inc()
	if bytes > 0 {
		a.bytes.WithLabelValues(typ).Add(float64(bytes))
	}
}

// AuditPass is the progress of an audit pass, as Swift's auditors report
// it to recon (periodically and at the end of a pass).
type AuditPass struct {
	// Type is "object", "container" or "account".
	Type string
	// Mode is the object auditor's "ALL" or "ZBF" (zero-byte files).
	Mode                        string
	Start                       time.Time
	AuditTime                   time.Duration // time spent auditing
	Passes, Quarantined, Errors int
	BytesProcessed              int64
	Complete                    bool // the pass ended
	End                         time.Time
}

// ObservePass records a pass's progress (recon) and, when Complete, its
// end (metrics).
func (a *Auditor) ObservePass(p AuditPass) {
	if a == nil {
		return
	}
	if p.Complete {
		a.pass.set(p.End.Sub(p.Start), p.End, p.Type)
	}
	if a.recon == nil {
		return
	}
	if p.Type == "object" {
		mode := p.Mode
		if mode == "" {
			mode = "ALL"
		}
		a.recon.Dump("object", map[string]any{"object_auditor_stats_" + mode: map[string]any{
			"errors": p.Errors, "passes": p.Passes, "quarantined": p.Quarantined,
			"bytes_processed": p.BytesProcessed, "start_time": unixSeconds(p.Start),
			"audit_time": p.AuditTime.Seconds(),
		}})
		return
	}
	e := map[string]any{
		p.Type + "_audits_passed": p.Passes, p.Type + "_audits_failed": p.Errors + p.Quarantined,
		p.Type + "_audits_since": unixSeconds(p.Start),
	}
	if p.Complete {
		e[p.Type+"_auditor_pass_completed"] = p.End.Sub(p.Start).Seconds()
	}
	a.recon.Dump(p.Type, e)
}

// Updater holds the object updater's families.
type Updater struct {
	recon   ReconSink
	updates *prometheus.CounterVec
	backlog *prometheus.GaugeVec
	pass    lastPass
}

func newUpdater(reg prometheus.Registerer, recon ReconSink) *Updater {
	u := &Updater{
		recon: recon,
		updates: counterVec("updater", "updates_total",
			"Pending container updates (async_pending) processed, by result: success, failure (kept for a later pass), unreadable.", "type", "result"),
		backlog: gaugeVec("updater", "async_pending",
			"async_pending files waiting on this node's devices at the start of the last pass.", "type"),
		pass: newLastPass(reg, "updater", "updater sweep", "type"),
	}
	for _, r := range []string{"success", "failure", "unreadable"} {
		u.updates.WithLabelValues("object", r)
	}
	reg.MustRegister(u.updates, u.backlog)
	return u
}

// UpdaterPass is one updater sweep.
type UpdaterPass struct {
	Type                            string // "object" or "container"
	Start, End                      time.Time
	Successes, Failures, Unreadable int
	// Backlog is the number of async_pending files found.
	Backlog int
}

// Observe counts updates applied outside a sweep (the proxy's continuous
// container→account updates); metrics only.
func (u *Updater) Observe(typ string, successes, failures int) {
	if u == nil {
		return
	}
	u.updates.WithLabelValues(typ, "success").Add(float64(successes))
	u.updates.WithLabelValues(typ, "failure").Add(float64(failures))
}

// ObservePass records a sweep (metrics and recon cache).
func (u *Updater) ObservePass(p UpdaterPass) {
	if u == nil {
		return
	}
	u.updates.WithLabelValues(p.Type, "success").Add(float64(p.Successes))
	u.updates.WithLabelValues(p.Type, "failure").Add(float64(p.Failures))
	u.updates.WithLabelValues(p.Type, "unreadable").Add(float64(p.Unreadable))
	u.backlog.WithLabelValues(p.Type).Set(float64(p.Backlog))
	u.pass.set(p.End.Sub(p.Start), p.End, p.Type)
	if u.recon == nil {
		return
	}
	e := map[string]any{p.Type + "_updater_sweep": p.End.Sub(p.Start).Seconds()}
	if p.Type == "object" {
		e["async_pending"] = p.Backlog
		e["async_pending_last"] = unixSeconds(p.End)
	}
	u.recon.Dump(p.Type, e)
}

// Expirer holds the object expirer's families.
type Expirer struct {
	recon   ReconSink
	objects *prometheus.CounterVec
	backlog prometheus.Gauge
	pass    lastPass
}

func newExpirer(reg prometheus.Registerer, recon ReconSink) *Expirer {
	e := &Expirer{
		recon: recon,
		objects: counterVec("expirer", "objects_total",
			"Expired objects processed, by result: success (deleted), failure (retried later).", "result"),
		backlog: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: namespace, Subsystem: "expirer", Name: "backlog",
			Help: "Objects past their X-Delete-At still queued at the end of the last pass."}),
		pass: newLastPass(reg, "expirer", "expirer pass"),
	}
	e.objects.WithLabelValues("success")
	e.objects.WithLabelValues("failure")
	reg.MustRegister(e.objects, e.backlog)
	return e
}

// ExpirerPass is one expirer pass.
type ExpirerPass struct {
	Start, End        time.Time
	Expired, Failures int
	Backlog           int
}

// ObservePass records a pass (metrics and recon cache).
func (e *Expirer) ObservePass(p ExpirerPass) {
	if e == nil {
		return
	}
	e.objects.WithLabelValues("success").Add(float64(p.Expired))
	e.objects.WithLabelValues("failure").Add(float64(p.Failures))
	e.backlog.Set(float64(p.Backlog))
	e.pass.set(p.End.Sub(p.Start), p.End)
	if e.recon != nil {
		e.recon.Dump("object", map[string]any{
			"object_expiration_pass": p.End.Sub(p.Start).Seconds(), "expired_last_pass": p.Expired,
		})
	}
}

// ContainerSync holds the container-sync daemon's families.
type ContainerSync struct {
	rows       *prometheus.CounterVec
	containers *prometheus.CounterVec
	bytes      prometheus.Counter
	pass       lastPass
}

func newContainerSync(reg prometheus.Registerer) *ContainerSync {
	c := &ContainerSync{
		rows: counterVec("container_sync", "rows_total",
			"Container rows handled by container sync, by result: put, delete (sent), skip (not this box's share yet), failure.", "result"),
		containers: counterVec("container_sync", "containers_total",
			"Containers with sync settings visited, by result: synced (every row sent), failed.", "result"),
		bytes: prometheus.NewCounter(prometheus.CounterOpts{Namespace: namespace, Subsystem: "container_sync", Name: "bytes_total",
			Help: "Object bytes sent by container sync."}),
		pass: newLastPass(reg, "container_sync", "container-sync pass"),
	}
	for _, r := range []string{"put", "delete", "skip", "failure"} {
		c.rows.WithLabelValues(r)
	}
	c.containers.WithLabelValues("synced")
	c.containers.WithLabelValues("failed")
	reg.MustRegister(c.rows, c.containers, c.bytes)
	return c
}

// ContainerSyncPass is one container-sync pass.
type ContainerSyncPass struct {
	Start, End                     time.Time
	Containers, Synced             int
	Puts, Deletes, Skips, Failures int
	Bytes                          int64
}

// ObservePass records a pass (metrics and recon cache).
func (c *ContainerSync) ObservePass(p ContainerSyncPass) {
	if c == nil {
		return
	}
	c.rows.WithLabelValues("put").Add(float64(p.Puts))
	c.rows.WithLabelValues("delete").Add(float64(p.Deletes))
	c.rows.WithLabelValues("skip").Add(float64(p.Skips))
	c.rows.WithLabelValues("failure").Add(float64(p.Failures))
	c.containers.WithLabelValues("synced").Add(float64(p.Synced))
	c.containers.WithLabelValues("failed").Add(float64(max(0, p.Containers-p.Synced)))
	c.bytes.Add(float64(p.Bytes))
	c.pass.set(p.End.Sub(p.Start), p.End)
}
