package edge

import (
	"fmt"
	"net/netip"
	"os"
	"strings"
	"time"

	"hospital/lib/config"
)

// DefaultAddr is where the gateway listens when HTTP_ADDR is not set: it is
// the platform's one public entry point, so it has a well-known port.
const DefaultAddr = "127.0.0.1:8080"

// Config is the gateway's configuration. No upstream address appears here:
// every route and instance comes from Consul.
type Config struct {
	config.Base

	// CORSAllowedOrigins lists the browser origins allowed to call the API
	// ("*" for any); empty disables CORS.
	CORSAllowedOrigins []string `env:"CORS_ALLOWED_ORIGINS" envSeparator:","`
	// RateLimitPaths are rate limited per client IP (trailing slash optional).
	RateLimitPaths []string `env:"RATE_LIMIT_PATHS" envSeparator:"," envDefault:"/api/v1/users/login/,/api/v1/users/password/reset/,/api/v1/users/password/reset/confirm/"`
	// RateLimitPerMinute is the sustained rate per client IP and path; 0
	// disables rate limiting.
	RateLimitPerMinute float64 `env:"RATE_LIMIT_PER_MINUTE" envDefault:"20"`
	// RateLimitBurst is how many requests a client may make at once.
	RateLimitBurst int `env:"RATE_LIMIT_BURST" envDefault:"10"`
	// TrustedProxies are the CIDRs (or IPs) whose X-Forwarded-For (and
	// X-Forwarded-Proto, for HSTS) is believed.
	TrustedProxies []string `env:"TRUSTED_PROXIES" envSeparator:","`
	// RouteOwners says which service may serve which path prefixes
	// ("prefix=service,..."; see DefaultRouteOwners, used when empty).
	RouteOwners string `env:"ROUTE_OWNERS"`
	// DefaultRouteTimeout applies to routes that advertise no timeout.
	DefaultRouteTimeout time.Duration `env:"DEFAULT_ROUTE_TIMEOUT" envDefault:"10s"`
	// PprofAddr, when set, serves Go's profiler (/debug/pprof/) on its own
	// listener there, for operators measuring the gateway; never the
	// public address.
	PprofAddr string `env:"PPROF_ADDR"`
	// MaxRouteTimeout caps what a service may advertise.
	MaxRouteTimeout time.Duration `env:"MAX_ROUTE_TIMEOUT" envDefault:"60s"`
}

// LoadConfig reads the configuration from the environment.
func LoadConfig() (Config, error) {
	cfg, err := config.Load[Config]()
	if err != nil {
		return cfg, err
	}
	if os.Getenv("HTTP_ADDR") == "" {
		cfg.HTTPAddr = DefaultAddr
	}
	return cfg, cfg.validate()
}

func (c *Config) validate() error {
	c.CORSAllowedOrigins = cleanList(c.CORSAllowedOrigins)
	c.RateLimitPaths = cleanList(c.RateLimitPaths)
	c.TrustedProxies = cleanList(c.TrustedProxies)
	if _, err := parsePrefixes(c.TrustedProxies); err != nil {
		return err
	}
	if strings.TrimSpace(c.RouteOwners) == "" {
		c.RouteOwners = DefaultRouteOwners
	}
	if _, err := ParseOwners(c.RouteOwners); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	if c.DefaultRouteTimeout <= 0 {
		return fmt.Errorf("config: DEFAULT_ROUTE_TIMEOUT must be positive")
	}
	if c.MaxRouteTimeout < c.DefaultRouteTimeout {
		return fmt.Errorf("config: MAX_ROUTE_TIMEOUT (%s) is below DEFAULT_ROUTE_TIMEOUT (%s)", c.MaxRouteTimeout, c.DefaultRouteTimeout)
	}
	if c.RateLimitPerMinute < 0 || (c.RateLimitPerMinute > 0 && c.RateLimitBurst < 1) {
		return fmt.Errorf("config: RATE_LIMIT_PER_MINUTE must be >= 0 and RATE_LIMIT_BURST >= 1")
	}
	if c.MaxBodyBytes <= 0 {
		return fmt.Errorf("config: MAX_BODY_BYTES must be positive")
	}
	return nil
}

func cleanList(in []string) []string {
	out := make([]string, 0, len(in))
	for _, s := range in {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// parsePrefixes reads CIDRs; a bare IP is a single-address prefix.
func parsePrefixes(list []string) ([]netip.Prefix, error) {
	out := make([]netip.Prefix, 0, len(list))
	for _, s := range list {
		if p, err := netip.ParsePrefix(s); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, fmt.Errorf("config: TRUSTED_PROXIES: %q is neither a CIDR nor an IP", s)
		}
		a = a.Unmap()
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}
