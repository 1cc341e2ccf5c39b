package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"sync/atomic"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// BenchmarkLoadEHR measures, through the gateway:
//   - reading a whole medical record of 50 encounters (each with a
//     diagnosis and two sets of vitals), as the doctor who wrote them: the
//     care check (cached), five queries at once, the audit event's insert;
//   - adding vital signs, spread over the 50 encounters: the care check,
//     the encounter's read, one insert carrying its audit event.
//
// It is a load run: run it once (-benchtime=1x).
//
//	go test -run '^$' -bench BenchmarkLoadEHR -benchtime 1x ./e2e/
//
// LOAD_DURATION (default 10s) and LOAD_WORKERS (default 16) tune it;
// LOAD_REPORT names a file for a Markdown table.
func BenchmarkLoadEHR(b *testing.B) {
	duration := envDuration("LOAD_DURATION", 10*time.Second)
	workers := envInt("LOAD_WORKERS", 16)

	r := startEHRRig(b)
	r.startEHR(b, "CARE_CACHE_TTL=30s", "OUTBOX_POLL_INTERVAL=1s")
	docID, docTok := r.doctor(b, "bench-ehr-dr")
	patID, _ := r.patient(b, "bench-ehr-pt")
	svcTok := r.serviceToken(b, "appointment", appointmentSecret)

	// The record: 50 encounters, linked as the appointment service does.
	var encounters []string
	for i := 1; i <= 50; i++ {
		var enc struct {
			ID string `json:"encounter_id"`
		}
		body, _ := json.Marshal(map[string]any{"appointment_id": i, "doctor_id": docID, "patient_id": patID,
			"appointment_time": time.Now().UTC().Add(-time.Duration(i) * 24 * time.Hour).Format(time.RFC3339)})
		req, _ := http.NewRequest(http.MethodPost, fmt.Sprintf("%s/api/v1/ehr/internal/patients/%d/link-appointment/", r.ehr.URL, patID),
			bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+svcTok)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Idempotency-Key", fmt.Sprintf("appointment-ehr-link:%d", i))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		if err := json.NewDecoder(resp.Body).Decode(&enc); err != nil || resp.StatusCode != http.StatusCreated {
			b.Fatalf("link %d: %d %v", i, resp.StatusCode, err)
		}
		resp.Body.Close()
		encounters = append(encounters, enc.ID)
		path := fmt.Sprintf("/api/v1/ehr/patients/%d/encounters/%s/", patID, enc.ID)
		expect(b, "diagnosis", r.do(b, http.MethodPost, path+"diagnoses/", docTok,
			map[string]any{"icd_code": "J06.9", "description": "Acute upper respiratory infection", "is_primary": true}, nil), http.StatusCreated)
		for range 2 {
			expect(b, "vitals", r.do(b, http.MethodPost, path+"vitals/", docTok,
				map[string]any{"heart_rate": 78, "blood_pressure": "118/76", "temperature_celsius": 37.1}, nil), http.StatusCreated)
		}
	}
	recordURL := fmt.Sprintf("%s/api/v1/ehr/patients/%d/", r.gw, patID)
	check := r.do(b, http.MethodGet, fmt.Sprintf("/api/v1/ehr/patients/%d/", patID), docTok, nil, nil)
	expect(b, "record", check, http.StatusOK)
	if n := len(check.body["encounters"].([]any)); n != 50 {
		b.Fatalf("%d encounters", n)
	}
	header := http.Header{"Authorization": {"Bearer " + docTok}, "Content-Type": {"application/json"}}

	for b.Loop() {
		reads := attack(b, "ehr-record-reads", vegeta.NewStaticTargeter(vegeta.Target{Method: http.MethodGet, URL: recordURL, Header: header}),
			workers, duration, http.StatusOK)

		var seq atomic.Int64
		vitalsBody, _ := json.Marshal(map[string]any{"heart_rate": 81, "blood_pressure": "121/79", "temperature_celsius": 36.9})
		adds := attack(b, "ehr-vitals", func(t *vegeta.Target) error {
			i := seq.Add(1)
			*t = vegeta.Target{Method: http.MethodPost, Header: header, Body: vitalsBody,
				URL: fmt.Sprintf("%s/api/v1/ehr/patients/%d/encounters/%s/vitals/", r.gw, patID, encounters[int(i)%len(encounters)])}
			return nil
		}, workers, duration, http.StatusCreated)

		b.ReportMetric(reads.Throughput, "record_reads/s")
		b.ReportMetric(ms(reads.Latencies.P50), "read_p50_ms")
		b.ReportMetric(ms(reads.Latencies.P99), "read_p99_ms")
		b.ReportMetric(adds.Throughput, "vitals/s")
		b.ReportMetric(ms(adds.Latencies.P50), "vitals_p50_ms")
		b.ReportMetric(ms(adds.Latencies.P99), "vitals_p99_ms")
		if out := os.Getenv("LOAD_REPORT"); out != "" {
			report := fmt.Sprintf("| measure | rate | p50 | p99 | requests |\n|---|---|---|---|---|\n"+
				"| read a record of 50 encounters (doctor, through the gateway) | %.0f/s | %.2f ms | %.2f ms | %d |\n"+
				"| add vital signs (doctor, through the gateway) | %.0f/s | %.2f ms | %.2f ms | %d |\n\n"+
				"(%d workers, %s per measure, one machine; EHR on FerretDB on PostgreSQL.)\n",
				reads.Throughput, ms(reads.Latencies.P50), ms(reads.Latencies.P99), reads.Requests,
				adds.Throughput, ms(adds.Latencies.P50), ms(adds.Latencies.P99), adds.Requests, workers, duration)
			if err := os.WriteFile(out, []byte(report), 0o644); err != nil {
				b.Fatal(err)
			}
		}
	}
}
