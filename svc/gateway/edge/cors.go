package edge

import (
	"net/http"

	"github.com/rs/cors"
)

// withCORS answers preflight requests itself and marks allowed cross-origin
// answers; with no allowed origins configured CORS is off.
func withCORS(origins []string, next http.Handler) http.Handler {
	if len(origins) == 0 {
		return next
	}
	c := cors.New(cors.Options{
		AllowedOrigins: origins,
		AllowedMethods: []string{
			http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut,
			http.MethodPatch, http.MethodDelete, http.MethodOptions,
		},
		// If-Match and ETag: optimistic concurrency on EHR records;
		// X-Break-Glass-Reason: emergency access to a chart (EHR).
		AllowedHeaders: []string{"Authorization", "Content-Type", "Idempotency-Key", "X-Request-ID", "Accept",
			"If-Match", "X-Break-Glass-Reason"},
		ExposedHeaders: []string{"X-Request-ID", "Retry-After", "Location", "ETag"},
		MaxAge:         600,
	})
	return c.Handler(next)
}
