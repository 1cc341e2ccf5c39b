package store

import (
	"context"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"golang.org/x/sync/errgroup"

	"hospital/lib/mongodb"
	"hospital/lib/mongodb/versioned"
	"hospital/lib/outbox"
	"hospital/svc/ehr/records"
)

// EncounterFields returns the latest version of an encounter: its own
// fields, diagnoses and treatment plans.
func (s *Store) EncounterFields(ctx context.Context, id string) (records.Encounter, error) {
	d, err := s.encounters.Get(ctx, id)
	if err != nil {
		return records.Encounter{}, versionedErr(err, "read encounter "+id)
	}
	return d.domain(), nil
}

// Encounter returns an encounter with its vital signs and references.
func (s *Store) Encounter(ctx context.Context, id string) (records.Encounter, error) {
	var (
		e    records.Encounter
		vits []vitalDoc
		rxs  []prescriptionDoc
		labs []labDoc
		byID = bson.D{{Key: "encounter_id", Value: id}}
	)
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() (err error) { e, err = s.EncounterFields(gctx, id); return err })
	g.Go(func() (err error) { vits, err = findAll[vitalDoc](gctx, s.vitals, byID); return err })
	g.Go(func() (err error) { rxs, err = findAll[prescriptionDoc](gctx, s.rx, byID); return err })
	g.Go(func() (err error) { labs, err = findAll[labDoc](gctx, s.labs, byID); return err })
	if err := g.Wait(); err != nil {
		return records.Encounter{}, err
	}
	for _, d := range vits {
		// Only the encounter's patient's: a forged encounter_id elsewhere
		// cannot add to another patient's encounter.
		if d.PatientID == e.PatientID {
			e.VitalSigns = append(e.VitalSigns, d.domain())
		}
	}
	for _, d := range rxs {
		if d.PatientID == e.PatientID {
			e.PrescriptionReferences = append(e.PrescriptionReferences, d.domain())
		}
	}
	for _, d := range labs {
		if d.PatientID == e.PatientID {
			e.LabResultReferences = append(e.LabResultReferences, d.domain())
		}
	}
	return e, nil
}

// CreateEncounter records e as version 1 of a new encounter, with msgs.
func (s *Store) CreateEncounter(ctx context.Context, e records.Encounter, msgs ...outbox.Message) error {
	d := s.toEncounterDoc(e)
	return versionedErr(s.encounters.Create(ctx, &d, msgs...), "create encounter "+e.EncounterID)
}

// UpdateEncounter applies change to the latest version of the encounter
// (or only to version, when not 0) and records the messages it returns.
func (s *Store) UpdateEncounter(ctx context.Context, id string, version int64, change records.Change[records.Encounter]) (records.Encounter, error) {
	apply := func(d *encounterDoc, ch *versioned.Change) error {
		e := d.domain()
		msgs, err := change(&e)
		if err != nil {
			return err
		}
		*d = s.toEncounterDoc(e)
		ch.Send(msgs...)
		return nil
	}
	var (
		out encounterDoc
		err error
	)
	if version != 0 {
		out, err = s.encounters.UpdateAt(ctx, id, version, apply)
	} else {
		out, err = s.encounters.Update(ctx, id, apply)
	}
	if err != nil {
		return records.Encounter{}, versionedErr(err, "update encounter "+id)
	}
	return out.domain(), nil
}

// AddVitals inserts one set of vital signs carrying msgs.
func (s *Store) AddVitals(ctx context.Context, v records.VitalSign, msgs ...outbox.Message) error {
	d := vitalDoc{ID: v.VitalID, PatientID: v.PatientID, EncounterID: v.EncounterID, NurseID: v.NurseID, Timestamp: v.Timestamp,
		HeartRate: v.HeartRate, BloodPressure: v.BloodPressure, TemperatureCelsius: v.TemperatureCelsius}
	return insertErr(s.queue.Insert(ctx, s.vitals, d, msgs...), "insert vitals "+v.VitalID)
}

// Vitals returns one set of vital signs.
func (s *Store) Vitals(ctx context.Context, id string) (records.VitalSign, error) {
	var d vitalDoc
	if err := findOne(ctx, s.vitals, id, &d); err != nil {
		return records.VitalSign{}, err
	}
	return d.domain(), nil
}

// AddPrescriptionReference inserts r under its prescription_id.
func (s *Store) AddPrescriptionReference(ctx context.Context, r records.PrescriptionReference, msgs ...outbox.Message) error {
	d := prescriptionDoc{ID: r.PrescriptionID, PatientID: r.PatientID, EncounterID: r.EHREncounterID, IssueDate: r.IssueDate,
		DetailsURL: r.PrescriptionDetailsURL, MedicationsSummary: r.MedicationsSummary}
	return insertErr(s.queue.Insert(ctx, s.rx, d, msgs...), "insert prescription reference "+r.PrescriptionID)
}

// PrescriptionReference returns the reference to a prescription.
func (s *Store) PrescriptionReference(ctx context.Context, prescriptionID string) (records.PrescriptionReference, error) {
	var d prescriptionDoc
	if err := findOne(ctx, s.rx, prescriptionID, &d); err != nil {
		return records.PrescriptionReference{}, err
	}
	return d.domain(), nil
}

// AddLabResultReference inserts r under its lab_order_item_id.
func (s *Store) AddLabResultReference(ctx context.Context, r records.LabResultReference, msgs ...outbox.Message) error {
	d := labDoc{ID: r.LabOrderItemID, PatientID: r.PatientID, EncounterID: r.EHREncounterID, TestName: r.TestName,
		ResultDate: r.ResultDate, SummaryStatus: r.SummaryStatus, ResultURL: r.ResultSummaryURL, LabOrderID: r.LabOrderID}
	return insertErr(s.queue.Insert(ctx, s.labs, d, msgs...), "insert lab result reference "+r.LabOrderItemID)
}

// LabResultReference returns the reference to a lab order item's result.
func (s *Store) LabResultReference(ctx context.Context, itemID string) (records.LabResultReference, error) {
	var d labDoc
	if err := findOne(ctx, s.labs, itemID, &d); err != nil {
		return records.LabResultReference{}, err
	}
	return d.domain(), nil
}

// findOne decodes the document with _id id, or records.ErrNotFound.
func findOne(ctx context.Context, coll *mongo.Collection, id string, out any) error {
	err := coll.FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(out)
	if mongodb.IsNotFound(err) {
		return fmt.Errorf("read %s %s: %w", coll.Name(), id, records.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("read %s %s: %w", coll.Name(), id, err)
	}
	return nil
}
