package logging

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"sync"
	"time"
)

// LokiWriter ships log lines to a Loki push endpoint (Loki itself in
// production, VictoriaLogs locally). Lines are batched and sent in the
// background so logging never blocks a request on the log sink; when the sink
// is unreachable the buffer is bounded and the oldest lines are dropped, with
// a count written to stderr, since stdout (collected by the orchestrator)
// still has every line.
type LokiWriter struct {
	url    string
	labels map[string]string
	client *http.Client

	mu      sync.Mutex
	buf     [][2]string
	dropped int
	wake    chan struct{}
	done    chan struct{}
	stopped chan struct{}
}

const (
	lokiMaxBuffered = 10000
	lokiBatch       = 500
	lokiInterval    = time.Second
)

// NewLokiWriter starts a writer pushing to url with the given stream labels.
func NewLokiWriter(url string, labels map[string]string) *LokiWriter {
	w := &LokiWriter{
		url: url, labels: labels,
		client:  &http.Client{Timeout: 5 * time.Second},
		wake:    make(chan struct{}, 1),
		done:    make(chan struct{}),
		stopped: make(chan struct{}),
	}
	go w.loop()
	return w
}

// Write queues one log line (slog's JSON handler writes whole lines).
func (w *LokiWriter) Write(p []byte) (int, error) {
	line := string(bytes.TrimRight(p, "\n"))
	ts := strconv.FormatInt(time.Now().UnixNano(), 10)
	w.mu.Lock()
	if len(w.buf) >= lokiMaxBuffered {
		w.buf = w.buf[1:]
		w.dropped++
	}
	w.buf = append(w.buf, [2]string{ts, line})
	full := len(w.buf) >= lokiBatch
	w.mu.Unlock()
	if full {
		select {
		case w.wake <- struct{}{}:
		default:
		}
	}
	return len(p), nil
}

// Close flushes what is buffered (best effort, bounded in time).
func (w *LokiWriter) Close() {
	close(w.done)
	<-w.stopped
}

func (w *LokiWriter) loop() {
	defer close(w.stopped)
	t := time.NewTicker(lokiInterval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
		case <-w.wake:
		case <-w.done:
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			for w.flush(ctx) {
			}
			cancel()
			return
		}
		for w.flush(context.Background()) {
		}
	}
}

// flush sends one batch; it reports whether more lines are waiting.
func (w *LokiWriter) flush(ctx context.Context) bool {
	w.mu.Lock()
	n := min(len(w.buf), lokiBatch)
	batch := append([][2]string(nil), w.buf[:n]...)
	w.buf = w.buf[n:]
	dropped := w.dropped
	w.dropped = 0
	w.mu.Unlock()
	if dropped > 0 {
		fmt.Fprintf(os.Stderr, "logging: dropped %d log lines while the log sink was unreachable\n", dropped)
	}
	if n == 0 {
		return false
	}
	if err := w.push(ctx, batch); err != nil {
		// Put the batch back in front; the next tick retries it.
		w.mu.Lock()
		w.buf = append(batch, w.buf...)
		if over := len(w.buf) - lokiMaxBuffered; over > 0 {
			w.buf = w.buf[over:]
			w.dropped += over
		}
		w.mu.Unlock()
		return false
	}
	w.mu.Lock()
	more := len(w.buf) > 0
	w.mu.Unlock()
	return more && ctx.Err() == nil
}

func (w *LokiWriter) push(ctx context.Context, batch [][2]string) error {
	body, err := json.Marshal(map[string]any{
		"streams": []map[string]any{{"stream": w.labels, "values": batch}},
	})
	if err != nil {
		return fmt.Errorf("encode push: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.url, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("build push: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := w.client.Do(req)
	if err != nil {
		return fmt.Errorf("push logs: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode >= 300 {
		return fmt.Errorf("push logs: status %d", resp.StatusCode)
	}
	return nil
}
