package config

// Options of the proxy middlewares, under Swift's filter section names and
// option names. Lists that Swift reads as space- or comma-separated
// strings are YAML lists here.

// TempURLConfig is Swift's [filter:tempurl].
type TempURLConfig struct {
	// Methods a temp URL may be signed for.
	Methods []string `yaml:"methods"`
	// IncomingRemoveHeaders are stripped from temp URL requests ("x-foo-*"
	// matches a prefix); IncomingAllowHeaders are exceptions to that.
	IncomingRemoveHeaders []string `yaml:"incoming_remove_headers"`
	IncomingAllowHeaders  []string `yaml:"incoming_allow_headers"`
	// OutgoingRemoveHeaders are stripped from temp URL responses;
	// OutgoingAllowHeaders are exceptions to that.
	OutgoingRemoveHeaders []string `yaml:"outgoing_remove_headers"`
	OutgoingAllowHeaders  []string `yaml:"outgoing_allow_headers"`
	// AllowedDigests are the signature digests accepted (sha1, sha256, sha512).
	AllowedDigests []string `yaml:"allowed_digests"`
}

// FormPostConfig is Swift's [filter:formpost].
type FormPostConfig struct {
	// AllowedDigests are the signature digests accepted (sha1, sha256, sha512).
	AllowedDigests []string `yaml:"allowed_digests"`
}

// StaticWebConfig is Swift's [filter:staticweb].
type StaticWebConfig struct {
	// URLBase overrides the scheme and host of staticweb's redirects
	// ("https://www.example.com"); "" = as requested.
	URLBase string `yaml:"url_base"`
}

// CORSConfig holds the CORS options of Swift's [app:proxy-server].
type CORSConfig struct {
	// CORSAllowOrigin are origins allowed on every container, besides
	// the container's X-Container-Meta-Access-Control-Allow-Origin.
	CORSAllowOrigin []string `yaml:"cors_allow_origin"`
	// StrictCORSMode sends CORS headers on actual requests only for
	// allowed origins.
	StrictCORSMode bool `yaml:"strict_cors_mode"`
	// CORSExposeHeaders are added to every Access-Control-Expose-Headers.
	CORSExposeHeaders []string `yaml:"cors_expose_headers"`
}

// RateLimitConfig is Swift's [filter:ratelimit]. Rates are requests per
// second; 0 turns a limit off.
type RateLimitConfig struct {
	// ClockAccuracy is how many intervals per second the limiter can tell apart.
	ClockAccuracy int `yaml:"clock_accuracy"`
	// MaxSleepTimeSeconds: a request that would wait longer gets 498.
	MaxSleepTimeSeconds float64 `yaml:"max_sleep_time_seconds"`
	// LogSleepTimeSeconds logs requests that wait longer (0 = never).
	LogSleepTimeSeconds float64 `yaml:"log_sleep_time_seconds"`
	// RateBufferSeconds is how far behind the limiter's clock may fall (burst).
	RateBufferSeconds int `yaml:"rate_buffer_seconds"`
	// AccountRatelimit limits container PUT/DELETE per account.
	AccountRatelimit float64 `yaml:"account_ratelimit"`
	// AccountWhitelist are never limited; AccountBlacklist are refused.
	AccountWhitelist []string `yaml:"account_whitelist"`
	AccountBlacklist []string `yaml:"account_blacklist"`
	// ContainerRatelimit maps a container size (objects) to the object
	// PUT/DELETE rate for containers that big, interpolated between sizes
	// (Swift's container_ratelimit_<size>).
	ContainerRatelimit map[int]float64 `yaml:"container_ratelimit"`
	// ContainerListingRatelimit is the same for container GETs
	// (container_listing_ratelimit_<size>).
	ContainerListingRatelimit map[int]float64 `yaml:"container_listing_ratelimit"`
}

// CrossDomainConfig is Swift's [filter:crossdomain].
type CrossDomainConfig struct {
	// CrossDomainPolicy is the body of /crossdomain.xml's cross-domain-policy.
	CrossDomainPolicy string `yaml:"cross_domain_policy"`
}

// EtagQuoterConfig is Swift's [filter:etag-quoter].
type EtagQuoterConfig struct {
	// EnableByDefault quotes object ETags where neither the account nor
	// the container says (X-*-Rfc-Compliant-Etags).
	EnableByDefault bool `yaml:"enable_by_default"`
}

// DomainRemapConfig is Swift's [filter:domain_remap]: virtual hosting of
// accounts and containers as <container>.<account>.<storage_domain>.
type DomainRemapConfig struct {
	// StorageDomain are the domains served this way; none = off.
	StorageDomain []string `yaml:"storage_domain"`
	// PathRoot is the API version put in front of remapped paths.
	PathRoot string `yaml:"path_root"`
	// ResellerPrefixes are the account prefixes recognised in host names.
	ResellerPrefixes []string `yaml:"reseller_prefixes"`
	// DefaultResellerPrefix is added to account names without one ("" = none).
	DefaultResellerPrefix string `yaml:"default_reseller_prefix"`
	// MangleClientPaths strips a path_root the client sent itself.
	MangleClientPaths bool `yaml:"mangle_client_paths"`
}

// CNAMELookupConfig is Swift's [filter:cname_lookup]. Without DNS, the
// CNAME records are a static map from host name to target.
type CNAMELookupConfig struct {
	// StorageDomain are the domains a CNAME must lead to; none = off.
	StorageDomain []string `yaml:"storage_domain"`
	// LookupDepth is how many CNAMEs to follow.
	LookupDepth int `yaml:"lookup_depth"`
	// CNAMEs maps a host name to its CNAME target.
	CNAMEs map[string]string `yaml:"cnames"`
}

func defaultMiddlewares(c *Config) {
	c.TempURL = TempURLConfig{
		Methods:               []string{"GET", "HEAD", "PUT", "POST", "DELETE"},
		IncomingRemoveHeaders: []string{"x-timestamp"},
		IncomingAllowHeaders:  []string{},
		OutgoingRemoveHeaders: []string{"x-object-meta-*"},
		OutgoingAllowHeaders:  []string{"x-object-meta-public-*"},
		AllowedDigests:        []string{"sha1", "sha256", "sha512"},
	}
	c.FormPost = FormPostConfig{AllowedDigests: []string{"sha1", "sha256", "sha512"}}
	c.CORS = CORSConfig{CORSAllowOrigin: []string{}, StrictCORSMode: true, CORSExposeHeaders: []string{}}
	c.RateLimit = RateLimitConfig{
		ClockAccuracy:             1000,
		MaxSleepTimeSeconds:       60,
		RateBufferSeconds:         5,
		AccountWhitelist:          []string{},
		AccountBlacklist:          []string{},
		ContainerRatelimit:        map[int]float64{},
		ContainerListingRatelimit: map[int]float64{},
	}
	c.CrossDomain = CrossDomainConfig{CrossDomainPolicy: `<allow-access-from domain="*" secure="false" />`}
	c.DomainRemap = DomainRemapConfig{StorageDomain: []string{}, PathRoot: "v1", ResellerPrefixes: []string{"AUTH"}}
	c.CNAMELookup = CNAMELookupConfig{StorageDomain: []string{}, LookupDepth: 1, CNAMEs: map[string]string{}}
}
