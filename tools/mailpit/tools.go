//go:build tools

// Package tools pins Mailpit, the SMTP sink used for local runs and tests.
package tools

import _ "github.com/axllent/mailpit"
