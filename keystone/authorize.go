package keystone

// Decision is the outcome of an authorization check.
type Decision int

const (
	// Allow lets the request through.
	Allow Decision = iota
	// Unauthorized (401): no or invalid credentials; authenticating could help.
	Unauthorized
	// Forbidden (403): authenticated, but not allowed.
	Forbidden
)

// Request is what authorization needs to know about a request.
type Request struct {
	Method    string
	Account   string // e.g. "AUTH_test"
	Container string // "" for account requests
	Object    string // "" for container/account requests
	Referrer  string
	// ReadACL and WriteACL are the container's X-Container-Read/-Write.
	ReadACL, WriteACL string
}

// Authorize decides as Swift's tempauth does. id is nil for anonymous requests.
func (t *TempAuth) Authorize(id *Identity, r Request) Decision {
	if r.Method == "OPTIONS" {
		// CORS preflight carries no credentials; the CORS logic decides.
		return Allow
	}
	if owner, reader := t.Owner(id, r.Method, r.Account, r.Container); owner || reader {
		return Allow
	}
	read := r.Method == "GET" || r.Method == "HEAD"
	if r.Container != "" {
		if read {
			acl := ParseContainerACL(r.ReadACL)
			if acl.ReferrerAllowed(r.Referrer) && (r.Object != "" || acl.Listings) {
				return Allow
			}
			if id != nil && acl.GroupMatch(id.Groups) {
				return Allow
			}
		} else if r.Object != "" || r.Method == "OPTIONS" {
			acl := ParseContainerACL(r.WriteACL)
			if id != nil && acl.GroupMatch(id.Groups) {
				return Allow
			}
		}
	}
	if id == nil {
		return Unauthorized
	}
	return Forbidden
}
