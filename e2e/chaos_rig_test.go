package e2e

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	toxiproxy "github.com/Shopify/toxiproxy/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"hospital/lib/mysqldb"
	"hospital/lib/testkit"
)

// chaosRig is the platform the chaos suite breaks: a MariaDB of its own
// (killed and restarted), appointment as two instances, and Toxiproxy
// between appointment and MariaDB and between notification and FerretDB.
type chaosRig struct {
	*appointmentRig
	maria      *testkit.MariaDB
	apptB      *testkit.Service
	apptProxy  *toxiproxy.Proxy // appointment → MariaDB
	mongoProxy *toxiproxy.Proxy // notification → FerretDB
}

func startChaos(t *testing.T) *chaosRig {
	t.Helper()
	maria := testkit.StartMariaDB(t)
	userDSN := maria.NewDatabase(t)
	// The user service's database is on the rig's MariaDB (a later
	// MYSQL_DSN wins); the gateway ignores the setting.
	p := startPlatform(t, appointmentClients, "MYSQL_DSN="+userDSN)
	db, err := mysqldb.Open(context.Background(), userDSN)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	p.db = db

	toxi := toxiproxy.NewServer(toxiproxy.NewMetricsContainer(prometheus.NewRegistry()), zerolog.Nop())
	r := &chaosRig{maria: maria}
	r.appointmentRig = &appointmentRig{platform: p, notif: newNotifier(t)}

	mongo, err := url.Parse(r.notif.mongoURI)
	if err != nil {
		t.Fatal(err)
	}
	r.mongoProxy = startProxy(t, toxi, "ferretdb", mongo.Host)
	mongo.Host = r.mongoProxy.Listen
	r.notifSvc = r.notif.start(t, p, "MONGO_URI="+mongo.String())

	r.apptProxy = startProxy(t, toxi, "mariadb", "127.0.0.1:"+strconv.Itoa(maria.Port))
	apptDSN := maria.NewDatabase(t)
	r.apptDB, err = mysqldb.Open(context.Background(), apptDSN)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.apptDB.Close() })
	r.apptEnv = []string{
		"MYSQL_DSN=" + strings.Replace(apptDSN, "127.0.0.1:"+strconv.Itoa(maria.Port), r.apptProxy.Listen, 1),
		"SERVICE_SECRET=" + appointmentSecret, "CLINIC_TIMEZONE=Asia/Ho_Chi_Minh", "CONSULTATION_FEE=150000",
		"OUTBOX_POLL_INTERVAL=100ms", "OUTBOX_BACKOFF_MAX=1s", "REMINDER_BEFORE=1h", "REMINDER_INTERVAL=1s",
	}
	r.appt = testkit.StartService(t, p.consul, "appointment", testkit.Build(t, "hospital/svc/appointment"), r.apptEnv...)
	r.apptB = r.appt.Another(t)
	p.waitNotificationRouted(t)
	err = testkit.Until(context.Background(), 30*time.Second, p.gateway.Proc, func(ctx context.Context) error {
		res := p.do(t, http.MethodGet, "/api/v1/doctors/1/availability/", "", nil, nil)
		if res.status != http.StatusUnauthorized {
			return fmt.Errorf("availability without a token: %d %s", res.status, res.raw)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	r.admin, _ = p.login(t, adminUser, adminPass)
	return r
}

// startProxy runs a Toxiproxy proxy to upstream on a free loopback port.
func startProxy(t *testing.T, server *toxiproxy.ApiServer, name, upstream string) *toxiproxy.Proxy {
	t.Helper()
	px := toxiproxy.NewProxy(server, name, "127.0.0.1:"+strconv.Itoa(testkit.MustFreePort(t)), upstream)
	if err := px.Start(); err != nil {
		t.Fatalf("toxiproxy %s: %v", name, err)
	}
	t.Cleanup(px.Stop)
	return px
}

// toxic adds a toxic to px ({"type": "latency", "attributes": {...}}) and
// returns a function that removes it.
func toxic(t *testing.T, px *toxiproxy.Proxy, name, typ string, attrs string) func() {
	t.Helper()
	js := fmt.Sprintf(`{"name":%q,"type":%q,"stream":"downstream","toxicity":1,"attributes":%s}`, name, typ, attrs)
	if _, err := px.Toxics.AddToxicJson(strings.NewReader(js)); err != nil {
		t.Fatalf("toxic %s: %v", name, err)
	}
	return func() {
		if err := px.Toxics.RemoveToxic(context.Background(), name); err != nil {
			t.Errorf("remove toxic %s: %v", name, err)
		}
	}
}
