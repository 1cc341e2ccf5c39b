package notify

import (
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"

	"hospital/lib/notificationapi"
)

const (
	ChannelEmail = notificationapi.ChannelEmail
	ChannelSMS   = notificationapi.ChannelSMS
	ChannelPush  = notificationapi.ChannelPush
)

// Every type a service may send (notificationapi.Senders) has a template
// per channel in Vietnamese and English, and each renders with the example
// data to a complete message.
func TestDefaultTemplatesRenderWithExampleData(t *testing.T) {
	tpls := DefaultTemplates(0)
	var spec []string
	for _, types := range notificationapi.Senders {
		spec = append(spec, types...)
	}
	if want := len(spec) * 3 * 2; len(tpls) != want || len(DefaultTypes) != len(spec) {
		t.Fatalf("%d default templates of %d types, want %d of %d", len(tpls), len(DefaultTypes), want, len(spec))
	}
	seen := map[string]bool{}
	used := map[string]map[string]bool{}
	for _, tpl := range tpls {
		name := tpl.NotificationType + "/" + tpl.Channel + "/" + tpl.Language
		if seen[name] {
			t.Fatalf("%s seeded twice", name)
		}
		seen[name] = true
		if errs, _ := CheckTemplate(tpl.input()); len(errs) > 0 {
			t.Fatalf("%s does not pass the admin checks: %v", name, errs)
		}
		d, ok := LookupDefaultType(tpl.NotificationType)
		if !ok {
			t.Fatalf("%s has no type description", name)
		}
		r, err := tpl.Render(d.Example)
		if err != nil {
			t.Fatalf("%s with example data: %v", name, err)
		}
		for _, part := range []string{r.Subject, r.HTML, r.Text} {
			if strings.Contains(part, "{{") || strings.Contains(part, "}}") {
				t.Fatalf("%s rendered with a placeholder left: %q", name, part)
			}
		}
		if r.Text == "" || (tpl.Channel != ChannelSMS && r.Subject == "") || (tpl.Channel == ChannelEmail && r.HTML == "") {
			t.Fatalf("%s rendered incomplete: %+v", name, r)
		}
		if used[tpl.NotificationType] == nil {
			used[tpl.NotificationType] = map[string]bool{}
		}
		for _, v := range tpl.Variables {
			used[tpl.NotificationType][v] = true
		}
		// Every example value appears in the email (nothing silently dropped).
		if tpl.Channel == ChannelEmail {
			for k, v := range d.Example {
				if !strings.Contains(r.Text+r.Subject, format(v)) {
					t.Errorf("%s: %s=%v does not appear in the message", name, k, v)
				}
			}
		}
	}
	for _, typ := range spec {
		for _, ch := range Channels {
			for _, lang := range []string{"vi", "en"} {
				if !seen[typ+"/"+ch+"/"+lang] {
					t.Errorf("no default template %s/%s/%s", typ, ch, lang)
				}
			}
		}
		d, _ := LookupDefaultType(typ)
		got := slices.Sorted(maps.Keys(used[typ]))
		if !slices.Equal(got, d.Variables) {
			t.Errorf("%s templates use %v, documented %v", typ, got, d.Variables)
		}
		if !slices.Equal(slices.Sorted(maps.Keys(d.Example)), d.Variables) {
			t.Errorf("%s example data does not match its variables", typ)
		}
	}
}

// The spec's own example renders to the spec's rendered_subject.
func TestSpecExampleRendersAsInSpec(t *testing.T) {
	var email Template
	for _, tpl := range DefaultTemplates(0) {
		if tpl.NotificationType == notificationapi.AppointmentConfirmedPatient && tpl.Channel == ChannelEmail && tpl.Language == "vi" {
			email = tpl
		}
	}
	if email.BodyTemplateHTML != "<p>Xin chào {{patient_name}},</p><p>Lịch hẹn của bạn với bác sĩ {{doctor_name}} vào lúc {{appointment_time}} đã được xác nhận.</p>" {
		t.Fatalf("body_template_html differs from the spec: %q", email.BodyTemplateHTML)
	}
	r, err := email.Render(map[string]any{"patient_name": "Nguyen Van A", "doctor_name": "Dr. Tran Thi B", "appointment_time": "2023-12-25 10:00"})
	if err != nil {
		t.Fatal(err)
	}
	if r.Subject != "Lịch hẹn của bạn đã được xác nhận: 2023-12-25 10:00" {
		t.Fatalf("subject %q", r.Subject)
	}
	if r.Text != "Xin chào Nguyen Van A, Lịch hẹn của bạn với bác sĩ Dr. Tran Thi B vào lúc 2023-12-25 10:00 đã được xác nhận." {
		t.Fatalf("text %q", r.Text)
	}
}

// A start seeds only the types added since the version it finds recorded,
// so an administrator's deletion of an older default stays deleted.
func TestDefaultTemplatesSinceAVersion(t *testing.T) {
	added := map[string]bool{}
	for _, tpl := range DefaultTemplates(1) {
		added[tpl.NotificationType] = true
	}
	want := []string{notificationapi.AccountLocked, notificationapi.EmailChanged, notificationapi.EmailChangeRequested,
		notificationapi.LabResultCritical, notificationapi.PasswordChanged}
	if got := slices.Sorted(maps.Keys(added)); !slices.Equal(got, want) {
		t.Fatalf("types added after version 1: %v, want %v", got, want)
	}
	if n := len(DefaultTemplates(DefaultTemplatesVersion)); n != 0 {
		t.Fatalf("%d templates after the current version", n)
	}
}

func TestMissingVariablesAreNamed(t *testing.T) {
	for _, d := range DefaultTypes {
		for _, tpl := range DefaultTemplates(0) {
			if tpl.NotificationType != d.Type || tpl.Channel != ChannelEmail || tpl.Language != "vi" {
				continue
			}
			for _, v := range d.Variables {
				data := maps.Clone(d.Example)
				delete(data, v)
				_, err := tpl.Render(data)
				var me *MissingError
				if !errors.As(err, &me) || !slices.Equal(me.Missing, []string{v}) {
					t.Fatalf("%s without %s: %v", d.Type, v, err)
				}
				data[v] = nil // null is missing too
				if _, err := tpl.Render(data); !errors.As(err, &me) {
					t.Fatalf("%s with %s=null rendered", d.Type, v)
				}
			}
		}
	}
	_, err := Template{Channel: ChannelSMS, BodyTemplateText: "{{a}} {{b}} {{a}}"}.Render(nil)
	var me *MissingError
	if !errors.As(err, &me) || !slices.Equal(me.Missing, []string{"a", "b"}) {
		t.Fatalf("missing a and b: %v", err)
	}
}

func TestRenderingRules(t *testing.T) {
	tpl := Template{
		Channel:          ChannelEmail,
		SubjectTemplate:  "Hello {{ name }}\r\n injected: {{name}}",
		BodyTemplateHTML: `<p>{{name}} owes {{amount}} for {{items}}; {{patient.first}} {{ok}} {{ratio}} {{big}}</p>`,
		BodyTemplateText: "{{name}} { not a placeholder } {{amount}} }} {{nested}}",
	}
	r, err := tpl.Render(map[string]any{
		"name": `<script>alert("x")</script>`, "amount": "150000.00", "items": []any{"X-ray", "Blood test"},
		"patient": map[string]any{"first": "Lan"}, "ok": true, "ratio": 1.5, "big": float64(2500000),
		"nested": map[string]any{"a": 1},
	})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(r.HTML, "<script>") || !strings.Contains(r.HTML, "&lt;script&gt;") {
		t.Fatalf("HTML value not escaped: %s", r.HTML)
	}
	if !strings.Contains(r.HTML, "X-ray, Blood test; Lan true 1.5 2500000") {
		t.Fatalf("values formatted wrongly: %s", r.HTML)
	}
	if !strings.Contains(r.Text, `<script>alert("x")</script> { not a placeholder } 150000.00 }} {"a":1}`) {
		t.Fatalf("text: %s", r.Text)
	}
	if strings.ContainsAny(r.Subject, "\r\n") {
		t.Fatalf("subject keeps line breaks: %q", r.Subject)
	}

	bad := []string{"{{ unclosed", "{% if x %}y{% endif %}", "{# comment #}", "{{ a b }}", "{{}}", "{{ name|upper }}", "{{1abc}}"}
	for _, b := range bad {
		if _, err := Variables(b); err == nil {
			t.Errorf("%q accepted", b)
		}
		_, err := Template{Channel: ChannelSMS, BodyTemplateText: b}.Render(map[string]any{"a": 1, "name": "x", "x": 1})
		var se *SyntaxError
		if !errors.As(err, &se) {
			t.Errorf("%q rendered: %v", b, err)
		}
	}
	vars, err := Variables("{{b}} x {{ a }} {{a}} {{c.d}}")
	if err != nil || !slices.Equal(vars, []string{"a", "b", "c.d"}) {
		t.Fatalf("variables %v %v", vars, err)
	}
}

func TestTemplateChecks(t *testing.T) {
	yes := true
	ok := TemplateInput{NotificationType: "CUSTOM_ALERT", Channel: ChannelEmail, Language: "vi", SubjectTemplate: "S {{a}}", BodyTemplateText: "T {{b}}", IsActive: &yes}
	if errs, vars := CheckTemplate(ok); len(errs) > 0 || !slices.Equal(vars, []string{"a", "b"}) {
		t.Fatalf("valid template refused: %v %v", errs, vars)
	}
	cases := []struct {
		name  string
		mod   func(*TemplateInput)
		field string
	}{
		{"email without subject", func(i *TemplateInput) { i.SubjectTemplate = "" }, "subject_template"},
		{"email without body", func(i *TemplateInput) { i.BodyTemplateText = "" }, "body_template_text"},
		{"sms with html", func(i *TemplateInput) { i.Channel, i.SubjectTemplate, i.BodyTemplateHTML = ChannelSMS, "", "<p>x</p>" }, "body_template_html"},
		{"sms with subject", func(i *TemplateInput) { i.Channel = ChannelSMS }, "subject_template"},
		{"push without text", func(i *TemplateInput) { i.Channel, i.BodyTemplateText = ChannelPush, "" }, "body_template_text"},
		{"bad syntax", func(i *TemplateInput) { i.BodyTemplateText = "{% for x in y %}" }, "body_template_text"},
		{"lower-case type", func(i *TemplateInput) { i.NotificationType = "custom" }, "notification_type"},
		{"bad language", func(i *TemplateInput) { i.Language = "Vietnamese" }, "language"},
		{"NUL character", func(i *TemplateInput) { i.BodyTemplateText = "a\x00b" }, "body_template_text"},
	}
	for _, c := range cases {
		in := ok
		c.mod(&in)
		errs, _ := CheckTemplate(in)
		if len(errs[c.field]) == 0 {
			t.Errorf("%s: no error on %s (%v)", c.name, c.field, errs)
		}
	}
}
