# admin: the platform's audit log (hash-chained), live system configuration
# (published to Consul KV under service/admin/config/), the dashboard over
# every service, report tasks (one runner, elected in Consul).
name   = "admin"
stores = ["mysql"]
env = {
  CLINIC_TIMEZONE = "Asia/Ho_Chi_Minh"
}
