package httpx

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"hospital/lib/apperr"
)

// Page is a DRF PageNumberPagination response.
type Page[T any] struct {
	Count    int     `json:"count"`
	Next     *string `json:"next"`
	Previous *string `json:"previous"`
	Results  []T     `json:"results"`
}

// PageParams is the requested page, 1-based.
type PageParams struct {
	Page int
	Size int
}

// Offset is the number of rows before this page.
func (p PageParams) Offset() int { return (p.Page - 1) * p.Size }

// Limit is the page size (for SQL LIMIT and Mongo limit).
func (p PageParams) Limit() int { return p.Size }

const (
	DefaultPageSize = 20
	MaxPageSize     = 100
	// maxPage keeps Offset far from overflowing: no list here has a
	// million pages, and a larger number is "Invalid page." like any page
	// past the end.
	maxPage = 1_000_000
)

// errInvalidPage is DRF's answer to a page that does not exist.
var errInvalidPage = apperr.NotFound("Invalid page.")

// PageFrom reads ?page= and ?page_size= (DRF names), with defaults and bounds.
func PageFrom(r *http.Request) (PageParams, error) {
	p := PageParams{Page: 1, Size: DefaultPageSize}
	q := r.URL.Query()
	if v := q.Get("page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxPage {
			return p, errInvalidPage
		}
		p.Page = n
	}
	if v := q.Get("page_size"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return p, apperr.Field("page_size", "A positive integer is required.")
		}
		p.Size = min(n, MaxPageSize)
	}
	return p, nil
}

// NewPage builds the response for one page of count items in total. A page
// past the end (other than the first) is DRF's 404 "Invalid page.", the same
// on every list of the platform.
func NewPage[T any](r *http.Request, p PageParams, count int, results []T) (Page[T], error) {
	if p.Page > 1 && p.Offset() >= count {
		return Page[T]{}, errInvalidPage
	}
	if results == nil {
		results = []T{}
	}
	out := Page[T]{Count: count, Results: results}
	if p.Page*p.Size < count {
		out.Next = pageLink(r, p.Page+1)
	}
	if p.Page > 1 {
		out.Previous = pageLink(r, p.Page-1)
	}
	return out, nil
}

type baseURLKey struct{}

// WithPublicBaseURL returns ctx carrying the platform's public base URL
// (e.g. https://hospital.example), from which pagination links are built.
func WithPublicBaseURL(ctx context.Context, base string) context.Context {
	return context.WithValue(ctx, baseURLKey{}, strings.TrimRight(base, "/"))
}

// PublicBaseURL sets the public base URL on every request (see WithPublicBaseURL).
func PublicBaseURL(base string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			next.ServeHTTP(w, r.WithContext(WithPublicBaseURL(r.Context(), base)))
		})
	}
}

// pageLink is the link to page of the same list. It is built from the
// configured public base URL, never from the client's Host or X-Forwarded-*
// headers (which a client can forge to plant links); without one it is a
// path relative to the host.
func pageLink(r *http.Request, page int) *string {
	q := r.URL.Query()
	if page == 1 {
		q.Del("page")
	} else {
		q.Set("page", strconv.Itoa(page))
	}
	base, _ := r.Context().Value(baseURLKey{}).(string)
	u := url.URL{Path: r.URL.Path, RawQuery: q.Encode()}
	s := base + u.String()
	return &s
}
