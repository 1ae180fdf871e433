// Package config is swiftbox's configuration: the config.yaml model, its
// defaults and validation. Command-line flags override what the file says.
package config

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Config is everything `swiftbox serve` and the daemons need. Field names in
// YAML follow Swift's option names where Swift has one.
type Config struct {
	// Devices is the directory whose subdirectories are devices (Swift's devices).
	Devices string `yaml:"devices"`
	// StateDir holds rings, swift.conf (hash path prefix/suffix) and generated
	// users. Default: the config file's directory, or <devices>/.swiftbox.
	StateDir string `yaml:"swift_dir"`
	// Bind is the API listener, HOST:PORT.
	Bind string `yaml:"bind"`
	// MountCheck requires each device to be a mount point (Swift's mount_check).
	MountCheck bool `yaml:"mount_check"`
	// FallocateReserve keeps this much free on each device: bytes or "N%".
	FallocateReserve string `yaml:"fallocate_reserve"`
	// ReclaimAge is how long tombstones are kept, in seconds.
	ReclaimAge int64 `yaml:"reclaim_age"`
	// ObjectReplicas and PartPower are used only when serve builds the
	// default rings (no rings in StateDir yet); 0 means choose automatically.
	Replicas  int `yaml:"replicas"`
	PartPower int `yaml:"part_power"`
	// StoragePolicies are Swift's [storage-policy:N] sections (replication
	// only). None configured means one policy, Policy-0 at index 0.
	StoragePolicies []StoragePolicy `yaml:"storage_policies"`
	// Policies is StoragePolicies validated and completed by Finish.
	Policies Policies `yaml:"-"`

	// BackendAddr is where the storage-node listener (Swift's backend
	// API, recon) listens: "auto" = every ip:port the rings give this
	// node's devices, where the IP is this host's and the port free; a
	// comma-separated HOST:PORT list; "" = no backend listener.
	BackendAddr string `yaml:"backend_addr"`
	// ReconCachePath holds the daemons' recon cache files (Swift's
	// recon_cache_path). Default: <swift_dir>/recon.
	ReconCachePath string `yaml:"recon_cache_path"`

	Auth          AuthConfig          `yaml:"auth"`
	Constraints   ConstraintsConfig   `yaml:"constraints"`
	S3            S3Config            `yaml:"s3"`
	Replicator    ReplicatorConfig    `yaml:"replicator"`
	Auditor       AuditorConfig       `yaml:"auditor"`
	Expirer       ExpirerConfig       `yaml:"expirer"`
	Symlink       SymlinkConfig       `yaml:"symlink"`
	Versioning    VersioningConfig    `yaml:"versioned_writes"`
	Keystone      KeystoneConfig      `yaml:"keystone"`
	SLO           SLOConfig           `yaml:"slo"`
	Bulk          BulkConfig          `yaml:"bulk"`
	ContainerSync ContainerSyncConfig `yaml:"container_sync"`

	TempURL     TempURLConfig     `yaml:"tempurl"`
	FormPost    FormPostConfig    `yaml:"formpost"`
	StaticWeb   StaticWebConfig   `yaml:"staticweb"`
	CORS        CORSConfig        `yaml:"cors"`
	RateLimit   RateLimitConfig   `yaml:"ratelimit"`
	CrossDomain CrossDomainConfig `yaml:"crossdomain"`
	EtagQuoter  EtagQuoterConfig  `yaml:"etag_quoter"`
	DomainRemap DomainRemapConfig `yaml:"domain_remap"`
	CNAMELookup CNAMELookupConfig `yaml:"cname_lookup"`
	Metrics     MetricsConfig     `yaml:"metrics"`
	AccessLog   AccessLogConfig   `yaml:"access_log"`
	Listen      ListenConfig      `yaml:"listen"`
	TLS         TLSConfig         `yaml:"tls"`

	// LogLevel is debug, info, warn or error.
	LogLevel string `yaml:"log_level"`
	// LogFormat is text (logfmt-style key=value) or json, for the server's
	// and daemons' structured logs.
	LogFormat string `yaml:"log_format"`

	// path of the file this was loaded from ("" = none)
	File string `yaml:"-"`
}

// MetricsConfig configures the Prometheus /metrics listener.
type MetricsConfig struct {
	// Addr is the listener, HOST:PORT ("" = no metrics listener).
	Addr string `yaml:"addr"`
	// BearerToken, when set, must be sent as "Authorization: Bearer …".
	BearerToken string `yaml:"bearer_token"`
}

// DefaultMetricsAddr is the default /metrics listener: loopback only, in
// the Prometheus exporters' 91xx range (9100 itself is node_exporter's).
const DefaultMetricsAddr = "127.0.0.1:9180"

// AccessLogConfig configures the access log (Swift's proxy-logging lines).
type AccessLogConfig struct {
	// Path is the file lines are appended to; "-" = stdout, "" = off.
	Path string `yaml:"path"`
	// Headers logs every request header (Swift's access_log_headers).
	Headers bool `yaml:"headers"`
	// RevealSensitivePrefix is how many characters of an auth token are
	// logged before "..." (Swift's reveal_sensitive_prefix).
	RevealSensitivePrefix int `yaml:"reveal_sensitive_prefix"`
}

// AuthConfig configures tempauth-style local users.
type AuthConfig struct {
	// ResellerPrefix is the account prefix of local users (Swift's
	// reseller_prefix); a list ("AUTH, SERVICE") gives them several, the
	// first being that of their tokens and storage URLs.
	ResellerPrefix string `yaml:"reseller_prefix"`
	// RequireGroup maps a prefix to the group a second token
	// (X-Service-Token) must belong to for owner access to its accounts
	// (Swift's <PREFIX>_require_group), e.g. {SERVICE: service}.
	RequireGroup map[string]string `yaml:"require_group"`
	// TokenLife is how long a token is valid, in seconds (Swift's token_life).
	TokenLife int64 `yaml:"token_life"`
	// Users are "account:user:key[:group,group…]" entries, as --user takes them.
	Users []string `yaml:"users"`
	// StorageURLScheme forces the scheme of X-Storage-Url ("default" = as requested).
	StorageURLScheme string `yaml:"storage_url_scheme"`
	// LoginThrottle throttles failed logins per client address and user.
	LoginThrottle LoginThrottleConfig `yaml:"login_throttle"`
}

// S3Config configures the S3 API, with the option names of Swift's s3api.
type S3Config struct {
	// Addr is an extra listener that serves only the S3 API ("" = none);
	// S3 requests are served on bind as well.
	Addr string `yaml:"addr"`
	// Location is the region clients sign for and GetBucketLocation names.
	Location string `yaml:"location"`
	// StorageDomain lists, comma-separated, the domains under which
	// virtual-hosted-style requests name the bucket as the first label.
	StorageDomain string `yaml:"storage_domain"`
	// AllowableClockSkew is how far, in seconds, a request's date may be
	// from the server's clock.
	AllowableClockSkew int64 `yaml:"allowable_clock_skew"`
	// DNSCompliantBucketNames restricts new bucket names to DNS labels.
	DNSCompliantBucketNames bool `yaml:"dns_compliant_bucket_names"`
	// MaxBucketListing caps max-keys of object listings.
	MaxBucketListing int `yaml:"max_bucket_listing"`
	// MaxPartsListing caps max-parts of ListParts.
	MaxPartsListing int `yaml:"max_parts_listing"`
	// MaxMultiDeleteObjects caps the keys of one DeleteObjects.
	MaxMultiDeleteObjects int `yaml:"max_multi_delete_objects"`
	// MaxUploadPartNum is the highest part number of a multipart upload.
	MaxUploadPartNum int `yaml:"max_upload_part_num"`
	// MinSegmentSize is the smallest part (but the last) CompleteMultipartUpload accepts.
	MinSegmentSize int64 `yaml:"min_segment_size"`
	// AnonymousAccount is the account ("AUTH_test") whose buckets unsigned
	// S3 requests reach, on Addr or virtual-hosted; its container ACLs
	// decide what they may do. "" = unsigned requests are refused.
	AnonymousAccount string `yaml:"anonymous_account"`
}

// StorageDomains is StorageDomain split at commas.
func (c S3Config) StorageDomains() []string {
	var out []string
	for _, d := range strings.Split(c.StorageDomain, ",") {
		if d = strings.TrimSpace(d); d != "" {
			out = append(out, strings.TrimPrefix(d, "."))
		}
	}
	return out
}

// ConstraintsConfig is Swift's [swift-constraints], served at /info.
type ConstraintsConfig struct {
	MaxFileSize           int64 `yaml:"max_file_size" json:"max_file_size"`
	MaxMetaNameLength     int   `yaml:"max_meta_name_length" json:"max_meta_name_length"`
	MaxMetaValueLength    int   `yaml:"max_meta_value_length" json:"max_meta_value_length"`
	MaxMetaCount          int   `yaml:"max_meta_count" json:"max_meta_count"`
	MaxMetaOverallSize    int   `yaml:"max_meta_overall_size" json:"max_meta_overall_size"`
	MaxHeaderSize         int   `yaml:"max_header_size" json:"max_header_size"`
	MaxObjectNameLength   int   `yaml:"max_object_name_length" json:"max_object_name_length"`
	ContainerListingLimit int   `yaml:"container_listing_limit" json:"container_listing_limit"`
	AccountListingLimit   int   `yaml:"account_listing_limit" json:"account_listing_limit"`
	MaxAccountNameLength  int   `yaml:"max_account_name_length" json:"max_account_name_length"`
	MaxContainerNameLen   int   `yaml:"max_container_name_length" json:"max_container_name_length"`
	ExtraHeaderCount      int   `yaml:"extra_header_count" json:"extra_header_count"`
}

// SLOConfig is Swift's [filter:slo] (static large objects), served at /info.
type SLOConfig struct {
	MaxManifestSegments int `yaml:"max_manifest_segments"`
	MaxManifestSize     int `yaml:"max_manifest_size"`
	// YieldFrequency is the seconds between heartbeat spaces of a
	// ?heartbeat=on manifest PUT.
	YieldFrequency int `yaml:"yield_frequency"`
}

// BulkConfig is Swift's [filter:bulk] (bulk delete, archive extraction).
type BulkConfig struct {
	MaxContainersPerExtraction int `yaml:"max_containers_per_extraction"`
	MaxFailedExtractions       int `yaml:"max_failed_extractions"`
	MaxDeletesPerRequest       int `yaml:"max_deletes_per_request"`
	MaxFailedDeletes           int `yaml:"max_failed_deletes"`
	// YieldFrequency is the seconds between the spaces a long bulk request
	// sends to keep its connection alive.
	YieldFrequency int `yaml:"yield_frequency"`
}

// Default returns the configuration used when neither file nor flag says otherwise.
func Default() *Config {
	c := &Config{
		Devices:          "/srv/node",
		Bind:             ":8080",
		FallocateReserve: "1%",
		ReclaimAge:       604800,
		LogLevel:         "info",
		LogFormat:        "text",
		BackendAddr:      "auto",
		Metrics:          MetricsConfig{Addr: DefaultMetricsAddr},
		AccessLog:        AccessLogConfig{Path: "-", RevealSensitivePrefix: 16},
		Listen:           defaultListen(),
		Auth: AuthConfig{
			ResellerPrefix:   "AUTH",
			RequireGroup:     map[string]string{},
			TokenLife:        86400,
			StorageURLScheme: "default",
			LoginThrottle:    defaultLoginThrottle(),
		},
		S3: S3Config{
			Location:                "us-east-1",
			AllowableClockSkew:      900,
			DNSCompliantBucketNames: true,
			MaxBucketListing:        1000,
			MaxPartsListing:         1000,
			MaxMultiDeleteObjects:   1000,
			MaxUploadPartNum:        10000,
			MinSegmentSize:          5242880,
		},
		Replicator:    defaultReplicator(),
		Auditor:       defaultAuditor(),
		Expirer:       defaultExpirer(),
		Symlink:       defaultSymlink(),
		Versioning:    defaultVersioning(),
		Keystone:      defaultKeystone(),
		ContainerSync: defaultContainerSync(),
		Constraints: ConstraintsConfig{
			MaxFileSize:           5368709122,
			MaxMetaNameLength:     128,
			MaxMetaValueLength:    256,
			MaxMetaCount:          90,
			MaxMetaOverallSize:    4096,
			MaxHeaderSize:         8192,
			MaxObjectNameLength:   1024,
			ContainerListingLimit: 10000,
			AccountListingLimit:   10000,
			MaxAccountNameLength:  256,
			MaxContainerNameLen:   256,
		},
		SLO: SLOConfig{MaxManifestSegments: 1000, MaxManifestSize: 8 << 20, YieldFrequency: 10},
		Bulk: BulkConfig{MaxContainersPerExtraction: 10000, MaxFailedExtractions: 1000,
			MaxDeletesPerRequest: 10000, MaxFailedDeletes: 1000, YieldFrequency: 10},
	}
	defaultMiddlewares(c)
	return c
}

// Load reads path over the defaults. Unknown keys are an error, so a typo
// in an option name is reported instead of silently ignored.
func Load(path string) (*Config, error) {
	c := Default()
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	defer f.Close()
	dec := yaml.NewDecoder(f)
	dec.KnownFields(true)
	if err := dec.Decode(c); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	abs, err := filepath.Abs(path)
	if err == nil {
		c.File = abs
	}
	return c, nil
}

// Finish fills derived defaults (StateDir) and validates.
func (c *Config) Finish() error {
	if err := c.finishPaths(); err != nil {
		return err
	}
	if err := c.finishAddrs(); err != nil {
		return err
	}
	if err := c.finishLimits(); err != nil {
		return err
	}
	var err error
	if c.Policies, err = ValidatePolicies(c.StoragePolicies); err != nil {
		return err
	}
	if err := c.finishAuth(); err != nil {
		return err
	}
	if err := c.finishS3(); err != nil {
		return err
	}
	if err := c.finishLogging(); err != nil {
		return err
	}
	if err := c.finishExpirer(); err != nil {
		return err
	}
	if err := c.finishContainerSync(); err != nil {
		return err
	}
	if err := c.finishLoginThrottle(); err != nil {
		return err
	}
	if err := c.finishVersioning(); err != nil {
		return err
	}
	if err := c.finishKeystone(); err != nil {
		return err
	}
	return c.finishDaemons()
}

// finishPaths makes the devices and state directories absolute.
func (c *Config) finishPaths() error {
	if c.Devices == "" {
		return errors.New("config: devices must be set")
	}
	dev, err := filepath.Abs(c.Devices)
	if err != nil {
		return fmt.Errorf("config: devices: %w", err)
	}
	c.Devices = dev
	if c.StateDir == "" {
		if c.File != "" {
			c.StateDir = filepath.Dir(c.File)
		} else {
			c.StateDir = filepath.Join(c.Devices, ".swiftbox")
		}
	}
	if c.StateDir, err = filepath.Abs(c.StateDir); err != nil {
		return fmt.Errorf("config: swift_dir: %w", err)
	}
	if c.ReconCachePath == "" {
		c.ReconCachePath = filepath.Join(c.StateDir, "recon")
	}
	return nil
}

// finishAddrs checks the listening addresses.
func (c *Config) finishAddrs() error {
	if _, _, err := net.SplitHostPort(c.Bind); err != nil {
		return fmt.Errorf("config: bind %q: want HOST:PORT: %w", c.Bind, err)
	}
	if c.Metrics.Addr != "" {
		if _, _, err := net.SplitHostPort(c.Metrics.Addr); err != nil {
			return fmt.Errorf("config: metrics.addr %q: want HOST:PORT: %w", c.Metrics.Addr, err)
		}
	}
	if c.BackendAddr != "auto" && c.BackendAddr != "" {
		for _, a := range strings.Split(c.BackendAddr, ",") {
			if _, _, err := net.SplitHostPort(strings.TrimSpace(a)); err != nil {
				return fmt.Errorf("config: backend_addr %q: want auto, HOST:PORT[,HOST:PORT…] or empty: %w", c.BackendAddr, err)
			}
		}
	}
	if err := c.validateListen(); err != nil {
		return err
	}
	return nil
}

// finishLimits checks the middlewares' and storage's numeric limits.
func (c *Config) finishLimits() error {
	if c.AccessLog.RevealSensitivePrefix < 0 {
		return fmt.Errorf("config: access_log.reveal_sensitive_prefix must not be negative, got %d", c.AccessLog.RevealSensitivePrefix)
	}
	if _, _, err := c.ParseFallocateReserve(); err != nil {
		return err
	}
	for name, v := range map[string]int{"slo.max_manifest_segments": c.SLO.MaxManifestSegments,
		"slo.max_manifest_size": c.SLO.MaxManifestSize, "bulk.max_containers_per_extraction": c.Bulk.MaxContainersPerExtraction,
		"bulk.max_failed_extractions": c.Bulk.MaxFailedExtractions, "bulk.max_deletes_per_request": c.Bulk.MaxDeletesPerRequest,
		"bulk.max_failed_deletes": c.Bulk.MaxFailedDeletes} {
		if v <= 0 {
			return fmt.Errorf("config: %s must be positive, got %d", name, v)
		}
	}
	if c.ReclaimAge <= 0 {
		return fmt.Errorf("config: reclaim_age must be positive, got %d", c.ReclaimAge)
	}
	if c.Replicas < 0 || c.Replicas > 6 {
		return fmt.Errorf("config: replicas must be 0 (auto) to 6, got %d", c.Replicas)
	}
	if c.PartPower != 0 && (c.PartPower < 1 || c.PartPower > 22) {
		return fmt.Errorf("config: part_power must be 0 (auto) or 1..22, got %d", c.PartPower)
	}
	return nil
}

// finishAuth checks tempauth's settings and users.
func (c *Config) finishAuth() error {
	for _, u := range c.Auth.Users {
		if _, err := ParseUser(u); err != nil {
			return err
		}
	}
	if c.Auth.TokenLife <= 0 {
		return fmt.Errorf("config: auth.token_life must be positive, got %d", c.Auth.TokenLife)
	}
	for p := range c.Auth.RequireGroup {
		found := false
		for _, q := range c.Auth.Prefixes() {
			if strings.TrimSuffix(p, "_")+"_" == q {
				found = true
			}
		}
		if !found {
			return fmt.Errorf("config: auth.require_group names %q, which is not one of auth.reseller_prefix %q", p, c.Auth.ResellerPrefix)
		}
	}
	if len(c.Auth.Prefixes()) == 0 {
		return errors.New("config: auth.reseller_prefix must not be empty")
	}
	switch c.Auth.StorageURLScheme {
	case "default", "http", "https":
	default:
		return fmt.Errorf("config: auth.storage_url_scheme must be default, http or https, got %q", c.Auth.StorageURLScheme)
	}
	return nil
}

// finishS3 checks the S3 API's settings.
func (c *Config) finishS3() error {
	if c.S3.Addr != "" {
		if _, _, err := net.SplitHostPort(c.S3.Addr); err != nil {
			return fmt.Errorf("config: s3.addr %q: want HOST:PORT: %w", c.S3.Addr, err)
		}
	}
	if c.S3.Location == "" {
		return errors.New("config: s3.location must not be empty")
	}
	if c.S3.AllowableClockSkew <= 0 || c.S3.MaxBucketListing <= 0 || c.S3.MaxPartsListing <= 0 ||
		c.S3.MaxMultiDeleteObjects <= 0 || c.S3.MaxUploadPartNum <= 0 || c.S3.MinSegmentSize < 0 {
		return errors.New("config: s3 limits must be positive")
	}
	return nil
}

// finishLogging checks the log settings.
func (c *Config) finishLogging() error {
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		return fmt.Errorf("config: log_level must be debug, info, warn or error, got %q", c.LogLevel)
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		return fmt.Errorf("config: log_format must be text or json, got %q", c.LogFormat)
	}
	return nil
}

// ParseFallocateReserve returns the reserve as bytes or percent (one is 0).
func (c *Config) ParseFallocateReserve() (bytes int64, percent float64, err error) {
	s := strings.TrimSpace(c.FallocateReserve)
	if s == "" {
		return 0, 0, nil
	}
	if p, ok := strings.CutSuffix(s, "%"); ok {
		v, err := strconv.ParseFloat(p, 64)
		if err != nil || v < 0 || v >= 100 {
			return 0, 0, fmt.Errorf("config: fallocate_reserve %q: want bytes or a percentage below 100%%", s)
		}
		return 0, v, nil
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v < 0 {
		return 0, 0, fmt.Errorf("config: fallocate_reserve %q: want bytes or a percentage", s)
	}
	return v, 0, nil
}

// TokenLifetime is Auth.TokenLife as a duration.
func (c *Config) TokenLifetime() time.Duration { return time.Duration(c.Auth.TokenLife) * time.Second }

// User is one tempauth user.
type User struct {
	Account, Name, Key string
	Groups             []string
}

// ParseUser parses "account:user:key[:group,group…]".
func ParseUser(s string) (User, error) {
	parts := strings.SplitN(s, ":", 4)
	if len(parts) < 3 || parts[0] == "" || parts[1] == "" || parts[2] == "" {
		return User{}, fmt.Errorf("user %q: want account:user:key[:group,…]", s)
	}
	u := User{Account: parts[0], Name: parts[1], Key: parts[2]}
	if strings.ContainsAny(u.Account, "/") || strings.ContainsAny(u.Name, "/") {
		return User{}, fmt.Errorf("user %q: account and user may not contain '/'", s)
	}
	if len(parts) == 4 && parts[3] != "" {
		for _, g := range strings.Split(parts[3], ",") {
			if g = strings.TrimSpace(g); g != "" {
				u.Groups = append(u.Groups, g)
			}
		}
	}
	return u, nil
}

// String formats u the way ParseUser reads it.
func (u User) String() string {
	s := u.Account + ":" + u.Name + ":" + u.Key
	if len(u.Groups) > 0 {
		s += ":" + strings.Join(u.Groups, ",")
	}
	return s
}

// Prefixes are the local users' reseller prefixes, each ending in "_".
func (a AuthConfig) Prefixes() []string {
	var out []string
	for _, p := range strings.Split(a.ResellerPrefix, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, strings.TrimSuffix(p, "_")+"_")
		}
	}
	return out
}
