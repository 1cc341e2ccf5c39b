package oversight

import (
	"context"
	"fmt"
	"strings"

	"hospital/lib/audit"
)

// Audit actions of the admin service itself.
const (
	actionLogSearch    = "admin.audit_log.search"
	actionLogVerify    = "admin.audit_log.verify"
	actionConfigUpdate = "admin.configuration.update"
	actionTaskCreate   = "admin.task.create"
)

// MaxProblems bounds the problems a verification lists.
const MaxProblems = 100

// verifyBatch is how many entries a verification reads at a time.
const verifyBatch = 1000

// SearchLog returns one page of the audit log matching f, newest first,
// and the total. Looking at who did what is itself recorded: the search
// becomes an entry with its filters (and its patient, when it names one).
func (s *Service) SearchLog(ctx context.Context, f AuditFilter, limit, offset int) ([]Entry, int, error) {
	for _, a := range f.Actions {
		if strings.Trim(a, "*") == "" {
			f.Actions = nil // "*" alone matches everything
			break
		}
	}
	out, n, err := s.store.Entries(ctx, f, limit, offset)
	if err != nil {
		return nil, 0, err
	}
	ev := audit.New(ctx, ServiceName, actionLogSearch).On("audit_log", "").With("filters", f.describe()).With("count", n)
	if f.PatientID != nil {
		ev = ev.OnPatient(*f.PatientID)
	}
	return out, n, s.record(ctx, ev)
}

// describe is the filter as the search's audit entry keeps it.
func (f AuditFilter) describe() map[string]any {
	d := map[string]any{}
	if f.UserID != nil {
		d["user_id"] = *f.UserID
	}
	if f.PatientID != nil {
		d["patient_id"] = *f.PatientID
	}
	if len(f.Services) > 0 {
		d["service"] = f.Services
	}
	if len(f.Actions) > 0 {
		d["action"] = f.Actions
	}
	if len(f.Outcomes) > 0 {
		d["outcome"] = f.Outcomes
	}
	if f.ObjectType != "" {
		d["object_type"] = f.ObjectType
	}
	if f.ObjectID != "" {
		d["object_id"] = f.ObjectID
	}
	if f.RequestID != "" {
		d["request_id"] = f.RequestID
	}
	if f.BreakGlass != nil {
		d["break_glass"] = *f.BreakGlass
	}
	if f.Since != nil {
		d["since"] = f.Since.UTC()
	}
	if f.Until != nil {
		d["until"] = f.Until.UTC()
	}
	return d
}

// VerifyChain walks the chain up to its head and reports every entry that
// is missing, altered or no longer linked to the one before it, and a head
// that does not match the last entry. The run is recorded with its result.
func (s *Service) VerifyChain(ctx context.Context) (Verification, error) {
	head, err := s.store.Head(ctx)
	if err != nil {
		return Verification{}, err
	}
	v := Verification{HeadPosition: head.Position, HeadHash: head.Hash, Problems: []Problem{}}
	report := func(p Problem) {
		if len(v.Problems) < MaxProblems {
			v.Problems = append(v.Problems, p)
		} else {
			v.Truncated = true
		}
	}
	prev, next := GenesisHash, int64(1)
	for next <= head.Position {
		batch, err := s.store.EntriesFrom(ctx, next, min(verifyBatch, int(head.Position-next+1)))
		if err != nil {
			return Verification{}, err
		}
		if len(batch) == 0 {
			break
		}
		for _, e := range batch {
			if e.Position > head.Position {
				break
			}
			v.Checked++
			gap := e.Position > next
			if gap {
				report(Problem{Position: next, Kind: ProblemMissing, Detail: missing(next, e.Position-1)})
			}
			if want := EntryHash(e.PrevHash, e); want != e.Hash {
				report(Problem{Position: e.Position, Kind: ProblemAltered,
					Detail: "the entry's content does not give its hash: it was changed after it was written"})
			}
			// After a gap the link is broken by the gap itself.
			if !gap && e.PrevHash != prev {
				report(Problem{Position: e.Position, Kind: ProblemBrokenLink,
					Detail: fmt.Sprintf("prev_hash is not the hash of entry %d: that entry was changed and rehashed, or replaced", e.Position-1)})
			}
			prev, next = e.Hash, e.Position+1
		}
	}
	switch {
	case next <= head.Position:
		report(Problem{Position: next, Kind: ProblemMissing, Detail: missing(next, head.Position) + " (the end of the chain)"})
	case head.Position > 0 && prev != head.Hash:
		report(Problem{Position: head.Position, Kind: ProblemHead,
			Detail: "the chain head's hash is not the last entry's hash"})
	}
	v.Valid = len(v.Problems) == 0
	v.VerifiedAt = s.now().UTC()
	if !v.Valid {
		s.log.Error("audit log verification failed", "problems", len(v.Problems), "first_position", v.Problems[0].Position,
			"first_kind", v.Problems[0].Kind)
	}
	s.log.Info("audit log verified", "valid", v.Valid, "checked", v.Checked, "head_position", head.Position, "head_hash", head.Hash)
	ev := audit.New(ctx, ServiceName, actionLogVerify).On("audit_log", "").
		With("valid", v.Valid).With("checked", v.Checked).With("head_position", head.Position).With("head_hash", head.Hash)
	if !v.Valid {
		ev = ev.WithOutcome(audit.Failed).With("problems", len(v.Problems))
	}
	return v, s.record(ctx, ev)
}

func missing(from, to int64) string {
	if from == to {
		return fmt.Sprintf("entry %d is missing: it was deleted", from)
	}
	return fmt.Sprintf("entries %d to %d are missing: they were deleted", from, to)
}
