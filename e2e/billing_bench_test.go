package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// BenchmarkLoadBilling measures:
//   - invoices created per second through the internal endpoint, called
//     straight on the billing service with the appointment service's token
//     (as its outbox calls it), each a new appointment with its own key;
//   - the same invoice written straight into MariaDB (the invoice row and
//     its item in one transaction), as many workers, as the ceiling;
//   - card payments per second through the gateway (billing charging
//     stripe-mock through Stripe's SDK), spread over the invoices made.
//
// It is a load run: run it once (-benchtime=1x).
//
//	go test -run '^$' -bench BenchmarkLoadBilling -benchtime 1x ./e2e/
//
// LOAD_DURATION (default 10s) and LOAD_WORKERS (default 16) tune it;
// LOAD_REPORT names a file for a Markdown table.
func BenchmarkLoadBilling(b *testing.B) {
	duration := envDuration("LOAD_DURATION", 10*time.Second)
	workers := envInt("LOAD_WORKERS", 16)

	r := startBillingRig(b)
	r.startBilling(b, "OUTBOX_POLL_INTERVAL=1s")
	patID, patTok := r.patient(b, "bench-bill-pt")
	docID, _ := r.doctorAllDay(b, "bench-bill-dr")
	svcTok := r.serviceToken(b, "appointment", appointmentSecret)

	for b.Loop() {
		// Invoices through the internal endpoint.
		var seq atomic.Int64
		seq.Store(1_000_000)
		header := http.Header{"Authorization": {"Bearer " + svcTok}, "Content-Type": {"application/json"}}
		url := r.billing.URL + "/api/v1/billing/internal/create-invoice-for-appointment/"
		invoices := attack(b, "invoices", func(t *vegeta.Target) error {
			id := seq.Add(1)
			body, _ := json.Marshal(map[string]any{"appointment_id": id, "patient_id": patID, "doctor_id": docID,
				"service_description": "Consultation", "amount": "150000.00"})
			h := header.Clone()
			h.Set("Idempotency-Key", fmt.Sprintf("appointment-invoice:%d", id))
			*t = vegeta.Target{Method: http.MethodPost, URL: url, Body: body, Header: h}
			return nil
		}, workers, duration, http.StatusCreated)

		// The same rows straight into MariaDB.
		var (
			inserted atomic.Int64
			wg       sync.WaitGroup
			failed   atomic.Value
		)
		deadline := time.Now().Add(duration)
		start := time.Now()
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for k := 0; time.Now().Before(deadline); k++ {
					if err := r.rawInvoice(patID, fmt.Sprintf("RAW-%02d-%08d", w, k), int64(5_000_000+w*10_000_000+k)); err != nil {
						failed.Store(err)
						return
					}
					inserted.Add(1)
				}
			}()
		}
		wg.Wait()
		if err, _ := failed.Load().(error); err != nil {
			b.Fatal(err)
		}
		directRate := float64(inserted.Load()) / time.Since(start).Seconds()

		// Card payments through the gateway, 1000 VND each, over the
		// invoices just made (150 payments fit in one).
		rows, err := r.billingDB.Query(`SELECT id FROM invoices WHERE related_appointment_id IS NOT NULL ORDER BY id`)
		if err != nil {
			b.Fatal(err)
		}
		var ids []int64
		for rows.Next() {
			var id int64
			_ = rows.Scan(&id)
			ids = append(ids, id)
		}
		rows.Close()
		var pseq atomic.Int64
		payHeader := http.Header{"Authorization": {"Bearer " + patTok}, "Content-Type": {"application/json"}}
		body, _ := json.Marshal(map[string]any{"payment_method": "CREDIT_CARD", "amount": "1000",
			"card_details_if_applicable": map[string]any{"payment_method_token": "tok_visa"}})
		payments := attack(b, "payments", func(t *vegeta.Target) error {
			i := pseq.Add(1)
			h := payHeader.Clone()
			h.Set("Idempotency-Key", fmt.Sprintf("bench-pay-%d", i))
			*t = vegeta.Target{Method: http.MethodPost, URL: fmt.Sprintf("%s/api/v1/invoices/%d/pay/", r.gw, ids[int(i)%len(ids)]),
				Body: bytes.Clone(body), Header: h}
			return nil
		}, workers, duration, http.StatusCreated)

		b.ReportMetric(invoices.Throughput, "invoices/s")
		b.ReportMetric(directRate, "direct_invoice_inserts/s")
		b.ReportMetric(ms(invoices.Latencies.P50), "invoice_p50_ms")
		b.ReportMetric(ms(invoices.Latencies.P99), "invoice_p99_ms")
		b.ReportMetric(payments.Throughput, "payments/s")
		b.ReportMetric(ms(payments.Latencies.P50), "payment_p50_ms")
		b.ReportMetric(ms(payments.Latencies.P99), "payment_p99_ms")
		if out := os.Getenv("LOAD_REPORT"); out != "" {
			report := fmt.Sprintf("| measure | rate | p50 | p99 | requests |\n|---|---|---|---|---|\n"+
				"| invoice through the internal endpoint | %.0f/s | %.2f ms | %.2f ms | %d |\n"+
				"| same invoice and item INSERTed straight into MariaDB | %.0f/s | | | %d |\n"+
				"| card payment through the gateway (Stripe SDK → stripe-mock) | %.0f/s | %.2f ms | %.2f ms | %d |\n\n"+
				"Invoice/insert ratio: **%.2f**. (%d workers, %s per measure, one machine.)\n",
				invoices.Throughput, ms(invoices.Latencies.P50), ms(invoices.Latencies.P99), invoices.Requests,
				directRate, inserted.Load(),
				payments.Throughput, ms(payments.Latencies.P50), ms(payments.Latencies.P99), payments.Requests,
				invoices.Throughput/directRate, workers, duration)
			if err := os.WriteFile(out, []byte(report), 0o644); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// rawInvoice writes one invoice and its item, nothing else.
func (r *billingRig) rawInvoice(patientID int64, number string, appt int64) error {
	tx, err := r.billingDB.Begin()
	if err != nil {
		return err
	}
	defer tx.Rollback()
	now := time.Now().UTC()
	res, err := tx.Exec(`INSERT INTO invoices (patient_id, invoice_number, issue_date, due_date, sub_total_amount, total_amount,
		status, related_appointment_id, created_at, updated_at) VALUES (?, ?, ?, ?, 150000, 150000, 'PENDING_PATIENT', ?, ?, ?)`,
		patientID, number, now, now.AddDate(0, 0, 30), appt, now, now)
	if err != nil {
		return err
	}
	id, _ := res.LastInsertId()
	if _, err := tx.Exec(`INSERT INTO invoice_items (invoice_id, item_type, description, quantity, unit_price, total_price)
		VALUES (?, 'CONSULTATION', 'Consultation', 1, 150000, 150000)`, id); err != nil {
		return err
	}
	return tx.Commit()
}

// serviceToken obtains a service token from the user service, as the
// service named does.
func (r *billingRig) serviceToken(t testing.TB, service, secret string) string {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"service": service, "secret": secret})
	resp, err := http.Post(r.user.URL+"/api/v1/users/internal/service-token/", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || out.AccessToken == "" {
		t.Fatalf("service token for %s: %d %v", service, resp.StatusCode, err)
	}
	return out.AccessToken
}
