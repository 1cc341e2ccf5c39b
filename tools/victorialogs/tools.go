//go:build tools

// Package tools pins VictoriaLogs, the central log sink used for local runs.
package tools

import _ "github.com/VictoriaMetrics/VictoriaLogs/app/victoria-logs"
