package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// BenchmarkLoadAppointments measures, through the gateway:
//   - bookings per second: a nurse books distinct free slots (DOCTORS doctors,
//     as many patients, each patient always with the same doctor so no
//     booking overlaps another of its patient) for LOAD_DURATION;
//   - the same INSERT straight into MariaDB, as many workers, as the ceiling;
//   - GET availability (a week) of a doctor holding a year of appointments:
//     p50/p99.
//
// It is a load run: run it once (-benchtime=1x).
//
//	go test -run '^$' -bench BenchmarkLoadAppointments -benchtime 1x ./e2e/
//
// LOAD_DURATION (default 10s), LOAD_WORKERS (default 16) and DOCTORS
// (default 8) tune it; LOAD_REPORT names a file for a Markdown table.
func BenchmarkLoadAppointments(b *testing.B) {
	duration := envDuration("LOAD_DURATION", 10*time.Second)
	workers := envInt("LOAD_WORKERS", 16)
	doctors := envInt("DOCTORS", 8)

	// Eight patients book thousands of slots: the limits for one patient
	// are lifted (their checks still run on every booking).
	r := startAppointments(b, "OUTBOX_POLL_INTERVAL=1s", "MAX_OPEN_APPOINTMENTS_PER_PATIENT=1000000", "BOOKING_HORIZON_DAYS=3650")
	expect(b, "create nurse", r.do(b, http.MethodPost, "/api/v1/admin/users/", r.admin, map[string]any{
		"username": "bench-nurse", "password": "Quiet-Harbor-7781", "email": "bench-nurse@hospital.test", "role_name": "NURSE",
	}, nil), http.StatusCreated)
	nurseTok, _ := r.login(b, "bench-nurse", "Quiet-Harbor-7781")
	docIDs := make([]int64, doctors)
	patIDs := make([]int64, doctors)
	for i := range doctors {
		docIDs[i], _ = r.doctorAllDay(b, fmt.Sprintf("bench-dr%02d", i))
		patIDs[i] = int64(r.register(b, fmt.Sprintf("bench-pt%02d", i)).body["id"].(float64))
	}
	loc, _ := time.LoadLocation("Asia/Ho_Chi_Minh")
	n := time.Now().In(loc)
	first := time.Date(n.Year(), n.Month(), n.Day()+1, 0, 0, 0, 0, loc)

	for b.Loop() {
		// Bookings through the gateway.
		var seq atomic.Int64
		header := http.Header{"Authorization": {"Bearer " + nurseTok}, "Content-Type": {"application/json"}}
		targeter := func(t *vegeta.Target) error {
			i := seq.Add(1) - 1
			d := int(i) % doctors
			k := int(i) / doctors // the doctor's k-th booking: 47 slots a day (00:00-23:00)
			at := time.Date(first.Year(), first.Month(), first.Day()+k/47, 0, 30*(k%47), 0, 0, loc)
			body, _ := json.Marshal(map[string]any{"doctor_id": docIDs[d], "patient_id": patIDs[d], "appointment_time": at.Format(time.RFC3339)})
			*t = vegeta.Target{Method: http.MethodPost, URL: r.gw + "/api/v1/appointments/", Body: body, Header: header}
			return nil
		}
		booking := attack(b, "booking", targeter, workers, duration, http.StatusCreated)

		// The same insert straight into MariaDB.
		var (
			inserted atomic.Int64
			wg       sync.WaitGroup
		)
		deadline := time.Now().Add(duration)
		start := time.Now()
		var failed atomic.Value
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for k := 0; time.Now().Before(deadline); k++ {
					at := first.AddDate(2, 0, 0).Add(time.Duration(k) * 30 * time.Minute).UTC()
					now := time.Now().UTC()
					_, err := r.apptDB.Exec(`INSERT INTO appointments (patient_id, doctor_id, appointment_time, duration_minutes,
						end_time, status, reason_for_visit, notes_doctor, active_slot, created_at, updated_at)
						VALUES (?, ?, ?, 30, ?, 'PENDING', '', '', ?, ?, ?)`,
						800000+w, 900000+w, at, at.Add(30*time.Minute), at, now, now)
					if err != nil {
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

		// A year of appointments for one doctor, then availability for a week.
		yearDoc := docIDs[0]
		var sb strings.Builder
		args := []any{}
		flush := func() {
			if len(args) == 0 {
				return
			}
			if _, err := r.apptDB.Exec(`INSERT IGNORE INTO appointments (patient_id, doctor_id, appointment_time, duration_minutes,
				end_time, status, reason_for_visit, notes_doctor, active_slot, created_at, updated_at) VALUES `+strings.TrimSuffix(sb.String(), ","), args...); err != nil {
				b.Fatal(err)
			}
			sb.Reset()
			args = args[:0]
		}
		now := time.Now().UTC()
		for day := range 365 {
			for h := 8; h < 20; h++ {
				at := time.Date(first.Year(), first.Month(), first.Day()+day, h, 0, 0, 0, loc).UTC()
				sb.WriteString("(?, ?, ?, 30, ?, 'CONFIRMED', '', '', ?, ?, ?),")
				args = append(args, patIDs[0]+1_000_000+int64(day), yearDoc, at, at.Add(30*time.Minute), at, now, now)
			}
			if day%20 == 19 {
				flush()
			}
		}
		flush()
		var held int
		_ = r.apptDB.QueryRow(`SELECT COUNT(*) FROM appointments WHERE doctor_id = ?`, yearDoc).Scan(&held)
		avPath := fmt.Sprintf("%s/api/v1/doctors/%d/availability/?date=%s&days_in_advance=6", r.gw, yearDoc, first.AddDate(0, 6, 0).Format("2006-01-02"))
		avTarget := vegeta.NewStaticTargeter(vegeta.Target{Method: http.MethodGet, URL: avPath, Header: http.Header{"Authorization": {"Bearer " + nurseTok}}})
		avail := attack(b, "availability", avTarget, workers, duration, http.StatusOK)

		b.ReportMetric(booking.Throughput, "bookings/s")
		b.ReportMetric(directRate, "direct_inserts/s")
		b.ReportMetric(ms(booking.Latencies.P50), "booking_p50_ms")
		b.ReportMetric(ms(booking.Latencies.P99), "booking_p99_ms")
		b.ReportMetric(ms(avail.Latencies.P50), "availability_p50_ms")
		b.ReportMetric(ms(avail.Latencies.P99), "availability_p99_ms")
		if out := os.Getenv("LOAD_REPORT"); out != "" {
			report := fmt.Sprintf("| measure | rate | p50 | p99 | requests |\n|---|---|---|---|---|\n"+
				"| booking through the gateway | %.0f/s | %.2f ms | %.2f ms | %d |\n"+
				"| same INSERT straight into MariaDB | %.0f/s | | | %d |\n"+
				"| availability, one week, doctor with %d appointments | %.0f/s | %.2f ms | %.2f ms | %d |\n\n"+
				"Booking/insert ratio: **%.2f**. (%d workers, %s per measure, %d doctors, one machine.)\n",
				booking.Throughput, ms(booking.Latencies.P50), ms(booking.Latencies.P99), booking.Requests,
				directRate, inserted.Load(),
				held, avail.Throughput, ms(avail.Latencies.P50), ms(avail.Latencies.P99), avail.Requests,
				booking.Throughput/directRate, workers, duration, doctors)
			if err := os.WriteFile(out, []byte(report), 0o644); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// attack runs targeter for duration and requires every answer to be want.
func attack(b *testing.B, name string, targeter vegeta.Targeter, workers int, duration time.Duration, want int) *vegeta.Metrics {
	b.Helper()
	attacker := vegeta.NewAttacker(vegeta.Workers(uint64(workers)), vegeta.MaxWorkers(uint64(workers)),
		vegeta.KeepAlive(true), vegeta.Timeout(10*time.Second))
	var m vegeta.Metrics
	other := map[int]int{}
	for res := range attacker.Attack(targeter, vegeta.Rate{Freq: 0}, duration, name) {
		m.Add(res)
		if int(res.Code) != want {
			other[int(res.Code)]++
		}
	}
	m.Close()
	if len(other) > 0 {
		b.Fatalf("%s: answers other than %d: %v, errors %v", name, want, other, m.Errors)
	}
	return &m
}

// doctorAllDay creates a doctor working 00:00-23:30 every day.
func (r *appointmentRig) doctorAllDay(t testing.TB, username string) (int64, string) {
	t.Helper()
	doc := r.do(t, http.MethodPost, "/api/v1/admin/users/", r.admin, map[string]any{
		"username": username, "password": "Quiet-Harbor-7781", "email": username + "@hospital.test", "role_name": "DOCTOR",
	}, nil)
	expect(t, "create doctor", doc, http.StatusCreated)
	id := int64(doc.body["id"].(float64))
	for d := range 7 {
		expect(t, "schedule", r.do(t, http.MethodPost, fmt.Sprintf("/api/v1/doctors/%d/schedule/", id), r.admin, map[string]any{
			"day_of_week": d, "start_time": "00:00", "end_time": "23:30", "valid_from": "2026-01-01",
		}, nil), http.StatusCreated)
	}
	return id, ""
}
