package metrics

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// HTTP holds the request families the proxy_logging middleware records,
// labelled by api (swift, s3, backend), method, storage policy index ("" for
// requests without one) and status class (2xx…5xx).
type HTTP struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	bytesIn  *prometheus.CounterVec
	bytesOut *prometheus.CounterVec
	inFlight *prometheus.GaugeVec
}

// Request is one finished request as recorded by HTTP.Observe.
type Request struct {
	API, Method, Policy string
	Status              int
	Duration            time.Duration
	BytesIn, BytesOut   int64
}

// knownMethods keeps the method label bounded: anything else is "other".
var knownMethods = map[string]bool{
	"GET": true, "HEAD": true, "PUT": true, "POST": true, "DELETE": true,
	"COPY": true, "OPTIONS": true, "REPLICATE": true, "UPDATE": true, "SSYNC": true,
}

func newHTTP(reg prometheus.Registerer) *HTTP {
	labels := []string{"api", "method", "policy", "status_class"}
	h := &HTTP{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Subsystem: "http", Name: "requests_total",
			Help: "Requests answered, by API (swift, s3, backend), method, storage policy index and status class.",
		}, labels),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace, Subsystem: "http", Name: "request_duration_seconds",
			Help:    "Time from a request's arrival until its response body was sent.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300},
		}, labels),
		bytesIn: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Subsystem: "http", Name: "request_body_bytes_total",
			Help: "Request body bytes received.",
		}, []string{"api", "method", "policy"}),
		bytesOut: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Subsystem: "http", Name: "response_body_bytes_total",
			Help: "Response body bytes sent.",
		}, []string{"api", "method", "policy"}),
		inFlight: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: namespace, Subsystem: "http", Name: "requests_in_flight",
			Help: "Requests being served (until their response body is sent).",
		}, []string{"api"}),
	}
	reg.MustRegister(h.requests, h.duration, h.bytesIn, h.bytesOut, h.inFlight)
	return h
}

// Begin counts a request in flight until the returned func is called.
func (h *HTTP) Begin(api string) (end func()) {
	if h == nil {
		return func() {}
	}
	g := h.inFlight.WithLabelValues(api)
	g.Inc()
	return g.Dec
}

// Observe records one finished request.
func (h *HTTP) Observe(r Request) {
	if h == nil {
		return
	}
	method := r.Method
	if !knownMethods[method] {
		method = "other"
	}
	class := StatusClass(r.Status)
	h.requests.WithLabelValues(r.API, method, r.Policy, class).Inc()
	h.duration.WithLabelValues(r.API, method, r.Policy, class).Observe(r.Duration.Seconds())
	if r.BytesIn > 0 {
		h.bytesIn.WithLabelValues(r.API, method, r.Policy).Add(float64(r.BytesIn))
	}
	if r.BytesOut > 0 {
		h.bytesOut.WithLabelValues(r.API, method, r.Policy).Add(float64(r.BytesOut))
	}
}

// StatusClass is "2xx" for 200…299 and so on.
func StatusClass(status int) string {
	if status < 100 || status > 599 {
		return "other"
	}
	return strconv.Itoa(status/100) + "xx"
}
