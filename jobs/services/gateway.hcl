# gateway: the only entry point for clients; routes from what the services
# advertise in Consul. Static port: a load balancer points at every node's 8080.
name      = "gateway"
http_port = 8080
