package outbox

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// gauges reports the outbox backlog at scrape time.
type gauges struct{ q Queue }

var (
	descMessages = prometheus.NewDesc("outbox_messages", "Outbox messages by target and status (PENDING and FAILED).", []string{"target", "status"}, nil)
	descOldest   = prometheus.NewDesc("outbox_oldest_pending_age_seconds", "Age of the oldest undelivered message per target.", []string{"target"}, nil)
)

func (g *gauges) Describe(ch chan<- *prometheus.Desc) { ch <- descMessages; ch <- descOldest }

func (g *gauges) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	rows, err := g.q.Backlog(ctx)
	if err != nil {
		return
	}
	for _, b := range rows {
		ch <- prometheus.MustNewConstMetric(descMessages, prometheus.GaugeValue, float64(b.Count), b.Target, b.Status)
		if b.Status == StatusPending {
			ch <- prometheus.MustNewConstMetric(descOldest, prometheus.GaugeValue, time.Since(b.Oldest).Seconds(), b.Target)
		}
	}
}
