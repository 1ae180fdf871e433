package proxy

import (
	"strconv"

	"swiftbox/server/pyfmt"

	"github.com/valyala/fasthttp"

	"swiftbox/config"
)

// Storage policies: a container's policy (chosen by X-Storage-Policy when
// it is created) decides the object ring and the device directories
// (objects-N) of every object in it, as in Swift's proxy.

// requestedPolicy maps a container PUT's X-Storage-Policy (a name or
// alias, any case) to its policy, as Swift's _convert_policy_to_index:
// ok is false when none was asked for; an unknown or deprecated policy is
// a 400.
func (p *Proxy) requestedPolicy(r *Request) (pol config.StoragePolicy, ok bool, err error) {
	name := r.Header("X-Storage-Policy")
	if name == "" {
		return pol, false, nil
	}
	pol, found := p.Policies().ByName(name)
	if !found {
		return pol, false, Errorf(fasthttp.StatusBadRequest, "Invalid X-Storage-Policy '%s'", name)
	}
	if pol.Deprecated {
		return pol, false, Errorf(fasthttp.StatusBadRequest, "Storage Policy %s is deprecated", pyfmt.Repr(pol.Name))
	}
	return pol, true, nil
}

// policyIndexOf checks that a container's policy index is a configured
// policy with a ring and records it for the access log. Swift answers 503
// for a container whose policy is gone from swift.conf.
func (p *Proxy) policyIndexOf(ctx *fasthttp.RequestCtx, index int) (int, error) {
	if _, ok := p.Policies().ByIndex(index); !ok || p.rings.Load().ObjectRing(index) == nil {
		return 0, Errorf(fasthttp.StatusServiceUnavailable, "No policy with index %d", index)
	}
	if len(p.Policies()) > 1 {
		// For the access log and metrics (the gatekeeper hides it);
		// with one policy they say 0 without it.
		ctx.Response.Header.Set("X-Backend-Storage-Policy-Index", strconv.Itoa(index))
	}
	return index, nil
}

// objectPolicy is the storage policy index of the request's container;
// policy 0 when the container is not found, as Swift's proxy falls back
// to the legacy policy (the object server answers for the object). With
// one policy configured every container has it, and no container lookup
// is needed.
func (p *Proxy) objectPolicy(r *Request) (int, error) {
	if ps := p.Policies(); len(ps) == 1 {
		return p.policyIndexOf(r.Ctx, ps[0].Index)
	}
	info, err := p.ContainerInfo(r.Ctx, r.Account, r.Container)
	if err != nil && !NotFound(err) {
		return 0, err
	}
	return p.policyIndexOf(r.Ctx, info.StoragePolicy)
}

// policyName is the name of policy index i for X-Storage-Policy and the
// account's per-policy headers ("" for a policy no longer configured).
func (p *Proxy) policyName(i int) string {
	pol, ok := p.Policies().ByIndex(i)
	if !ok {
		return ""
	}
	return pol.Name
}
