// Package stripepay is the payment gateway adapter over Stripe's official
// SDK: a card charge (Charges API with the token the payment page got from
// Stripe.js) and a refund. Locally and in tests its backend is Stripe's own
// mock server, stripe-mock.
//
// What stripe-mock cannot do: it is stateless and answers fixtures, so it
// never declines a card (tok_chargeDeclined succeeds there), never times
// out, and ignores idempotency keys. The adapter's refusal path is tested
// with the errors stripe-mock does return (a request it refuses), and the
// domain's FAILED-payment rules with a declining gateway.
package stripepay

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/stripe/stripe-go/v82"

	"hospital/svc/billing/invoicing"
)

// Gateway charges cards through Stripe.
type Gateway struct {
	client *stripe.Client
}

// New returns a gateway using secretKey against the API at baseURL
// (https://api.stripe.com in production, a stripe-mock locally). The SDK
// retries network failures itself, with the same idempotency key.
func New(secretKey, baseURL string, timeout time.Duration) *Gateway {
	backend := stripe.GetBackendWithConfig(stripe.APIBackend, &stripe.BackendConfig{
		URL:               stripe.String(baseURL),
		HTTPClient:        &http.Client{Timeout: timeout},
		MaxNetworkRetries: stripe.Int64(2),
		// The SDK logs at Error by default; its lines could echo requests.
		LeveledLogger: &stripe.LeveledLogger{Level: stripe.LevelNull},
	})
	return &Gateway{client: stripe.NewClient(secretKey, stripe.WithBackends(&stripe.Backends{API: backend, Connect: backend, Uploads: backend}))}
}

// Charge charges the card behind c.Token. A *invoicing.GatewayRefusal
// means nothing was charged; another error means the outcome is unknown.
func (g *Gateway) Charge(ctx context.Context, c invoicing.Charge) (string, error) {
	params := &stripe.ChargeCreateParams{
		Amount: stripe.Int64(c.Amount), Currency: stripe.String(c.Currency),
		Source:      &stripe.PaymentSourceSourceParams{Token: stripe.String(c.Token)},
		Description: stripe.String(c.Description),
	}
	for k, v := range c.Metadata {
		params.AddMetadata(k, v)
	}
	params.SetIdempotencyKey(c.IdempotencyKey)
	params.Context = ctx
	ch, err := g.client.V1Charges.Create(ctx, params)
	if err != nil {
		return "", classify(err)
	}
	switch ch.Status {
	case stripe.ChargeStatusSucceeded:
		return ch.ID, nil
	case stripe.ChargeStatusFailed:
		return "", &invoicing.GatewayRefusal{Code: string(ch.FailureCode), Message: ch.FailureMessage}
	default: // pending: the gateway has not decided yet
		return "", errors.New("stripe: charge " + ch.ID + " is " + string(ch.Status))
	}
}

// Refund refunds the whole charge transactionID.
func (g *Gateway) Refund(ctx context.Context, transactionID, idempotencyKey string) error {
	params := &stripe.RefundCreateParams{Charge: stripe.String(transactionID)}
	params.SetIdempotencyKey(idempotencyKey)
	params.Context = ctx
	r, err := g.client.V1Refunds.Create(ctx, params)
	if err != nil {
		return classify(err)
	}
	if r.Status == stripe.RefundStatusFailed || r.Status == stripe.RefundStatusCanceled {
		return &invoicing.GatewayRefusal{Code: string(r.Status), Message: "The refund " + string(r.Status) + "."}
	}
	return nil
}

// classify turns Stripe's answer into a refusal (it answered and did not
// charge) or an unknown outcome (no answer, or its own failure).
func classify(err error) error {
	var se *stripe.Error
	if !errors.As(err, &se) {
		return err // transport: unknown
	}
	switch {
	case se.Type == stripe.ErrorTypeCard:
		code := string(se.DeclineCode)
		if code == "" {
			code = string(se.Code)
		}
		return &invoicing.GatewayRefusal{Code: code, Message: se.Msg}
	case se.Type == stripe.ErrorTypeInvalidRequest, se.Type == stripe.ErrorTypeIdempotency,
		se.HTTPStatusCode == http.StatusUnauthorized, se.HTTPStatusCode == http.StatusForbidden:
		code := string(se.Code)
		if code == "" {
			code = string(se.Type)
		}
		msg := se.Msg
		if se.HTTPStatusCode == http.StatusUnauthorized || se.HTTPStatusCode == http.StatusForbidden {
			msg = "The payment gateway refused the hospital's credentials."
		}
		return &invoicing.GatewayRefusal{Code: code, Message: msg}
	default:
		return err // api_error, rate limits, 5xx: unknown
	}
}
