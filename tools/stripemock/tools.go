//go:build tools

// Package tools pins stripe-mock, Stripe's official mock of its API, which the
// billing service's card payments talk to in local runs and tests.
package tools

import _ "github.com/stripe/stripe-mock"
