package metrics

import "github.com/prometheus/client_golang/prometheus"

// Auth holds the authentication families: logins and token checks by
// auth system, and the token cache of auth systems that keep one
// (Keystone, S3 credentials).
type Auth struct {
	logins, tokens, cache *prometheus.CounterVec
	cacheEntries          *prometheus.GaugeVec
}

func newAuth(reg prometheus.Registerer) *Auth {
	a := &Auth{
		logins: counterVec("auth", "logins_total",
			"Logins (GET /auth/v1.0, POST /v3/auth/tokens and /v2.0/tokens, S3 signatures), by auth system and result (success, failure, throttled: refused while the user from the client address, or the address, is throttled).", "system", "result"),
		tokens: counterVec("auth", "token_validations_total",
			"Tokens checked on requests, by auth system and result (valid, invalid).", "system", "result"),
		cache: counterVec("auth", "token_cache_requests_total",
			"Token cache lookups, by auth system and result (hit, miss).", "system", "result"),
		cacheEntries: gaugeVec("auth", "token_cache_entries",
			"Tokens held in the token cache.", "system"),
	}
	reg.MustRegister(a.logins, a.tokens, a.cache, a.cacheEntries)
	return a
}

func okLabel(ok bool, yes, no string) string {
	if ok {
		return yes
	}
	return no
}

// ObserveLogin counts one authentication request.
func (a *Auth) ObserveLogin(system string, ok bool) {
	if a != nil {
		a.logins.WithLabelValues(system, okLabel(ok, "success", "failure")).Inc()
	}
}

// ObserveLoginResult counts one login with its result (success, failure,
// throttled).
func (a *Auth) ObserveLoginResult(system, result string) {
	if a != nil {
		a.logins.WithLabelValues(system, result).Inc()
	}
}

// ObserveToken counts one token check.
func (a *Auth) ObserveToken(system string, valid bool) {
	if a != nil {
		a.tokens.WithLabelValues(system, okLabel(valid, "valid", "invalid")).Inc()
	}
}

// ObserveCache counts one token cache lookup.
func (a *Auth) ObserveCache(system string, hit bool) {
	if a != nil {
		a.cache.WithLabelValues(system, okLabel(hit, "hit", "miss")).Inc()
	}
}

// SetCacheEntries reports the token cache's size.
func (a *Auth) SetCacheEntries(system string, n int) {
	if a != nil {
		a.cacheEntries.WithLabelValues(system).Set(float64(n))
	}
}
