package proxy

// CORS is Swift's cors_validation, which runs in the proxy's controllers:
// a middleware supplies it (Env.SetCORS) and the core calls it where
// Swift's controllers would, after the core's own checks, so a request
// the core refuses before then gets no CORS headers.
type CORS interface {
	// Preflight answers OPTIONS to r; allow lists the methods r's
	// resource allows ("HEAD, GET, …", as the Allow header says).
	Preflight(r *Request, allow string)
	// Respond adds CORS headers to the finished response to r, an actual
	// request from origin to a container or an object.
	Respond(r *Request, origin string)
}

// SetCORS makes c the core's CORS handling. Without one, OPTIONS answers
// with Allow alone and responses get no CORS headers.
func (e *Env) SetCORS(c CORS) { e.p.cors = c }

// allowedMethods are the methods r's resource allows.
func allowedMethods(r *Request) string {
	switch {
	case r.Object != "":
		return objectMethods
	case r.Container != "":
		return containerMethods
	}
	return accountMethods
}

// corsPreflight answers OPTIONS.
func (p *Proxy) corsPreflight(r *Request) {
	if p.cors == nil {
		AllowOptions(r.Ctx, allowedMethods(r))
		return
	}
	p.cors.Preflight(r, allowedMethods(r))
}

// corsResponse adds CORS headers to the response to r, unless r was
// denied before Swift's CORS handling.
func (p *Proxy) corsResponse(r *Request, origin string) {
	if r.corsSkip || p.cors == nil {
		return
	}
	p.cors.Respond(r, origin)
}
