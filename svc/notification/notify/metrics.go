package notify

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the worker's Prometheus series (README, Metrics).
type metrics struct {
	deliveries *prometheus.CounterVec
	latency    *prometheus.HistogramVec
}

func newMetrics(q Queue, now func() time.Time, reg prometheus.Registerer) metrics {
	m := metrics{
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "notification_delivery_attempts_total",
			Help: "Delivery attempts by channel, adapter and result (sent, retry, failed).",
		}, []string{"channel", "adapter", "result"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "notification_queue_to_sent_seconds",
			Help:    "Time from accepting a notification to the provider accepting it.",
			Buckets: []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600},
		}, []string{"channel"}),
	}
	if reg != nil {
		reg.MustRegister(m.deliveries, m.latency, &queueGauges{queue: q, now: now})
	}
	return m
}

// queueGauges reports the queue at scrape time.
type queueGauges struct {
	queue Queue
	now   func() time.Time
}

var (
	descLogs   = prometheus.NewDesc("notification_logs", "Notification logs waiting (PENDING) or given up (FAILED), by channel.", []string{"channel", "status"}, nil)
	descOldest = prometheus.NewDesc("notification_oldest_pending_age_seconds", "Age of the oldest PENDING notification.", nil, nil)
)

func (g *queueGauges) Describe(ch chan<- *prometheus.Desc) { ch <- descLogs; ch <- descOldest }

func (g *queueGauges) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	counts, oldest, err := g.queue.QueueStats(ctx, g.now().UTC())
	if err != nil {
		return
	}
	for _, c := range Channels {
		for _, st := range []string{StatusPending, StatusFailed} {
			ch <- prometheus.MustNewConstMetric(descLogs, prometheus.GaugeValue, float64(counts[[2]string{c, st}]), c, st)
		}
	}
	ch <- prometheus.MustNewConstMetric(descOldest, prometheus.GaugeValue, oldest.Seconds())
}
