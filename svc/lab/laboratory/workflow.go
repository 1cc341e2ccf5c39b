package laboratory

import (
	"context"
	"errors"
	"strings"
	"time"

	"hospital/lib/auth"
)

// progress orders the statuses an item (and so an order) passes through.
var progress = map[string]int{StatusRequested: 0, StatusSampleCollected: 1, StatusProcessing: 2,
	StatusResultsPendingReview: 3, StatusCompleted: 4}

// derivedStatus is the order's status from its items': the least advanced
// of the items not cancelled (so the order is in the lab's queue while any
// sample is still to be collected, and awaits review once every result is
// in), CANCELLED when every item is.
func derivedStatus(items []Item) string {
	least, any := StatusCompleted, false
	for _, it := range items {
		if it.ItemStatus == StatusCancelled {
			continue
		}
		any = true
		if progress[it.ItemStatus] < progress[least] {
			least = it.ItemStatus
		}
	}
	if !any {
		return StatusCancelled
	}
	return least
}

// settle brings the order in line with its items after a change, and sends
// what the change caused: the invoice the first time the order's samples
// are all collected (spec flow F10, once per order), and the doctor's
// notice when every result is in (F8). ch is nil for a new order.
func settle(o *Order, ch *Change, now time.Time) {
	prev := o.Status
	o.Status = derivedStatus(o.Items)
	o.InQueue = o.Status == StatusRequested || o.Status == StatusSampleCollected
	o.PriorityRank = 0
	if o.Priority == PriorityUrgent {
		o.PriorityRank = 1
	}
	o.UpdatedAt = now
	if ch == nil {
		return
	}
	if o.InvoicedAt == nil && o.Status != StatusCancelled && progress[o.Status] >= progress[StatusSampleCollected] {
		o.InvoicedAt = &now
		ch.Send(invoiceRequest(*o))
	}
	if prev != StatusResultsPendingReview && o.Status == StatusResultsPendingReview {
		ch.Send(readyForDoctor(*o))
	}
}

func closed(status string) bool { return status == StatusCompleted || status == StatusCancelled }

// SetOrderStatus is PUT .../status/: the order's machine (README). A
// technician records the samples collected (every REQUESTED item) and the
// start of processing (every collected item); a doctor releases the
// results (COMPLETED); a technician or the ordering doctor cancels what is
// not yet resulted. RESULTS_PENDING_REVIEW is reached by entering results.
// Setting the status the order already has changes nothing.
func (s *Service) SetOrderStatus(ctx context.Context, id string, in OrderStatusUpdate) (Order, error) {
	c, err := caller(ctx)
	if err != nil {
		return Order{}, err
	}
	if !IsObjectID(id) {
		return Order{}, errNotFound
	}
	switch in.Status {
	case StatusSampleCollected, StatusProcessing:
		if c.Role != auth.RoleLabTechnician {
			return Order{}, errLabOnly
		}
	case StatusCompleted:
		if c.Role != auth.RoleDoctor {
			return Order{}, errDoctorsOnly
		}
	}
	now := s.now()
	var seen Order
	o, err := s.store.UpdateOrder(ctx, id, func(o *Order, ch *Change) error {
		seen = *o
		from := o.Status
		if from == in.Status {
			return errUnchanged
		}
		if closed(from) {
			return errClosed
		}
		switch in.Status {
		case StatusSampleCollected:
			if from != StatusRequested {
				return illegal("lab order", from, in.Status)
			}
			for i := range o.Items {
				if o.Items[i].ItemStatus == StatusRequested {
					collect(&o.Items[i], in.SampleID)
				}
			}
		case StatusProcessing:
			if from != StatusSampleCollected {
				return illegal("lab order", from, in.Status)
			}
			for i := range o.Items {
				if o.Items[i].ItemStatus == StatusSampleCollected {
					o.Items[i].ItemStatus = StatusProcessing
				}
			}
		case StatusCompleted:
			if from != StatusResultsPendingReview {
				return illegal("lab order", from, in.Status)
			}
			release(o, c.UserID, now)
		case StatusCancelled:
			if c.Role == auth.RoleDoctor && !c.IsUser(o.DoctorID) {
				return errNotOrderer
			}
			if progress[from] > progress[StatusProcessing] {
				return illegal("lab order", from, in.Status)
			}
			for i := range o.Items {
				if it := &o.Items[i]; it.ItemStatus != StatusCancelled {
					it.ItemStatus, it.CancelReason = StatusCancelled, strings.TrimSpace(in.Reason)
				}
			}
			o.CancelReason = strings.TrimSpace(in.Reason)
		default:
			return illegal("lab order", from, in.Status)
		}
		settle(o, ch, now)
		if o.Status == StatusCompleted {
			ch.Send(readyForPatient(*o))
			for _, it := range o.Items {
				if it.ItemStatus == StatusCompleted {
					ch.Send(ehrReference(*o, it))
				}
			}
		}
		ch.Send(event(ctx, "lab.order.status", *o).With("from", from).With("to", o.Status).Message())
		return nil
	})
	return s.changed(ctx, id, o, err, seen)
}

// changed answers a change: the order after it, the order as it is when
// nothing needed changing, and a refusal on someone else's order audited.
func (s *Service) changed(ctx context.Context, id string, o Order, err error, seen Order) (Order, error) {
	switch {
	case err == nil:
		return o, nil
	case errors.Is(err, errUnchanged):
		cur, err := s.store.Order(ctx, id)
		if err != nil {
			return Order{}, loadErr(err, "lab order", id)
		}
		return cur, nil
	case errors.Is(err, errNotOrderer):
		return Order{}, s.deny(ctx, err, event(ctx, "lab.order.status", seen))
	}
	return Order{}, loadErr(err, "lab order", id)
}

// collect marks an item's sample collected, labelled sampleID when given.
func collect(it *Item, sampleID string) {
	it.ItemStatus = StatusSampleCollected
	if sid := strings.TrimSpace(sampleID); sid != "" {
		it.SampleID = &sid
	}
}

// release completes every resulted item, verified by the releasing doctor:
// from now on the patient sees the results.
func release(o *Order, doctorID int64, now time.Time) {
	for i := range o.Items {
		it := &o.Items[i]
		if it.ItemStatus != StatusResultsPendingReview || it.Result == nil {
			continue
		}
		it.ItemStatus = StatusCompleted
		v := doctorID
		it.Result.VerifiedByID = &v
	}
	by := doctorID
	o.ReleasedAt, o.ReleasedByID = &now, &by
}

// SetItemStatus is PUT .../items/{item_id}/status/ (LAB_TECHNICIAN): the
// item's machine (README). A sample is collected, then processed; an item
// not yet resulted may be cancelled. RESULTS_PENDING_REVIEW is reached by
// entering the result, COMPLETED by the doctor's release of the order.
func (s *Service) SetItemStatus(ctx context.Context, orderID, itemID string, in ItemStatusUpdate) (Order, error) {
	if !IsObjectID(orderID) {
		return Order{}, errNotFound
	}
	now := s.now()
	o, err := s.store.UpdateOrder(ctx, orderID, func(o *Order, ch *Change) error {
		it := itemOf(o, itemID)
		if it == nil {
			return errNotFound
		}
		from, to := it.ItemStatus, in.ItemStatus
		if from == to {
			return errUnchanged
		}
		if closed(o.Status) {
			return errClosed
		}
		switch {
		case to == StatusSampleCollected && from == StatusRequested:
			collect(it, in.SampleID)
		case to == StatusProcessing && from == StatusSampleCollected:
			it.ItemStatus = to
		case to == StatusCancelled && progress[from] <= progress[StatusProcessing]:
			it.ItemStatus, it.CancelReason = to, strings.TrimSpace(in.Reason)
		default:
			return illegal("lab order item", from, to)
		}
		settle(o, ch, now)
		ch.Send(event(ctx, "lab.item.status", *o).With("item_id", itemID).With("from", from).With("to", to).Message())
		return nil
	})
	return s.changed(ctx, orderID, o, err, Order{})
}

func itemOf(o *Order, itemID string) *Item {
	for i := range o.Items {
		if o.Items[i].ItemID == itemID {
			return &o.Items[i]
		}
	}
	return nil
}
