package main

import (
	"context"

	"hospital/lib/api"
)

var apiInfo = api.Info{Title: "Billing & Insurance", Description: "Invoices, payments, insurance policies and claims."}

// runner runs work on one instance of the service at a time: lib/leader's
// Election (a Consul lock) satisfies it.
type runner interface {
	Run(ctx context.Context, work func(ctx context.Context))
}

// alone runs work at once: one instance, or until the Consul lock is wired.
type alone struct{}

func (alone) Run(ctx context.Context, work func(ctx context.Context)) { work(ctx) }
