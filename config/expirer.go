package config

import "fmt"

// ExpirerConfig configures the object expirer (a goroutine of serve; also
// `swiftbox expirer --once`).
type ExpirerConfig struct {
	// Interval is the number of seconds between passes (Swift's interval).
	Interval int `yaml:"interval"`
}

func defaultExpirer() ExpirerConfig { return ExpirerConfig{Interval: 300} }

func (c *Config) finishExpirer() error {
	if c.Expirer.Interval <= 0 {
		return fmt.Errorf("config: expirer.interval must be positive, got %d", c.Expirer.Interval)
	}
	return nil
}
