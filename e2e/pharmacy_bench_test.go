package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"sync"
	"testing"
	"time"
)

// BenchmarkLoadPharmacy measures dispenses per second through the gateway
// under LOAD_WORKERS concurrent clients (default 32), each a pharmacist's
// counter dispensing one unit at a time from its own prescription:
//   - hot: every dispense takes from the same medication's stock record (the
//     contended case: each one is a new version of that record);
//   - spread: the clients' prescriptions spread over eight medications;
//   - drain: 500 units left and the clients dispensing until refused: exactly
//     500 succeed (the oversell check, under load).
//
// After each measure the stock is read back through the gateway: what is on
// hand must be what was received less what was dispensed, and the stock card
// must hold one movement per dispense. It is a load run: run it once.
//
//	go test -run '^$' -bench BenchmarkLoadPharmacy -benchtime 1x ./e2e/
//
// LOAD_DURATION (default 10s) and LOAD_WORKERS (default 32) tune it;
// LOAD_REPORT names a file for a Markdown table.
func BenchmarkLoadPharmacy(b *testing.B) {
	duration := envDuration("LOAD_DURATION", 10*time.Second)
	workers := envInt("LOAD_WORKERS", 32)

	r := startPharmacyRig(b, false)
	_, docTok := r.staff(b, "drbench", "DOCTOR")
	_, phTok := r.staff(b, "dsbench", "PHARMACIST")
	patID, _ := r.patient(b, "rx-bench")
	expect(b, "medical record", r.do(b, http.MethodPost, fmt.Sprintf("/api/v1/ehr/patients/%d/", patID), docTok,
		map[string]any{"allergies": []string{"Peanuts"}}, nil), http.StatusCreated)

	hot := r.medication(b, "HOT1", "Paracetamol 500mg", "Paracetamol", "1000")
	r.receive(b, phTok, hot, "H1", 500_000, 200)
	r.receive(b, phTok, hot, "H2", 500_000, 300)
	var spread []string
	for i := range 8 {
		m := r.medication(b, fmt.Sprintf("SPREAD%d", i), fmt.Sprintf("Spread %d", i), fmt.Sprintf("Spread%d", i), "1000")
		r.receive(b, phTok, m, "S1", 100_000, 200)
		spread = append(spread, m)
	}
	last := r.medication(b, "LAST1", "Amoxicillin 500mg", "Amoxicillin", "2500")
	r.receive(b, phTok, last, "L2", 200, 300)
	r.receive(b, phTok, last, "L1", 300, 100)

	// Each client dispenses from its own verified prescriptions, one unit
	// at a time, perClient of them of perPrescription units each (a
	// prescription's history grows with each dispense, as it would).
	perClient := envInt("LOAD_PRESCRIPTIONS_PER_CLIENT", 4)
	const perPrescription = 50
	verified := func(med string) dispenseTarget {
		rx := r.prescribe(b, docTok, patID, med, perPrescription, nil)
		expect(b, "prescribe", rx, http.StatusCreated)
		expect(b, "verify", r.do(b, http.MethodPut, "/api/v1/pharmacy/prescriptions/"+rx.str("id")+"/verify/", phTok, nil, nil), http.StatusOK)
		body, _ := json.Marshal(map[string]any{"items_dispensed": []map[string]any{{"prescription_item_id_ref": itemID(rx), "quantity_dispensed": 1}}})
		return dispenseTarget{url: r.gw + "/api/v1/pharmacy/prescriptions/" + rx.str("id") + "/dispense/", body: body, units: perPrescription}
	}
	hotT, spreadT, lastT := make([][]dispenseTarget, workers), make([][]dispenseTarget, workers), make([][]dispenseTarget, workers)
	for i := range workers {
		for range perClient {
			hotT[i] = append(hotT[i], verified(hot))
			spreadT[i] = append(spreadT[i], verified(spread[i%len(spread)]))
		}
		for range 500/(perPrescription*workers) + 1 {
			lastT[i] = append(lastT[i], verified(last))
		}
	}

	for b.Loop() {
		h := dispenseLoad(b, phTok, hotT, duration, false)
		r.checkStock(b, phTok, hot, 1_000_000, h.ok)
		s := dispenseLoad(b, phTok, spreadT, duration, false)
		var left int64
		for _, m := range spread {
			left += num(r.stockOf(b, phTok, m)["quantity_on_hand"])
		}
		if left != 800_000-int64(s.ok) {
			b.Fatalf("spread: %d on hand after %d dispenses of 800000", left, s.ok)
		}
		d := dispenseLoad(b, phTok, lastT, time.Hour, true)
		if d.ok != 500 {
			b.Fatalf("drain: %d dispenses succeeded of the last 500 units", d.ok)
		}
		r.checkStock(b, phTok, last, 500, d.ok)

		for name, x := range map[string]dispenseRun{"hot": h, "spread": s, "drain": d} {
			b.ReportMetric(x.rate(), name+"_dispenses/s")
			b.ReportMetric(ms(x.pct(50)), name+"_p50_ms")
			b.ReportMetric(ms(x.pct(99)), name+"_p99_ms")
		}
		b.ReportMetric(float64(d.refused), "drain_refused")
		if out := os.Getenv("LOAD_REPORT"); out != "" {
			report := "| measure | dispenses/s | p50 | p99 | dispensed | refused (409) |\n|---|---|---|---|---|---|\n"
			for _, row := range []struct {
				name string
				x    dispenseRun
			}{{"hot: one medication's stock record", h}, {"spread: eight medications", s}, {"drain: the last 500 units", d}} {
				report += fmt.Sprintf("| %s | %.0f | %.1f ms | %.1f ms | %d | %d |\n", row.name, row.x.rate(), ms(row.x.pct(50)), ms(row.x.pct(99)), row.x.ok, row.x.refused)
			}
			report += fmt.Sprintf("\n%d clients, %s per timed measure, one machine; after each, the stock read back matched what was dispensed, and the drain dispensed exactly 500.\n", workers, duration)
			if err := os.WriteFile(out, []byte(report), 0o644); err != nil {
				b.Fatal(err)
			}
		}
	}
}

type dispenseTarget struct {
	url   string
	body  []byte
	units int // what the prescription has to give
}

type dispenseRun struct {
	ok, refused int
	elapsed     time.Duration
	latencies   []time.Duration
	// exhausted counts the clients that ran out of prescriptions before
	// the end (LOAD_PRESCRIPTIONS_PER_CLIENT too low for the run).
	exhausted int
}

func (x dispenseRun) rate() float64 { return float64(x.ok) / x.elapsed.Seconds() }

func (x dispenseRun) pct(p int) time.Duration {
	if len(x.latencies) == 0 {
		return 0
	}
	return x.latencies[(len(x.latencies)-1)*p/100]
}

// dispenseLoad runs one client per list of targets, each dispensing one
// unit at a time from its prescriptions in turn, for duration, or
// (untilRefused) until the stock refuses it. Any answer but 201 and a 409
// for lack of stock fails.
func dispenseLoad(b *testing.B, token string, clients [][]dispenseTarget, duration time.Duration, untilRefused bool) dispenseRun {
	b.Helper()
	client := &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: len(clients)}}
	var (
		mu  sync.Mutex
		res dispenseRun
		wg  sync.WaitGroup
	)
	start := time.Now()
	deadline := start.Add(duration)
	for _, targets := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var lat []time.Duration
			ok, refused, exhausted := 0, 0, 0
			defer func() {
				mu.Lock()
				res.ok, res.refused, res.exhausted = res.ok+ok, res.refused+refused, res.exhausted+exhausted
				res.latencies = append(res.latencies, lat...)
				mu.Unlock()
			}()
			for time.Now().Before(deadline) {
				for len(targets) > 0 && targets[0].units == 0 {
					targets = targets[1:]
				}
				if len(targets) == 0 {
					exhausted++
					return
				}
				tg := &targets[0]
				req, _ := http.NewRequest(http.MethodPost, tg.url, bytes.NewReader(tg.body))
				req.Header.Set("Authorization", "Bearer "+token)
				req.Header.Set("Content-Type", "application/json")
				t0 := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					b.Error(err)
					return
				}
				raw, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				lat = append(lat, time.Since(t0))
				switch {
				case resp.StatusCode == http.StatusCreated:
					ok++
					tg.units--
				case resp.StatusCode == http.StatusConflict && bytes.Contains(raw, []byte(`"insufficient_stock"`)):
					refused++
					if untilRefused {
						return
					}
				default:
					b.Errorf("dispense: %d %s", resp.StatusCode, raw)
					return
				}
			}
		}()
	}
	wg.Wait()
	res.elapsed = time.Since(start)
	slices.Sort(res.latencies)
	if b.Failed() {
		b.FailNow()
	}
	if res.exhausted > 0 {
		b.Logf("%d clients ran out of prescriptions before the end: raise LOAD_PRESCRIPTIONS_PER_CLIENT", res.exhausted)
	}
	return res
}

// checkStock reads a medication's stock back: received less dispensed on
// hand, the batches adding up to it, one movement per dispense.
func (r *pharmacyRig) checkStock(b *testing.B, token, medicationID string, received int64, dispensed int) {
	b.Helper()
	st := r.stockOf(b, token, medicationID)
	var sum int64
	for _, x := range st["expiry_dates"].([]any) {
		sum += num(x.(map[string]any)["quantity"])
	}
	if onHand := num(st["quantity_on_hand"]); onHand != received-int64(dispensed) || sum != onHand {
		b.Fatalf("stock of %s: %d on hand, batches %d, after %d dispenses of %d", medicationID, onHand, sum, dispensed, received)
	}
	card := r.do(b, http.MethodGet, "/api/v1/pharmacy/stock/"+medicationID+"/movements/?kind=DISPENSE&page_size=1", token, nil, nil)
	expect(b, "stock card", card, http.StatusOK)
	if num(card.body["count"]) != int64(dispensed) {
		b.Fatalf("stock card of %s: %d dispenses, %d made", medicationID, num(card.body["count"]), dispensed)
	}
}
