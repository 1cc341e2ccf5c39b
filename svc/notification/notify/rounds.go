package notify

import (
	"context"
	"sync"
	"sync/atomic"
)

// job is one claimed log in a round.
type job struct {
	log   Log
	claim Claim
}

// round delivers logs: claim, send, record. Polled logs are also held for
// the lease, so that other instances' polls skip them meanwhile.
func (w *Worker) round(ctx context.Context, logs []Log, polled bool) {
	now := w.opts.Now()
	jobs, err := w.claim(ctx, logs, func(l Log, c Claim) bool {
		// A log taken over from an expired claim was re-read: its holder
		// may have recorded a retry for later before it stopped.
		return l.Status == StatusPending && (!c.TookOver || !l.NextAttemptAt.After(now))
	})
	if err != nil {
		if ctx.Err() == nil {
			w.log.Warn("claiming notifications failed", "count", len(logs), "err", err.Error())
		}
		return
	}
	if len(jobs) == 0 {
		return
	}
	if polled {
		ids := make([]string, len(jobs))
		for i, j := range jobs {
			ids[i] = j.log.ID
		}
		holder := w.heldBatch()
		hctx, cancel := context.WithTimeout(ctx, storeTimeout)
		err := w.store.Reschedule(hctx, ids, jobs[0].claim.Until, holder)
		cancel()
		if err != nil {
			w.log.Warn("holding claimed notifications failed", "err", err.Error())
		} else {
			for i := range jobs {
				jobs[i].log.Holder = holder
			}
		}
	}
	outcomes := make([]*Outcome, len(jobs))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(w.opts.Concurrency, len(jobs)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= len(jobs) {
					return
				}
				if o, ok := w.attempt(ctx, jobs[i].log, jobs[i].claim, jobs[i].log.Content); ok {
					outcomes[i] = &o.Outcome
				}
			}
		}()
	}
	wg.Wait()
	var record []Outcome
	for _, o := range outcomes {
		if o != nil {
			record = append(record, *o)
		}
	}
	// One round's outcomes are written at a time, while the next round
	// claims and sends.
	w.recording <- struct{}{}
	go func() {
		defer func() { <-w.recording }()
		w.record(ctx, record)
	}()
}

// claim claims logs and returns the work: each log won that is still
// deliverable, re-read when the claim took over an expired one (the log may
// have moved on since).
func (w *Worker) claim(ctx context.Context, logs []Log, deliverable func(Log, Claim) bool) ([]job, error) {
	ctx, cancel := context.WithTimeout(ctx, storeTimeout)
	defer cancel()
	claims, err := w.store.Claim(ctx, logs, w.now(), w.opts.Lease)
	if err != nil || len(claims) == 0 {
		return nil, err
	}
	byID := make(map[string]Log, len(logs))
	for _, l := range logs {
		byID[l.ID] = l
	}
	var reread []string
	for _, c := range claims {
		if c.TookOver {
			reread = append(reread, c.LogID)
		}
	}
	if len(reread) > 0 {
		fresh, err := w.store.GetLogs(ctx, reread)
		if err != nil {
			return nil, err
		}
		for _, l := range fresh {
			byID[l.ID] = l
		}
	}
	jobs := make([]job, 0, len(claims))
	var load []string
	for _, c := range claims {
		if l, ok := byID[c.LogID]; ok && deliverable(l, c) {
			jobs = append(jobs, job{log: l, claim: c})
			if l.Content == nil && l.HasContent {
				load = append(load, l.ID)
			}
		}
	}
	// Logs handed over in memory carry their content; polled ones do not.
	if len(load) > 0 {
		contents, err := w.store.Contents(ctx, load)
		if err != nil {
			return nil, err
		}
		for i := range jobs {
			if c, ok := contents[jobs[i].log.ID]; ok && jobs[i].log.Content == nil {
				jobs[i].log.Content = c
			}
		}
	}
	return jobs, nil
}

// record writes outcomes, even when the service is stopping: a message
// sent and not recorded is sent again after the lease.
func (w *Worker) record(ctx context.Context, outcomes []Outcome) {
	if len(outcomes) == 0 {
		return
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), storeTimeout)
	defer cancel()
	n, err := w.store.Record(rctx, outcomes)
	if err != nil {
		w.log.Error("recording deliveries failed; their logs are tried again after the lease", "count", len(outcomes), "err", err.Error())
		return
	}
	if n < len(outcomes) {
		w.log.Warn("some deliveries were recorded by a later claim first", "outcomes", len(outcomes), "recorded", n)
	}
}
