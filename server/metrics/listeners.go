package metrics

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// ListenerStats is what a hardened listener reports (listener.Listener).
type ListenerStats interface {
	OpenConns() int
	RefusedConns() uint64
	AcceptRetries() uint64
}

// Listeners reports serve's listeners: open connections, connections
// refused by the cap, and accepts retried after a temporary error (out of
// file descriptors), each by listener name and address.
type Listeners struct {
	mu   sync.Mutex
	list []namedListener

	open, refused, retries *prometheus.Desc
}

type namedListener struct {
	name, addr string
	stats      ListenerStats
}

func newListeners(reg prometheus.Registerer) *Listeners {
	l := &Listeners{
		open: prometheus.NewDesc(namespace+"_listener_connections", "Open connections, by listener.",
			[]string{"listener", "addr"}, nil),
		refused: prometheus.NewDesc(namespace+"_listener_refused_connections_total",
			"Connections refused because the listener had max_clients open.", []string{"listener", "addr"}, nil),
		retries: prometheus.NewDesc(namespace+"_listener_accept_retries_total",
			"Accepts that failed for a passing reason (out of file descriptors or buffers) and were retried after a pause.",
			[]string{"listener", "addr"}, nil),
	}
	reg.MustRegister(l)
	return l
}

// Add reports a listener from now on.
func (l *Listeners) Add(name, addr string, s ListenerStats) {
	if l == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.list = append(l.list, namedListener{name, addr, s})
}

// Describe implements prometheus.Collector.
func (l *Listeners) Describe(ch chan<- *prometheus.Desc) {
	ch <- l.open
	ch <- l.refused
	ch <- l.retries
}

// Collect implements prometheus.Collector.
func (l *Listeners) Collect(ch chan<- prometheus.Metric) {
	l.mu.Lock()
	list := append([]namedListener(nil), l.list...)
	l.mu.Unlock()
	for _, n := range list {
		ch <- prometheus.MustNewConstMetric(l.open, prometheus.GaugeValue, float64(n.stats.OpenConns()), n.name, n.addr)
		ch <- prometheus.MustNewConstMetric(l.refused, prometheus.CounterValue, float64(n.stats.RefusedConns()), n.name, n.addr)
		ch <- prometheus.MustNewConstMetric(l.retries, prometheus.CounterValue, float64(n.stats.AcceptRetries()), n.name, n.addr)
	}
}
