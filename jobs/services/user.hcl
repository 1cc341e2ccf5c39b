# user: accounts, roles and permissions, JWT issuing (JWKS), service tokens.
# Its Nomad Variable also holds SERVICE_CLIENTS and BOOTSTRAP_ADMIN_*.
name   = "user"
stores = ["mysql"]
