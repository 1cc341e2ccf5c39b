package notify

import (
	"context"
	"errors"
	"slices"

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
	t, err := s.store.GetTemplate(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return t, errTemplateNotFound
	}
	return t, err
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
		NotificationType: in.NotificationType, Channel: in.Channel, Language: in.Language,
		SubjectTemplate: in.SubjectTemplate, BodyTemplateHTML: in.BodyTemplateHTML, BodyTemplateText: in.BodyTemplateText,
		IsActive: in.IsActive == nil || *in.IsActive, Variables: vars, CreatedAt: now, UpdatedAt: now,
	}
	defer s.forgetTemplates()
	t, err = s.store.InsertTemplate(ctx, t)
	if errors.Is(err, ErrDuplicate) {
		return t, errUniqueTemplate
	}
	if err != nil {
		return t, err
	}
	s.log.InfoContext(ctx, "notification template created", "template_id", t.ID,
		"notification_type", t.NotificationType, "channel", t.Channel, "language", t.Language)
	return t, nil
}

// UpdateTemplate replaces a template's fields (PUT).
func (s *Service) UpdateTemplate(ctx context.Context, id string, in TemplateInput) (Template, error) {
	if err := requireAdmin(ctx); err != nil {
		return Template{}, err
	}
	vars, err := checkInput(in)
	if err != nil {
		return Template{}, err
	}
	t, err := s.store.GetTemplate(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return t, errTemplateNotFound
	}
	if err != nil {
		return t, err
	}
	t.NotificationType, t.Channel, t.Language = in.NotificationType, in.Channel, in.Language
	t.SubjectTemplate, t.BodyTemplateHTML, t.BodyTemplateText = in.SubjectTemplate, in.BodyTemplateHTML, in.BodyTemplateText
	t.IsActive = in.IsActive == nil || *in.IsActive
	t.Variables, t.UpdatedAt = vars, s.now()
	defer s.forgetTemplates()
	switch err := s.store.ReplaceTemplate(ctx, t); {
	case errors.Is(err, ErrDuplicate):
		return t, errUniqueTemplate
	case errors.Is(err, ErrNotFound):
		return t, errTemplateNotFound
	case err != nil:
		return t, err
	}
	s.log.InfoContext(ctx, "notification template updated", "template_id", t.ID)
	return t, nil
}

// DeleteTemplate removes a template.
func (s *Service) DeleteTemplate(ctx context.Context, id string) error {
	if err := requireAdmin(ctx); err != nil {
		return err
	}
	defer s.forgetTemplates()
	err := s.store.DeleteTemplate(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return errTemplateNotFound
	}
	if err == nil {
		s.log.InfoContext(ctx, "notification template deleted", "template_id", id)
	}
	return err
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
