// Package ratelimit is Swift's ratelimit middleware: container PUT/DELETE
// per account, object writes per container and container listings, each
// rate chosen by the container's size, and an account's global write
// limit from X-Account-Sysmeta-Global-Write-Ratelimit (or WHITELIST /
// BLACKLIST). Requests over the rate sleep; one that would sleep longer
// than max_sleep_time_seconds gets 498. Swift keeps its counters in
// memcache; a single process keeps them in memory.
package ratelimit

import (
	"context"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/valyala/fasthttp"

	"swiftbox/config"
	"swiftbox/server/proxy"
	"swiftbox/server/pyfmt"
)

// Filter is the ratelimit filter of the pipeline.
func Filter() proxy.Filter { return proxy.Filter{Name: "ratelimit", New: New} }

// limiter is the middleware's state: the rate tables read once, the
// running clocks and the accounts' global settings.
type limiter struct {
	cfg            *config.RateLimitConfig
	core           proxy.Core
	log            *slog.Logger
	containerLines []rateLine
	listingLines   []rateLine
	accuracy       int
	clock          rateClock
	globals        globalRates
}

// New builds the ratelimit middleware and registers its /info entry.
func New(env *proxy.Env) (proxy.Middleware, error) {
	c := &env.Config.RateLimit
	l := &limiter{
		cfg:            c,
		core:           env.Core,
		log:            env.Log.With("component", "ratelimit"),
		containerLines: rateLines(c.ContainerRatelimit),
		listingLines:   rateLines(c.ContainerListingRatelimit),
		accuracy:       max(c.ClockAccuracy, 1),
	}
	env.RegisterInfo("ratelimit", func() map[string]any {
		return map[string]any{
			"account_ratelimit":            pyfmt.Float(c.AccountRatelimit),
			"max_sleep_time_seconds":       pyfmt.Float(c.MaxSleepTimeSeconds),
			"container_ratelimits":         rateInfo(c.ContainerRatelimit),
			"container_listing_ratelimits": rateInfo(c.ContainerListingRatelimit),
		}
	})
	return l.middleware, nil
}

func (l *limiter) middleware(next proxy.Handler) proxy.Handler {
	return func(ctx *fasthttp.RequestCtx) error {
		version, account, container, object, err := proxy.SplitPath(ctx)
		if err != nil || (version != "v1" && version != "v1.0") || account == "" || proxy.IsInternal(ctx) {
			return next(ctx)
		}
		method := string(ctx.Method())
		write := isWrite(method)
		var global string
		if write {
			// Only writes can be limited by the account setting.
			global = l.globals.get(ctx, l.core, account)
		}
		if slices.Contains(l.cfg.AccountWhitelist, account) || global == "WHITELIST" {
			return next(ctx)
		}
		if slices.Contains(l.cfg.AccountBlacklist, account) || global == "BLACKLIST" {
			l.log.Error("returning 497 because of blacklisting", "account", account)
			if err := sleep(ctx, time.Second); err != nil {
				return err
			}
			refuse(ctx, 497, "Blacklisted", "Your account has been blacklisted")
			return nil
		}
		for _, k := range l.limits(ctx, method, account, container, object, global) {
			d, err := l.clock.sleepFor(k.key, k.rate, l.accuracy, l.cfg.RateBufferSeconds, l.cfg.MaxSleepTimeSeconds, time.Now())
			if err != nil {
				l.log.Error("returning 498: ratelimit max sleep exceeded", "method", method, "account", account, "container", container, "object", object)
				refuse(ctx, 498, "Rate Limited", "Slow down")
				return nil
			}
			if l.cfg.LogSleepTimeSeconds > 0 && d.Seconds() > l.cfg.LogSleepTimeSeconds {
				l.log.Warn("ratelimit sleep", "sleep", d.Seconds(), "account", account, "container", container, "object", object)
			}
			if err := sleep(ctx, d); err != nil {
				return err
			}
		}
		return next(ctx)
	}
}

// limit is one running clock a request counts against, at rate per second.
type limit struct {
	key  string
	rate float64
}

// limits are the clocks a request counts against (Swift's get_ratelimitable_key_tuples).
func (l *limiter) limits(ctx *fasthttp.RequestCtx, method, account, container, object, global string) []limit {
	write := isWrite(method)
	var keys []limit
	if l.cfg.AccountRatelimit > 0 && container != "" && object == "" && (method == fasthttp.MethodPut || method == fasthttp.MethodDelete) {
		keys = append(keys, limit{"ratelimit/" + account, l.cfg.AccountRatelimit})
	}
	containerSize := func() int64 {
		info, err := l.core.ContainerInfo(ctx, account, container)
		if err != nil {
			return 0
		}
		return info.ObjectCount
	}
	if container != "" && object != "" && write && len(l.containerLines) > 0 {
		if r := maxRate(l.containerLines, containerSize()); r > 0 {
			keys = append(keys, limit{"ratelimit/" + account + "/" + container, r})
		}
	}
	if container != "" && object == "" && method == fasthttp.MethodGet && len(l.listingLines) > 0 {
		if r := maxRate(l.listingLines, containerSize()); r > 0 {
			keys = append(keys, limit{"ratelimit_listing/" + account + "/" + container, r})
		}
	}
	if write && global != "" {
		if g, err := strconv.ParseFloat(global, 64); err == nil && g > 0 {
			keys = append(keys, limit{"ratelimit/global-write/" + account, g})
		}
	}
	return keys
}

// isWrite reports whether method writes (the requests the account's and
// containers' write limits count).
func isWrite(method string) bool {
	return method == fasthttp.MethodPut || method == fasthttp.MethodDelete || method == fasthttp.MethodPost || method == "COPY"
}

// refuse answers with Swift's ratelimit status, reason and body.
func refuse(ctx *fasthttp.RequestCtx, code int, reason, body string) {
	ctx.SetStatusCode(code)
	ctx.Response.Header.SetStatusMessage([]byte(reason))
	ctx.Response.Header.SetContentType("text/html; charset=UTF-8")
	ctx.SetBodyString(body)
}

// sleep waits d, or until the request's context ends (a shutdown).
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
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

func (g *globalRates) get(ctx *fasthttp.RequestCtx, core proxy.Core, account string) string {
	now := time.Now()
	g.mu.Lock()
	e, ok := g.m[account]
	g.mu.Unlock()
	if ok && now.Before(e.expires) {
		return e.value
	}
	var v string
	if info, err := core.AccountInfo(ctx, account); err == nil {
		v, _ = proxy.MetaValue(info.Metadata, "X-Account-Sysmeta-Global-Write-Ratelimit")
	}
	g.mu.Lock()
	if g.m == nil || len(g.m) > 100000 {
		g.m = map[string]globalRate{}
	}
	g.m[account] = globalRate{v, now.Add(globalRateTTL)}
	g.mu.Unlock()
	return v
}
