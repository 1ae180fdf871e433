package ratelimit

import (
	"errors"
	"math"
	"sort"
	"sync"
	"time"

	"swiftbox/server/pyfmt"
)

// rateLine is one configured size with the rate line starting there.
type rateLine struct {
	size        int
	rate, slope float64
	last        bool
}

// rateLines is Swift's interpret_conf_limits: rates at the configured
// sizes, linearly interpolated up to the next size, flat after the last.
func rateLines(conf map[int]float64) []rateLine {
	sizes := make([]int, 0, len(conf))
	for s := range conf {
		sizes = append(sizes, s)
	}
	sort.Ints(sizes)
	out := make([]rateLine, len(sizes))
	for i, s := range sizes {
		out[i] = rateLine{size: s, rate: conf[s], last: i == len(sizes)-1}
		if !out[i].last {
			n := sizes[i+1]
			out[i].slope = (conf[n] - conf[s]) / float64(n-s)
		}
	}
	return out
}

// maxRate is Swift's get_maxrate: 0 when no limit applies.
func maxRate(lines []rateLine, size int64) float64 {
	if size == 0 {
		return 0
	}
	var last *rateLine
	for i := range lines {
		if size < int64(lines[i].size) {
			break
		}
		last = &lines[i]
	}
	if last == nil {
		return 0
	}
	return float64(size-int64(last.size))*last.slope + last.rate
}

// rateInfo is a rate table as /info shows it.
func rateInfo(conf map[int]float64) [][2]any {
	out := [][2]any{}
	for _, l := range rateLines(conf) {
		out = append(out, [2]any{l.size, pyfmt.Float(l.rate)})
	}
	return out
}

// rateClock holds each key's running time in clock units, as Swift's
// memcache keys do.
type rateClock struct {
	mu      sync.Mutex
	running map[string]int64
}

var errMaxSleep = errors.New("ratelimit max sleep exceeded")

// sleepFor is Swift's _get_sleep_time: how long this request must wait
// to keep key at maxRate, or errMaxSleep.
func (rc *rateClock) sleepFor(key string, maxRate float64, accuracy int, buffer int, maxSleep float64, now time.Time) (time.Duration, error) {
	acc := float64(accuracy)
	nowM := int64(math.RoundToEven(float64(now.UnixNano()) / 1e9 * acc))
	perReq := int64(math.RoundToEven(acc / maxRate))
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if rc.running == nil {
		rc.running = map[string]int64{}
	}
	if len(rc.running) > 100000 {
		for k, v := range rc.running {
			if nowM-v > int64(buffer)*int64(accuracy) {
				delete(rc.running, k)
			}
		}
	}
	running := rc.running[key] + perReq
	rc.running[key] = running
	var need int64
	if nowM-running > int64(buffer)*int64(accuracy) {
		rc.running[key] = nowM + perReq
	} else {
		need = max(running-nowM-perReq, 0)
	}
	if maxSleep*acc-float64(need) <= acc*0.01 {
		rc.running[key] -= perReq
		return 0, errMaxSleep
	}
	return time.Duration(float64(need) / acc * float64(time.Second)), nil
}
