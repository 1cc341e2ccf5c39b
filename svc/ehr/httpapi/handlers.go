package httpapi

import (
	"net/http"
	"strconv"
	"strings"

	"hospital/lib/apperr"
	"hospital/lib/ehrapi"
	"hospital/lib/httpx"
	"hospital/lib/idempotency"
	"hospital/svc/ehr/records"
)

// handlers read the request, call the domain and write the answer.
type handlers struct{ svc *records.Service }

// maxID bounds the string ids in paths (UUIDs, the other services' ids).
const maxID = 64

// wrap gives every handler the break-the-glass reason in its context and
// answers an unreachable store with 503.
func wrap(h httpx.HandlerFunc) httpx.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		if reason := r.Header.Get(records.BreakGlassHeader); reason != "" {
			r = r.WithContext(records.WithBreakGlass(r.Context(), reason))
		}
		return h(w, r)
	}
}

// ids reads the path's patient_id and the named string ids.
func ids(r *http.Request, names ...string) (int64, []string, error) {
	pid, err := httpx.PathInt64(r, "patient_id")
	if err != nil {
		return 0, nil, err
	}
	out := make([]string, len(names))
	for i, n := range names {
		if out[i], err = httpx.PathString(r, n, maxID); err != nil {
			return 0, nil, err
		}
	}
	return pid, out, nil
}

// ifMatchVersion reads If-Match (an ETag this service gave: "3", W/"3" or
// 3); 0 when absent.
func ifMatchVersion(r *http.Request) (int64, error) {
	v := strings.TrimSpace(r.Header.Get("If-Match"))
	if v == "" {
		return 0, nil
	}
	v = strings.Trim(strings.TrimPrefix(v, "W/"), `"`)
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 1 {
		return 0, apperr.Field("If-Match", "Send the ETag of the encounter as read, e.g. \"3\".")
	}
	return n, nil
}

func setETag(w http.ResponseWriter, version int64) {
	if version > 0 {
		w.Header().Set("ETag", `"`+strconv.FormatInt(version, 10)+`"`)
	}
}

func answer[T any](w http.ResponseWriter, res records.Result[T], err error) error {
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, res.Status, res.Value)
	return nil
}

func ok(w http.ResponseWriter, v any, err error) error {
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, v)
	return nil
}

// keyed reads the Idempotency-Key and decodes the body into in.
func keyed(r *http.Request, in any, optional bool) (string, error) {
	k, err := idempotency.KeyFrom(r)
	if err != nil {
		return "", err
	}
	if optional {
		return k, httpx.DecodeOptional(r, in)
	}
	return k, httpx.Decode(r, in)
}

func (h handlers) record(w http.ResponseWriter, r *http.Request) error {
	pid, _, err := ids(r)
	if err != nil {
		return err
	}
	m, err := h.svc.MedicalRecord(r.Context(), pid)
	return ok(w, m, err)
}

func (h handlers) createRecord(w http.ResponseWriter, r *http.Request) error {
	pid, _, err := ids(r)
	if err != nil {
		return err
	}
	var in records.RecordRequest
	k, err := keyed(r, &in, true)
	if err != nil {
		return err
	}
	res, err := h.svc.CreateRecord(r.Context(), pid, k, in)
	return answer(w, res, err)
}

func (h handlers) updateRecord(w http.ResponseWriter, r *http.Request) error {
	pid, _, err := ids(r)
	if err != nil {
		return err
	}
	var in records.RecordPatch
	if err := httpx.Decode(r, &in); err != nil {
		return err
	}
	m, err := h.svc.UpdateRecord(r.Context(), pid, in)
	return ok(w, m, err)
}

func (h handlers) encounters(w http.ResponseWriter, r *http.Request) error {
	pid, _, err := ids(r)
	if err != nil {
		return err
	}
	p, err := httpx.PageFrom(r)
	if err != nil {
		return err
	}
	items, n, err := h.svc.Encounters(r.Context(), pid, p.Limit(), p.Offset())
	if err != nil {
		return err
	}
	page, err := httpx.NewPage(r, p, n, items)
	return ok(w, page, err)
}

func (h handlers) createEncounter(w http.ResponseWriter, r *http.Request) error {
	pid, _, err := ids(r)
	if err != nil {
		return err
	}
	var in records.EncounterRequest
	k, err := keyed(r, &in, false)
	if err != nil {
		return err
	}
	res, err := h.svc.CreateEncounter(r.Context(), pid, k, in)
	return answer(w, res, err)
}

func (h handlers) encounter(w http.ResponseWriter, r *http.Request) error {
	pid, s, err := ids(r, "encounter_id")
	if err != nil {
		return err
	}
	e, err := h.svc.Encounter(r.Context(), pid, s[0])
	if err == nil {
		setETag(w, e.Version)
	}
	return ok(w, e, err)
}

func (h handlers) updateEncounter(w http.ResponseWriter, r *http.Request) error {
	pid, s, err := ids(r, "encounter_id")
	if err != nil {
		return err
	}
	v, err := ifMatchVersion(r)
	if err != nil {
		return err
	}
	var in records.EncounterUpdate
	if err := httpx.Decode(r, &in); err != nil {
		return err
	}
	e, err := h.svc.UpdateEncounter(r.Context(), pid, s[0], v, in)
	if err == nil {
		setETag(w, e.Version)
	}
	return ok(w, e, err)
}

func (h handlers) addDiagnosis(w http.ResponseWriter, r *http.Request) error {
	pid, s, err := ids(r, "encounter_id")
	if err != nil {
		return err
	}
	var in records.DiagnosisRequest
	k, err := keyed(r, &in, false)
	if err != nil {
		return err
	}
	res, err := h.svc.AddDiagnosis(r.Context(), pid, s[0], k, in)
	return answer(w, res, err)
}

func (h handlers) updateDiagnosis(w http.ResponseWriter, r *http.Request) error {
	pid, s, err := ids(r, "encounter_id", "diagnosis_id")
	if err != nil {
		return err
	}
	v, err := ifMatchVersion(r)
	if err != nil {
		return err
	}
	var in records.DiagnosisUpdate
	if err := httpx.Decode(r, &in); err != nil {
		return err
	}
	d, version, err := h.svc.UpdateDiagnosis(r.Context(), pid, s[0], s[1], v, in)
	if err == nil {
		setETag(w, version)
	}
	return ok(w, d, err)
}

func (h handlers) addPlan(w http.ResponseWriter, r *http.Request) error {
	pid, s, err := ids(r, "encounter_id")
	if err != nil {
		return err
	}
	var in records.TreatmentPlanRequest
	k, err := keyed(r, &in, false)
	if err != nil {
		return err
	}
	res, err := h.svc.AddTreatmentPlan(r.Context(), pid, s[0], k, in)
	return answer(w, res, err)
}

func (h handlers) updatePlan(w http.ResponseWriter, r *http.Request) error {
	pid, s, err := ids(r, "encounter_id", "treatment_plan_id")
	if err != nil {
		return err
	}
	v, err := ifMatchVersion(r)
	if err != nil {
		return err
	}
	var in records.TreatmentPlanUpdate
	if err := httpx.Decode(r, &in); err != nil {
		return err
	}
	p, version, err := h.svc.UpdateTreatmentPlan(r.Context(), pid, s[0], s[1], v, in)
	if err == nil {
		setETag(w, version)
	}
	return ok(w, p, err)
}

func (h handlers) addVitals(w http.ResponseWriter, r *http.Request) error {
	pid, s, err := ids(r, "encounter_id")
	if err != nil {
		return err
	}
	var in records.VitalsRequest
	k, err := keyed(r, &in, false)
	if err != nil {
		return err
	}
	res, err := h.svc.AddVitals(r.Context(), pid, s[0], k, in)
	return answer(w, res, err)
}

func (h handlers) linkAppointment(w http.ResponseWriter, r *http.Request) error {
	pid, _, err := ids(r)
	if err != nil {
		return err
	}
	var in ehrapi.LinkAppointment
	k, err := keyed(r, &in, false)
	if err != nil {
		return err
	}
	res, err := h.svc.LinkAppointment(r.Context(), pid, k, in)
	return answer(w, res, err)
}

func (h handlers) addPrescription(w http.ResponseWriter, r *http.Request) error {
	pid, _, err := ids(r)
	if err != nil {
		return err
	}
	var in ehrapi.PrescriptionReference
	k, err := keyed(r, &in, false)
	if err != nil {
		return err
	}
	res, err := h.svc.AddPrescriptionReference(r.Context(), pid, k, in)
	return answer(w, res, err)
}

func (h handlers) addLabResult(w http.ResponseWriter, r *http.Request) error {
	pid, _, err := ids(r)
	if err != nil {
		return err
	}
	var in ehrapi.LabResultReference
	k, err := keyed(r, &in, false)
	if err != nil {
		return err
	}
	res, err := h.svc.AddLabResultReference(r.Context(), pid, k, in)
	return answer(w, res, err)
}

func (h handlers) allergies(w http.ResponseWriter, r *http.Request) error {
	pid, _, err := ids(r)
	if err != nil {
		return err
	}
	a, err := h.svc.Allergies(r.Context(), pid)
	return ok(w, a, err)
}
