package proxy

import (
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/valyala/fasthttp"
)

// Rate limits (Swift's ratelimit): container PUT/DELETE per account,
// object writes per container and container listings, each rate chosen
// by the container's size, and an account's global write limit from
// X-Account-Sysmeta-Global-Write-Ratelimit (or WHITELIST / BLACKLIST).
// Requests over the rate sleep; one that would sleep longer than
// max_sleep_time_seconds gets 498. Swift keeps its counters in memcache;
// a single process keeps them in memory.

// pyFloat marshals like Python's json (60.0, not 60).
type pyFloat float64

func (f pyFloat) MarshalJSON() ([]byte, error) {
	s := strconv.FormatFloat(float64(f), 'f', -1, 64)
	if !strings.ContainsAny(s, ".eE") {
		s += ".0"
	}
	return []byte(s), nil
}

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

func rateInfo(conf map[int]float64) [][2]any {
	out := [][2]any{}
	for _, l := range rateLines(conf) {
		out = append(out, [2]any{l.size, pyFloat(l.rate)})
	}
	return out
}

func (p *Proxy) rateLimitInfo() map[string]any {
	c := p.cfg.RateLimit
	return map[string]any{
		"account_ratelimit":            pyFloat(c.AccountRatelimit),
		"max_sleep_time_seconds":       pyFloat(c.MaxSleepTimeSeconds),
		"container_ratelimits":         rateInfo(c.ContainerRatelimit),
		"container_listing_ratelimits": rateInfo(c.ContainerListingRatelimit),
	}
}

// rateClock holds each key's running time in clock units, as Swift's
// memcache keys do.
type rateClock struct {
	mu      sync.Mutex
	running map[string]int64
}

var errMaxSleep = &HTTPError{status: 498, body: "Slow down"}

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

func (p *Proxy) rateLimit(next fasthttp.RequestHandler) fasthttp.RequestHandler {
	c := p.cfg.RateLimit
	containerLines := rateLines(c.ContainerRatelimit)
	listingLines := rateLines(c.ContainerListingRatelimit)
	clock := &rateClock{}
	globals := &globalRates{}
	accuracy := max(c.ClockAccuracy, 1)
	return func(ctx *fasthttp.RequestCtx) {
		version, account, container, object, err := SplitPath(ctx)
		if err != nil || (version != "v1" && version != "v1.0") || account == "" || IsInternal(ctx) {
			next(ctx)
			return
		}
		method := string(ctx.Method())
		write := method == fasthttp.MethodPut || method == fasthttp.MethodDelete || method == fasthttp.MethodPost || method == "COPY"
		var global string
		if write {
			// Only writes can be limited by the account setting.
			global = globals.get(p, account)
		}
		if slices.Contains(c.AccountWhitelist, account) || global == "WHITELIST" {
			next(ctx)
			return
		}
		if slices.Contains(c.AccountBlacklist, account) || global == "BLACKLIST" {
			p.log.Error("returning 497 because of blacklisting", "account", account)
			time.Sleep(time.Second)
			ctx.SetStatusCode(497)
			ctx.Response.Header.SetStatusMessage([]byte("Blacklisted"))
			ctx.Response.Header.SetContentType("text/html; charset=UTF-8")
			ctx.SetBodyString("Your account has been blacklisted")
			return
		}
		type limit struct {
			key  string
			rate float64
		}
		var keys []limit
		if c.AccountRatelimit > 0 && container != "" && object == "" && (method == fasthttp.MethodPut || method == fasthttp.MethodDelete) {
			keys = append(keys, limit{"ratelimit/" + account, c.AccountRatelimit})
		}
		containerSize := func() int64 {
			info, err := p.ContainerInfo(ctx, account, container)
			if err != nil {
				return 0
			}
			return info.ObjectCount
		}
		if container != "" && object != "" && write && len(containerLines) > 0 {
			if r := maxRate(containerLines, containerSize()); r > 0 {
				keys = append(keys, limit{"ratelimit/" + account + "/" + container, r})
			}
		}
		if container != "" && object == "" && method == fasthttp.MethodGet && len(listingLines) > 0 {
			if r := maxRate(listingLines, containerSize()); r > 0 {
				keys = append(keys, limit{"ratelimit_listing/" + account + "/" + container, r})
			}
		}
		if write && global != "" {
			if g, err := strconv.ParseFloat(global, 64); err == nil && g > 0 {
				keys = append(keys, limit{"ratelimit/global-write/" + account, g})
			}
		}
		for _, k := range keys {
			d, err := clock.sleepFor(k.key, k.rate, accuracy, c.RateBufferSeconds, c.MaxSleepTimeSeconds, time.Now())
			if err != nil {
				p.log.Error("returning 498: ratelimit max sleep exceeded", "method", method, "account", account, "container", container, "object", object)
				ctx.SetStatusCode(498)
				ctx.Response.Header.SetStatusMessage([]byte("Rate Limited"))
				ctx.Response.Header.SetContentType("text/html; charset=UTF-8")
				ctx.SetBodyString("Slow down")
				return
			}
			if c.LogSleepTimeSeconds > 0 && d.Seconds() > c.LogSleepTimeSeconds {
				p.log.Warn("ratelimit sleep", "sleep", d.Seconds(), "account", account, "container", container, "object", object)
			}
			if d > 0 {
				time.Sleep(d)
			}
		}
		next(ctx)
	}
}

// globalRates caches accounts' X-Account-Sysmeta-Global-Write-Ratelimit
// for a few seconds, as Swift's account info sits in memcache: a write
// costs no extra database read.
type globalRates struct {
	mu sync.Mutex
	m  map[string]globalRate
}

type globalRate struct {
	value   string
	expires time.Time
}

const globalRateTTL = 10 * time.Second

func (g *globalRates) get(p *Proxy, account string) string {
	now := time.Now()
	g.mu.Lock()
	e, ok := g.m[account]
	g.mu.Unlock()
	if ok && now.Before(e.expires) {
		return e.value
	}
	var v string
	if info, err := p.AccountInfo(account); err == nil {
		v, _ = MetaValue(info.Metadata, "X-Account-Sysmeta-Global-Write-Ratelimit")
	}
	g.mu.Lock()
	if g.m == nil || len(g.m) > 100000 {
		g.m = map[string]globalRate{}
	}
	g.m[account] = globalRate{v, now.Add(globalRateTTL)}
	g.mu.Unlock()
	return v
}
