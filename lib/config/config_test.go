package config_test

import (
	"errors"
	"testing"

	"hospital/lib/config"
)

type checked struct {
	Workers int `env:"TEST_WORKERS" envDefault:"4"`
}

func (c checked) Validate() error {
	if c.Workers < 1 {
		return errors.New("TEST_WORKERS: at least 1")
	}
	return nil
}

// A configuration that can check itself is checked as it is loaded, so no
// service starts on settings it would refuse.
func TestLoadValidates(t *testing.T) {
	cfg, err := config.Load[checked]()
	if err != nil || cfg.Workers != 4 {
		t.Fatalf("defaults: %+v, %v", cfg, err)
	}
	t.Setenv("TEST_WORKERS", "0")
	if _, err := config.Load[checked](); err == nil {
		t.Fatal("TEST_WORKERS=0 loaded")
	}
	t.Setenv("TEST_WORKERS", "many")
	if _, err := config.Load[checked](); err == nil {
		t.Fatal("TEST_WORKERS=many loaded")
	}
}
