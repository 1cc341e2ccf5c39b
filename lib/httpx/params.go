package httpx

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"hospital/lib/apperr"
	"hospital/lib/dates"
)

// errNotFound answers a path whose id cannot name anything.
var errNotFound = apperr.NotFound("Not found.")

// PathInt64 is the positive integer path variable name; anything else is a
// 404 (no such thing), as DRF answers a lookup that matches nothing.
func PathInt64(r *http.Request, name string) (int64, error) {
	id, err := strconv.ParseInt(mux.Vars(r)[name], 10, 64)
	if err != nil || id <= 0 {
		return 0, errNotFound
	}
	return id, nil
}

// PathString is the path variable name; an empty or over-long one is a 404.
func PathString(r *http.Request, name string, maxLen int) (string, error) {
	v := mux.Vars(r)[name]
	if v == "" || len(v) > maxLen {
		return "", errNotFound
	}
	return v, nil
}

// BoolQuery reads ?name= as DRF's BooleanFilter does (true/false/1/0, any
// case); nil when absent.
func BoolQuery(r *http.Request, name string) (*bool, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return nil, nil
	}
	var b bool
	switch strings.ToLower(v) {
	case "true", "1":
		b = true
	case "false", "0":
		b = false
	default:
		return nil, apperr.Field(name, "Must be true or false.")
	}
	return &b, nil
}

// IntQuery reads ?name= as an integer in [lo, hi]; nil when absent.
func IntQuery(r *http.Request, name string, lo, hi int64) (*int64, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return nil, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < lo || n > hi {
		return nil, apperr.Field(name, "Enter a whole number from "+strconv.FormatInt(lo, 10)+" to "+strconv.FormatInt(hi, 10)+".")
	}
	return &n, nil
}

// DateQuery reads ?name= as a date (YYYY-MM-DD) between dates.MinYear and
// dates.MaxYear, at midnight in loc; nil when absent.
func DateQuery(r *http.Request, name string, loc *time.Location) (*time.Time, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return nil, nil
	}
	d, err := dates.Parse(v, loc)
	if err != nil {
		return nil, apperr.Field(name, err.Error())
	}
	return &d, nil
}
