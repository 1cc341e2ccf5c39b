# pharmacy: medication catalog, prescriptions (allergy check against the EHR),
# verification, FEFO dispensing that never oversells, stock by batch and its
# stock card, low-stock alerts.
name   = "pharmacy"
stores = ["mongo"]
env = {
  CLINIC_TIMEZONE     = "Asia/Ho_Chi_Minh"
  EXPIRY_WARNING_DAYS = "30"
}
# After the drain, a dispense in flight may take up to DISPENSE_TIMEOUT (20s).
kill_margin = 25
