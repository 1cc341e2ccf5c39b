package notify

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"hospital/lib/auth"
	"hospital/lib/logging"
	"hospital/lib/notificationapi"
	"hospital/lib/userapi"
)

// secretTypes carry a secret that opens the account (a reset or
// confirmation link): they are sensitive whatever the sender says.
var secretTypes = []string{notificationapi.PasswordResetRequested, notificationapi.EmailChangeRequested}

// sendPlan is a checked send request and what derives from it.
type sendPlan struct {
	in          SendInput
	caller      auth.Identity
	channels    []string
	ids         []string // one log per channel, derived from the key
	hash        string
	requestedBy string
	scopedKey   string
}

// Send accepts a notification request: it picks a template per channel,
// renders it, and records one log per channel, which is also the queue the
// workers deliver from. An urgent request is delivered before the answer; a
// sensitive one too, and its content is never stored. A repeated
// Idempotency-Key gets the first answer again.
func (s *Service) Send(ctx context.Context, in SendInput, key string) (SendResult, error) {
	id, err := caller(ctx)
	if err != nil {
		return SendResult{}, err
	}
	if err := checkSend(in, key); err != nil {
		return SendResult{}, err
	}
	if err := mayCallerSend(id, in.NotificationType); err != nil {
		return SendResult{}, err
	}
	if slices.Contains(secretTypes, in.NotificationType) {
		in.Sensitive = true
	}
	p := s.plan(id, in, key)
	if key != "" {
		if res, done, err := s.replay(ctx, p); err != nil || done {
			return res, err
		}
	}
	logs, err := s.prepare(ctx, p)
	if err != nil {
		return SendResult{}, err
	}
	stored, inserted, err := s.store.InsertLogs(ctx, storable(logs))
	if err != nil {
		return SendResult{}, err
	}
	for _, l := range stored {
		if l.RequestHash != p.hash {
			return SendResult{}, errKeyReused
		}
	}
	s.log.InfoContext(ctx, "notification accepted", "notification_type", in.NotificationType,
		"recipient_id", in.RecipientID, "log_ids", p.ids, "urgent", in.Urgent, "sensitive", in.Sensitive)

	switch {
	case in.Sensitive:
		return s.deliverSensitive(ctx, logs, stored)
	case in.Urgent:
		return s.deliverUrgent(ctx, logs, stored, inserted)
	}
	var fresh []Log
	for i, l := range logs {
		if inserted[i] && l.Status == StatusPending {
			fresh = append(fresh, l)
		}
	}
	s.worker.Enqueue(fresh)
	return queuedAnswer(stored), nil
}

func (s *Service) plan(id auth.Identity, in SendInput, key string) *sendPlan {
	p := &sendPlan{in: in, caller: id, channels: s.channelsOf(in), hash: requestHash(in), requestedBy: requestedByOf(id)}
	if key != "" {
		p.scopedKey = p.requestedBy + idempotencyScopeSeparator + key
	} else {
		p.scopedKey = autoKeyPrefix + randomHex(12)
	}
	p.ids = make([]string, len(p.channels))
	for i, ch := range p.channels {
		p.ids[i] = logIDFor(p.scopedKey, ch)
	}
	return p
}

// replay answers a repeated key from the logs the first request left. done
// is false when the work is not finished: some logs are missing (the first
// request failed half-way), or a sensitive message still has to go out.
// Then the caller completes the work, reusing what exists.
func (s *Service) replay(ctx context.Context, p *sendPlan) (SendResult, bool, error) {
	logs, err := s.store.GetLogs(ctx, p.ids)
	if err != nil {
		return SendResult{}, false, err
	}
	for _, l := range logs {
		if l.RequestHash != p.hash {
			return SendResult{}, false, errKeyReused
		}
	}
	if len(logs) < len(p.ids) {
		return SendResult{}, false, nil
	}
	var res SendResult
	switch {
	case p.in.Sensitive:
		for _, l := range logs {
			if retryableSensitive(l) {
				return SendResult{}, false, nil
			}
		}
		res = syncAnswer(logs)
	case p.in.Urgent:
		res = syncAnswer(logs)
	default:
		res = queuedAnswer(logs)
	}
	res.Replayed = true
	return res, true, nil
}

// retryableSensitive: a sensitive message not delivered yet is sent again
// when its request is repeated; nothing else could send it.
func retryableSensitive(l Log) bool {
	return l.Sensitive && l.RecipientContact != "" && l.Status != StatusSent && l.Status != StatusDelivered
}

// prepare builds the request's logs: one per channel, rendered from the
// template in the best language, or FAILED with the reason when the
// channel has no template or the recipient no address there.
func (s *Service) prepare(ctx context.Context, p *sendPlan) ([]Log, error) {
	in := p.in
	tpls, err := s.templatesOfType(ctx, in.NotificationType)
	if err != nil {
		return nil, err
	}
	if len(tpls) == 0 {
		return nil, errUnknownType(in.NotificationType)
	}
	contact, err := s.contactFor(ctx, in)
	if err != nil {
		return nil, err
	}
	langs := s.languages(in, contact)
	data := in.Data
	if data == nil {
		data = map[string]any{}
	}
	now := s.now()
	var next time.Time
	var holder string
	switch {
	case in.Urgent || in.Sensitive:
		// Delivered within this request: kept from the workers meanwhile.
		next, holder = now.Add(s.opts.UrgentHold), s.worker.instance()
	default:
		reserve, h := s.worker.reservation()
		next, holder = now.Add(reserve), h
	}
	var (
		logs                    []Log
		renderErrs, skipReasons []string
		deliverable             int
	)
	for i, ch := range p.channels {
		l := Log{
			ID: p.ids[i], RecipientID: in.RecipientID, NotificationType: in.NotificationType, Channel: ch,
			Status: StatusPending, Urgent: in.Urgent, Sensitive: in.Sensitive,
			IdempotencyKey: p.scopedKey, RequestHash: p.hash, RequestedBy: p.requestedBy,
			RequestID: logging.RequestID(ctx), NextAttemptAt: next, Holder: holder, CreatedAt: now, UpdatedAt: now,
		}
		l.ProviderMessageID = s.worker.messageID(ch, l.ID)
		tpl := pickTemplate(tpls, ch, langs)
		addr := address(contact, ch)
		switch {
		case tpl == nil:
			l.Language = langs[0]
			l.fail(fmt.Sprintf("No active %s template for %s in %s.", ch, in.NotificationType, strings.Join(langs, " or ")), now)
			skipReasons = append(skipReasons, *l.ErrorMessage)
		case addr == "":
			l.Language = tpl.Language
			l.fail(fmt.Sprintf("Recipient %d has no %s on file.", in.RecipientID, addressName(ch)), now)
			skipReasons = append(skipReasons, *l.ErrorMessage)
		default:
			l.TemplateID, l.Language, l.RecipientContact = tpl.ID, tpl.Language, addr
			r, err := tpl.Render(data)
			var me *MissingError
			var se *SyntaxError
			switch {
			case errors.As(err, &me):
				renderErrs = append(renderErrs, fmt.Sprintf("The %s template for %s (%s) needs: %s.",
					ch, in.NotificationType, tpl.Language, strings.Join(me.Missing, ", ")))
			case errors.As(err, &se):
				renderErrs = append(renderErrs, fmt.Sprintf("The %s template for %s (%s) cannot be rendered: %s.",
					ch, in.NotificationType, tpl.Language, se.Error()))
			case err != nil:
				return nil, err
			}
			l.Content, l.HasContent = &Content{Subject: r.Subject, Body: r.Body(), Data: data}, true
			if r.HTML != "" {
				l.Content.BodyText = r.Text
			}
			deliverable++
		}
		logs = append(logs, l)
	}
	if len(renderErrs) > 0 {
		return nil, errDataDoesNotFit(renderErrs)
	}
	if deliverable == 0 {
		return nil, errUndeliverable(channelField(in), skipReasons)
	}
	return logs, nil
}

// storable is what the store keeps of logs: a sensitive request's content
// (a reset link, say) is delivered from memory and never written.
func storable(logs []Log) []Log {
	out := make([]Log, len(logs))
	for i, l := range logs {
		if l.Sensitive {
			l.Content, l.HasContent = nil, false
		}
		out[i] = l
	}
	return out
}

// deliverUrgent delivers the logs this request created before answering.
func (s *Service) deliverUrgent(ctx context.Context, logs, stored []Log, inserted []bool) (SendResult, error) {
	for i, l := range stored {
		if !inserted[i] || l.Status != StatusPending {
			continue
		}
		d, err := s.worker.DeliverNow(ctx, l, logs[i].Content)
		if err != nil {
			return SendResult{}, err
		}
		stored[i] = d.Log
	}
	return syncAnswer(stored), nil
}

// deliverSensitive delivers every message of the request not delivered yet,
// from memory. A temporary failure is the sender's to retry (503): the
// content is gone once this request ends.
func (s *Service) deliverSensitive(ctx context.Context, logs, stored []Log) (SendResult, error) {
	later := false
	for i, l := range stored {
		if !retryableSensitive(l) || logs[i].Content == nil {
			continue
		}
		d, err := s.worker.DeliverNow(ctx, l, logs[i].Content)
		if err != nil {
			return SendResult{}, err
		}
		stored[i] = d.Log
		// Not attempted: a twin request holds the log right now.
		if !d.Attempted || d.Temporary {
			later = true
		}
	}
	if later {
		return SendResult{}, errSendLater
	}
	return syncAnswer(stored), nil
}

func (s *Service) contactFor(ctx context.Context, in SendInput) (userapi.Contact, error) {
	if o := in.RecipientContact; o != nil {
		c := userapi.Contact{UserID: in.RecipientID, Email: o.Email, FirstName: o.Name, Language: o.Language}
		if o.PhoneNumber != "" {
			c.PhoneNumber = &o.PhoneNumber
		}
		if o.PushToken != "" {
			c.PushToken = &o.PushToken
		}
		return c, nil
	}
	c, err := s.directory.Contact(ctx, in.RecipientID)
	if errors.Is(err, userapi.ErrNotFound) {
		return c, errUnknownRecipient(in.RecipientID)
	}
	return c, err
}
