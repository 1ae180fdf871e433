package proxy

import (
	"context"
	"log/slog"
	"maps"
	"sync"
	"sync/atomic"

	"swiftbox/config"
	"swiftbox/keystone"
	"swiftbox/ring"
	"swiftbox/server/backend"
	"swiftbox/server/keylock"
	"swiftbox/server/metrics"
)

// Rings are the rings the proxy places data with: Object is storage
// policy 0's, Policies holds the object rings of the others by index.
type Rings struct {
	Object, Container, Account *ring.Ring
	Policies                   map[int]*ring.Ring
}

// ObjectRing is the object ring of storage policy i (nil if there is none).
func (r *Rings) ObjectRing(i int) *ring.Ring {
	if i == 0 {
		return r.Object
	}
	return r.Policies[i]
}

// Policies are the configured storage Policies (Policy-0 alone when the
// config was never finished, as in some tests).
func (p *Proxy) Policies() config.Policies {
	if p == nil || len(p.cfg.Policies) == 0 {
		return defaultPolicies
	}
	return p.cfg.Policies
}

var defaultPolicies, _ = config.ValidatePolicies(nil)

// Proxy is the Swift proxy core: it authenticates, validates, and fans each
// request out to the replicas the rings name through a Backend.
type Proxy struct {
	cfg        *config.Config
	limits     config.ConstraintsConfig
	hashPrefix string
	hashSuffix string
	rings      atomic.Pointer[Rings]
	be         backend.Backend
	auth       *keystone.TempAuth
	log        *slog.Logger
	acct       *accountUpdater
	putLocks   keylock.Locks // makes a conditional PUT's check and commit atomic
	front      []Middleware
	expiry     expiryQueue
	ks         *keystone.Keystone // nil without a Keystone
	metrics    *metrics.Metrics
	logins     *keystone.LoginThrottle
	filters    map[string]Middleware            // by pipeline name (pipeline.go)
	infos      map[string]func() map[string]any // /info entries the filters registered
	cors       CORS                             // hooks_cors.go
	contChecks []func(*Request) error           // container PUT/POST header checks (hooks_container.go)
	rowHooks   listingHooks                     // listing-row rewrites the filters registered
	life       context.Context                  // work outliving a request; Close cancels it
	stop       context.CancelFunc
	closeOnce  sync.Once
}

// Options wires a Proxy.
type Options struct {
	Config     *config.Config
	HashPrefix string
	HashSuffix string
	Rings      *Rings
	Backend    backend.Backend
	Auth       *keystone.TempAuth
	Log        *slog.Logger
	// Front middlewares run before tempauth, where Swift's pipeline has
	// s3api and keystone: they may authenticate with SetIdentity.
	Front []Middleware
	// FrontInfo are the /info entries of the front middlewares (s3api's),
	// by name, as a filter's RegisterInfo adds its own.
	FrontInfo map[string]func() map[string]any
	// Keystone, if set, validates tokens tempauth did not issue and owns
	// the accounts of its reseller prefixes.
	Keystone *keystone.Keystone
	// Metrics receives auth and other proxy metrics (nil = none).
	Metrics *metrics.Metrics
	// Filters are the middlewares built outside the core, each placed in
	// the pipeline by its name (pipeline.go).
	Filters []Filter
}

// NewProxy builds the proxy core. Call Close to flush pending account updates.
func NewProxy(o Options) (*Proxy, error) {
	p := &Proxy{
		cfg:        o.Config,
		limits:     o.Config.Constraints,
		hashPrefix: o.HashPrefix,
		hashSuffix: o.HashSuffix,
		be:         o.Backend,
		auth:       o.Auth,
		log:        o.Log,
		front:      o.Front,
		ks:         o.Keystone,
		metrics:    o.Metrics,
	}
	if p.metrics == nil {
		p.metrics = &metrics.Metrics{} // every part nil: recording is a no-op
	}
	if p.log == nil {
		p.log = slog.Default()
	}
	p.logins = keystone.NewLoginThrottle(o.Config.Auth.LoginThrottle, p.log, func(system, result string) {
		p.metrics.Auth.ObserveLoginResult(system, result)
	})
	p.be = logFaults(p.be, p.log)
	p.rings.Store(o.Rings)
	p.infos = maps.Clone(o.FrontInfo)
	if p.infos == nil {
		p.infos = map[string]func() map[string]any{}
	}
	p.life, p.stop = context.WithCancel(context.Background())
	if err := p.buildFilters(o); err != nil {
		p.stop()
		return nil, err
	}
	p.acct = newAccountUpdater(p)
	return p, nil
}

// Logins is the failed-login throttle every login endpoint (tempauth,
// identity, S3 signatures) records into.
func (p *Proxy) Logins() *keystone.LoginThrottle { return p.logins }

// Close stops background work, flushing account statistics first, then
// cancels what still runs on the proxy's behalf (streamed bodies, queued
// updates).
func (p *Proxy) Close() {
	p.closeOnce.Do(func() {
		p.acct.close()
		p.stop()
	})
}

// SetRings swaps in new rings (after a rebalance).
func (p *Proxy) SetRings(r *Rings) { p.rings.Store(r) }

// placement is where one account, container or object lives: its
// partition, the primary nodes, then handoffs to try when a primary fails.
type placement struct {
	part      int
	policy    int // storage policy index of an object placement
	primaries []*ring.Device
	handoffs  []*ring.Device
}

// quorum is Swift's quorum_size for replicated policies: a majority.
func (pl placement) quorum() int { return len(pl.primaries)/2 + 1 }

// candidates returns primaries followed by up to extra handoffs
// (Swift's request_node_count = 2 × replicas).
func (pl placement) candidates() []*ring.Device {
	out := make([]*ring.Device, 0, 2*len(pl.primaries))
	out = append(out, pl.primaries...)
	for i := 0; i < len(pl.handoffs) && i < len(pl.primaries); i++ {
		out = append(out, pl.handoffs[i])
	}
	return out
}

func (p *Proxy) place(r *ring.Ring, a, c, o string) placement {
	h := ring.HashPath(p.hashPrefix, p.hashSuffix, a, c, o)
	part := r.Partition(h)
	pl := placement{part: part, primaries: r.PrimaryNodes(part)}
	for n := range r.Handoffs(part) {
		pl.handoffs = append(pl.handoffs, n)
		if len(pl.handoffs) >= 2*len(pl.primaries) {
			break
		}
	}
	return pl
}

// objectPlace places an object of storage policy index policy.
func (p *Proxy) objectPlace(policy int, a, c, o string) placement {
	pl := p.place(p.rings.Load().ObjectRing(policy), a, c, o) // objectPolicy checked it has one
	pl.policy = policy
	return pl
}

func (p *Proxy) containerPlace(a, c string) placement {
	return p.place(p.rings.Load().Container, a, c, "")
}

func (p *Proxy) accountPlace(a string) placement { return p.place(p.rings.Load().Account, a, "", "") }

// target is the container replica that object replica i updates, pairing
// them as Swift's proxy does (X-Container-Host per object node).
func (pl placement) target(i int) *backend.ContainerTarget {
	return &backend.ContainerTarget{Node: pl.primaries[i%len(pl.primaries)], Part: pl.part}
}
