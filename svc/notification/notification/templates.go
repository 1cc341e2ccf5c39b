package notification

import (
	"encoding/json"
	"fmt"
	"html"
	"math"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
)

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
	if t.Channel == ChannelEmail || t.Channel == ChannelPush {
		if out.Subject, err = render(t.SubjectTemplate, data, false, missing); err != nil {
			return out, &SyntaxError{Field: "subject_template", Msg: err.Error()}
		}
		out.Subject = strings.Join(strings.Fields(out.Subject), " ")
	}
	if t.Channel == ChannelEmail {
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
	case ChannelEmail:
		if strings.TrimSpace(in.SubjectTemplate) == "" {
			errs["subject_template"] = append(errs["subject_template"], "An EMAIL template needs a subject.")
		}
		if strings.TrimSpace(in.BodyTemplateHTML) == "" && strings.TrimSpace(in.BodyTemplateText) == "" {
			errs["body_template_text"] = append(errs["body_template_text"], "An EMAIL template needs an HTML or a text body.")
		}
	case ChannelSMS, ChannelPush:
		if strings.TrimSpace(in.BodyTemplateText) == "" {
			errs["body_template_text"] = append(errs["body_template_text"], "An "+in.Channel+" template needs a text body.")
		}
		if in.BodyTemplateHTML != "" {
			errs["body_template_html"] = append(errs["body_template_html"], "Only EMAIL templates have an HTML body.")
		}
		if in.Channel == ChannelSMS && in.SubjectTemplate != "" {
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

// ---------------------------------------------------------------- defaults

// DefaultType describes one of the notification types the platform sends:
// the variables its default templates use (what a caller must put in data)
// and example data in the spec's terms.
type DefaultType struct {
	Type      string
	Variables []string
	Example   map[string]any
	vi, en    seedText
}

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

var appointmentExample = map[string]any{
	"patient_name": "Nguyen Van A", "doctor_name": "Dr. Tran Thi B", "appointment_time": "2023-12-25 10:00",
}

// DefaultTypes are the types the spec names, with their default wording.
var DefaultTypes = []DefaultType{
	{
		Type: TypeUserRegistered, Variables: []string{"confirmation_link", "user_name"},
		Example: map[string]any{"user_name": "nguyenvana", "confirmation_link": "https://hospital.example/login"},
		vi: seedText{
			Subject: "Tài khoản của bạn đã được tạo",
			Paras: []string{"Xin chào {{user_name}},", "Tài khoản của bạn trên hệ thống bệnh viện đã được tạo thành công.",
				"Nếu bạn không đăng ký tài khoản này, vui lòng bỏ qua email này."},
			Link: "confirmation_link", LinkLabel: "Xác nhận và đăng nhập",
			Short: "Xin chào {{user_name}}, tài khoản bệnh viện của bạn đã được tạo. Đăng nhập: {{confirmation_link}}",
		},
		en: seedText{
			Subject: "Your hospital account has been created",
			Paras: []string{"Hello {{user_name}},", "Your account on the hospital platform has been created.",
				"If you did not register this account, please ignore this email."},
			Link: "confirmation_link", LinkLabel: "Confirm and sign in",
			Short: "Hello {{user_name}}, your hospital account has been created. Sign in: {{confirmation_link}}",
		},
	},
	{
		Type: TypePasswordResetRequested, Variables: []string{"reset_link", "user_name"},
		Example: map[string]any{"user_name": "nguyenvana", "reset_link": "https://hospital.example/reset-password?token=abc123"},
		vi: seedText{
			Subject: "Yêu cầu đặt lại mật khẩu",
			Paras: []string{"Xin chào {{user_name}},", "Chúng tôi đã nhận được yêu cầu đặt lại mật khẩu cho tài khoản của bạn.",
				"Liên kết chỉ dùng được một lần và sẽ sớm hết hạn. Nếu bạn không yêu cầu, hãy bỏ qua email này; mật khẩu của bạn không thay đổi."},
			Link: "reset_link", LinkLabel: "Đặt lại mật khẩu",
			Short: "Đặt lại mật khẩu tài khoản bệnh viện: {{reset_link}} (nếu bạn không yêu cầu, hãy bỏ qua tin nhắn này)",
		},
		en: seedText{
			Subject: "Password reset request",
			Paras: []string{"Hello {{user_name}},", "We received a request to reset the password of your account.",
				"The link works once and expires soon. If you did not ask for it, ignore this email; your password stays unchanged."},
			Link: "reset_link", LinkLabel: "Reset your password",
			Short: "Reset your hospital account password: {{reset_link}} (ignore this message if you did not ask for it)",
		},
	},
	{
		Type: TypeAppointmentRequestedPatient, Variables: []string{"appointment_time", "doctor_name", "patient_name"}, Example: appointmentExample,
		vi: seedText{
			Subject: "Đã nhận yêu cầu đặt lịch hẹn: {{appointment_time}}",
			Paras: []string{"Xin chào {{patient_name}},", "Yêu cầu đặt lịch hẹn của bạn với bác sĩ {{doctor_name}} vào lúc {{appointment_time}} đã được ghi nhận và đang chờ bác sĩ xác nhận.",
				"Chúng tôi sẽ báo cho bạn khi lịch hẹn được xác nhận."},
			Short: "Xin chào {{patient_name}}, yêu cầu đặt lịch với bác sĩ {{doctor_name}} lúc {{appointment_time}} đã được ghi nhận và đang chờ xác nhận.",
		},
		en: seedText{
			Subject: "Appointment request received: {{appointment_time}}",
			Paras: []string{"Hello {{patient_name}},", "Your request for an appointment with doctor {{doctor_name}} at {{appointment_time}} has been received and is waiting for the doctor's confirmation.",
				"We will let you know once it is confirmed."},
			Short: "Hello {{patient_name}}, your appointment request with doctor {{doctor_name}} at {{appointment_time}} is waiting for confirmation.",
		},
	},
	{
		Type: TypeAppointmentRequestedDoctor, Variables: []string{"appointment_time", "doctor_name", "patient_name"}, Example: appointmentExample,
		vi: seedText{
			Subject: "Yêu cầu lịch hẹn mới: {{appointment_time}}",
			Paras: []string{"Xin chào {{doctor_name}},", "Bệnh nhân {{patient_name}} đã yêu cầu một lịch hẹn vào lúc {{appointment_time}}.",
				"Vui lòng xác nhận hoặc từ chối lịch hẹn trên hệ thống."},
			Short: "Yêu cầu lịch hẹn mới: bệnh nhân {{patient_name}} lúc {{appointment_time}}. Vui lòng xác nhận trên hệ thống.",
		},
		en: seedText{
			Subject: "New appointment request: {{appointment_time}}",
			Paras: []string{"Hello {{doctor_name}},", "Patient {{patient_name}} has requested an appointment at {{appointment_time}}.",
				"Please confirm or decline it on the platform."},
			Short: "New appointment request: patient {{patient_name}} at {{appointment_time}}. Please confirm it on the platform.",
		},
	},
	{
		Type: TypeAppointmentConfirmedPatient, Variables: []string{"appointment_time", "doctor_name", "patient_name"}, Example: appointmentExample,
		// The spec's own example template.
		vi: seedText{
			Subject: "Lịch hẹn của bạn đã được xác nhận: {{appointment_time}}",
			Paras:   []string{"Xin chào {{patient_name}},", "Lịch hẹn của bạn với bác sĩ {{doctor_name}} vào lúc {{appointment_time}} đã được xác nhận."},
			Text:    "Xin chào {{patient_name}}, Lịch hẹn của bạn với bác sĩ {{doctor_name}} vào lúc {{appointment_time}} đã được xác nhận.",
			Short:   "Xin chào {{patient_name}}, Lịch hẹn của bạn với bác sĩ {{doctor_name}} vào lúc {{appointment_time}} đã được xác nhận.",
		},
		en: seedText{
			Subject: "Your appointment has been confirmed: {{appointment_time}}",
			Paras:   []string{"Hello {{patient_name}},", "Your appointment with doctor {{doctor_name}} at {{appointment_time}} has been confirmed."},
			Text:    "Hello {{patient_name}}, Your appointment with doctor {{doctor_name}} at {{appointment_time}} has been confirmed.",
			Short:   "Hello {{patient_name}}, Your appointment with doctor {{doctor_name}} at {{appointment_time}} has been confirmed.",
		},
	},
	{
		Type: TypeAppointmentReminderPatient, Variables: []string{"appointment_time", "doctor_name", "patient_name"}, Example: appointmentExample,
		vi: seedText{
			Subject: "Nhắc lịch hẹn: {{appointment_time}}",
			Paras: []string{"Xin chào {{patient_name}},", "Đây là lời nhắc về lịch hẹn của bạn với bác sĩ {{doctor_name}} vào lúc {{appointment_time}}.",
				"Vui lòng đến sớm 15 phút và mang theo giấy tờ tùy thân, thẻ bảo hiểm y tế (nếu có)."},
			Short: "Nhắc lịch: bạn có lịch hẹn với bác sĩ {{doctor_name}} lúc {{appointment_time}}. Vui lòng đến sớm 15 phút.",
		},
		en: seedText{
			Subject: "Appointment reminder: {{appointment_time}}",
			Paras: []string{"Hello {{patient_name}},", "This is a reminder of your appointment with doctor {{doctor_name}} at {{appointment_time}}.",
				"Please arrive 15 minutes early and bring an ID and your health insurance card, if you have one."},
			Short: "Reminder: you have an appointment with doctor {{doctor_name}} at {{appointment_time}}. Please arrive 15 minutes early.",
		},
	},
	{
		Type: TypeAppointmentReminderDoctor, Variables: []string{"appointment_time", "doctor_name", "patient_name"}, Example: appointmentExample,
		vi: seedText{
			Subject: "Nhắc lịch khám: {{patient_name}} lúc {{appointment_time}}",
			Paras:   []string{"Xin chào {{doctor_name}},", "Nhắc bạn lịch khám với bệnh nhân {{patient_name}} vào lúc {{appointment_time}}."},
			Short:   "Nhắc lịch khám: bệnh nhân {{patient_name}} lúc {{appointment_time}}.",
		},
		en: seedText{
			Subject: "Upcoming appointment: {{patient_name}} at {{appointment_time}}",
			Paras:   []string{"Hello {{doctor_name}},", "A reminder of your appointment with patient {{patient_name}} at {{appointment_time}}."},
			Short:   "Upcoming appointment: patient {{patient_name}} at {{appointment_time}}.",
		},
	},
	{
		Type: TypePrescriptionReadyForPickup, Variables: []string{"patient_name", "prescription_id"},
		Example: map[string]any{"patient_name": "Nguyen Van A", "prescription_id": "presc_def"},
		vi: seedText{
			Subject: "Đơn thuốc của bạn đã sẵn sàng",
			Paras: []string{"Xin chào {{patient_name}},", "Đơn thuốc {{prescription_id}} của bạn đã được nhà thuốc chuẩn bị và sẵn sàng để nhận.",
				"Vui lòng mang theo giấy tờ tùy thân khi đến nhận thuốc."},
			Short: "Xin chào {{patient_name}}, đơn thuốc {{prescription_id}} của bạn đã sẵn sàng để nhận tại nhà thuốc bệnh viện.",
		},
		en: seedText{
			Subject: "Your prescription is ready for pickup",
			Paras: []string{"Hello {{patient_name}},", "Your prescription {{prescription_id}} has been prepared by the pharmacy and is ready for pickup.",
				"Please bring an ID when you collect it."},
			Short: "Hello {{patient_name}}, your prescription {{prescription_id}} is ready for pickup at the hospital pharmacy.",
		},
	},
	{
		Type: TypePharmacyStockLow, Variables: []string{"medication_name", "quantity_on_hand", "reorder_level"},
		Example: map[string]any{"medication_name": "Paracetamol 500mg", "quantity_on_hand": 40, "reorder_level": 50},
		vi: seedText{
			Subject: "Cảnh báo tồn kho thấp: {{medication_name}}",
			Paras: []string{"Thuốc {{medication_name}} sắp hết: còn {{quantity_on_hand}} đơn vị trong kho (mức đặt hàng lại: {{reorder_level}}).",
				"Vui lòng lên kế hoạch nhập thêm."},
			Short: "Tồn kho thấp: {{medication_name}} còn {{quantity_on_hand}} (mức đặt lại {{reorder_level}}).",
		},
		en: seedText{
			Subject: "Low stock alert: {{medication_name}}",
			Paras: []string{"{{medication_name}} is running low: {{quantity_on_hand}} units left in stock (reorder level: {{reorder_level}}).",
				"Please plan a restock."},
			Short: "Low stock: {{medication_name}} has {{quantity_on_hand}} left (reorder level {{reorder_level}}).",
		},
	},
	{
		Type: TypeInvoiceGenerated, Variables: []string{"amount", "due_date", "invoice_number"},
		Example: map[string]any{"invoice_number": "INV-2023-000123", "amount": "150000.00", "due_date": "2024-01-15"},
		vi: seedText{
			Subject: "Hóa đơn mới {{invoice_number}}",
			Paras: []string{"Hóa đơn {{invoice_number}} đã được tạo với tổng số tiền {{amount}}.", "Hạn thanh toán: {{due_date}}.",
				"Bạn có thể xem và thanh toán hóa đơn trên hệ thống bệnh viện."},
			Short: "Hóa đơn {{invoice_number}}: {{amount}}, hạn thanh toán {{due_date}}.",
		},
		en: seedText{
			Subject: "New invoice {{invoice_number}}",
			Paras: []string{"Invoice {{invoice_number}} has been issued for a total of {{amount}}.", "Due date: {{due_date}}.",
				"You can view and pay it on the hospital platform."},
			Short: "Invoice {{invoice_number}}: {{amount}}, due {{due_date}}.",
		},
	},
	{
		Type: TypePaymentSuccessful, Variables: []string{"amount", "invoice_number"},
		Example: map[string]any{"invoice_number": "INV-2023-000123", "amount": "150000.00"},
		vi: seedText{
			Subject: "Thanh toán thành công cho hóa đơn {{invoice_number}}",
			Paras:   []string{"Chúng tôi đã nhận được khoản thanh toán {{amount}} cho hóa đơn {{invoice_number}}.", "Cảm ơn bạn."},
			Short:   "Đã nhận thanh toán {{amount}} cho hóa đơn {{invoice_number}}. Cảm ơn bạn.",
		},
		en: seedText{
			Subject: "Payment received for invoice {{invoice_number}}",
			Paras:   []string{"We have received your payment of {{amount}} for invoice {{invoice_number}}.", "Thank you."},
			Short:   "Payment of {{amount}} received for invoice {{invoice_number}}. Thank you.",
		},
	},
	{
		Type: TypeInsuranceClaimStatusUpdated, Variables: []string{"claim_id", "invoice_number", "status"},
		Example: map[string]any{"claim_id": 42, "invoice_number": "INV-2023-000123", "status": "APPROVED"},
		vi: seedText{
			Subject: "Cập nhật yêu cầu bảo hiểm #{{claim_id}}",
			Paras: []string{"Yêu cầu bảo hiểm #{{claim_id}} cho hóa đơn {{invoice_number}} đã chuyển sang trạng thái: {{status}}.",
				"Xem chi tiết trên hệ thống bệnh viện."},
			Short: "Yêu cầu bảo hiểm #{{claim_id}} (hóa đơn {{invoice_number}}): {{status}}.",
		},
		en: seedText{
			Subject: "Insurance claim #{{claim_id}} updated",
			Paras: []string{"Insurance claim #{{claim_id}} for invoice {{invoice_number}} is now: {{status}}.",
				"See the details on the hospital platform."},
			Short: "Insurance claim #{{claim_id}} (invoice {{invoice_number}}): {{status}}.",
		},
	},
	{
		Type: TypeLabResultReadyDoctor, Variables: []string{"order_id", "patient_name"},
		Example: map[string]any{"patient_name": "Nguyen Van A", "order_id": "lab_order_789"},
		vi: seedText{
			Subject: "Kết quả xét nghiệm đã có: {{patient_name}}",
			Paras:   []string{"Kết quả xét nghiệm của bệnh nhân {{patient_name}} (phiếu chỉ định {{order_id}}) đã hoàn tất và sẵn sàng để xem xét."},
			Short:   "Kết quả xét nghiệm của bệnh nhân {{patient_name}} (phiếu {{order_id}}) đã sẵn sàng.",
		},
		en: seedText{
			Subject: "Lab results ready: {{patient_name}}",
			Paras:   []string{"The lab results of patient {{patient_name}} (order {{order_id}}) are complete and ready for your review."},
			Short:   "Lab results of patient {{patient_name}} (order {{order_id}}) are ready.",
		},
	},
	{
		Type: TypeLabResultReadyPatient, Variables: []string{"order_id", "patient_name"},
		Example: map[string]any{"patient_name": "Nguyen Van A", "order_id": "lab_order_789"},
		vi: seedText{
			Subject: "Kết quả xét nghiệm của bạn đã có",
			Paras: []string{"Xin chào {{patient_name}},", "Kết quả xét nghiệm của bạn (phiếu {{order_id}}) đã sẵn sàng.",
				"Bạn có thể xem kết quả trên hệ thống bệnh viện hoặc trao đổi với bác sĩ điều trị."},
			Short: "Xin chào {{patient_name}}, kết quả xét nghiệm (phiếu {{order_id}}) của bạn đã sẵn sàng.",
		},
		en: seedText{
			Subject: "Your lab results are ready",
			Paras: []string{"Hello {{patient_name}},", "Your lab results (order {{order_id}}) are ready.",
				"You can see them on the hospital platform or discuss them with your doctor."},
			Short: "Hello {{patient_name}}, your lab results (order {{order_id}}) are ready.",
		},
	},
}

// DefaultTemplates expands DefaultTypes into templates: EMAIL (subject, HTML
// and text), SMS (short text) and PUSH (subject as title, short text), in
// Vietnamese and English.
func DefaultTemplates() []Template {
	var out []Template
	for _, d := range DefaultTypes {
		for _, lang := range []string{"vi", "en"} {
			s := d.vi
			if lang == "en" {
				s = d.en
			}
			base := Template{NotificationType: d.Type, Language: lang, IsActive: true, IsDefault: true}
			email, sms, push := base, base, base
			email.Channel, email.SubjectTemplate, email.BodyTemplateHTML, email.BodyTemplateText = ChannelEmail, s.Subject, s.html(), s.text()
			sms.Channel, sms.BodyTemplateText = ChannelSMS, s.Short
			push.Channel, push.SubjectTemplate, push.BodyTemplateText = ChannelPush, s.Subject, s.Short
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
