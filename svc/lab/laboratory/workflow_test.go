package laboratory_test

import (
	"os"
	"strconv"
	"testing"

	"hospital/lib/apperr"
	"hospital/lib/testkit"
	"hospital/svc/lab/laboratory"
	"hospital/svc/lab/laboratory/labtest"
)

func TestMain(m *testing.M) { os.Exit(testkit.Main(m)) }

func fl(v float64) *float64 { return &v }

func status(t *testing.T, e *labtest.Env, who int64, id, to string) laboratory.Order {
	t.Helper()
	o, err := e.Svc.SetOrderStatus(e.As(who), id, laboratory.OrderStatusUpdate{Status: to})
	if err != nil {
		t.Fatalf("order %s to %s as %d: %v", id, to, who, err)
	}
	return o
}

func result(t *testing.T, e *labtest.Env, o laboratory.Order, code string, values map[string]float64) laboratory.Order {
	t.Helper()
	in := laboratory.ResultRequest{ResultValues: map[string]laboratory.AnalyteInput{}, Interpretation: "Reviewed by the lab."}
	for k, v := range values {
		in.ResultValues[k] = laboratory.AnalyteInput{Value: fl(v)}
	}
	out, err := e.Svc.EnterResult(e.As(e.Tech), o.ID, itemID(t, o, code), in)
	if err != nil {
		t.Fatalf("result of %s: %v", code, err)
	}
	return out
}

func itemID(t *testing.T, o laboratory.Order, code string) string {
	t.Helper()
	for _, it := range o.Items {
		if it.TestCode == code {
			return it.ItemID
		}
	}
	t.Fatalf("order %s has no %s", o.ID, code)
	return ""
}

func item(o laboratory.Order, code string) laboratory.Item {
	for _, it := range o.Items {
		if it.TestCode == code {
			return it
		}
	}
	return laboratory.Item{}
}

func wantKind(t *testing.T, what string, err error, kind apperr.Kind) {
	t.Helper()
	if !apperr.Is(err, kind) {
		t.Fatalf("%s: %v, want kind %d", what, err, kind)
	}
}

// The whole path of one order: ordered, collected (invoiced once),
// processed, resulted with a high value flagged by the service whatever the
// client said, the doctor told, nothing for the patient until a doctor
// releases, then the patient's notice and one EHR reference per item.
func TestOrderFromRequestToRelease(t *testing.T) {
	e := labtest.NewEnv(t)
	o := e.Order(t, e.Man, "CBC", "GLU")
	if o.Status != laboratory.StatusRequested || o.PatientName != "Nguyen Van Nam" || o.DoctorName != "Le Van Minh" ||
		o.Priority != laboratory.PriorityRoutine || len(o.Items) != 2 || item(o, "CBC").Price != "150000.00" {
		t.Fatalf("new order: %+v", o)
	}
	if n := len(e.Messages(t, "lab-invoice:")); n != 0 {
		t.Fatalf("invoiced before any sample: %d", n)
	}
	o = status(t, e, e.Tech, o.ID, laboratory.StatusSampleCollected)
	if item(o, "GLU").ItemStatus != laboratory.StatusSampleCollected || o.InvoicedAt == nil {
		t.Fatalf("collected: %+v", o)
	}
	status(t, e, e.Tech, o.ID, laboratory.StatusSampleCollected) // a retry changes nothing
	inv := e.Messages(t, "lab-invoice:")
	if len(inv) != 1 || inv[0].Service != "billing" || inv[0].Body["lab_order_id"] != o.ID {
		t.Fatalf("invoice requests: %+v", inv)
	}
	if items := inv[0].Body["items"].([]any); len(items) != 2 || items[0].(map[string]any)["price"] != "150000.00" {
		t.Fatalf("invoice items: %v", inv[0].Body["items"])
	}
	o = status(t, e, e.Tech, o.ID, laboratory.StatusProcessing)

	no := false
	in := laboratory.ResultRequest{ResultValues: map[string]laboratory.AnalyteInput{
		"hemoglobin": {Value: fl(19.2), Unit: "g/dL", IsAbnormal: &no}, "hematocrit": {Value: fl(45)}},
		Interpretation: "Raised hemoglobin.", ResultFileURL: "https://files.hospital.test/cbc.pdf"}
	o, err := e.Svc.EnterResult(e.As(e.Tech), o.ID, itemID(t, o, "CBC"), in)
	if err != nil {
		t.Fatal(err)
	}
	cbc := item(o, "CBC").Result
	hb := cbc.ResultValues["hemoglobin"]
	if *hb.Flag != laboratory.FlagHigh || !*hb.IsAbnormal || *hb.ReferenceRange.High != 17.5 || hb.ReferenceRange.Basis != "male" ||
		cbc.IsAbnormal == nil || !*cbc.IsAbnormal || cbc.IsCritical || cbc.TechnicianID != e.Tech {
		t.Fatalf("CBC result: %+v %+v", cbc, hb)
	}
	if o.Status != laboratory.StatusProcessing || len(e.Messages(t, "lab-result-ready-doctor:")) != 0 {
		t.Fatalf("one result of two: %s", o.Status)
	}
	o = result(t, e, o, "GLU", map[string]float64{"glucose": 5.0})
	if o.Status != laboratory.StatusResultsPendingReview {
		t.Fatalf("every result in: %s", o.Status)
	}
	ready := e.Messages(t, "lab-result-ready-doctor:")
	if len(ready) != 1 || ready[0].Body["recipient_id"].(float64) != float64(e.Doctor) ||
		ready[0].Body["data"].(map[string]any)["order_id"] != o.ID {
		t.Fatalf("doctor's notice: %+v", ready)
	}

	// Nothing for the patient yet.
	list, n, err := e.Svc.PatientResults(e.As(e.Man), e.Man, "", 20, 0)
	if err != nil || n != 0 || len(list) != 0 {
		t.Fatalf("patient before release: %d %v", n, err)
	}
	_, err = e.Svc.OrderResults(e.As(e.Man), o.ID)
	wantKind(t, "patient reads before release", err, apperr.KindForbidden)
	_, err = e.Svc.SetOrderStatus(e.As(e.Tech), o.ID, laboratory.OrderStatusUpdate{Status: laboratory.StatusCompleted})
	wantKind(t, "a technician releases", err, apperr.KindForbidden)

	// Another doctor reviews and releases.
	o = status(t, e, e.Doctor2, o.ID, laboratory.StatusCompleted)
	if o.ReleasedByID == nil || *o.ReleasedByID != e.Doctor2 || item(o, "CBC").ItemStatus != laboratory.StatusCompleted ||
		*item(o, "GLU").Result.VerifiedByID != e.Doctor2 {
		t.Fatalf("released: %+v", o)
	}
	status(t, e, e.Doctor, o.ID, laboratory.StatusCompleted) // again: nothing new
	if p := e.Messages(t, "lab-result-ready-patient:"); len(p) != 1 || p[0].Body["recipient_id"].(float64) != float64(e.Man) {
		t.Fatalf("patient's notice: %+v", p)
	}
	refs := e.Messages(t, "lab-ehr-reference:")
	if len(refs) != 2 {
		t.Fatalf("EHR references: %+v", refs)
	}
	for _, r := range refs {
		want := map[string]string{item(o, "CBC").ItemID: "Abnormal", item(o, "GLU").ItemID: "Normal"}[r.Body["lab_order_item_id"].(string)]
		if r.Service != "ehr" || r.Body["summary_status"] != want || r.Path != "/api/v1/ehr/internal/patients/"+strconv.FormatInt(e.Man, 10)+"/add-lab-result-reference/" {
			t.Fatalf("EHR reference: %+v", r)
		}
	}
	list, n, err = e.Svc.PatientResults(e.As(e.Man), e.Man, "", 20, 0)
	if err != nil || n != 1 || list[0].ID != o.ID || item(list[0], "CBC").Result.ResultFileURL == nil {
		t.Fatalf("patient after release: %d %v %+v", n, err, list)
	}
	if _, err := e.Svc.OrderResults(e.As(e.Man), o.ID); err != nil {
		t.Fatal(err)
	}
	_, err = e.Svc.EnterResult(e.As(e.Tech), o.ID, itemID(t, o, "GLU"), laboratory.ResultRequest{
		ResultValues: map[string]laboratory.AnalyteInput{"glucose": {Value: fl(9)}}})
	wantKind(t, "a result after release", err, apperr.KindConflict)
	if reads := e.Audits(t, "lab.results.read"); len(reads) != 2 || reads[0]["outcome"] == reads[1]["outcome"] {
		t.Fatalf("reads of the order audited (one refused, one granted): %v", reads)
	}
	if n := len(e.Audits(t, "lab.order.status")); n != 3 {
		t.Fatalf("status changes audited: %d, want 3 (repeats change nothing)", n)
	}
}

// A critical value tells the doctor at once, before the other results and
// before any review; entering it again sends nothing more.
func TestCriticalValueTellsTheDoctorAtOnce(t *testing.T) {
	e := labtest.NewEnv(t)
	o := e.Order(t, e.Woman, "GLU", "CBC")
	status(t, e, e.Tech, o.ID, laboratory.StatusSampleCollected)
	o = result(t, e, o, "GLU", map[string]float64{"glucose": 1.9})
	g := item(o, "GLU").Result
	if !g.IsCritical || *g.ResultValues["glucose"].Flag != laboratory.FlagCriticalLow || o.Status == laboratory.StatusResultsPendingReview {
		t.Fatalf("critical: %+v, order %s", g, o.Status)
	}
	crit := e.Messages(t, "lab-result-critical:")
	if len(crit) != 1 || crit[0].Body["notification_type"] != "LAB_RESULT_CRITICAL" || crit[0].Body["urgent"] != true ||
		crit[0].Body["data"].(map[string]any)["test_name"] != "Fasting Glucose" {
		t.Fatalf("critical notice: %+v", crit)
	}
	result(t, e, o, "GLU", map[string]float64{"glucose": 1.8}) // a correction, still critical
	if n := len(e.Messages(t, "lab-result-critical:")); n != 1 {
		t.Fatalf("critical notices after a correction: %d", n)
	}
}

// Where the patient's sex is not recorded the result says so and flags
// nothing it would have to guess; the summary sent to EHR is not "Normal".
func TestUnknownSexIsSaidNotGuessed(t *testing.T) {
	e := labtest.NewEnv(t)
	o := e.Order(t, e.Unknown, "CBC", "GLU")
	status(t, e, e.Tech, o.ID, laboratory.StatusSampleCollected)
	o = result(t, e, o, "CBC", map[string]float64{"hemoglobin": 14.0})
	r := item(o, "CBC").Result
	if r.IsAbnormal != nil || len(r.Notes) != 1 || r.ResultValues["hemoglobin"].Flag != nil || r.ResultValues["hemoglobin"].Note == "" {
		t.Fatalf("unknown sex: %+v", r)
	}
	o = result(t, e, o, "GLU", map[string]float64{"glucose": 4.2})
	if g := item(o, "GLU").Result; g.IsAbnormal == nil || *g.IsAbnormal || len(g.Notes) != 0 {
		t.Fatalf("a range for either sex needs no sex: %+v", g)
	}
	status(t, e, e.Doctor, o.ID, laboratory.StatusCompleted)
	for _, m := range e.Messages(t, "lab-ehr-reference:") {
		if m.Body["lab_order_item_id"] == item(o, "CBC").ItemID && m.Body["summary_status"] != "Abnormal" {
			t.Fatalf("an unjudged result went to EHR as %v", m.Body["summary_status"])
		}
	}
}

func TestAChildIsJudgedByTheChildrensBand(t *testing.T) {
	e := labtest.NewEnv(t)
	o := e.Order(t, e.Child, "CBC")
	status(t, e, e.Tech, o.ID, laboratory.StatusSampleCollected)
	o = result(t, e, o, "CBC", map[string]float64{"hemoglobin": 15.0})
	hb := item(o, "CBC").Result.ResultValues["hemoglobin"]
	if *hb.Flag != laboratory.FlagHigh || hb.ReferenceRange.Basis != "any sex, 0-11 years" {
		t.Fatalf("child: %+v %+v", hb, hb.ReferenceRange)
	}
}
