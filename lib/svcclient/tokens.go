package svcclient

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"
)

// Paths of the user service that every other service relies on.
const (
	UserService      = "user"
	ServiceTokenPath = "/api/v1/users/internal/service-token/"
	JWKSPath         = "/api/v1/users/.well-known/jwks.json"
)

// ClientCredentials obtains and caches a service token from the user service
// with this service's id and secret.
type ClientCredentials struct {
	client  *Client
	service string
	secret  string

	mu      sync.Mutex
	token   string
	renewAt time.Time
}

// NewClientCredentials returns a token source for service.
func NewClientCredentials(c *Client, service, secret string) *ClientCredentials {
	return &ClientCredentials{client: c, service: service, secret: secret}
}

// Token returns a cached token, renewing it once most of its life is used.
func (cc *ClientCredentials) Token(ctx context.Context) (string, error) {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if cc.token != "" && time.Now().Before(cc.renewAt) {
		return cc.token, nil
	}
	var out struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int    `json:"expires_in"`
	}
	in := map[string]string{"service": cc.service, "secret": cc.secret}
	// Asking for a token twice is harmless, so the call may be retried.
	err := cc.client.JSON(ctx, UserService, http.MethodPost, ServiceTokenPath, in, &out,
		Anonymous(), WithIdempotencyKey("service-token"))
	if err != nil {
		return "", fmt.Errorf("obtain service token: %w", err)
	}
	life := time.Duration(out.ExpiresIn) * time.Second
	cc.token, cc.renewAt = out.AccessToken, time.Now().Add(life*3/4)
	return cc.token, nil
}

// FetchJWKS returns the user service's JWKS document (for auth.NewJWKSCache).
func (c *Client) FetchJWKS(ctx context.Context) ([]byte, error) {
	resp, err := c.Do(ctx, Request{Service: UserService, Method: http.MethodGet, Path: JWKSPath, Anonymous: true})
	if err != nil {
		return nil, err
	}
	if resp.Status != http.StatusOK {
		return nil, fmt.Errorf("jwks: status %d", resp.Status)
	}
	return resp.Body, nil
}
