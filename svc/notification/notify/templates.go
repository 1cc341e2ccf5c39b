package notify

import (
	"context"
	"errors"
	"slices"
	"time"

	"hospital/lib/apperr"
)

// The administrators' template management (spec section 7, admin
// endpoints). The route table admits ADMIN only; each method checks again,
// so the rules hold whoever calls them.

// ListTemplates is the admin list.
func (s *Service) ListTemplates(ctx context.Context, f TemplateFilter) ([]Template, int, error) {
	if err := requireAdmin(ctx); err != nil {
		return nil, 0, err
	}
	switch {
	case f.Channel != "" && !slices.Contains(Channels, f.Channel):
		return nil, 0, errBadChannel
	case f.NotificationType != "" && !notificationTypePattern.MatchString(f.NotificationType):
		return nil, 0, errBadTypeFilter
	case f.Language != "" && !languagePattern.MatchString(f.Language):
		return nil, 0, errBadLanguageFilter
	}
	return s.store.ListTemplates(ctx, f)
}

// GetTemplate is one template.
func (s *Service) GetTemplate(ctx context.Context, id string) (Template, error) {
	if err := requireAdmin(ctx); err != nil {
		return Template{}, err
	}
	return s.readTemplate(ctx, id)
}

// checkInput validates what an admin saves and returns the variables the
// template uses.
func checkInput(in TemplateInput) ([]string, error) {
	errs, vars := CheckTemplate(in)
	if len(errs) > 0 {
		return nil, apperr.Validation(errs)
	}
	return vars, nil
}

// changeAttempts bounds how often a change is decided again after another
// change of the same object got in first.
const changeAttempts = 5

// CreateTemplate adds a template; (type, channel, language) is unique.
func (s *Service) CreateTemplate(ctx context.Context, in TemplateInput) (Template, error) {
	if err := requireAdmin(ctx); err != nil {
		return Template{}, err
	}
	vars, err := checkInput(in)
	if err != nil {
		return Template{}, err
	}
	now := s.now()
	t := Template{
		ID: s.store.NewTemplateID(), NotificationType: in.NotificationType, Channel: in.Channel, Language: in.Language,
		SubjectTemplate: in.SubjectTemplate, BodyTemplateHTML: in.BodyTemplateHTML, BodyTemplateText: in.BodyTemplateText,
		IsActive: in.IsActive == nil || *in.IsActive, Variables: vars, CreatedAt: now, UpdatedAt: now,
	}
	defer s.forgetTemplates()
	ev := templateEvent(ctx, ActionTemplateCreate, t)
	switch err := s.store.CreateTemplate(ctx, t, ev.Message()); {
	case errors.Is(err, ErrDuplicate):
		return Template{}, errUniqueTemplate
	case errors.Is(err, ErrConflict):
		return Template{}, errTemplateBusy // the id is new: only a repeat of this very change holds it
	case err != nil:
		return Template{}, err
	}
	s.log.InfoContext(ctx, "notification template created", "template_id", t.ID,
		"notification_type", t.NotificationType, "channel", t.Channel, "language", t.Language)
	return t, nil
}

// UpdateTemplate replaces a template's fields (PUT). A PUT that changes
// nothing (a repeated request) makes no change and no audit event.
func (s *Service) UpdateTemplate(ctx context.Context, id string, in TemplateInput) (Template, error) {
	if err := requireAdmin(ctx); err != nil {
		return Template{}, err
	}
	vars, err := checkInput(in)
	if err != nil {
		return Template{}, err
	}
	defer s.forgetTemplates()
	var seen time.Time
	for range changeAttempts {
		cur, err := s.readTemplate(ctx, id)
		if err != nil {
			return Template{}, err
		}
		if cur.UpdatedAt.Equal(seen) {
			return Template{}, errTemplateBusy // the change that got in is not made yet
		}
		seen = cur.UpdatedAt
		t := cur
		t.NotificationType, t.Channel, t.Language = in.NotificationType, in.Channel, in.Language
		t.SubjectTemplate, t.BodyTemplateHTML, t.BodyTemplateText = in.SubjectTemplate, in.BodyTemplateHTML, in.BodyTemplateText
		t.IsActive = in.IsActive == nil || *in.IsActive
		t.Variables = vars
		changed := changedFields(cur, t)
		if len(changed) == 0 {
			return cur, nil
		}
		t.UpdatedAt = s.after(cur.UpdatedAt)
		ev := templateEvent(ctx, ActionTemplateUpdate, t).With("changed", changed)
		switch err := s.store.UpdateTemplate(ctx, cur.UpdatedAt, t, ev.Message()); {
		case errors.Is(err, ErrConflict):
			continue
		case errors.Is(err, ErrDuplicate):
			return Template{}, errUniqueTemplate
		case err != nil:
			return Template{}, err
		}
		s.log.InfoContext(ctx, "notification template updated", "template_id", t.ID)
		return t, nil
	}
	return Template{}, errTemplateBusy
}

// DeleteTemplate removes a template.
func (s *Service) DeleteTemplate(ctx context.Context, id string) error {
	if err := requireAdmin(ctx); err != nil {
		return err
	}
	defer s.forgetTemplates()
	var seen time.Time
	for range changeAttempts {
		cur, err := s.readTemplate(ctx, id)
		if err != nil {
			return err
		}
		if cur.UpdatedAt.Equal(seen) {
			return errTemplateBusy
		}
		seen = cur.UpdatedAt
		ev := templateEvent(ctx, ActionTemplateDelete, cur)
		switch err := s.store.DeleteTemplate(ctx, cur, ev.Message()); {
		case errors.Is(err, ErrConflict):
			continue
		case err != nil:
			return err
		}
		s.log.InfoContext(ctx, "notification template deleted", "template_id", id)
		return nil
	}
	return errTemplateBusy
}

func (s *Service) readTemplate(ctx context.Context, id string) (Template, error) {
	t, err := s.store.GetTemplate(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return t, errTemplateNotFound
	}
	return t, err
}

// after is the service's clock, past prev: every change gives its object a
// new version (updated_at), even within one millisecond.
func (s *Service) after(prev time.Time) time.Time {
	return later(s.now(), prev)
}

func later(now, prev time.Time) time.Time {
	if now.After(prev) {
		return now
	}
	return prev.Add(time.Millisecond)
}

// changedFields names the fields an update changes (for its audit event:
// names only, never the text).
func changedFields(a, b Template) []string {
	var out []string
	for _, f := range []struct {
		name string
		same bool
	}{
		{"notification_type", a.NotificationType == b.NotificationType},
		{"channel", a.Channel == b.Channel},
		{"language", a.Language == b.Language},
		{"subject_template", a.SubjectTemplate == b.SubjectTemplate},
		{"body_template_html", a.BodyTemplateHTML == b.BodyTemplateHTML},
		{"body_template_text", a.BodyTemplateText == b.BodyTemplateText},
		{"is_active", a.IsActive == b.IsActive},
	} {
		if !f.same {
			out = append(out, f.name)
		}
	}
	return out
}

// Types lists the types the platform sends, with the variables their
// default templates use and example data.
func (s *Service) Types(ctx context.Context) ([]TypeInfo, error) {
	if err := requireAdmin(ctx); err != nil {
		return nil, err
	}
	out := make([]TypeInfo, 0, len(DefaultTypes))
	for _, d := range DefaultTypes {
		out = append(out, TypeInfo{NotificationType: d.Type, Variables: d.Variables, ExampleData: d.Example})
	}
	return out, nil
}
