package httpx

import (
	"net/http"
	"net/url"
	"strconv"

	"hospital/lib/problem"
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

const (
	DefaultPageSize = 20
	MaxPageSize     = 100
)

// PageFrom reads ?page= and ?page_size= (DRF names), with defaults and bounds.
func PageFrom(r *http.Request) (PageParams, error) {
	p := PageParams{Page: 1, Size: DefaultPageSize}
	q := r.URL.Query()
	if v := q.Get("page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return p, problem.NotFound("Invalid page.")
		}
		p.Page = n
	}
	if v := q.Get("page_size"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return p, problem.Field("page_size", "A positive integer is required.")
		}
		p.Size = min(n, MaxPageSize)
	}
	return p, nil
}

// NewPage builds the response for one page of count items in total. Links are
// absolute, using the host the client used (X-Forwarded-* behind the gateway).
func NewPage[T any](r *http.Request, p PageParams, count int, results []T) Page[T] {
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
	return out
}

func pageLink(r *http.Request, page int) *string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	if v := r.Header.Get("X-Forwarded-Proto"); v != "" {
		scheme = v
	}
	host := r.Host
	if v := r.Header.Get("X-Forwarded-Host"); v != "" {
		host = v
	}
	q := r.URL.Query()
	if page == 1 {
		q.Del("page")
	} else {
		q.Set("page", strconv.Itoa(page))
	}
	u := url.URL{Scheme: scheme, Host: host, Path: r.URL.Path, RawQuery: q.Encode()}
	s := u.String()
	return &s
}
