package oversight_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"

	consul "github.com/hashicorp/consul/api"

	"hospital/lib/apitest"
	"hospital/lib/settings"
	"hospital/svc/admin/oversight"
	ot "hospital/svc/admin/oversight/oversighttest"
)

func raw(s string) json.RawMessage { return json.RawMessage(s) }

func TestConfigurationIsValidatedStoredPublishedAndAudited(t *testing.T) {
	e := ot.New(t, nil)
	ctx := context.Background()
	admin := ot.AsAdmin(7)
	fee := settings.ConsultationFee.Name()

	// A documented key never set reads as its default.
	c, err := e.Svc.Configuration(admin, fee)
	if err != nil || c.Set || string(c.Value) != `"150000.00"` || c.Version != 0 || c.Description == "" || c.ReadBy[0] != "appointment" {
		t.Fatalf("unset fee: %+v, %v", c, err)
	}
	_, err = e.Svc.Configuration(admin, "no.such_key")
	e.Expect("unknown key", err, 404)

	// Refused: values the key does not take, unknown keys, bad names.
	for _, bad := range []string{`"-5"`, `"12.345"`, `"free"`, `null`, `true`, `{}`} {
		_, err := e.Svc.PutConfiguration(admin, fee, oversight.ConfigurationRequest{Value: raw(bad)})
		if apitest.Status(err) != 400 || len(apitest.FieldErrors(err, "value")) == 0 {
			t.Errorf("fee %s: %v", bad, err)
		}
	}
	_, err = e.Svc.PutConfiguration(admin, "nobody.reads_this", oversight.ConfigurationRequest{Value: raw(`1`)})
	if apitest.Status(err) != 400 || len(apitest.FieldErrors(err, "key")) == 0 {
		t.Errorf("unknown key: %v", err)
	}
	_, err = e.Svc.PutConfiguration(admin, "Bad Key", oversight.ConfigurationRequest{Value: raw(`1`)})
	e.Expect("bad name", err, 400)
	_, err = e.Svc.PutConfiguration(admin, fee, oversight.ConfigurationRequest{Key: "billing.invoice_due_days", Value: raw(`"1"`)})
	e.Expect("key differs from the path", err, 400)
	if n := e.Count(`SELECT COUNT(*) FROM system_configurations`); n != 0 {
		t.Fatalf("%d rows stored by refused requests", n)
	}

	// Set: stored normalized, published at its version, audited.
	c, err = e.Svc.PutConfiguration(admin, fee, oversight.ConfigurationRequest{Value: raw(`175000`)})
	if err != nil {
		t.Fatal(err)
	}
	if string(c.Value) != `"175000.00"` || c.Version != 1 || !c.Set || *c.UpdatedBy != 7 || c.Published == nil || !*c.Published {
		t.Fatalf("set fee: %+v", c)
	}
	pair, _, err := e.Platform.Consul.Client.KV().Get(e.Prefix+fee, nil)
	if err != nil || pair == nil || string(pair.Value) != `"175000.00"` || pair.Flags != 1 {
		t.Fatalf("consul holds %+v, %v", pair, err)
	}
	// The same value again changes nothing.
	if c, err = e.Svc.PutConfiguration(admin, fee, oversight.ConfigurationRequest{Value: raw(`"175000.00"`)}); err != nil || c.Version != 1 {
		t.Fatalf("same value: %+v, %v", c, err)
	}
	desc := "Fee of a standard consultation."
	if c, err = e.Svc.PutConfiguration(admin, fee, oversight.ConfigurationRequest{Value: raw(`"180000"`), Description: &desc}); err != nil ||
		c.Version != 2 || c.Description != desc {
		t.Fatalf("second change: %+v, %v", c, err)
	}

	changes, _, err := e.Store.Entries(ctx, oversight.AuditFilter{Actions: []string{"admin.configuration.update"}}, 10, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(changes) != 2 {
		t.Fatalf("%d change entries, want 2", len(changes))
	}
	want := []string{
		`{"description_changed":true,"new_value":"180000.00","old_value":"175000.00","version":2}`,
		`{"new_value":"175000.00","old_value":null,"version":1}`,
	}
	for i, w := range want {
		if string(changes[i].Details) != w || changes[i].ObjectID != fee || *changes[i].UserID != 7 {
			t.Errorf("change entry %d: %s on %s by %v, want %s", i, changes[i].Details, changes[i].ObjectID, changes[i].UserID, w)
		}
	}
	v, err := e.Svc.VerifyChain(admin)
	if err != nil || !v.Valid {
		t.Errorf("chain after configuration changes: %+v, %v", v, err)
	}

	list, err := e.Svc.Configurations(admin)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != len(settings.Catalog()) {
		t.Errorf("%d configurations listed, want the %d documented keys", len(list), len(settings.Catalog()))
	}
}

func TestExtraKeysOnlyWhenAllowed(t *testing.T) {
	cfg := ot.Config()
	cfg.ExtraConfigKeys = "ui.*, feature.portal"
	e := ot.New(t, &cfg)
	admin := ot.AsAdmin(7)
	for key, status := range map[string]int{"ui.banner": 200, "feature.portal": 200, "feature.other": 400, "uix.banner": 400} {
		_, err := e.Svc.PutConfiguration(admin, key, oversight.ConfigurationRequest{Value: raw(`{"text": "Xin chào", "on": true}`)})
		e.Expect(key, err, status)
	}
	c, err := e.Svc.Configuration(admin, "ui.banner")
	if err != nil || string(c.Value) != `{"text":"Xin chào","on":true}` || c.Type != "" {
		t.Errorf("extra key: %+v, %v", c, err)
	}
	_, err = e.Svc.PutConfiguration(admin, "ui.banner", oversight.ConfigurationRequest{Value: raw(`null`)})
	e.Expect("null", err, 400)
}

// Two instances changing one key at once: every change is a version of its
// own, and Consul ends with the last one the database holds.
func TestConcurrentChangesEndWithTheLatestVersionInConsul(t *testing.T) {
	e := ot.New(t, nil)
	key := settings.InvoiceDueDays.Name()
	instances := []*oversight.Service{e.Svc, e.Another("admin-test-2")}
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := instances[i%2].PutConfiguration(ot.AsAdmin(int64(i+1)), key, oversight.ConfigurationRequest{Value: raw(fmt.Sprint(10 + i))})
			if err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	c, err := e.Svc.Configuration(ot.AsAdmin(1), key)
	if err != nil {
		t.Fatal(err)
	}
	if c.Version != 20 {
		t.Errorf("version %d after 20 changes", c.Version)
	}
	if n := e.Count(`SELECT COUNT(*) FROM audit_log WHERE action_performed = 'admin.configuration.update'`); n != 20 {
		t.Errorf("%d change entries, want 20", n)
	}
	pair, _, err := e.Platform.Consul.Client.KV().Get(e.Prefix+key, nil)
	if err != nil || pair == nil || pair.Flags != 20 || string(pair.Value) != string(c.Value) {
		t.Errorf("consul holds %+v, the database %s at version %d", pair, c.Value, c.Version)
	}
}

// What Consul lost (a failed publish, a new cluster, a hand edit) the sync
// puts back.
func TestSyncRestoresConsul(t *testing.T) {
	e := ot.New(t, nil)
	admin := ot.AsAdmin(7)
	for key, v := range map[string]string{settings.InvoiceDueDays.Name(): `45`, settings.ReminderBefore.Name(): `"2h"`} {
		if _, err := e.Svc.PutConfiguration(admin, key, oversight.ConfigurationRequest{Value: raw(v)}); err != nil {
			t.Fatal(err)
		}
	}
	kv := e.Platform.Consul.Client.KV()
	if _, err := kv.Delete(e.Prefix+settings.InvoiceDueDays.Name(), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Put(&consul.KVPair{Key: e.Prefix + settings.ReminderBefore.Name(), Value: []byte(`"5h"`), Flags: 1}, nil); err != nil {
		t.Fatal(err)
	}
	if err := e.Svc.SyncConfigurations(context.Background()); err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]string{settings.InvoiceDueDays.Name(): `45`, settings.ReminderBefore.Name(): `"2h"`} {
		pair, _, err := kv.Get(e.Prefix+key, nil)
		if err != nil || pair == nil || string(pair.Value) != want || pair.Flags != 1 {
			t.Errorf("%s after sync: %+v, %v", key, pair, err)
		}
	}
}
