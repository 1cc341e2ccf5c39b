package notification

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"hospital/lib/auth"
	"hospital/lib/logging"
	"hospital/lib/problem"
	"hospital/lib/svcclient"
)

// ContactSource finds how to reach a user.
type ContactSource interface {
	Contact(ctx context.Context, userID int64) (Contact, error)
}

// errRecipientNotFound: the user service knows no such user.
var errRecipientNotFound = errors.New("recipient not found")

// UserContacts reads contact info from the user service
// (GET /api/v1/admin/users/{id}/contact-info/, with this service's token).
type UserContacts struct {
	Client *svcclient.Client
	Log    *slog.Logger
}

// ContactInfoPath is the user service's contact-info endpoint for id.
func ContactInfoPath(id int64) string {
	return "/api/v1/admin/users/" + strconv.FormatInt(id, 10) + "/contact-info/"
}

// Contact implements ContactSource.
func (u UserContacts) Contact(ctx context.Context, id int64) (Contact, error) {
	var c Contact
	err := u.Client.JSON(ctx, svcclient.UserService, http.MethodGet, ContactInfoPath(id), nil, &c)
	var se *svcclient.StatusError
	switch {
	case err == nil:
		return c, nil
	case errors.As(err, &se) && se.Status == http.StatusNotFound:
		return c, errRecipientNotFound
	case errors.As(err, &se) && (se.Status == http.StatusUnauthorized || se.Status == http.StatusForbidden):
		// Our credentials are refused: an operator must fix SERVICE_SECRET.
		// 503 keeps callers retrying until then.
		u.Log.ErrorContext(ctx, "user service refuses our service token; check SERVICE_SECRET", "status", se.Status)
		return c, problem.Unavailable("Recipient contact information is unavailable right now.", 30*time.Second)
	case errors.As(err, &se):
		return c, problem.Unavailable("Recipient contact information is unavailable right now.", 5*time.Second)
	default:
		return c, err
	}
}

// Options configure a Service.
type Options struct {
	// DefaultLanguage is used when neither the request nor the recipient
	// names one (vi); FallbackLanguage when no template exists in it (en).
	DefaultLanguage  string
	FallbackLanguage string
	// DefaultChannels are used when a request names none (EMAIL).
	DefaultChannels []string
	// UrgentHold keeps an urgent send's log away from the background
	// workers while the request delivers it itself.
	UrgentHold time.Duration
	// TemplateCacheTTL is how long an instance reuses the templates of a
	// type it has read (0: read them on every send). An edit made through
	// another instance takes effect within this time.
	TemplateCacheTTL time.Duration
	Now              func() time.Time
	Logger           *slog.Logger
}

// Service holds the notification domain rules. Every method checks the
// caller's identity from ctx itself.
type Service struct {
	store    *Store
	contacts ContactSource
	worker   *Worker
	opts     Options
	log      *slog.Logger

	cacheMu sync.Mutex
	cache   map[string]cachedTemplates
}

type cachedTemplates struct {
	tpls []Template
	at   time.Time
}

// templatesOfType reads a type's templates, through the cache.
func (s *Service) templatesOfType(ctx context.Context, typ string) ([]Template, error) {
	if s.opts.TemplateCacheTTL > 0 {
		s.cacheMu.Lock()
		c, ok := s.cache[typ]
		s.cacheMu.Unlock()
		if ok && time.Since(c.at) < s.opts.TemplateCacheTTL {
			return c.tpls, nil
		}
	}
	tpls, err := s.store.TemplatesOfType(ctx, typ)
	if err != nil || s.opts.TemplateCacheTTL <= 0 {
		return tpls, err
	}
	s.cacheMu.Lock()
	if s.cache == nil {
		s.cache = map[string]cachedTemplates{}
	}
	s.cache[typ] = cachedTemplates{tpls: tpls, at: time.Now()}
	s.cacheMu.Unlock()
	return tpls, nil
}

// forgetTemplates drops the cache after an edit through this instance.
func (s *Service) forgetTemplates() {
	s.cacheMu.Lock()
	s.cache = nil
	s.cacheMu.Unlock()
}

// New returns the service.
func New(store *Store, contacts ContactSource, worker *Worker, opts Options) *Service {
	if opts.DefaultLanguage == "" {
		opts.DefaultLanguage = "vi"
	}
	if opts.FallbackLanguage == "" {
		opts.FallbackLanguage = defaultFallbackLanguage
	}
	if len(opts.DefaultChannels) == 0 {
		opts.DefaultChannels = []string{ChannelEmail}
	}
	if opts.UrgentHold == 0 {
		opts.UrgentHold = time.Minute
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &Service{store: store, contacts: contacts, worker: worker, opts: opts, log: opts.Logger}
}

func (s *Service) now() time.Time { return s.opts.Now().UTC().Truncate(time.Millisecond) }

// Store gives tests and main access to the store.
func (s *Service) Store() *Store { return s.store }

// ---------------------------------------------------------------- send

// SendResult is the answer to a send and its HTTP status.
type SendResult struct {
	Status   int
	Body     SendResponse
	Replayed bool
}

// Send accepts a notification request: it picks a template per channel,
// renders it, and records one log per channel (the queue the workers
// deliver from). A repeated Idempotency-Key gets the first answer again.
func (s *Service) Send(ctx context.Context, req SendRequest, key string) (SendResult, error) {
	caller, err := auth.Caller(ctx)
	if err != nil {
		return SendResult{}, err
	}
	if !caller.IsService() && !caller.HasRole(auth.RoleAdmin) {
		return SendResult{}, problem.Forbidden("Only platform services and administrators may send notifications.")
	}
	if err := validateData(req.Data); err != nil {
		return SendResult{}, err
	}
	if req.RecipientContact != nil && req.RecipientContact.Language != "" && !languagePattern.MatchString(req.RecipientContact.Language) {
		return SendResult{}, problem.Field("recipient_contact.language", "Use a language code such as \"vi\" or \"en\".")
	}
	if req.Language != "" && !languagePattern.MatchString(req.Language) {
		return SendResult{}, problem.Field("language", "Use a language code such as \"vi\" or \"en\".")
	}
	if !notificationTypePattern.MatchString(req.NotificationType) {
		return SendResult{}, unknownType(req.NotificationType)
	}
	channels := s.channelsOf(req)
	requestedBy := requestedByOf(caller)
	hash := requestHash(req)
	scoped := ""
	if key != "" {
		scoped = requestedBy + idempotencyScopeSeparator + key
	} else {
		scoped = autoKeyPrefix + randomHex(12)
	}
	ids := make([]string, len(channels))
	for i, ch := range channels {
		ids[i] = logIDFor(scoped, ch)
	}

	// A repeated request: answer as the first time, without acting again.
	if key != "" {
		if res, done, err := s.replay(ctx, ids, hash, req.Urgent); err != nil || done {
			return res, err
		}
	}

	tpls, err := s.templatesOfType(ctx, req.NotificationType)
	if err != nil {
		return SendResult{}, err
	}
	if len(tpls) == 0 {
		return SendResult{}, unknownType(req.NotificationType)
	}
	contact, err := s.contactFor(ctx, req)
	if err != nil {
		return SendResult{}, err
	}
	langs := s.languages(req, contact)

	now := s.now()
	data := req.Data
	if data == nil {
		data = map[string]any{}
	}
	var (
		logs        []Log
		renderErrs  []string
		skipReasons []string
		deliverable int
	)
	for i, ch := range channels {
		l := Log{
			ID: ids[i], RecipientID: req.RecipientID, NotificationType: req.NotificationType, Channel: ch,
			Status: StatusPending, PayloadDataReceived: data, Urgent: req.Urgent,
			IdempotencyKey: scoped, RequestHash: hash, RequestedBy: requestedBy,
			RequestID: logging.RequestID(ctx), NextAttemptAt: now, CreatedAt: now, UpdatedAt: now,
		}
		if req.Urgent {
			l.NextAttemptAt = now.Add(s.opts.UrgentHold)
		}
		tpl := pickTemplate(tpls, ch, langs)
		addr := contact.Address(ch)
		switch {
		case tpl == nil:
			l.Language = langs[0]
			l.fail(fmt.Sprintf("No active %s template for %s in %s.", ch, req.NotificationType, strings.Join(langs, " or ")), now)
			skipReasons = append(skipReasons, *l.ErrorMessage)
		case addr == "":
			l.Language = tpl.Language
			l.fail(fmt.Sprintf("Recipient %d has no %s on file.", req.RecipientID, addressName(ch)), now)
			skipReasons = append(skipReasons, *l.ErrorMessage)
		default:
			id := tpl.ID
			l.TemplateID, l.Language, l.RecipientContact = &id, tpl.Language, addr
			r, err := tpl.Render(data)
			var me *MissingError
			var se *SyntaxError
			switch {
			case errors.As(err, &me):
				renderErrs = append(renderErrs, fmt.Sprintf("The %s template for %s (%s) needs: %s.",
					ch, req.NotificationType, tpl.Language, strings.Join(me.Missing, ", ")))
			case errors.As(err, &se):
				renderErrs = append(renderErrs, fmt.Sprintf("The %s template for %s (%s) cannot be rendered: %s.",
					ch, req.NotificationType, tpl.Language, se.Error()))
			case err != nil:
				return SendResult{}, err
			}
			l.RenderedSubject, l.RenderedBody = r.Subject, r.Body()
			if r.HTML != "" {
				l.RenderedBodyText = r.Text
			}
			deliverable++
		}
		logs = append(logs, l)
	}
	if len(renderErrs) > 0 {
		p := problem.New(http.StatusBadRequest, "The data does not fill the template: "+strings.Join(renderErrs, " "))
		p.Errors = map[string][]string{"data": renderErrs}
		return SendResult{}, p
	}
	if deliverable == 0 {
		p := problem.New(http.StatusBadRequest, "The notification cannot be delivered on any requested channel: "+strings.Join(skipReasons, " "))
		p.Errors = map[string][]string{channelField(req): skipReasons}
		return SendResult{}, p
	}

	var fresh []string
	for i, l := range logs {
		stored, inserted, err := s.store.InsertLog(ctx, l)
		if err != nil {
			return SendResult{}, err
		}
		if !inserted && stored.RequestHash != hash {
			return SendResult{}, keyReused()
		}
		logs[i] = stored
		if inserted && stored.Status == StatusPending {
			fresh = append(fresh, stored.ID)
		}
	}
	s.log.InfoContext(ctx, "notification accepted", "notification_type", req.NotificationType,
		"recipient_id", req.RecipientID, "log_ids", ids, "urgent", req.Urgent)

	if !req.Urgent {
		s.worker.Notify(fresh...)
		return queuedAnswer(logs), nil
	}
	for i, l := range logs {
		if l.Status == StatusPending && slices.Contains(fresh, l.ID) {
			if logs[i], err = s.worker.DeliverNow(ctx, l.ID); err != nil {
				return SendResult{}, err
			}
		}
	}
	return urgentAnswer(logs), nil
}

// replay answers a repeated key from the logs the first request left. done
// is false when they are not all there (the first request failed half-way):
// then the caller completes the work, reusing what exists.
func (s *Service) replay(ctx context.Context, ids []string, hash string, urgent bool) (SendResult, bool, error) {
	var logs []Log
	for _, id := range ids {
		l, err := s.store.GetLog(ctx, id)
		if errors.Is(err, errNotFound) {
			continue
		}
		if err != nil {
			return SendResult{}, false, err
		}
		if l.RequestHash != hash {
			return SendResult{}, false, keyReused()
		}
		logs = append(logs, l)
	}
	if len(logs) < len(ids) {
		return SendResult{}, false, nil
	}
	res := queuedAnswer(logs)
	if urgent {
		res = urgentAnswer(logs)
	}
	res.Replayed = true
	return res, true, nil
}

func keyReused() error {
	return problem.New(http.StatusUnprocessableEntity, "This Idempotency-Key was already used for a different request.")
}

func unknownType(typ string) error {
	return problem.Field("notification_type", fmt.Sprintf("Unknown notification type %q.", typ))
}

func channelField(req SendRequest) string {
	if len(req.ChannelPreferences) > 0 {
		return "channel_preferences"
	}
	return "channel"
}

func addressName(channel string) string {
	switch channel {
	case ChannelEmail:
		return "email address"
	case ChannelSMS:
		return "phone number"
	default:
		return "push token"
	}
}

func queuedAnswer(logs []Log) SendResult {
	body := SendResponse{Status: AnswerQueued, LogIDs: make([]string, len(logs))}
	for i, l := range logs {
		body.LogIDs[i] = l.ID
		if body.LogID == "" && l.Status != StatusFailed {
			body.LogID = l.ID
		}
	}
	if body.LogID == "" && len(logs) > 0 {
		body.LogID = logs[0].ID
	}
	return SendResult{Status: http.StatusAccepted, Body: body}
}

// urgentAnswer reports what happened to a synchronous send: SENT when every
// deliverable channel went out, QUEUED when one is left to retry in the
// background, FAILED when all failed for good.
func urgentAnswer(logs []Log) SendResult {
	res := queuedAnswer(logs)
	var sent, pending int
	var errs []string
	for _, l := range logs {
		switch l.Status {
		case StatusSent, StatusDelivered:
			sent++
		case StatusPending:
			pending++
		}
		if l.ErrorMessage != nil && l.Status != StatusSent {
			errs = append(errs, l.Channel+": "+*l.ErrorMessage)
		}
	}
	res.Body.ErrorMessage = strings.Join(errs, " ")
	switch {
	case pending > 0:
		res.Status, res.Body.Status = http.StatusAccepted, AnswerQueued
	case sent > 0:
		res.Status, res.Body.Status = http.StatusOK, AnswerSent
	default:
		res.Status, res.Body.Status = http.StatusOK, AnswerFailed
	}
	for _, l := range logs {
		if l.Status == StatusSent {
			res.Body.LogID = l.ID
			break
		}
	}
	return res
}

func (l *Log) fail(msg string, now time.Time) {
	l.Status = StatusFailed
	l.ErrorMessage = &msg
	l.UpdatedAt = now
}

// channelsOf is the request's channels: channel_preferences, then the
// singular channel, else the configured default; without repeats.
func (s *Service) channelsOf(req SendRequest) []string {
	var out []string
	add := func(ch string) {
		if ch != "" && !slices.Contains(out, ch) {
			out = append(out, ch)
		}
	}
	for _, ch := range req.ChannelPreferences {
		add(ch)
	}
	add(req.Channel)
	if len(out) == 0 {
		for _, ch := range s.opts.DefaultChannels {
			add(ch)
		}
	}
	return out
}

func (s *Service) contactFor(ctx context.Context, req SendRequest) (Contact, error) {
	if o := req.RecipientContact; o != nil {
		c := Contact{UserID: req.RecipientID, Email: o.Email, FirstName: o.Name, Language: o.Language}
		if o.PhoneNumber != "" {
			c.PhoneNumber = &o.PhoneNumber
		}
		if o.PushToken != "" {
			c.PushToken = &o.PushToken
		}
		return c, nil
	}
	c, err := s.contacts.Contact(ctx, req.RecipientID)
	if errors.Is(err, errRecipientNotFound) {
		return c, problem.Field("recipient_id", fmt.Sprintf("User %d does not exist.", req.RecipientID))
	}
	return c, err
}

// languages are the template languages to try, in order.
func (s *Service) languages(req SendRequest, c Contact) []string {
	var out []string
	for _, l := range []string{req.Language, c.Language, s.opts.DefaultLanguage, s.opts.FallbackLanguage} {
		if l != "" && !slices.Contains(out, l) {
			out = append(out, l)
		}
	}
	return out
}

func pickTemplate(tpls []Template, channel string, langs []string) *Template {
	for _, lang := range langs {
		for i := range tpls {
			t := &tpls[i]
			if t.IsActive && t.Channel == channel && t.Language == lang {
				return t
			}
		}
	}
	return nil
}

func requestedByOf(id auth.Identity) string {
	if id.IsService() {
		return requestedByServicePrefix + id.Service
	}
	return requestedByUserPrefix + strconv.FormatInt(id.UserID, 10)
}

// requestHash fingerprints what a request asks for, so a key reused for a
// different request is caught. Maps marshal with sorted keys.
func requestHash(req SendRequest) string {
	b, _ := json.Marshal(struct {
		T  string           `json:"t"`
		R  int64            `json:"r"`
		CP []string         `json:"cp"`
		C  string           `json:"c"`
		D  map[string]any   `json:"d"`
		RC *ContactOverride `json:"rc"`
		L  string           `json:"l"`
		U  bool             `json:"u"`
	}{req.NotificationType, req.RecipientID, req.ChannelPreferences, req.Channel, req.Data, req.RecipientContact, req.Language, req.Urgent})
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// logIDFor derives a log's id from the scoped idempotency key and channel:
// a repeated request computes the same ids, and the unique _id makes the
// store refuse a second copy even when twins race.
func logIDFor(scopedKey, channel string) string {
	sum := sha256.Sum256([]byte(scopedKey + idempotencyScopeSeparator + channel))
	return hex.EncodeToString(sum[:])[:logIDLength]
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// validateData refuses keys MongoDB cannot store as field names and
// unreasonable nesting.
func validateData(data map[string]any) error {
	var walk func(v any, path string, depth int) error
	walk = func(v any, path string, depth int) error {
		if depth > maxDataDepth {
			return problem.Field("data", fmt.Sprintf("Nested deeper than %d levels at %s.", maxDataDepth, path))
		}
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				if k == "" || strings.HasPrefix(k, "$") || strings.ContainsAny(k, ".\x00") {
					return problem.Field("data", fmt.Sprintf("Invalid key %q: keys may not be empty, start with $ or contain a dot.", k))
				}
				p := k
				if path != "" {
					p = path + "." + k
				}
				if err := walk(e, p, depth+1); err != nil {
					return err
				}
			}
		case []any:
			for i, e := range x {
				if err := walk(e, path+"["+strconv.Itoa(i)+"]", depth+1); err != nil {
					return err
				}
			}
		}
		return nil
	}
	return walk(map[string]any(data), "", 0)
}

// ---------------------------------------------------------------- templates

func requireAdmin(ctx context.Context) (auth.Identity, error) {
	return auth.RequireRole(ctx, auth.RoleAdmin)
}

var errUniqueTemplate = problem.Validation(map[string][]string{
	"non_field_errors": {"The fields notification_type, channel, language must make a unique set."},
})

// ListTemplates is the admin list.
func (s *Service) ListTemplates(ctx context.Context, f TemplateFilter) ([]Template, int, error) {
	if _, err := requireAdmin(ctx); err != nil {
		return nil, 0, err
	}
	return s.store.ListTemplates(ctx, f)
}

// GetTemplate is one template, for ADMIN.
func (s *Service) GetTemplate(ctx context.Context, id bson.ObjectID) (Template, error) {
	if _, err := requireAdmin(ctx); err != nil {
		return Template{}, err
	}
	t, err := s.store.GetTemplate(ctx, id)
	if errors.Is(err, errNotFound) {
		return t, problem.NotFound("Template not found.")
	}
	return t, err
}

func checkInput(in TemplateInput) ([]string, error) {
	errs, vars := CheckTemplate(in)
	if len(errs) > 0 {
		return nil, problem.Validation(errs)
	}
	return vars, nil
}

// CreateTemplate adds a template.
func (s *Service) CreateTemplate(ctx context.Context, in TemplateInput) (Template, error) {
	if _, err := requireAdmin(ctx); err != nil {
		return Template{}, err
	}
	vars, err := checkInput(in)
	if err != nil {
		return Template{}, err
	}
	now := s.now()
	t := Template{
		ID: bson.NewObjectID(), NotificationType: in.NotificationType, Channel: in.Channel, Language: in.Language,
		SubjectTemplate: in.SubjectTemplate, BodyTemplateHTML: in.BodyTemplateHTML, BodyTemplateText: in.BodyTemplateText,
		IsActive: in.IsActive == nil || *in.IsActive, Variables: vars, CreatedAt: now, UpdatedAt: now,
	}
	defer s.forgetTemplates()
	if err := s.store.InsertTemplate(ctx, t); err != nil {
		if errors.Is(err, errDuplicate) {
			return t, errUniqueTemplate
		}
		return t, err
	}
	s.log.InfoContext(ctx, "notification template created", "template_id", t.ID.Hex(),
		"notification_type", t.NotificationType, "channel", t.Channel, "language", t.Language)
	return t, nil
}

// UpdateTemplate replaces a template's fields (PUT).
func (s *Service) UpdateTemplate(ctx context.Context, id bson.ObjectID, in TemplateInput) (Template, error) {
	if _, err := requireAdmin(ctx); err != nil {
		return Template{}, err
	}
	vars, err := checkInput(in)
	if err != nil {
		return Template{}, err
	}
	old, err := s.store.GetTemplate(ctx, id)
	if errors.Is(err, errNotFound) {
		return old, problem.NotFound("Template not found.")
	}
	if err != nil {
		return old, err
	}
	t := old
	t.NotificationType, t.Channel, t.Language = in.NotificationType, in.Channel, in.Language
	t.SubjectTemplate, t.BodyTemplateHTML, t.BodyTemplateText = in.SubjectTemplate, in.BodyTemplateHTML, in.BodyTemplateText
	t.IsActive = in.IsActive == nil || *in.IsActive
	t.Variables, t.UpdatedAt = vars, s.now()
	defer s.forgetTemplates()
	switch err := s.store.ReplaceTemplate(ctx, t); {
	case errors.Is(err, errDuplicate):
		return t, errUniqueTemplate
	case errors.Is(err, errNotFound):
		return t, problem.NotFound("Template not found.")
	case err != nil:
		return t, err
	}
	s.log.InfoContext(ctx, "notification template updated", "template_id", t.ID.Hex())
	return t, nil
}

// DeleteTemplate removes a template.
func (s *Service) DeleteTemplate(ctx context.Context, id bson.ObjectID) error {
	if _, err := requireAdmin(ctx); err != nil {
		return err
	}
	defer s.forgetTemplates()
	err := s.store.DeleteTemplate(ctx, id)
	if errors.Is(err, errNotFound) {
		return problem.NotFound("Template not found.")
	}
	if err == nil {
		s.log.InfoContext(ctx, "notification template deleted", "template_id", id.Hex())
	}
	return err
}

// ---------------------------------------------------------------- logs

// logViewer is who may read logs: ADMIN everything, a service the logs of
// its own requests without their content.
func logViewer(ctx context.Context) (full bool, onlyFor string, err error) {
	id, err := auth.Caller(ctx)
	if err != nil {
		return false, "", err
	}
	switch {
	case id.HasRole(auth.RoleAdmin):
		return true, "", nil
	case id.IsService():
		return false, requestedByOf(id), nil
	}
	return false, "", problem.Forbidden("You do not have permission to perform this action.")
}

// ListLogs is the admin log list.
func (s *Service) ListLogs(ctx context.Context, f LogFilter) ([]LogView, int, error) {
	full, onlyFor, err := logViewer(ctx)
	if err != nil {
		return nil, 0, err
	}
	f.RequestedBy = onlyFor
	logs, n, err := s.store.ListLogs(ctx, f)
	if err != nil {
		return nil, 0, err
	}
	out := make([]LogView, 0, len(logs))
	for _, l := range logs {
		out = append(out, l.View(full))
	}
	return out, n, nil
}

// GetLog is one log.
func (s *Service) GetLog(ctx context.Context, id string) (LogView, error) {
	full, onlyFor, err := logViewer(ctx)
	if err != nil {
		return LogView{}, err
	}
	l, err := s.store.GetLog(ctx, id)
	if errors.Is(err, errNotFound) || (err == nil && onlyFor != "" && l.RequestedBy != onlyFor) {
		return LogView{}, problem.NotFound("Notification log not found.")
	}
	if err != nil {
		return LogView{}, err
	}
	return l.View(full), nil
}

// RetryLog puts a FAILED log back in the queue with a fresh set of attempts.
func (s *Service) RetryLog(ctx context.Context, id string) (LogView, error) {
	if _, err := requireAdmin(ctx); err != nil {
		return LogView{}, err
	}
	l, err := s.store.GetLog(ctx, id)
	if errors.Is(err, errNotFound) {
		return LogView{}, problem.NotFound("Notification log not found.")
	}
	if err != nil {
		return LogView{}, err
	}
	if l.Status != StatusFailed {
		return LogView{}, problem.Conflict(fmt.Sprintf("Only FAILED notifications can be retried; this one is %s.", l.Status))
	}
	if l.RecipientContact == "" {
		return LogView{}, problem.Conflict("This notification was never deliverable (no template or no contact); send it again instead.")
	}
	now := s.now()
	// A FAILED log has no delivery in progress: no lease holder writes it.
	err = s.store.UpdateLog(ctx, id, bson.D{
		{Key: "status", Value: StatusPending}, {Key: "attempts", Value: 0},
		{Key: "next_attempt_at", Value: now}, {Key: "updated_at", Value: now},
	})
	if err != nil {
		return LogView{}, err
	}
	s.worker.Notify(id)
	l.Status, l.Attempts, l.NextAttemptAt, l.UpdatedAt = StatusPending, 0, now, now
	s.log.InfoContext(ctx, "notification queued again by an administrator", "log_id", id)
	return l.View(true), nil
}
