package notify

import "hospital/lib/notificationapi"

var appointmentExample = map[string]any{
	"patient_name": "Nguyen Van A", "doctor_name": "Dr. Tran Thi B", "appointment_time": "2023-12-25 10:00",
}

// The appointment and laboratory services' types.
var careTypes = []DefaultType{
	{
		Type: notificationapi.AppointmentRequestedPatient, Variables: []string{"appointment_time", "doctor_name", "patient_name"}, Example: appointmentExample, Since: 1,
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
		Type: notificationapi.AppointmentRequestedDoctor, Variables: []string{"appointment_time", "doctor_name", "patient_name"}, Example: appointmentExample, Since: 1,
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
		Type: notificationapi.AppointmentConfirmedPatient, Variables: []string{"appointment_time", "doctor_name", "patient_name"}, Example: appointmentExample, Since: 1,
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
		Type: notificationapi.AppointmentReminderPatient, Variables: []string{"appointment_time", "doctor_name", "patient_name"}, Example: appointmentExample, Since: 1,
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
		Type: notificationapi.AppointmentReminderDoctor, Variables: []string{"appointment_time", "doctor_name", "patient_name"}, Example: appointmentExample, Since: 1,
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
		Type: notificationapi.LabResultReadyDoctor, Variables: []string{"order_id", "patient_name"}, Since: 1,
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
		Type: notificationapi.LabResultReadyPatient, Variables: []string{"order_id", "patient_name"}, Since: 1,
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
	{
		Type: notificationapi.LabResultCritical, Variables: []string{"order_id", "patient_name", "test_name"}, Since: 2,
		Example: map[string]any{"patient_name": "Nguyen Van A", "order_id": "lab_order_789", "test_name": "Kali máu"},
		vi: seedText{
			Subject: "KẾT QUẢ NGUY HIỂM: {{test_name}} của {{patient_name}}",
			Paras: []string{"Kết quả xét nghiệm {{test_name}} của bệnh nhân {{patient_name}} (phiếu {{order_id}}) có giá trị nguy hiểm.",
				"Vui lòng xem kết quả và xử trí ngay."},
			Short: "KHẨN: {{test_name}} của bệnh nhân {{patient_name}} (phiếu {{order_id}}) có giá trị nguy hiểm. Xem ngay.",
		},
		en: seedText{
			Subject: "CRITICAL lab result: {{test_name}} for {{patient_name}}",
			Paras: []string{"The {{test_name}} result of patient {{patient_name}} (order {{order_id}}) is at a critical value.",
				"Please review it and act now."},
			Short: "URGENT: {{test_name}} of patient {{patient_name}} (order {{order_id}}) is critical. Review now.",
		},
	},
}
