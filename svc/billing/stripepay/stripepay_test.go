package stripepay_test

import (
	"context"
	"errors"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"hospital/lib/testkit"
	"hospital/svc/billing/invoicing"
	"hospital/svc/billing/stripepay"
)

func TestMain(m *testing.M) { os.Exit(testkit.Main(m)) }

func charge(token string) invoicing.Charge {
	return invoicing.Charge{Amount: 150000, Currency: "vnd", Token: token, IdempotencyKey: "billing-payment:1",
		Description: "Invoice INV-2026-000001", Metadata: map[string]string{"invoice_number": "INV-2026-000001"}}
}

// Against stripe-mock: a charge and a refund go through the SDK and come
// back as Stripe answers them.
func TestChargeAndRefundAgainstStripeMock(t *testing.T) {
	mock := testkit.SharedStripeMock(t)
	g := stripepay.New("sk_test_123", mock.URL, 10*time.Second)
	id, err := g.Charge(context.Background(), charge("tok_visa"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(id, "ch_") {
		t.Fatalf("charge id %q", id)
	}
	if err := g.Refund(context.Background(), id, "billing-refund:1"); err != nil {
		t.Fatal(err)
	}
}

// stripe-mock cannot decline a card (it answers every valid request with a
// success fixture), but it does refuse requests: a key it does not accept
// is Stripe's own error answer, which must come back as a refusal (nothing
// charged), not as an unknown outcome, and without the key in the message.
func TestRefusalAgainstStripeMock(t *testing.T) {
	mock := testkit.SharedStripeMock(t)
	g := stripepay.New("not-a-stripe-key", mock.URL, 10*time.Second)
	_, err := g.Charge(context.Background(), charge("tok_visa"))
	var refusal *invoicing.GatewayRefusal
	if !errors.As(err, &refusal) {
		t.Fatalf("want a refusal, got %v", err)
	}
	if strings.Contains(refusal.Message, "not-a-stripe-key") {
		t.Fatalf("the refusal shows the secret: %q", refusal.Message)
	}
	if err := g.Refund(context.Background(), "ch_x", "k"); !errors.As(err, &refusal) {
		t.Fatalf("refund: want a refusal, got %v", err)
	}
}

// No answer at all is an unknown outcome, never a refusal: the payment
// must stay PENDING until the gateway is asked again.
func TestUnreachableGatewayIsAnUnknownOutcome(t *testing.T) {
	port := testkit.MustFreePort(t)
	g := stripepay.New("sk_test_123", "http://127.0.0.1:"+itoa(port), 2*time.Second)
	_, err := g.Charge(context.Background(), charge("tok_visa"))
	var refusal *invoicing.GatewayRefusal
	if err == nil || errors.As(err, &refusal) {
		t.Fatalf("want an unknown outcome, got %v", err)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
