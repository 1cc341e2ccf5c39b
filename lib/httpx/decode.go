// Package httpx holds the HTTP plumbing every handler uses: strict JSON
// decoding, JSON responses, error mapping and DRF-style pagination.
package httpx

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"hospital/lib/apperr"
)

// DefaultMaxBody bounds a JSON request body when the server sets no limit
// (see LimitBody).
const DefaultMaxBody int64 = 1 << 20

// LimitBody bounds every request body to max bytes (DefaultMaxBody when
// max <= 0); a longer body makes Decode answer 413.
func LimitBody(max int64) func(http.Handler) http.Handler {
	if max <= 0 {
		max = DefaultMaxBody
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Body != nil && r.Body != http.NoBody {
				r.Body = http.MaxBytesReader(w, r.Body, max)
			}
			next.ServeHTTP(w, r)
		})
	}
}

// Decode reads exactly one JSON object from r into dst. It refuses unknown
// fields, trailing data, wrong types, oversized bodies and text holding
// U+0000, and validates the result with Validate. Every failure is an *apperr.Error (400, 413 or 415).
func Decode(r *http.Request, dst any) error {
	if err := decodeOnly(r, dst); err != nil {
		return err
	}
	if err := checkText(dst); err != nil {
		return err
	}
	return Validate(dst)
}

// DecodeOptional is Decode for endpoints whose body may be left out: an
// empty body leaves dst as it is.
func DecodeOptional(r *http.Request, dst any) error {
	if r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0 {
		return Validate(dst)
	}
	err := Decode(r, dst)
	if e, ok := apperr.As(err); ok && e.Detail == msgEmptyBody {
		return Validate(dst)
	}
	return err
}

const msgEmptyBody = "Request body is empty; a JSON object is required."

func decodeOnly(r *http.Request, dst any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			return apperr.New(apperr.KindUnsupportedMedia, fmt.Sprintf("Unsupported media type %q in request.", ct))
		}
	}
	if r.Body == nil {
		return apperr.Invalid(msgEmptyBody)
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return decodeProblem(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return decodeProblem(err)
		}
		return apperr.Invalid("JSON parse error - the body must hold a single JSON object.")
	}
	return nil
}

func decodeProblem(err error) *apperr.Error {
	var (
		syn *json.SyntaxError
		typ *json.UnmarshalTypeError
		mbe *http.MaxBytesError
	)
	switch {
	case errors.As(err, &mbe):
		return apperr.Newf(apperr.KindTooLarge, "Request body exceeds %d bytes.", mbe.Limit)
	case errors.Is(err, io.EOF):
		return apperr.Invalid(msgEmptyBody)
	case errors.As(err, &syn), errors.Is(err, io.ErrUnexpectedEOF):
		return apperr.Invalid("JSON parse error - the body is not valid JSON.")
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			return apperr.Invalid("JSON parse error - the body must be a JSON object.")
		}
		return apperr.Field(field, fmt.Sprintf("Expected %s, got %s.", jsonKind(typ.Type.Kind().String()), typ.Value))
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return apperr.Field(name, "Unknown field.")
	default:
		// The decoder's own words can echo input back; keep them out.
		return apperr.Invalid("JSON parse error - the body could not be read as the expected object.")
	}
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "a string"
	case "bool":
		return "a boolean"
	case "slice", "array":
		return "a list"
	case "map", "struct":
		return "an object"
	default:
		return "a number"
	}
}
