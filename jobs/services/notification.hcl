# notification: templates, delivery (email over SMTP, SMS, push) and logs.
name   = "notification"
stores = ["mongo"]
env = {
  SMTP_ADDR = "127.0.0.1:1025"
}
# After the drain, sends in flight may take up to SEND_TIMEOUT (20s).
kill_margin = 30
