//go:build tools

// Package tools pins the Nomad agent used for local runs.
package tools

import _ "github.com/hashicorp/nomad"
