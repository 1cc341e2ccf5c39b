// Command gateway is the platform's API gateway, the only entry point for
// clients. Its routes come from what the services advertise in Consul.
package main

import (
	"context"
	"fmt"
	"os"

	"hospital/lib/service"
	"hospital/svc/gateway/gateway"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "gateway:", err)
		os.Exit(1)
	}
}

func run() error {
	cfg, err := gateway.LoadConfig()
	if err != nil {
		return err
	}
	s, err := service.New("gateway", cfg.Base)
	if err != nil {
		return err
	}
	g, err := gateway.New(s, cfg)
	if err != nil {
		return err
	}
	return s.Run(context.Background(), g.Spec())
}
