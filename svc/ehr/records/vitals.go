package records

import (
	"context"
	"errors"
	"fmt"
	"net/http"
)

// AddVitals records vital signs in an encounter (spec: POST .../vitals/).
// Each set is an insert of its own, never an update of the encounter: any
// number of nurses may record at once and every set is kept.
func (s *Service) AddVitals(ctx context.Context, patientID int64, encounterID, key string, in VitalsRequest) (Result[VitalSign], error) {
	c, err := callerOf(ctx)
	if err != nil {
		return Result[VitalSign]{}, err
	}
	if in.NurseID != 0 && in.NurseID != c.UserID {
		return Result[VitalSign]{}, errSelfOnly
	}
	if in.HeartRate == nil && in.BloodPressure == nil && in.TemperatureCelsius == nil {
		return Result[VitalSign]{}, errNoMeasurement
	}
	if in.BloodPressure != nil {
		if err := checkBloodPressure(*in.BloodPressure); err != nil {
			return Result[VitalSign]{}, err
		}
	}
	now := s.now()
	ts := now
	if in.Timestamp != nil {
		if ts, err = pastTime("timestamp", *in.Timestamp, now); err != nil {
			return Result[VitalSign]{}, err
		}
	}
	g, err := s.access(ctx, patientID, ActionVitalsAdd)
	if err != nil {
		return Result[VitalSign]{}, err
	}
	return once(ctx, s, "vitals/"+c.LogID(), key, []any{patientID, encounterID, in}, func(ctx context.Context) (VitalSign, int, error) {
		e, err := s.store.EncounterFields(ctx, encounterID)
		if err != nil {
			return VitalSign{}, 0, storeErr(err, errNoEncounter, "read encounter "+encounterID)
		}
		if e.PatientID != patientID {
			return VitalSign{}, 0, errNoEncounter
		}
		v := VitalSign{VitalID: newID(c, "vitals", key), NurseID: c.UserID, Timestamp: ts, HeartRate: in.HeartRate,
			BloodPressure: in.BloodPressure, TemperatureCelsius: in.TemperatureCelsius, EncounterID: encounterID, PatientID: patientID}
		err = s.store.AddVitals(ctx, v, audited(ctx, g, ActionVitalsAdd, patientID, "vital_signs", v.VitalID)...)
		if errors.Is(err, ErrExists) {
			// This key's earlier run recorded them.
			v, err = s.store.Vitals(ctx, v.VitalID)
		}
		if err != nil {
			return VitalSign{}, 0, fmt.Errorf("record vitals in encounter %s: %w", encounterID, err)
		}
		s.wroteIn(patientID, c)
		s.opts.Kick()
		return v, http.StatusCreated, nil
	})
}
