package e2e

import (
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

// BenchmarkLoadLab measures, through the gateway:
//   - result entry: a technician's POST .../items/{item_id}/results/, spread
//     over 200 collected orders of one test each, the value changing every
//     time (first results, then corrections: each a new version of its
//     order, with its audit event and, the first time, the doctor's notice);
//   - the patient's results list: GET /patients/{id}/lab-results/ by 20
//     patients, each with 10 released orders (each read audited).
//
// It is a load run: run it once (-benchtime=1x).
//
//	go test -run '^$' -bench BenchmarkLoadLab -benchtime 1x ./e2e/
//
// LOAD_DURATION (default 10s) and LOAD_WORKERS (default 16) tune it;
// LOAD_REPORT names a file for a Markdown table.
func BenchmarkLoadLab(b *testing.B) {
	duration := envDuration("LOAD_DURATION", 10*time.Second)
	workers := envInt("LOAD_WORKERS", 16)
	const patients, perPatient = 20, 10

	r := startLabRig(b, "OUTBOX_POLL_INTERVAL=1s")
	_, docTok := r.staff(b, "bench-lab-dr", "DOCTOR", "Bench", "Doctor")
	_, techTok := r.staff(b, "bench-lab-tech", "LAB_TECHNICIAN", "Bench", "Tech")
	glu := r.catalogTest(b, map[string]any{"test_code": "GLU", "test_name": "Fasting Glucose", "price": "80000.00",
		"normal_ranges_template": map[string]any{"glucose": map[string]any{"unit": "mmol/L", "min": 3.9, "max": 5.5, "critical_min": 2.5, "critical_max": 25}}})
	patIDs, patToks := make([]int64, patients), make([]string, patients)
	for i := range patients {
		patIDs[i], patToks[i] = r.labPatient(b, fmt.Sprintf("bench-lab-pt%02d", i), []string{"M", "F"}[i%2], "1975-05-20")
	}
	type order struct{ id, item string }
	orders := make([]order, patients*perPatient)
	inParallel(b, len(orders), workers, func(i int) error {
		res := r.do(b, http.MethodPost, "/api/v1/lab/orders/", docTok, map[string]any{"patient_id": patIDs[i%patients],
			"items": []map[string]any{{"test_catalog_id": glu}}}, nil)
		if res.status != http.StatusCreated {
			return fmt.Errorf("order: %d %s", res.status, res.raw)
		}
		orders[i] = order{res.str("id"), itemsOf(res)[0]["item_id"].(string)}
		res = r.do(b, http.MethodPut, "/api/v1/lab/orders/"+orders[i].id+"/status/", techTok, map[string]any{"status": "SAMPLE_COLLECTED"}, nil)
		if res.status != http.StatusOK {
			return fmt.Errorf("collect: %d %s", res.status, res.raw)
		}
		return nil
	})
	resultBody := func(i int64) []byte {
		body, _ := json.Marshal(map[string]any{"result_values": map[string]any{
			"glucose": map[string]any{"value": 4.0 + float64(i%97)/20, "unit": "mmol/L"}}, "interpretation": "Bench."})
		return body
	}

	for b.Loop() {
		var seq atomic.Int64
		header := http.Header{"Authorization": {"Bearer " + techTok}, "Content-Type": {"application/json"}}
		entries := attack(b, "lab results", func(t *vegeta.Target) error {
			i := seq.Add(1)
			o := orders[int(i)%len(orders)]
			*t = vegeta.Target{Method: http.MethodPost, URL: r.gw + "/api/v1/lab/orders/" + o.id + "/items/" + o.item + "/results/",
				Body: resultBody(i), Header: header}
			return nil
		}, workers, duration, http.StatusCreated)

		// Every order resulted (a slow run may not have reached them all),
		// then released.
		inParallel(b, len(orders), workers, func(i int) error {
			o := orders[i]
			if res := r.do(b, http.MethodPost, "/api/v1/lab/orders/"+o.id+"/items/"+o.item+"/results/", techTok,
				json.RawMessage(resultBody(int64(i)+1000)), nil); res.status != http.StatusCreated {
				return fmt.Errorf("result: %d %s", res.status, res.raw)
			}
			if res := r.do(b, http.MethodPut, "/api/v1/lab/orders/"+o.id+"/status/", docTok, map[string]any{"status": "COMPLETED"}, nil); res.status != http.StatusOK {
				return fmt.Errorf("release: %d %s", res.status, res.raw)
			}
			return nil
		})

		var lseq atomic.Int64
		lists := attack(b, "patient lab results", func(t *vegeta.Target) error {
			i := int(lseq.Add(1)) % patients
			*t = vegeta.Target{Method: http.MethodGet, URL: fmt.Sprintf("%s/api/v1/patients/%d/lab-results/", r.gw, patIDs[i]),
				Header: http.Header{"Authorization": {"Bearer " + patToks[i]}}}
			return nil
		}, workers, duration, http.StatusOK)
		// The list answers what was released.
		if res := r.do(b, http.MethodGet, fmt.Sprintf("/api/v1/patients/%d/lab-results/", patIDs[0]), patToks[0], nil, nil); num(res.body["count"]) != perPatient {
			b.Fatalf("patient's list: %s", res.raw)
		}

		b.ReportMetric(entries.Throughput, "results/s")
		b.ReportMetric(ms(entries.Latencies.P50), "result_p50_ms")
		b.ReportMetric(ms(entries.Latencies.P99), "result_p99_ms")
		b.ReportMetric(lists.Throughput, "lists/s")
		b.ReportMetric(ms(lists.Latencies.P50), "list_p50_ms")
		b.ReportMetric(ms(lists.Latencies.P99), "list_p99_ms")
		if out := os.Getenv("LOAD_REPORT"); out != "" {
			report := fmt.Sprintf("| measure | rate | p50 | p99 | requests |\n|---|---|---|---|---|\n"+
				"| result entry through the gateway (%d orders) | %.0f/s | %.2f ms | %.2f ms | %d |\n"+
				"| a patient's results list through the gateway (%d released orders each) | %.0f/s | %.2f ms | %.2f ms | %d |\n\n"+
				"(%d workers, %s per measure, one machine.)\n",
				len(orders), entries.Throughput, ms(entries.Latencies.P50), ms(entries.Latencies.P99), entries.Requests,
				perPatient, lists.Throughput, ms(lists.Latencies.P50), ms(lists.Latencies.P99), lists.Requests, workers, duration)
			if err := os.WriteFile(out, []byte(report), 0o644); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// inParallel runs fn(0..n-1) on workers goroutines and fails on the first error.
func inParallel(b *testing.B, n, workers int, fn func(i int) error) {
	b.Helper()
	next := make(chan int)
	var (
		wg     sync.WaitGroup
		failed atomic.Value
	)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if err := fn(i); err != nil {
					failed.Store(err)
				}
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	if err, _ := failed.Load().(error); err != nil {
		b.Fatal(err)
	}
}
