package metrics

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"swiftbox/storage"
	"swiftbox/storage/db"
)

// Devices reports each device's space, mount state, an estimate of its
// object count, and errors seen on it. Readings are taken at scrape time
// from the source set with SetSource.
type Devices struct {
	mu       sync.Mutex
	src      *DeviceSource
	errors   *prometheus.CounterVec
	estimate map[string]objectEstimate

	capacity, used, free, objects, mounted, failed *prometheus.Desc
}

// DeviceSource is where Devices reads device state from.
type DeviceSource struct {
	Store *storage.ObjectStore
	// List names this node's devices.
	List func() []string
}

type objectEstimate struct {
	at time.Time
	n  float64
}

// objectEstimateTTL bounds how often a device's object count is sampled.
const objectEstimateTTL = time.Minute

func newDevices(reg prometheus.Registerer) *Devices {
	desc := func(name, help string) *prometheus.Desc {
		return prometheus.NewDesc(prometheus.BuildFQName(namespace, "device", name), help, []string{"device"}, nil)
	}
	d := &Devices{
		errors: counterVec("device", "errors_total",
			"Errors from a device (unavailable, I/O errors, full) seen while serving requests.", "device"),
		estimate: map[string]objectEstimate{},
		capacity: desc("capacity_bytes", "Size of the device's filesystem."),
		used:     desc("used_bytes", "Bytes used on the device's filesystem (size less space available to swiftbox)."),
		free:     desc("free_bytes", "Bytes available to swiftbox on the device's filesystem."),
		objects:  desc("objects_estimate", "Estimated number of objects (hash directories) on the device, sampled from up to 8 partitions."),
		mounted:  desc("mounted", "1 when the device directory exists (and is a mount point when mount_check is on), even if unusable otherwise."),
		failed:   desc("failed", "1 when the device cannot be used (missing, not mounted, not writable, statfs failing)."),
	}
	reg.MustRegister(d.errors, d)
	return d
}

// SetSource sets where device readings come from.
func (d *Devices) SetSource(src DeviceSource) {
	if d == nil {
		return
	}
	d.mu.Lock()
	d.src = &src
	d.mu.Unlock()
}

// Error counts an error seen on device.
func (d *Devices) Error(device string) {
	if d == nil {
		return
	}
	d.errors.WithLabelValues(device).Inc()
}

// ObserveError counts err against device when it is a device's fault
// (unavailable, full, I/O error, read-only), not a request's outcome like
// "not found" or "conflict".
func (d *Devices) ObserveError(device string, err error) {
	if DeviceFault(err) {
		d.Error(device)
	}
}

// DeviceFault reports whether err says a device failed.
func DeviceFault(err error) bool {
	return errors.Is(err, storage.ErrDeviceUnavailable) || errors.Is(err, db.ErrDeviceUnavailable) ||
		errors.Is(err, storage.ErrNoSpace) || errors.Is(err, syscall.EIO) || errors.Is(err, syscall.EROFS) ||
		errors.Is(err, syscall.ENOSPC)
}

// Describe implements prometheus.Collector.
func (d *Devices) Describe(ch chan<- *prometheus.Desc) {
	for _, x := range []*prometheus.Desc{d.capacity, d.used, d.free, d.objects, d.mounted, d.failed} {
		ch <- x
	}
}

// Collect implements prometheus.Collector.
func (d *Devices) Collect(ch chan<- prometheus.Metric) {
	d.mu.Lock()
	src := d.src
	d.mu.Unlock()
	if src == nil || src.Store == nil || src.List == nil {
		return
	}
	gauge := func(desc *prometheus.Desc, v float64, dev string) {
		ch <- prometheus.MustNewConstMetric(desc, prometheus.GaugeValue, v, dev)
	}
	for _, dev := range src.List() {
		st, err := src.Store.DeviceUsage(dev)
		mounted := err == nil || !(strings.Contains(err.Error(), "not a mount point") ||
			strings.Contains(err.Error(), "does not exist") || strings.Contains(err.Error(), "not a directory"))
		gauge(d.mounted, b2f(mounted), dev)
		gauge(d.failed, b2f(err != nil), dev)
		if err != nil {
			continue
		}
		gauge(d.capacity, float64(st.Total), dev)
		gauge(d.used, float64(st.Total-st.Avail), dev)
		gauge(d.free, float64(st.Avail), dev)
		gauge(d.objects, d.objectEstimate(src.Store.DevicePath(dev), dev), dev)
	}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func (d *Devices) objectEstimate(path, dev string) float64 {
	d.mu.Lock()
	e, ok := d.estimate[dev]
	d.mu.Unlock()
	if ok && time.Since(e.at) < objectEstimateTTL {
		return e.n
	}
	n := EstimateObjects(path, 8)
	d.mu.Lock()
	d.estimate[dev] = objectEstimate{at: time.Now(), n: n}
	d.mu.Unlock()
	return n
}

// EstimateObjects estimates the object hash directories under every
// storage policy's data directory of devPath (objects, objects-N) by
// counting them in up to sample partitions spread over the ones present
// and scaling by the number of partitions. It is exact when a policy's
// directory holds no more than sample partitions.
func EstimateObjects(devPath string, sample int) float64 {
	ents, err := os.ReadDir(devPath)
	if err != nil {
		return 0
	}
	total := 0.0
	for _, e := range ents {
		name := e.Name()
		if !e.IsDir() || name != "objects" && !isPolicyObjectsDir(name) {
			continue
		}
		total += estimatePolicyObjects(filepath.Join(devPath, name), sample)
	}
	return total
}

// isPolicyObjectsDir reports whether name is objects-N, N > 0.
func isPolicyObjectsDir(name string) bool {
	n, ok := strings.CutPrefix(name, "objects-")
	i, err := strconv.Atoi(n)
	return ok && err == nil && i > 0
}

func estimatePolicyObjects(dataDir string, sample int) float64 {
	parts, err := os.ReadDir(dataDir)
	if err != nil {
		return 0
	}
	var dirs []string
	for _, p := range parts {
		if p.IsDir() {
			dirs = append(dirs, p.Name())
		}
	}
	if len(dirs) == 0 {
		return 0
	}
	step := 1
	if len(dirs) > sample {
		step = len(dirs) / sample
	}
	counted, total := 0, 0
	for i := 0; i < len(dirs) && counted < sample; i += step {
		total += countHashDirs(filepath.Join(dataDir, dirs[i]))
		counted++
	}
	return float64(total) * float64(len(dirs)) / float64(counted)
}

func countHashDirs(part string) int {
	suffixes, err := os.ReadDir(part)
	if err != nil {
		return 0
	}
	n := 0
	for _, s := range suffixes {
		if !s.IsDir() || len(s.Name()) != 3 {
			continue
		}
		hashes, err := os.ReadDir(filepath.Join(part, s.Name()))
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			continue
		}
		for _, h := range hashes {
			if h.IsDir() {
				n++
			}
		}
	}
	return n
}
