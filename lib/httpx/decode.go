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

	"hospital/lib/problem"
)

// DefaultMaxBody bounds a JSON request body when the caller sets no limit.
const DefaultMaxBody int64 = 1 << 20

// MaxBody lets a server choose the body limit used by Decode.
var MaxBody = DefaultMaxBody

// Decode reads exactly one JSON object from r into dst. It refuses unknown
// fields, trailing data, wrong types and oversized bodies, and validates the
// result with Validate. Every failure is a *problem.Problem (400, 413 or 415).
func Decode(w http.ResponseWriter, r *http.Request, dst any) error {
	if err := decodeOnly(w, r, dst); err != nil {
		return err
	}
	return Validate(dst)
}

func decodeOnly(w http.ResponseWriter, r *http.Request, dst any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			return problem.New(http.StatusUnsupportedMediaType, fmt.Sprintf("Unsupported media type %q in request.", ct))
		}
	}
	body := http.MaxBytesReader(w, r.Body, MaxBody)
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return decodeProblem(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return decodeProblem(err)
		}
		return problem.BadRequest("JSON parse error - the body must hold a single JSON object.")
	}
	return nil
}

func decodeProblem(err error) *problem.Problem {
	var (
		syn *json.SyntaxError
		typ *json.UnmarshalTypeError
		mbe *http.MaxBytesError
	)
	switch {
	case errors.As(err, &mbe):
		return problem.Newf(http.StatusRequestEntityTooLarge, "Request body exceeds %d bytes.", mbe.Limit)
	case errors.Is(err, io.EOF):
		return problem.BadRequest("Request body is empty; a JSON object is required.")
	case errors.As(err, &syn), errors.Is(err, io.ErrUnexpectedEOF):
		return problem.BadRequest("JSON parse error - the body is not valid JSON.")
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			return problem.BadRequest("JSON parse error - the body must be a JSON object.")
		}
		return problem.Field(field, fmt.Sprintf("Expected %s, got %s.", jsonKind(typ.Type.Kind().String()), typ.Value))
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return problem.Field(name, "Unknown field.")
	default:
		return problem.BadRequest("JSON parse error - " + err.Error())
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
