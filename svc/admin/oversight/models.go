package oversight

import (
	"encoding/json"
	"time"
)

// ---------------------------------------------------------------------------
// Audit log

// Entry is one event of the audit log (the spec's AuditLog: timestamp,
// user_id, service_name, action_performed, details), where it stands in the
// chain and the hashes that tie it to the entries before it.
type Entry struct {
	Position     int64           `json:"position"`
	EventID      string          `json:"event_id"`
	Timestamp    time.Time       `json:"timestamp"`
	Service      string          `json:"service_name"`
	Action       string          `json:"action_performed"`
	UserID       *int64          `json:"user_id"`
	Role         string          `json:"role"`
	ActorService string          `json:"actor_service"`
	PatientID    *int64          `json:"patient_id"`
	ObjectType   string          `json:"object_type"`
	ObjectID     string          `json:"object_id"`
	Outcome      string          `json:"outcome"`
	RequestID    string          `json:"request_id"`
	ClientIP     string          `json:"client_ip"`
	BreakGlass   bool            `json:"break_glass"`
	Details      json.RawMessage `json:"details"`
	ReceivedAt   time.Time       `json:"received_at"`
	PrevHash     string          `json:"prev_hash"`
	Hash         string          `json:"hash"`
}

// AuditFilter selects entries; zero fields select everything.
type AuditFilter struct {
	UserID    *int64
	PatientID *int64
	// Services and Outcomes keep entries with any of the values.
	Services []string
	Outcomes []string
	// Actions keep entries whose action matches any pattern; "*" matches
	// any run of characters ("*.read" is every read).
	Actions    []string
	ObjectType string
	ObjectID   string
	RequestID  string
	BreakGlass *bool
	// Since and Until bound the event's timestamp (inclusive, exclusive).
	Since, Until *time.Time
}

// ChainHead is the end of the chain: its last position and hash.
type ChainHead struct {
	Position int64
	Hash     string
}

// Verification is the result of walking the chain.
type Verification struct {
	Valid bool `json:"valid"`
	// Checked counts the entries read.
	Checked int64 `json:"checked"`
	// HeadPosition and HeadHash are what the chain head records.
	HeadPosition int64  `json:"head_position"`
	HeadHash     string `json:"head_hash"`
	// Problems lists what is wrong, in chain order (at most MaxProblems).
	Problems []Problem `json:"problems"`
	// Truncated: more problems were found than listed.
	Truncated  bool      `json:"problems_truncated"`
	VerifiedAt time.Time `json:"verified_at"`
}

// Problem is one defect of the chain, at a position.
type Problem struct {
	Position int64  `json:"position"`
	Kind     string `json:"kind"`
	Detail   string `json:"detail"`
}

// Kinds of Problem.
const (
	// ProblemMissing: no entry at a position before the head (deleted).
	ProblemMissing = "missing"
	// ProblemAltered: the entry's content does not give its hash (edited).
	ProblemAltered = "altered"
	// ProblemBrokenLink: the entry's prev_hash is not the hash of the entry
	// before it (that one was edited and rehashed, or removed).
	ProblemBrokenLink = "broken_link"
	// ProblemHead: the head does not match the last entry (the tail was
	// removed, or the head was changed).
	ProblemHead = "head_mismatch"
)

// ---------------------------------------------------------------------------
// System configuration

// Configuration is the spec's SystemConfiguration, with its history
// counters.
type Configuration struct {
	Key         string          `json:"key"`
	Value       json.RawMessage `json:"value"`
	Description string          `json:"description"`
	// Set: false when the key was never set and Value is the documented
	// default that services use meanwhile.
	Set bool `json:"is_set"`
	// Version counts the changes (0 while not set); UpdatedAt is null
	// while not set.
	Version   int64      `json:"version"`
	UpdatedAt *time.Time `json:"updated_at"`
	UpdatedBy *int64     `json:"updated_by"`
	// Type and ReadBy document a platform key (empty for an extra key).
	Type   string   `json:"type"`
	ReadBy []string `json:"read_by"`
	// Published: Consul holds this version, so the services follow it
	// (known after a change; the background sync publishes it otherwise).
	Published *bool `json:"published,omitempty"`
}

// ConfigurationRequest is the body of a PUT: the spec's fields. key may be
// left out; when given it must be the key of the path.
type ConfigurationRequest struct {
	Key         string          `json:"key" validate:"omitempty,max=100"`
	Value       json.RawMessage `json:"value" validate:"required"`
	Description *string         `json:"description" validate:"omitempty,max=2000"`
}

// ---------------------------------------------------------------------------
// Dashboard

// Summary is the dashboard: each section as its service reported it, or
// why it could not, and the audit log's own figures and recent history.
type Summary struct {
	GeneratedAt time.Time          `json:"generated_at"`
	Sections    map[string]Section `json:"sections"`
	// Activity is the reports of the last days (newest first): what the
	// audit log recorded per day, all services together.
	Activity []DayTotals `json:"activity"`
}

// Section is one service's part of the dashboard.
type Section struct {
	Available bool                       `json:"available"`
	Reason    string                     `json:"reason,omitempty"`
	Figures   map[string]json.RawMessage `json:"figures,omitempty"`
	// TookMS is how long the service took to answer (or to fail).
	TookMS int64 `json:"took_ms"`
}

// ---------------------------------------------------------------------------
// Reports and tasks

// DailyActivity is one report row: what the audit log holds for one clinic
// day and one service.
type DailyActivity struct {
	Day     string `json:"day"` // YYYY-MM-DD
	Service string `json:"service_name"`
	Counts
	ComputedAt time.Time `json:"computed_at"`
}

// Counts are a report's figures.
type Counts struct {
	// Events is every entry; PatientReads the reads of a patient's data
	// (entries with a patient whose action ends in .read, .list or .search).
	Events       int `json:"events"`
	PatientReads int `json:"patient_reads"`
	Denied       int `json:"denied"`
	Failed       int `json:"failed"`
	BreakGlass   int `json:"break_glass"`
	// Patients and Users count the distinct patients whose data was
	// touched and the distinct users who acted.
	Patients int `json:"patients"`
	Users    int `json:"users"`
}

// DayTotals is one day of activity, every service together (distinct
// patients and users are summed over services, so a patient seen by two
// services counts twice).
type DayTotals struct {
	Day string `json:"day"` // YYYY-MM-DD
	Counts
}

// ActivityFilter selects report rows.
type ActivityFilter struct {
	From, To time.Time // clinic days, inclusive
	Service  string
}

// Task types and statuses.
const (
	TaskRecalculateReports = "recalculate-reports"

	TaskPending   = "PENDING"
	TaskRunning   = "RUNNING"
	TaskSucceeded = "SUCCEEDED"
	TaskFailed    = "FAILED"
)

// Task is a batch task and how far it got.
type Task struct {
	ID          int64           `json:"id"`
	Type        string          `json:"task_type"`
	Status      string          `json:"status"`
	Params      json.RawMessage `json:"params"`
	Progress    Progress        `json:"progress"`
	Result      json.RawMessage `json:"result,omitempty"` // absent until it succeeded
	Error       string          `json:"error"`
	RequestedBy *int64          `json:"requested_by"`
	// Runner is the instance that ran it last; Runs counts how often a run
	// started (more than once only when a runner died mid-way).
	Runner    string    `json:"runner"`
	Runs      int       `json:"runs"`
	CreatedAt time.Time `json:"created_at"`
	// StartedAt and FinishedAt are null until then.
	StartedAt  *time.Time `json:"started_at"`
	FinishedAt *time.Time `json:"finished_at"`
}

// Progress is done out of total steps (days, for reports).
type Progress struct {
	Done  int `json:"done"`
	Total int `json:"total"`
}

// RecalculateRequest chooses the days to recalculate (clinic days,
// inclusive); both may be left out: the last 30 days up to today.
type RecalculateRequest struct {
	DateFrom string `json:"date_from" validate:"omitempty,datetime=2006-01-02"`
	DateTo   string `json:"date_to" validate:"omitempty,datetime=2006-01-02"`
}

// RecalculateResult is a finished recalculation.
type RecalculateResult struct {
	Days     int `json:"days"`
	Rows     int `json:"rows"`
	Events   int `json:"events"`
	Services int `json:"services"`
}
