package notify

import (
	"context"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"time"

	"hospital/lib/auth"
	"hospital/lib/notificationapi"
)

// Options configure a Service; zero values take the defaults.
type Options struct {
	// DefaultLanguage is used when neither the request nor the recipient
	// names one (vi); FallbackLanguage when no template exists in it (en).
	DefaultLanguage  string
	FallbackLanguage string
	// DefaultChannels are used when a request names none (EMAIL).
	DefaultChannels []string
	// UrgentHold keeps a log delivered within its request (urgent or
	// sensitive) away from the background workers meanwhile.
	UrgentHold time.Duration
	// TemplateCacheTTL is how long an instance reuses the templates of a
	// type it has read (0: read them on every send). An edit made through
	// another instance takes effect within this time.
	TemplateCacheTTL time.Duration
	// ContentRetention is how long a finished log keeps its content (30
	// days); ClaimRetention how long delivery claims are kept (7 days).
	ContentRetention time.Duration
	ClaimRetention   time.Duration
	Now              func() time.Time
	Logger           *slog.Logger
}

// Service holds the notification rules. Its methods take the caller's
// identity from ctx; the route table has already decided which roles may
// call each operation, the Service decides what they may do with it.
type Service struct {
	store     Store
	directory Directory
	worker    *Worker
	opts      Options
	log       *slog.Logger

	cacheMu sync.Mutex
	cache   map[string]cachedTemplates
}

type cachedTemplates struct {
	tpls []Template
	at   time.Time
}

// New returns the service over store, reaching recipients through
// directory and delivering with worker.
func New(store Store, directory Directory, worker *Worker, opts Options) *Service {
	if opts.DefaultLanguage == "" {
		opts.DefaultLanguage = "vi"
	}
	if opts.FallbackLanguage == "" {
		opts.FallbackLanguage = "en"
	}
	if len(opts.DefaultChannels) == 0 {
		opts.DefaultChannels = []string{notificationapi.ChannelEmail}
	}
	if opts.UrgentHold == 0 {
		opts.UrgentHold = time.Minute
	}
	if opts.ContentRetention == 0 {
		opts.ContentRetention = 30 * 24 * time.Hour
	}
	if opts.ClaimRetention == 0 {
		opts.ClaimRetention = 7 * 24 * time.Hour
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &Service{store: store, directory: directory, worker: worker, opts: opts, log: opts.Logger}
}

// now is the service's clock, at the millisecond BSON dates keep.
func (s *Service) now() time.Time { return s.opts.Now().UTC().Truncate(time.Millisecond) }

// SendTimeout is how long one provider call may take: the route table
// gives urgent sends that much more time at the gateway.
func (s *Service) SendTimeout() time.Duration {
	if s == nil || s.worker == nil {
		return defaultSendTimeout
	}
	return s.worker.opts.SendTimeout
}

// templatesOfType reads a type's templates, through the cache.
func (s *Service) templatesOfType(ctx context.Context, typ string) ([]Template, error) {
	if s.opts.TemplateCacheTTL > 0 {
		s.cacheMu.Lock()
		c, ok := s.cache[typ]
		s.cacheMu.Unlock()
		if ok && time.Since(c.at) < s.opts.TemplateCacheTTL {
			return c.tpls, nil
		}
	}
	tpls, err := s.store.TemplatesOfType(ctx, typ)
	if err != nil || s.opts.TemplateCacheTTL <= 0 {
		return tpls, err
	}
	s.cacheMu.Lock()
	if s.cache == nil {
		s.cache = map[string]cachedTemplates{}
	}
	s.cache[typ] = cachedTemplates{tpls: tpls, at: time.Now()}
	s.cacheMu.Unlock()
	return tpls, nil
}

// forgetTemplates drops the cache after an edit through this instance.
func (s *Service) forgetTemplates() {
	s.cacheMu.Lock()
	s.cache = nil
	s.cacheMu.Unlock()
}

// Who is asking.
const (
	requestedByServicePrefix = "svc:"
	requestedByUserPrefix    = "user:"
)

func requestedByOf(id auth.Identity) string {
	if id.IsService() {
		return requestedByServicePrefix + id.Service
	}
	return requestedByUserPrefix + strconv.FormatInt(id.UserID, 10)
}

func caller(ctx context.Context) (auth.Identity, error) {
	id, ok := auth.FromContext(ctx)
	if !ok {
		return id, errNoCaller
	}
	return id, nil
}

func requireAdmin(ctx context.Context) error {
	id, err := caller(ctx)
	if err != nil {
		return err
	}
	if !id.HasRole(auth.RoleAdmin) {
		return errAdminOnly
	}
	return nil
}

// mayCallerSend applies notificationapi.Senders: a service sends only its
// own types; an administrator any type.
func mayCallerSend(id auth.Identity, typ string) error {
	switch {
	case id.HasRole(auth.RoleAdmin):
		return nil
	case id.IsService() && slices.Contains(notificationapi.Senders[id.Service], typ):
		return nil
	case id.IsService():
		return errTypeNotYours(id.Service, typ)
	}
	return errAdminOnly
}
