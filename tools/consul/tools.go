//go:build tools

// Package tools pins the Consul agent used for local runs and tests.
package tools

import _ "github.com/hashicorp/consul"
