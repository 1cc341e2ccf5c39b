package notify

import (
	"encoding/json"
	"fmt"
	"html"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"hospital/lib/notificationapi"
)

// maxRenderedLen bounds a rendered message (subject and bodies together).
const maxRenderedLen = 200_000

// Templates use the spec's syntax: {{variable}} (spaces inside the braces
// allowed, dotted names reach into nested objects: {{patient.name}}). That is
// all: Jinja blocks ({% %}), comments ({# #}) and filters are refused when a
// template is saved, so what is stored always renders or names what is
// missing. In HTML bodies values are escaped; subjects and text bodies are
// sent as they are (subjects on one line).

var variableName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)*$`)

// SyntaxError is a template that cannot be rendered at all.
type SyntaxError struct {
	Field string
	Msg   string
}

func (e *SyntaxError) Error() string { return e.Field + ": " + e.Msg }

// MissingError lists the variables a template uses that the data lacks.
type MissingError struct {
	Missing []string
}

func (e *MissingError) Error() string {
	return "missing template variables: " + strings.Join(e.Missing, ", ")
}

// scan walks tpl, calling lit for literal text and ref for each placeholder.
func scan(tpl string, lit func(string), ref func(string)) error {
	rest, pos := tpl, 0
	for {
		i := strings.IndexByte(rest, '{')
		if i < 0 || i == len(rest)-1 {
			lit(rest)
			return nil
		}
		switch rest[i+1] {
		case '{':
			end := strings.Index(rest[i+2:], "}}")
			if end < 0 {
				return fmt.Errorf("unclosed {{ at character %d", pos+i+1)
			}
			name := strings.TrimSpace(rest[i+2 : i+2+end])
			if !variableName.MatchString(name) {
				return fmt.Errorf("{{%s}} at character %d is not a variable name; only {{variable}} placeholders are supported", rest[i+2:i+2+end], pos+i+1)
			}
			lit(rest[:i])
			ref(name)
			consumed := i + 2 + end + 2
			rest, pos = rest[consumed:], pos+consumed
		case '%', '#':
			return fmt.Errorf("template blocks and comments ({%% %%}, {# #}) are not supported (character %d); use {{variable}} placeholders only", pos+i+1)
		default:
			lit(rest[:i+1])
			rest, pos = rest[i+1:], pos+i+1
		}
	}
}

// Variables returns the placeholders tpl uses, sorted, or a syntax error.
func Variables(tpl string) ([]string, error) {
	seen := map[string]bool{}
	err := scan(tpl, func(string) {}, func(name string) { seen[name] = true })
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(seen))
	for v := range seen {
		out = append(out, v)
	}
	sort.Strings(out)
	return out, nil
}

// render fills tpl from data; missing collects absent variables.
func render(tpl string, data map[string]any, escape bool, missing map[string]bool) (string, error) {
	var b strings.Builder
	err := scan(tpl, func(s string) { b.WriteString(s) }, func(name string) {
		v, ok := lookup(data, name)
		if !ok {
			missing[name] = true
			return
		}
		s := format(v)
		if escape {
			s = html.EscapeString(s)
		}
		b.WriteString(s)
	})
	return b.String(), err
}

// lookup finds a (possibly dotted) name in data. null is absent.
func lookup(data map[string]any, name string) (any, bool) {
	var cur any = data
	for part := range strings.SplitSeq(name, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = m[part]; !ok || cur == nil {
			return nil, false
		}
	}
	return cur, true
}

// format writes a JSON value as text: numbers without exponent or trailing
// zeros, lists joined with commas, objects as JSON.
func format(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1e15 {
			return strconv.FormatInt(int64(x), 10)
		}
		return strconv.FormatFloat(x, 'f', -1, 64)
	case int, int32, int64:
		return fmt.Sprint(x)
	case bool:
		return strconv.FormatBool(x)
	case json.Number:
		return x.String()
	case []any:
		parts := make([]string, 0, len(x))
		for _, e := range x {
			if e != nil {
				parts = append(parts, format(e))
			}
		}
		return strings.Join(parts, ", ")
	default:
		b, err := json.Marshal(x)
		if err != nil {
			return fmt.Sprint(x)
		}
		return string(b)
	}
}

// Rendered is a message ready to send.
type Rendered struct {
	Subject string
	HTML    string
	Text    string
}

// Body is what the log shows as rendered_body: the HTML of an email that
// has one, the text otherwise.
func (r Rendered) Body() string {
	if r.HTML != "" {
		return r.HTML
	}
	return r.Text
}

// Render fills t with data. A *MissingError names every absent variable; a
// *SyntaxError means the stored template is broken.
func (t Template) Render(data map[string]any) (Rendered, error) {
	missing := map[string]bool{}
	var (
		out Rendered
		err error
	)
	if t.Channel == notificationapi.ChannelEmail || t.Channel == notificationapi.ChannelPush {
		if out.Subject, err = render(t.SubjectTemplate, data, false, missing); err != nil {
			return out, &SyntaxError{Field: "subject_template", Msg: err.Error()}
		}
		out.Subject = strings.Join(strings.Fields(out.Subject), " ")
	}
	if t.Channel == notificationapi.ChannelEmail {
		if out.HTML, err = render(t.BodyTemplateHTML, data, true, missing); err != nil {
			return out, &SyntaxError{Field: "body_template_html", Msg: err.Error()}
		}
	}
	if out.Text, err = render(t.BodyTemplateText, data, false, missing); err != nil {
		return out, &SyntaxError{Field: "body_template_text", Msg: err.Error()}
	}
	if len(missing) > 0 {
		names := make([]string, 0, len(missing))
		for n := range missing {
			names = append(names, n)
		}
		sort.Strings(names)
		return Rendered{}, &MissingError{Missing: names}
	}
	if len(out.Subject)+len(out.HTML)+len(out.Text) > maxRenderedLen {
		return Rendered{}, &SyntaxError{Field: "data", Msg: fmt.Sprintf("the rendered message exceeds %d bytes", maxRenderedLen)}
	}
	return out, nil
}

// CheckTemplate validates what an admin saves: syntax of every part, and the
// parts each channel needs. It returns per-field messages, and the
// variables the template uses.
func CheckTemplate(in TemplateInput) (map[string][]string, []string) {
	errs := map[string][]string{}
	vars := map[string]bool{}
	parts := []struct{ field, tpl string }{
		{"subject_template", in.SubjectTemplate},
		{"body_template_html", in.BodyTemplateHTML},
		{"body_template_text", in.BodyTemplateText},
	}
	for _, p := range parts {
		if strings.ContainsRune(p.tpl, 0) {
			// PostgreSQL (under FerretDB) cannot store NUL characters.
			errs[p.field] = append(errs[p.field], "Templates may not contain NUL characters.")
			continue
		}
		vs, err := Variables(p.tpl)
		if err != nil {
			errs[p.field] = append(errs[p.field], "Template syntax error: "+err.Error())
			continue
		}
		for _, v := range vs {
			vars[v] = true
		}
	}
	if !notificationTypePattern.MatchString(in.NotificationType) {
		errs["notification_type"] = append(errs["notification_type"], "Use upper-case letters, digits and underscores, e.g. APPOINTMENT_CONFIRMED_PATIENT.")
	}
	if !languagePattern.MatchString(in.Language) {
		errs["language"] = append(errs["language"], "Use a language code such as \"vi\" or \"en\".")
	}
	switch in.Channel {
	case notificationapi.ChannelEmail:
		if strings.TrimSpace(in.SubjectTemplate) == "" {
			errs["subject_template"] = append(errs["subject_template"], "An EMAIL template needs a subject.")
		}
		if strings.TrimSpace(in.BodyTemplateHTML) == "" && strings.TrimSpace(in.BodyTemplateText) == "" {
			errs["body_template_text"] = append(errs["body_template_text"], "An EMAIL template needs an HTML or a text body.")
		}
	case notificationapi.ChannelSMS, notificationapi.ChannelPush:
		if strings.TrimSpace(in.BodyTemplateText) == "" {
			errs["body_template_text"] = append(errs["body_template_text"], "An "+in.Channel+" template needs a text body.")
		}
		if in.BodyTemplateHTML != "" {
			errs["body_template_html"] = append(errs["body_template_html"], "Only EMAIL templates have an HTML body.")
		}
		if in.Channel == notificationapi.ChannelSMS && in.SubjectTemplate != "" {
			errs["subject_template"] = append(errs["subject_template"], "SMS messages have no subject.")
		}
	}
	names := make([]string, 0, len(vars))
	for v := range vars {
		names = append(names, v)
	}
	sort.Strings(names)
	return errs, names
}

var (
	notificationTypePattern = regexp.MustCompile(`^[A-Z][A-Z0-9_]{1,63}$`)
	languagePattern         = regexp.MustCompile(`^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$`)
)
