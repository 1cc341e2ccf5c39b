package httpapi_test

import (
	"os"
	"slices"
	"testing"

	"hospital/lib/api"
	"hospital/lib/testkit"
	"hospital/svc/notification/httpapi"
)

func TestMain(m *testing.M) {
	os.Exit(testkit.Main(m))
}

// The README's API table is the one the router enforces.
func TestREADMECarriesTheAPITable(t *testing.T) {
	if err := api.CheckREADME("../README.md", httpapi.Routes(nil)); err != nil {
		t.Fatal(err)
	}
}

// The OpenAPI document builds, and describes the send request as the
// decoder reads it: the contract's fields and this service's additions,
// nothing else.
func TestOpenAPIDocument(t *testing.T) {
	doc, err := api.Document(api.Info{Title: "Notification service"}, httpapi.Routes(nil))
	if err != nil {
		t.Fatal(err)
	}
	send := doc.Paths.Value(httpapi.PathSend).Post
	if send == nil || send.RequestBody == nil {
		t.Fatal("no send operation with a body")
	}
	schema := send.RequestBody.Value.Content.Get("application/json").Schema.Value
	var props []string
	for name := range schema.Properties {
		props = append(props, name)
	}
	slices.Sort(props)
	want := []string{"channel", "channel_preferences", "data", "language", "notification_type", "recipient_contact", "recipient_id", "sensitive", "urgent"}
	if !slices.Equal(props, want) {
		t.Fatalf("send request properties %v, want %v", props, want)
	}
	if data := schema.Properties["data"].Value; data.AdditionalProperties.Schema != nil && data.AdditionalProperties.Schema.Value.Type.Is("string") {
		t.Fatal("data is documented as strings only; the service takes any JSON value")
	}
	if got := send.Extensions[api.AccessExtension]; got != "ADMIN; service appointment, billing, lab, pharmacy, user" {
		t.Fatalf("who may send: %v", got)
	}
}
