# lab: test catalog with reference ranges, lab orders, results (flagged by the
# service) and their release by a doctor. Database hospital_lab (MONGO_DB default).
name   = "lab"
stores = ["mongo"]
env = {
  CLINIC_TIMEZONE = "Asia/Ho_Chi_Minh"
}
