# ehr: medical records, encounters, diagnoses, vitals and the references
# pharmacy and lab add; care-based access with break-glass; every read and
# change audited (audit events wait in its outbox until admin takes them).
name   = "ehr"
stores = ["mongo"]
env = {
  CLINIC_TIMEZONE = "Asia/Ho_Chi_Minh"
}
