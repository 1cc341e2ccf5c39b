package service

import (
	"log/slog"

	"hospital/lib/config"
	"hospital/lib/logging"
)

func setupLogging(name, instance string, base config.Base) (*slog.Logger, func()) {
	return logging.Setup(name, instance, base.LogLevel, base.LokiPushURL)
}
