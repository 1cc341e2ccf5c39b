# billing: invoices (from appointments, dispenses, lab orders: one each),
# payments (Stripe; cash and transfers by ADMIN), insurance policies and claims.
name   = "billing"
stores = ["mysql"]
env = {
  CLINIC_TIMEZONE  = "Asia/Ho_Chi_Minh"
  INVOICE_DUE_DAYS = "30"
  STRIPE_API_BASE  = "http://127.0.0.1:12111"
}
