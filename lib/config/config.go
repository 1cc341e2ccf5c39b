// Package config loads a service's settings from the environment. Every
// service embeds Base and adds its own fields; defaults suit a local run.
package config

import (
	"fmt"
	"os"
	"time"

	"github.com/caarlos0/env/v11"
)

// Base holds the settings every service has.
type Base struct {
	// HTTPAddr is where the service listens; port 0 picks a free one.
	HTTPAddr string `env:"HTTP_ADDR" envDefault:"127.0.0.1:0"`
	// OpsAddr is the operator listener: /metrics, /healthz/live and
	// /healthz/ready, never on the API port. Consul's check and Prometheus
	// reach it (its port is advertised as the service meta "ops_port"); keep
	// it off the public network.
	OpsAddr string `env:"OPS_ADDR" envDefault:"127.0.0.1:0"`
	// AdvertiseHost is the address other instances use to reach this one;
	// empty means the host part of HTTPAddr.
	AdvertiseHost string `env:"ADVERTISE_HOST"`
	ConsulAddr    string `env:"CONSUL_HTTP_ADDR" envDefault:"127.0.0.1:8500"`
	ConsulToken   string `env:"CONSUL_HTTP_TOKEN"`
	// ConsulCheckInterval is how often Consul probes readiness: how long a
	// crashed instance can stay in the pool (docs/RESILIENCE.md).
	ConsulCheckInterval time.Duration `env:"CONSUL_CHECK_INTERVAL" envDefault:"1s"`
	// ConsulCheckTimeout bounds one readiness probe; a hung instance is
	// critical after it.
	ConsulCheckTimeout time.Duration `env:"CONSUL_CHECK_TIMEOUT" envDefault:"2s"`
	// ConsulDeregisterAfter is how long Consul keeps an instance whose
	// check is critical before removing it (Consul's minimum is 1m; it is
	// out of the pool from the first failed check anyway).
	ConsulDeregisterAfter time.Duration `env:"CONSUL_DEREGISTER_AFTER" envDefault:"1m"`
	LogLevel              string        `env:"LOG_LEVEL" envDefault:"info"`
	// LokiPushURL, when set, receives a copy of every log line (Loki push API).
	LokiPushURL string `env:"LOKI_PUSH_URL"`
	// ServiceSecret is this service's client secret for service tokens.
	ServiceSecret string `env:"SERVICE_SECRET"`
	// DrainDelay is how long a stopping instance keeps serving after it
	// has left Consul, so callers whose view of Consul is a moment old do
	// not find a closed port.
	DrainDelay time.Duration `env:"DRAIN_DELAY" envDefault:"1s"`
	// ShutdownTimeout bounds the wait for in-flight requests after that.
	ShutdownTimeout time.Duration `env:"SHUTDOWN_TIMEOUT" envDefault:"15s"`
	// MaxBodyBytes bounds every JSON request body.
	MaxBodyBytes int64 `env:"MAX_BODY_BYTES" envDefault:"1048576"`
	// PublicBaseURL is where clients reach the platform (the gateway):
	// pagination links and links in emails are built from it, never from a
	// client's Host header.
	PublicBaseURL string `env:"PUBLIC_BASE_URL" envDefault:"http://127.0.0.1:8080"`
}

// Load fills a T from the environment and, when T has a Validate method,
// checks it: a service never starts on settings it would refuse later.
func Load[T any]() (T, error) {
	var cfg T
	if err := env.Parse(&cfg); err != nil {
		return cfg, fmt.Errorf("config: %w", err)
	}
	if v, ok := any(&cfg).(interface{ Validate() error }); ok {
		if err := v.Validate(); err != nil {
			return cfg, err
		}
	}
	return cfg, nil
}

// Hostname is the machine name used in instance IDs.
func Hostname() string {
	h, err := os.Hostname()
	if err != nil || h == "" {
		return "localhost"
	}
	return h
}
