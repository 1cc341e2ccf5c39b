# appointment: doctor schedules, availability, booking, reminders (one leader,
# elected through a Consul lock, so several instances may run).
name   = "appointment"
stores = ["mysql"]
env = {
  CLINIC_TIMEZONE  = "Asia/Ho_Chi_Minh"
  CONSULTATION_FEE = "150000.00"
  REMINDER_BEFORE  = "24h"
}
