package notify

import "hospital/lib/notificationapi"

// The pharmacy and billing services' types.
var pharmacyAndBillingTypes = []DefaultType{
	{
		Type: notificationapi.PrescriptionReadyForPickup, Variables: []string{"patient_name", "prescription_id"}, Since: 1,
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
		Type: notificationapi.PharmacyStockLow, Variables: []string{"medication_name", "quantity_on_hand", "reorder_level"}, Since: 1,
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
		Type: notificationapi.InvoiceGenerated, Variables: []string{"amount", "due_date", "invoice_number"}, Since: 1,
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
		Type: notificationapi.PaymentSuccessful, Variables: []string{"amount", "invoice_number"}, Since: 1,
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
		Type: notificationapi.InsuranceClaimStatusUpdated, Variables: []string{"claim_id", "invoice_number", "status"}, Since: 1,
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
}
