package store

import (
	"context"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/bson"
	"golang.org/x/sync/errgroup"

	"hospital/lib/mongodb/versioned"
	"hospital/lib/outbox"
	"hospital/svc/ehr/records"
)

// Record returns a patient's record.
func (s *Store) Record(ctx context.Context, patientID int64) (records.Record, error) {
	d, err := s.records.Get(ctx, recordID(patientID))
	if err != nil {
		return records.Record{}, versionedErr(err, fmt.Sprintf("read record of patient %d", patientID))
	}
	return d.domain(), nil
}

// CreateRecord records r as version 1 of the patient's record, with msgs.
func (s *Store) CreateRecord(ctx context.Context, r records.Record, msgs ...outbox.Message) error {
	d := toRecordDoc(r)
	return versionedErr(s.records.Create(ctx, &d, msgs...), fmt.Sprintf("create record of patient %d", r.PatientID))
}

// UpdateRecord applies change to the latest version of the record.
func (s *Store) UpdateRecord(ctx context.Context, patientID int64, change records.Change[records.Record]) (records.Record, error) {
	out, err := s.records.Update(ctx, recordID(patientID), func(d *recordDoc, ch *versioned.Change) error {
		r := d.domain()
		msgs, err := change(&r)
		if err != nil {
			return err
		}
		*d = toRecordDoc(r)
		ch.Send(msgs...)
		return nil
	})
	if err != nil {
		return records.Record{}, versionedErr(err, fmt.Sprintf("update record of patient %d", patientID))
	}
	return out.domain(), nil
}

// Chart reads the record and everything recorded for the patient, the
// five collections at once.
func (s *Store) Chart(ctx context.Context, patientID int64) (records.Chart, error) {
	var (
		ch    records.Chart
		rec   recordDoc
		encs  []encounterDoc
		vits  []vitalDoc
		rxs   []prescriptionDoc
		labs  []labDoc
		byPat = bson.D{{Key: "patient_id", Value: patientID}}
	)
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() (err error) {
		rec, err = s.records.Get(gctx, recordID(patientID))
		return versionedErr(err, fmt.Sprintf("read record of patient %d", patientID))
	})
	g.Go(func() (err error) {
		encs, err = findAll[encounterDoc](gctx, s.encounters.Collection(), byPat)
		return err
	})
	g.Go(func() (err error) { vits, err = findAll[vitalDoc](gctx, s.vitals, byPat); return err })
	g.Go(func() (err error) { rxs, err = findAll[prescriptionDoc](gctx, s.rx, byPat); return err })
	g.Go(func() (err error) { labs, err = findAll[labDoc](gctx, s.labs, byPat); return err })
	if err := g.Wait(); err != nil {
		return ch, err
	}
	ch.Record = rec.domain()
	for _, d := range encs {
		ch.Encounters = append(ch.Encounters, d.domain())
	}
	for _, d := range vits {
		ch.Vitals = append(ch.Vitals, d.domain())
	}
	for _, d := range rxs {
		ch.Prescriptions = append(ch.Prescriptions, d.domain())
	}
	for _, d := range labs {
		ch.Labs = append(ch.Labs, d.domain())
	}
	return ch, nil
}
