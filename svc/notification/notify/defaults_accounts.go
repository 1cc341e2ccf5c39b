package notify

import "hospital/lib/notificationapi"

// The user service's types: account life cycle and security notices.
var accountTypes = []DefaultType{
	{
		Type: notificationapi.UserRegistered, Variables: []string{"confirmation_link", "user_name"}, Since: 1,
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
		Type: notificationapi.PasswordResetRequested, Variables: []string{"reset_link", "user_name"}, Since: 1,
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
		Type: notificationapi.PasswordChanged, Variables: []string{"user_name"}, Since: 2,
		Example: map[string]any{"user_name": "nguyenvana"},
		vi: seedText{
			Subject: "Mật khẩu của bạn đã được thay đổi",
			Paras: []string{"Xin chào {{user_name}},", "Mật khẩu tài khoản bệnh viện của bạn vừa được thay đổi.",
				"Nếu không phải bạn thực hiện, hãy đặt lại mật khẩu ngay và liên hệ bệnh viện."},
			Short: "Mật khẩu tài khoản bệnh viện của {{user_name}} vừa được thay đổi. Nếu không phải bạn, hãy đặt lại mật khẩu ngay.",
		},
		en: seedText{
			Subject: "Your password was changed",
			Paras: []string{"Hello {{user_name}},", "The password of your hospital account has just been changed.",
				"If this was not you, reset your password now and contact the hospital."},
			Short: "The password of hospital account {{user_name}} has just been changed. If this was not you, reset it now.",
		},
	},
	{
		Type: notificationapi.EmailChangeRequested, Variables: []string{"confirmation_link", "user_name"}, Since: 2,
		Example: map[string]any{"user_name": "nguyenvana", "confirmation_link": "https://hospital.example/confirm-email?token=abc123"},
		vi: seedText{
			Subject: "Xác nhận địa chỉ email mới",
			Paras: []string{"Xin chào {{user_name}},", "Bạn đã yêu cầu dùng địa chỉ email này cho tài khoản bệnh viện của mình.",
				"Địa chỉ mới chỉ có hiệu lực sau khi bạn xác nhận. Nếu bạn không yêu cầu, hãy bỏ qua email này."},
			Link: "confirmation_link", LinkLabel: "Xác nhận email mới",
			Short: "Xác nhận email mới cho tài khoản bệnh viện {{user_name}}: {{confirmation_link}}",
		},
		en: seedText{
			Subject: "Confirm your new email address",
			Paras: []string{"Hello {{user_name}},", "You asked to use this email address for your hospital account.",
				"The new address takes effect only once you confirm it. If you did not ask for this, ignore this email."},
			Link: "confirmation_link", LinkLabel: "Confirm the new address",
			Short: "Confirm the new email address of hospital account {{user_name}}: {{confirmation_link}}",
		},
	},
	{
		Type: notificationapi.EmailChanged, Variables: []string{"new_email", "user_name"}, Since: 2,
		Example: map[string]any{"user_name": "nguyenvana", "new_email": "a.nguyen@example.com"},
		vi: seedText{
			Subject: "Email tài khoản của bạn đã được thay đổi",
			Paras: []string{"Xin chào {{user_name}},", "Địa chỉ email của tài khoản bệnh viện của bạn đã được đổi thành {{new_email}}.",
				"Nếu không phải bạn thực hiện, hãy liên hệ bệnh viện ngay."},
			Short: "Email của tài khoản bệnh viện {{user_name}} đã được đổi thành {{new_email}}. Nếu không phải bạn, hãy liên hệ bệnh viện.",
		},
		en: seedText{
			Subject: "Your account's email address was changed",
			Paras: []string{"Hello {{user_name}},", "The email address of your hospital account has been changed to {{new_email}}.",
				"If this was not you, contact the hospital at once."},
			Short: "The email of hospital account {{user_name}} was changed to {{new_email}}. If this was not you, contact the hospital.",
		},
	},
	{
		Type: notificationapi.AccountLocked, Variables: []string{"user_name"}, Since: 2,
		Example: map[string]any{"user_name": "nguyenvana"},
		vi: seedText{
			Subject: "Tài khoản của bạn tạm thời bị khóa",
			Paras: []string{"Xin chào {{user_name}},", "Do có nhiều lần đăng nhập sai, tài khoản bệnh viện của bạn tạm thời bị khóa.",
				"Nếu không phải bạn, hãy đặt lại mật khẩu; quản trị viên cũng có thể mở khóa cho bạn."},
			Short: "Tài khoản bệnh viện {{user_name}} tạm thời bị khóa do nhiều lần đăng nhập sai.",
		},
		en: seedText{
			Subject: "Your account is temporarily locked",
			Paras: []string{"Hello {{user_name}},", "After several failed sign-in attempts, your hospital account is temporarily locked.",
				"If this was not you, reset your password; an administrator can also unlock it for you."},
			Short: "Hospital account {{user_name}} is temporarily locked after several failed sign-in attempts.",
		},
	},
}
