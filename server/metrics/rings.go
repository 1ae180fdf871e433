package metrics

import (
	"math"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"swiftbox/ring"
)

// Rings reports each ring's part power, replica count, devices and
// balance. Set the rings with Set (again after a rebalance).
type Rings struct {
	mu    sync.Mutex
	rings map[string]*ring.Ring

	partPower, replicas, devices, balance, partitions *prometheus.Desc
}

func newRings(reg prometheus.Registerer) *Rings {
	desc := func(name, help string) *prometheus.Desc {
		return prometheus.NewDesc(prometheus.BuildFQName(namespace, "ring", name), help, []string{"ring"}, nil)
	}
	r := &Rings{
		rings:      map[string]*ring.Ring{},
		partPower:  desc("part_power", "The ring's partition power (partitions = 2^part_power)."),
		replicas:   desc("replicas", "The ring's replica count."),
		devices:    desc("devices", "Devices in the ring."),
		partitions: desc("partitions", "Partitions in the ring."),
		balance:    desc("balance_percent", "The ring's balance: the largest deviation, in percent, of a weighted device's partition count from its share by weight."),
	}
	reg.MustRegister(r)
	return r
}

// Set records the ring named name ("object", "container", "account").
func (r *Rings) Set(name string, rg *ring.Ring) {
	if r == nil || rg == nil {
		return
	}
	r.mu.Lock()
	r.rings[name] = rg
	r.mu.Unlock()
}

// Describe implements prometheus.Collector.
func (r *Rings) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{r.partPower, r.replicas, r.devices, r.partitions, r.balance} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (r *Rings) Collect(ch chan<- prometheus.Metric) {
	r.mu.Lock()
	rings := make(map[string]*ring.Ring, len(r.rings))
	for k, v := range r.rings {
		rings[k] = v
	}
	r.mu.Unlock()
	for name, rg := range rings {
		g := func(d *prometheus.Desc, v float64) {
			ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, name)
		}
		g(r.partPower, float64(rg.PartPower()))
		g(r.replicas, rg.Replicas())
		g(r.devices, float64(len(rg.Devices())))
		g(r.partitions, float64(rg.PartitionCount()))
		g(r.balance, Balance(rg))
	}
}

// Balance computes Swift's ring balance from a ring's assignments: the
// largest |assigned - wanted| / wanted × 100 over devices with weight.
func Balance(rg *ring.Ring) float64 {
	assigned := map[int]float64{}
	var total float64
	reps := rg.ReplicaCount()
	for rep := 0; rep < reps; rep++ {
		for part := 0; part < rg.PartitionCount(); part++ {
			if id, ok := rg.Assignment(rep, part); ok {
				assigned[id]++
				total++
			}
		}
	}
	var weight float64
	for _, d := range rg.Devices() {
		weight += d.Weight
	}
	if weight == 0 || total == 0 {
		return 0
	}
	worst := 0.0
	for _, d := range rg.Devices() {
		if d.Weight <= 0 {
			continue
		}
		wanted := total * d.Weight / weight
		if b := math.Abs(assigned[d.ID]-wanted) / wanted * 100; b > worst {
			worst = b
		}
	}
	return worst
}
