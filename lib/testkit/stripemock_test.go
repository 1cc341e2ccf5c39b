package testkit

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

func TestSharedStripeMockAnswersWithTheTestKey(t *testing.T) {
	s := SharedStripeMock(t)
	if !strings.HasPrefix(s.URL, "http://127.0.0.1:") {
		t.Fatalf("URL = %q, want a loopback address", s.URL)
	}

	get := func(key string) *http.Response {
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, s.URL+"/v1/customers", nil)
		if err != nil {
			t.Fatal(err)
		}
		if key != "" {
			req.Header.Set("Authorization", "Bearer "+key)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { resp.Body.Close() })
		return resp
	}

	resp := get(StripeTestKey)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /v1/customers with %s: %d, want 200", StripeTestKey, resp.StatusCode)
	}
	var list struct {
		Object string            `json:"object"`
		Data   []json.RawMessage `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil {
		t.Fatalf("decode the customer list: %v", err)
	}
	if list.Object != "list" {
		t.Fatalf("object = %q, want \"list\"", list.Object)
	}

	// The same call without a key is refused, so the 200 above is the key's doing.
	if resp := get(""); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("GET /v1/customers without a key: %d, want 401", resp.StatusCode)
	}

	// Shared: a second call in the same binary gets the same server.
	if again := SharedStripeMock(t); again != s {
		t.Fatalf("SharedStripeMock started a second server: %s and %s", s.URL, again.URL)
	}
}
