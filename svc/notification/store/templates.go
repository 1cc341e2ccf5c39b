package store

import (
	"context"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"hospital/lib/mongodb"
	"hospital/svc/notification/notify"
)

// templateDoc is a notification_templates document (spec section 7).
type templateDoc struct {
	ID               bson.ObjectID `bson:"_id"`
	NotificationType string        `bson:"notification_type"`
	Channel          string        `bson:"channel"`
	Language         string        `bson:"language"`
	SubjectTemplate  string        `bson:"subject_template"`
	BodyTemplateHTML string        `bson:"body_template_html"`
	BodyTemplateText string        `bson:"body_template_text"`
	IsActive         bool          `bson:"is_active"`
	Variables        []string      `bson:"variables"`
	IsDefault        bool          `bson:"is_default"`
	CreatedAt        time.Time     `bson:"created_at"`
	UpdatedAt        time.Time     `bson:"updated_at"`
}

func templateToDoc(t notify.Template, id bson.ObjectID) templateDoc {
	return templateDoc{
		ID: id, NotificationType: t.NotificationType, Channel: t.Channel, Language: t.Language,
		SubjectTemplate: t.SubjectTemplate, BodyTemplateHTML: t.BodyTemplateHTML, BodyTemplateText: t.BodyTemplateText,
		IsActive: t.IsActive, Variables: t.Variables, IsDefault: t.IsDefault, CreatedAt: t.CreatedAt, UpdatedAt: t.UpdatedAt,
	}
}

func (d templateDoc) template() notify.Template {
	vars := d.Variables
	if vars == nil {
		vars = []string{}
	}
	return notify.Template{
		ID: d.ID.Hex(), NotificationType: d.NotificationType, Channel: d.Channel, Language: d.Language,
		SubjectTemplate: d.SubjectTemplate, BodyTemplateHTML: d.BodyTemplateHTML, BodyTemplateText: d.BodyTemplateText,
		IsActive: d.IsActive, Variables: vars, IsDefault: d.IsDefault, CreatedAt: d.CreatedAt.UTC(), UpdatedAt: d.UpdatedAt.UTC(),
	}
}

func templates(docs []templateDoc) []notify.Template {
	out := make([]notify.Template, len(docs))
	for i, d := range docs {
		out[i] = d.template()
	}
	return out
}

// TemplatesOfType returns every template of a notification type.
func (s *Store) TemplatesOfType(ctx context.Context, typ string) ([]notify.Template, error) {
	cur, err := s.templates.Find(ctx, bson.D{{Key: "notification_type", Value: typ}})
	if err != nil {
		return nil, fmt.Errorf("find templates of %s: %w", typ, err)
	}
	var docs []templateDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, fmt.Errorf("read templates of %s: %w", typ, err)
	}
	return templates(docs), nil
}

// ListTemplates pages through templates matching f.
func (s *Store) ListTemplates(ctx context.Context, f notify.TemplateFilter) ([]notify.Template, int, error) {
	filter := bson.D{}
	if f.NotificationType != "" {
		filter = append(filter, bson.E{Key: "notification_type", Value: f.NotificationType})
	}
	if f.Channel != "" {
		filter = append(filter, bson.E{Key: "channel", Value: f.Channel})
	}
	if f.Language != "" {
		filter = append(filter, bson.E{Key: "language", Value: f.Language})
	}
	if f.IsActive != nil {
		filter = append(filter, bson.E{Key: "is_active", Value: *f.IsActive})
	}
	n, err := s.templates.CountDocuments(ctx, filter)
	if err != nil {
		return nil, 0, fmt.Errorf("count templates: %w", err)
	}
	cur, err := s.templates.Find(ctx, filter, options.Find().
		SetSort(bson.D{{Key: "notification_type", Value: 1}, {Key: "channel", Value: 1}, {Key: "language", Value: 1}}).
		SetSkip(int64(f.Offset)).SetLimit(int64(f.Limit)))
	if err != nil {
		return nil, 0, fmt.Errorf("list templates: %w", err)
	}
	var docs []templateDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, 0, fmt.Errorf("read templates: %w", err)
	}
	return templates(docs), int(n), nil
}

// GetTemplate reads one template; notify.ErrNotFound also for an id that
// is not an ObjectID.
func (s *Store) GetTemplate(ctx context.Context, id string) (notify.Template, error) {
	oid, err := bson.ObjectIDFromHex(id)
	if err != nil {
		return notify.Template{}, notify.ErrNotFound
	}
	var d templateDoc
	err = s.templates.FindOne(ctx, bson.D{{Key: "_id", Value: oid}}).Decode(&d)
	if mongodb.IsNotFound(err) {
		return notify.Template{}, notify.ErrNotFound
	}
	if err != nil {
		return notify.Template{}, fmt.Errorf("get template %s: %w", id, err)
	}
	return d.template(), nil
}

// insertTemplate stores a seeded template under a new id. An
// administrator's templates are created through a change (changes.go).
func (s *Store) insertTemplate(ctx context.Context, t notify.Template) error {
	_, err := s.templates.InsertOne(ctx, templateToDoc(t, bson.NewObjectID()))
	if mongodb.IsDuplicate(err) {
		return notify.ErrDuplicate
	}
	if err != nil {
		return fmt.Errorf("insert template: %w", err)
	}
	return nil
}
