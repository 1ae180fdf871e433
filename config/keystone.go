package config

import (
	"fmt"
	"net/url"
	"strings"
)

// KeystoneConfig connects swiftbox to a Keystone v3 server (Swift's
// authtoken + keystoneauth filters). An empty AuthURL turns it off.
type KeystoneConfig struct {
	// AuthURL is Keystone's v3 endpoint, e.g. http://keystone:5000/v3.
	AuthURL string `yaml:"auth_url"`
	// The service user that validates tokens (authtoken's credentials).
	Username          string `yaml:"username"`
	Password          string `yaml:"password"`
	ProjectName       string `yaml:"project_name"`
	UserDomainID      string `yaml:"user_domain_id"`
	ProjectDomainID   string `yaml:"project_domain_id"`
	ResellerAdminRole string `yaml:"reseller_admin_role"`
	// SystemReaderRoles may GET/HEAD every account.
	SystemReaderRoles []string `yaml:"system_reader_roles"`
	// DefaultDomainID is the domain whose user and project names may be
	// used in container ACLs.
	DefaultDomainID string `yaml:"default_domain_id"`
	// TokenCacheTime is how long, in seconds, a validated token is trusted
	// without asking Keystone again (authtoken's token_cache_time).
	TokenCacheTime int `yaml:"token_cache_time"`
	// TokenCacheSize bounds the number of cached tokens.
	TokenCacheSize int `yaml:"token_cache_size"`
	// Accounts are the reseller prefixes Keystone owns, each with its
	// rules (keystoneauth's reseller_prefix and <PREFIX>_* options).
	Accounts []KeystonePrefix `yaml:"accounts"`
}

// KeystonePrefix is one reseller prefix of Keystone and its roles.
type KeystonePrefix struct {
	Prefix             string   `yaml:"prefix"`
	OperatorRoles      []string `yaml:"operator_roles"`
	ServiceRoles       []string `yaml:"service_roles"`
	ProjectReaderRoles []string `yaml:"project_reader_roles"`
}

func defaultKeystone() KeystoneConfig {
	return KeystoneConfig{
		UserDomainID: "default", ProjectDomainID: "default", ResellerAdminRole: "ResellerAdmin",
		SystemReaderRoles: []string{}, DefaultDomainID: "default", TokenCacheTime: 300, TokenCacheSize: 10000,
		Accounts: []KeystonePrefix{{Prefix: "KEY", OperatorRoles: []string{"admin", "swiftoperator"},
			ServiceRoles: []string{}, ProjectReaderRoles: []string{}}},
	}
}

func (c *Config) finishKeystone() error {
	k := &c.Keystone
	if k.AuthURL == "" {
		return nil
	}
	if u, err := url.Parse(k.AuthURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("config: keystone.auth_url %q: want http(s)://host:port/v3", k.AuthURL)
	}
	if k.Username == "" || k.Password == "" || k.ProjectName == "" {
		return fmt.Errorf("config: keystone needs username, password and project_name of a service user to validate tokens")
	}
	if k.TokenCacheTime < 0 || k.TokenCacheSize <= 0 {
		return fmt.Errorf("config: keystone.token_cache_time must be ≥ 0 and token_cache_size positive")
	}
	if len(k.Accounts) == 0 {
		return fmt.Errorf("config: keystone.accounts must name at least one reseller prefix")
	}
	local := strings.TrimSuffix(c.Auth.ResellerPrefix, "_") + "_"
	seen := map[string]bool{}
	for i := range k.Accounts {
		p := strings.TrimSuffix(k.Accounts[i].Prefix, "_") + "_"
		if p == "_" {
			return fmt.Errorf("config: keystone.accounts[%d].prefix must not be empty", i)
		}
		if p == local {
			return fmt.Errorf("config: keystone prefix %q is also the local users' auth.reseller_prefix; give each its own", p)
		}
		if seen[p] {
			return fmt.Errorf("config: keystone prefix %q listed twice", p)
		}
		seen[p] = true
		k.Accounts[i].Prefix = p
	}
	return nil
}
