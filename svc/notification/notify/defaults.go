package notify

import (
	"html"
	"slices"
	"strings"

	"hospital/lib/notificationapi"
)

// The default templates: every type the platform's services send, in
// Vietnamese and English, for EMAIL (subject, HTML, text), SMS (short text)
// and PUSH (subject as title, short text). They are seeded into the
// template collection on first start; an administrator edits them there.

// DefaultType describes one of the notification types the platform sends:
// the variables its default templates use (what a caller must put in data)
// and example data in the spec's terms.
type DefaultType struct {
	Type      string
	Variables []string
	Example   map[string]any
	// Since is the DefaultTemplatesVersion that added the type: a start
	// seeds the types added since the version it finds recorded, so an
	// administrator's deletions stay deleted.
	Since  int64
	vi, en seedText
}

// DefaultTemplatesVersion grows whenever DefaultTypes gains types.
const DefaultTemplatesVersion int64 = 2

type seedText struct {
	Subject string
	// Paras are the body's paragraphs (plain text with placeholders).
	Paras []string
	// Link names a variable holding a URL, shown as a link with LinkLabel.
	Link, LinkLabel string
	// Text overrides the generated email text body.
	Text string
	// Short is the SMS and push body.
	Short string
}

func (s seedText) html() string {
	var b strings.Builder
	for _, p := range s.Paras {
		b.WriteString("<p>" + html.EscapeString(p) + "</p>")
	}
	if s.Link != "" {
		b.WriteString(`<p><a href="{{` + s.Link + `}}">` + html.EscapeString(s.LinkLabel) + "</a></p>")
	}
	return b.String()
}

func (s seedText) text() string {
	if s.Text != "" {
		return s.Text
	}
	t := strings.Join(s.Paras, "\n\n")
	if s.Link != "" {
		t += "\n\n" + s.LinkLabel + ":\n{{" + s.Link + "}}\n"
	}
	return t
}

// DefaultTypes are the types the platform sends, with their default wording.
var DefaultTypes = slices.Concat(accountTypes, careTypes, pharmacyAndBillingTypes)

// DefaultTemplates expands the default types added after version since
// into templates (all of them for since 0).
func DefaultTemplates(since int64) []Template {
	var out []Template
	for _, d := range DefaultTypes {
		if d.Since <= since {
			continue
		}
		for _, lang := range []string{"vi", "en"} {
			s := d.vi
			if lang == "en" {
				s = d.en
			}
			base := Template{NotificationType: d.Type, Language: lang, IsActive: true, IsDefault: true}
			email, sms, push := base, base, base
			email.Channel, email.SubjectTemplate, email.BodyTemplateHTML, email.BodyTemplateText = notificationapi.ChannelEmail, s.Subject, s.html(), s.text()
			sms.Channel, sms.BodyTemplateText = notificationapi.ChannelSMS, s.Short
			push.Channel, push.SubjectTemplate, push.BodyTemplateText = notificationapi.ChannelPush, s.Subject, s.Short
			for _, t := range []Template{email, sms, push} {
				_, vars := CheckTemplate(t.input())
				t.Variables = vars
				out = append(out, t)
			}
		}
	}
	return out
}

// LookupDefaultType returns the description of a type the platform sends.
func LookupDefaultType(typ string) (DefaultType, bool) {
	i := slices.IndexFunc(DefaultTypes, func(d DefaultType) bool { return d.Type == typ })
	if i < 0 {
		return DefaultType{}, false
	}
	return DefaultTypes[i], true
}

func (t Template) input() TemplateInput {
	active := t.IsActive
	return TemplateInput{
		NotificationType: t.NotificationType, Channel: t.Channel, Language: t.Language,
		SubjectTemplate: t.SubjectTemplate, BodyTemplateHTML: t.BodyTemplateHTML, BodyTemplateText: t.BodyTemplateText,
		IsActive: &active,
	}
}
