package notify_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"hospital/lib/apperr"
	"hospital/lib/notificationapi"
	nt "hospital/svc/notification/internal/notifytest"
	"hospital/svc/notification/notify"
)

func TestSeedingAndTemplateAdmin(t *testing.T) {
	e := nt.New(t, nt.Config{NoWorker: true})
	ctx := context.Background()
	admin := nt.As(nt.Admin)
	seeded := len(notify.DefaultTemplates(0))
	count := func(f notify.TemplateFilter) int {
		t.Helper()
		f.Limit = 100
		_, n, err := e.Svc.ListTemplates(admin, f)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := count(notify.TemplateFilter{}); n != seeded || seeded != 19*6 {
		t.Fatalf("%d templates seeded, want %d (19 types)", n, seeded)
	}
	if n := count(notify.TemplateFilter{NotificationType: notificationapi.UserRegistered, Channel: "EMAIL"}); n != 2 {
		t.Fatalf("filtered list: %d", n)
	}
	for _, who := range []string{"user", "billing"} {
		_, _, err := e.Svc.ListTemplates(nt.As(nt.Service(who)), notify.TemplateFilter{Limit: 1})
		wantKind(t, "a service listing templates", err, apperr.KindForbidden)
	}
	_, _, err := e.Svc.ListTemplates(admin, notify.TemplateFilter{Channel: "FAX", Limit: 1})
	wantKind(t, "unknown channel filter", err, apperr.KindInvalid)

	// An admin edits a default template; a restart keeps the edit and does
	// not bring back a deleted one.
	find := func(typ, ch, lang string) notify.Template {
		t.Helper()
		list, _, err := e.Svc.ListTemplates(admin, notify.TemplateFilter{NotificationType: typ, Channel: ch, Language: lang, Limit: 1})
		if err != nil || len(list) != 1 {
			t.Fatalf("template %s/%s/%s: %v %v", typ, ch, lang, list, err)
		}
		return list[0]
	}
	sms := find(notificationapi.UserRegistered, "SMS", "vi")
	upd := notify.TemplateInput{NotificationType: notificationapi.UserRegistered, Channel: "SMS", Language: "vi",
		BodyTemplateText: "Chào {{user_name}}! Đăng nhập: {{confirmation_link}}"}
	put, err := e.Svc.UpdateTemplate(admin, sms.ID, upd)
	if err != nil || put.BodyTemplateText != upd.BodyTemplateText || fmt.Sprint(put.Variables) != "[confirmation_link user_name]" {
		t.Fatalf("put: %+v %v", put, err)
	}
	broken := upd
	broken.BodyTemplateText = "Chào {{user_name"
	_, err = e.Svc.UpdateTemplate(admin, sms.ID, broken)
	wantKind(t, "put broken", err, apperr.KindInvalid)
	gone := find(notificationapi.UserRegistered, "PUSH", "en")
	if err := e.Svc.DeleteTemplate(admin, gone.ID); err != nil {
		t.Fatal(err)
	}
	_, err = e.Svc.GetTemplate(admin, gone.ID)
	wantKind(t, "get deleted", err, apperr.KindNotFound)
	wantKind(t, "delete again", e.Svc.DeleteTemplate(admin, gone.ID), apperr.KindNotFound)
	_, err = e.Svc.GetTemplate(admin, "not-an-id")
	wantKind(t, "bad id", err, apperr.KindNotFound)
	if err := e.Store.Init(ctx, time.Now()); err != nil {
		t.Fatal(err)
	}
	if n := count(notify.TemplateFilter{}); n != seeded-1 {
		t.Fatalf("%d templates after a restart, want %d", n, seeded-1)
	}
	if got, _ := e.Svc.GetTemplate(admin, sms.ID); got.BodyTemplateText != upd.BodyTemplateText {
		t.Fatalf("edit lost on restart: %+v", got)
	}

	// A new type with its own template is usable at once; its
	// (type, channel, language) is unique, and the answer to a duplicate
	// is the same every time (a shared error value, never changed).
	create := notify.TemplateInput{NotificationType: "VACCINATION_DUE", Channel: "EMAIL", Language: "vi",
		SubjectTemplate: "Lịch tiêm chủng: {{vaccine}}", BodyTemplateHTML: "<p>{{vaccine}} vào {{date}}</p>", BodyTemplateText: "{{vaccine}} vào {{date}}"}
	c, err := e.Svc.CreateTemplate(admin, create)
	if err != nil || !c.IsActive || c.ID == "" {
		t.Fatalf("created: %+v %v", c, err)
	}
	for range 2 {
		_, err = e.Svc.CreateTemplate(admin, create)
		if ae := wantKind(t, "duplicate", err, apperr.KindInvalid); ae.Fields["non_field_errors"] == nil {
			t.Fatalf("duplicate: %+v", ae)
		}
	}
	// Moving another template onto the taken combination is refused too.
	onto := upd
	onto.NotificationType, onto.Channel, onto.SubjectTemplate, onto.BodyTemplateText = "VACCINATION_DUE", "EMAIL", "s", "x"
	_, err = e.Svc.UpdateTemplate(admin, sms.ID, onto)
	wantKind(t, "put onto a taken combination", err, apperr.KindInvalid)

	vaccination := nt.Input("VACCINATION_DUE", e.Patient, map[string]any{"vaccine": "Cúm", "date": "2026-12-10"})
	if _, err := e.Svc.Send(admin, vaccination, ""); err != nil {
		t.Fatalf("send a new type: %v", err)
	}
	// A new type is the administrators' to send: no service owns it.
	_, err = e.Svc.Send(nt.As(nt.Service("appointment")), vaccination, "")
	wantKind(t, "a service sending an administrator's type", err, apperr.KindForbidden)
	// An inactive template is not used.
	off := false
	create.IsActive = &off
	if _, err := e.Svc.UpdateTemplate(admin, c.ID, create); err != nil {
		t.Fatal(err)
	}
	_, err = e.Svc.Send(admin, vaccination, "")
	wantKind(t, "send with an inactive template", err, apperr.KindInvalid)

	types, err := e.Svc.Types(admin)
	if err != nil || len(types) != 19 {
		t.Fatalf("types: %d %v", len(types), err)
	}
}

// A database seeded by an older version gets the types added since, and
// keeps an administrator's deletion of an older default.
func TestUpgradeSeedsOnlyNewTypes(t *testing.T) {
	e := nt.New(t, nt.Config{NoWorker: true})
	ctx := context.Background()
	admin := nt.As(nt.Admin)
	db := e.DB()
	// As a version 1 database stands: without the newer types, and with a
	// default its administrator deleted.
	for _, typ := range []string{notificationapi.PasswordChanged, notificationapi.EmailChangeRequested, notificationapi.EmailChanged,
		notificationapi.AccountLocked, notificationapi.LabResultCritical, notificationapi.InvoiceGenerated} {
		if _, err := db.Collection("notification_templates").DeleteMany(ctx, bson.D{{Key: "notification_type", Value: typ}}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.Collection("notification_meta").UpdateOne(ctx, bson.D{{Key: "_id", Value: "default-templates"}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "version", Value: 1}}}}); err != nil {
		t.Fatal(err)
	}
	if err := e.Store.Init(ctx, time.Now()); err != nil {
		t.Fatal(err)
	}
	for typ, want := range map[string]int{notificationapi.PasswordChanged: 6, notificationapi.LabResultCritical: 6, notificationapi.InvoiceGenerated: 0} {
		if _, n, _ := e.Svc.ListTemplates(admin, notify.TemplateFilter{NotificationType: typ, Limit: 10}); n != want {
			t.Errorf("%s: %d templates after the upgrade, want %d", typ, n, want)
		}
	}
}
