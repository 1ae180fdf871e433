package config

import (
	"errors"
	"fmt"
	"time"
)

// ListenConfig holds the limits every listener (API, S3, metrics,
// storage-node) applies to its connections, with Swift's option names
// where Swift has one. Times are in seconds.
type ListenConfig struct {
	// HeaderTimeout bounds the reading of a request's header, from the
	// connection's opening (TLS handshake included) or a request's first byte.
	HeaderTimeout float64 `yaml:"header_timeout"`
	// ClientTimeout is the longest wait for the next bytes of a request
	// body or for the client to take response bytes (Swift's
	// client_timeout); a slow but steady transfer is never cut.
	ClientTimeout float64 `yaml:"client_timeout"`
	// KeepaliveTimeout closes a keep-alive connection idle between requests.
	KeepaliveTimeout float64 `yaml:"keepalive_timeout"`
	// KeepIdle is the TCP keep-alive idle time (Swift's keep_idle); 0 = off.
	KeepIdle float64 `yaml:"keep_idle"`
	// MaxClients caps each listener's open connections (Swift's
	// max_clients); 0 = auto: a quarter of the open-files limit, at most 4096.
	MaxClients int `yaml:"max_clients"`
}

// TLSConfig makes the API, S3 and metrics listeners serve HTTPS.
type TLSConfig struct {
	// CertFile and KeyFile are PEM files (Swift's cert_file, key_file),
	// read again on SIGHUP.
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
	// SelfSigned makes (once) and uses a certificate for this box's names
	// and addresses, kept in <swift_dir>/tls.
	SelfSigned bool `yaml:"self_signed"`
}

// Enabled reports whether the listeners serve TLS.
func (t TLSConfig) Enabled() bool { return t.SelfSigned || t.CertFile != "" }

func defaultListen() ListenConfig {
	return ListenConfig{HeaderTimeout: 20, ClientTimeout: 60, KeepaliveTimeout: 120, KeepIdle: 600}
}

// Seconds turns a seconds option into a duration.
func Seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

func (c *Config) validateListen() error {
	l := c.Listen
	for name, v := range map[string]float64{"listen.header_timeout": l.HeaderTimeout,
		"listen.client_timeout": l.ClientTimeout, "listen.keepalive_timeout": l.KeepaliveTimeout} {
		if v <= 0 {
			return fmt.Errorf("config: %s must be positive, got %v", name, v)
		}
	}
	if l.KeepIdle < 0 {
		return fmt.Errorf("config: listen.keep_idle must not be negative, got %v", l.KeepIdle)
	}
	if l.MaxClients < 0 {
		return fmt.Errorf("config: listen.max_clients must not be negative, got %d", l.MaxClients)
	}
	t := c.TLS
	if (t.CertFile == "") != (t.KeyFile == "") {
		return errors.New("config: tls.cert_file and tls.key_file go together")
	}
	if t.SelfSigned && t.CertFile != "" {
		return errors.New("config: tls.self_signed and tls.cert_file exclude each other")
	}
	return nil
}
