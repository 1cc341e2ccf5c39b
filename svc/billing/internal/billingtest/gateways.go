package billingtest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"hospital/svc/billing/invoicing"
)

// Card is a payment gateway for domain tests: stripe-mock never declines
// and never times out, so the outcomes it cannot produce are produced here
// (the real adapter, stripepay, is tested against stripe-mock). Tokens
// name the outcome: "tok_chargeDeclined" is declined, "tok_timeout" leaves
// the outcome unknown (until Settle), anything else succeeds.
type Card struct {
	mu      sync.Mutex
	charges map[string]invoicing.Charge // by idempotency key
	Calls   atomic.Int32
	settled atomic.Bool
}

// NewCard returns a gateway with no charges.
func NewCard() *Card { return &Card{charges: map[string]invoicing.Charge{}} }

// Settle makes timed-out charges succeed when asked again.
func (c *Card) Settle() { c.settled.Store(true) }

// Charge implements invoicing.PaymentGateway.
func (c *Card) Charge(_ context.Context, ch invoicing.Charge) (string, error) {
	c.Calls.Add(1)
	switch {
	case ch.Token == "tok_chargeDeclined":
		return "", &invoicing.GatewayRefusal{Code: "card_declined", Message: "Your card was declined."}
	case ch.Token == "tok_timeout" && !c.settled.Load():
		return "", errors.New("gateway timeout")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.charges[ch.IdempotencyKey] = ch
	return "ch_" + ch.IdempotencyKey, nil
}

// Refund implements invoicing.PaymentGateway.
func (c *Card) Refund(_ context.Context, txID, key string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k := range c.charges {
		if "ch_"+k == txID {
			return nil
		}
	}
	return &invoicing.GatewayRefusal{Code: "resource_missing", Message: fmt.Sprintf("No such charge: %s", txID)}
}

// Charged is how many distinct charges were made.
func (c *Card) Charged() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.charges)
}
