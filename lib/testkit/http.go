package testkit

import (
	"bytes"
	"encoding/json"
	"io"
	"strings"
	"testing"
)

// Body turns a test's request body into a reader: nil is no body, a string
// or []byte is sent as is (malformed JSON on purpose), anything else is
// encoded as JSON.
func Body(t testing.TB, body any) io.Reader {
	t.Helper()
	switch b := body.(type) {
	case nil:
		return nil
	case string:
		return strings.NewReader(b)
	case []byte:
		return bytes.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		return bytes.NewReader(data)
	}
}
