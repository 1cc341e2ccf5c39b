package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"hospital/lib/testkit"
)

// requestSubjects are the subjects of the booking emails (vi and en): one
// to the patient and one to the doctor per appointment.
var requestSubjects = []string{
	"Đã nhận yêu cầu đặt lịch hẹn:", "Appointment request received:",
	"Yêu cầu lịch hẹn mới:", "New appointment request:",
}

// checkExactlyOnce: every acknowledged booking exists once, no slot is
// held twice, and every booking that exists (acknowledged or not: a
// booking whose answer was lost still happened) sent exactly one email to
// its patient and one to its doctor.
// emails maps user ids to their addresses.
func checkExactlyOnce(t *testing.T, r *chaosRig, l *load, emails map[int64]string) {
	t.Helper()
	for _, b := range l.bookings {
		var n int
		err := r.apptDB.QueryRow(`SELECT COUNT(*) FROM appointments WHERE id = ? AND patient_id = ? AND doctor_id = ?`,
			b.id, b.patient, b.doctor).Scan(&n)
		if err != nil {
			t.Fatal(err)
		}
		if n != 1 {
			t.Errorf("acknowledged booking %d (%s) exists %d times", b.id, b.at, n)
		}
	}
	var doubled int
	if err := r.apptDB.QueryRow(`SELECT COUNT(*) FROM (SELECT doctor_id, appointment_time FROM appointments
		GROUP BY doctor_id, appointment_time HAVING COUNT(*) > 1) d`).Scan(&doubled); err != nil {
		t.Fatal(err)
	}
	if doubled > 0 {
		t.Errorf("%d slots are booked twice", doubled)
	}

	// Who should have been emailed, and how often.
	want := map[string]int{}
	rows, err := r.apptDB.Query(`SELECT patient_id, doctor_id FROM appointments`)
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for rows.Next() {
		var p, d int64
		if err := rows.Scan(&p, &d); err != nil {
			t.Fatal(err)
		}
		want[emails[p]]++
		want[emails[d]]++
		total += 2
	}
	rows.Close()
	err = testkit.Until(context.Background(), 2*time.Minute, nil, func(ctx context.Context) error {
		n, err := countRequestMails(ctx, r)
		if err != nil {
			return err
		}
		if n < total {
			return fmt.Errorf("%d booking emails delivered, %d expected", n, total)
		}
		return nil
	})
	if err != nil {
		t.Error(err)
	}
	msgs, err := r.notif.mail.Messages(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	per := map[string]int{}
	for _, m := range msgs {
		if !isRequestMail(m.Subject) {
			continue
		}
		for _, to := range m.To {
			seen[to.Address+" | "+m.Subject]++
			per[to.Address]++
		}
	}
	for k, n := range seen {
		if n > 1 {
			t.Errorf("email delivered %d times: %s", n, k)
		}
	}
	got := 0
	for _, n := range per {
		got += n
	}
	for address, n := range want {
		if per[address] != n {
			t.Errorf("%s received %d booking emails for %d bookings", address, per[address], n)
		}
	}
	if got != total {
		t.Errorf("%d booking emails delivered for %d bookings (want %d: one to the patient, one to the doctor)", got, total/2, total)
	}
	t.Logf("exactly once: %d acknowledged bookings, %d in the store, %d booking emails", len(l.bookings), total/2, got)
}

func isRequestMail(subject string) bool {
	for _, s := range requestSubjects {
		if strings.HasPrefix(subject, s) {
			return true
		}
	}
	return false
}

func countRequestMails(ctx context.Context, r *chaosRig) (int, error) {
	msgs, err := r.notif.mail.Messages(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, m := range msgs {
		if isRequestMail(m.Subject) {
			n += len(m.To)
		}
	}
	return n, nil
}
