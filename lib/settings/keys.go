// Package settings is the platform's live configuration: the keys the admin
// service manages as its system configurations, what each means and which
// values it takes, and a Watcher through which any service follows them in
// Consul KV and uses a new value without a restart.
//
// The admin service's database holds the configurations; the admin service
// publishes each value under Prefix + key (the JSON value, with the
// configuration's version in the pair's Flags, so an older write never
// replaces a newer one). Services read nothing from the admin service
// itself: a service whose key was never set, or that cannot reach Consul at
// start, uses its own setting from the environment (the fallback given to
// Watch).
package settings

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Prefix is where the values live in Consul KV. It lies under the admin
// service's own prefix, service/admin/, which its ACL policy may write;
// every service's policy may read it (consul/acl/service.hcl).
const Prefix = "service/admin/config/"

// KVKey is the Consul KV key of the configuration name.
func KVKey(name string) string { return Prefix + name }

// NamePattern is what a configuration key looks like: lower case, dotted
// by the service that reads it ("billing.invoice_due_days").
var NamePattern = regexp.MustCompile(`^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$`)

// MaxNameLength bounds a key's length.
const MaxNameLength = 100

// Definition is one documented key, whatever its type: the admin service
// validates values with it and documents it.
type Definition interface {
	// Name is the key ("appointment.consultation_fee").
	Name() string
	// Description says what the value changes.
	Description() string
	// Type is the value's kind as the documentation shows it: money,
	// integer or duration, with its bounds.
	Type() string
	// ReadBy names the services that follow the key.
	ReadBy() []string
	// Default is the value services use while the key is not set (their
	// shipped setting; a deployment may set another in the environment).
	Default() json.RawMessage
	// Normalize checks a value and returns it in the form services read
	// (a money amount with two decimals, for instance).
	Normalize(raw json.RawMessage) (json.RawMessage, error)
}

// Key is a documented key whose value services read as a T.
type Key[T any] struct {
	name, description, kind string
	readBy                  []string
	def                     T
	parse                   func(json.RawMessage) (T, error)
	format                  func(T) json.RawMessage
}

func (k Key[T]) Name() string             { return k.name }
func (k Key[T]) Description() string      { return k.description }
func (k Key[T]) Type() string             { return k.kind }
func (k Key[T]) ReadBy() []string         { return slices.Clone(k.readBy) }
func (k Key[T]) Default() json.RawMessage { return k.format(k.def) }

// Parse reads a value of the key.
func (k Key[T]) Parse(raw json.RawMessage) (T, error) { return k.parse(bytes.TrimSpace(raw)) }

// Normalize implements Definition.
func (k Key[T]) Normalize(raw json.RawMessage) (json.RawMessage, error) {
	v, err := k.Parse(raw)
	if err != nil {
		return nil, err
	}
	return k.format(v), nil
}

// Money is a key whose value is an amount (a decimal string with at most two
// decimals, "150000.00"; a JSON number is accepted and stored as a string).
// Services read it as the string with two decimals.
func Money(name, description string, def string, readBy ...string) Key[string] {
	k := Key[string]{name: name, description: description, kind: "money: a non-negative decimal string, at most two decimals (\"150000.00\")",
		readBy: readBy, parse: parseMoney, format: func(s string) json.RawMessage { b, _ := json.Marshal(s); return b }}
	d, err := parseMoney(json.RawMessage(strconv.Quote(def)))
	if err != nil {
		panic(fmt.Sprintf("settings: default of %s: %v", name, err))
	}
	k.def = d
	return k
}

// Integer is a key whose value is a whole number from lo to hi.
func Integer(name, description string, def, lo, hi int, readBy ...string) Key[int] {
	if def < lo || def > hi {
		panic(fmt.Sprintf("settings: default of %s out of bounds", name))
	}
	return Key[int]{name: name, description: description, kind: fmt.Sprintf("integer from %d to %d", lo, hi),
		readBy: readBy, def: def,
		parse: func(raw json.RawMessage) (int, error) {
			var n json.Number
			if err := json.Unmarshal(raw, &n); err != nil || !isJSONNumber(raw) {
				return 0, fmt.Errorf("want a whole number from %d to %d", lo, hi)
			}
			v, err := strconv.Atoi(n.String())
			if err != nil || v < lo || v > hi {
				return 0, fmt.Errorf("want a whole number from %d to %d", lo, hi)
			}
			return v, nil
		},
		format: func(v int) json.RawMessage { return json.RawMessage(strconv.Itoa(v)) },
	}
}

// Duration is a key whose value is a Go duration string ("24h", "90m")
// from lo to hi.
func Duration(name, description string, def, lo, hi time.Duration, readBy ...string) Key[time.Duration] {
	if def < lo || def > hi {
		panic(fmt.Sprintf("settings: default of %s out of bounds", name))
	}
	return Key[time.Duration]{name: name, description: description,
		kind:   fmt.Sprintf("duration string (\"90m\", \"24h\") from %s to %s", short(lo), short(hi)),
		readBy: readBy, def: def,
		parse: func(raw json.RawMessage) (time.Duration, error) {
			var s string
			if err := json.Unmarshal(raw, &s); err != nil {
				return 0, fmt.Errorf("want a duration string such as %q, from %s to %s", short(def), short(lo), short(hi))
			}
			d, err := time.ParseDuration(strings.TrimSpace(s))
			if err != nil || d < lo || d > hi {
				return 0, fmt.Errorf("want a duration string such as %q, from %s to %s", short(def), short(lo), short(hi))
			}
			return d, nil
		},
		format: func(d time.Duration) json.RawMessage { b, _ := json.Marshal(short(d)); return b },
	}
}

var moneyPattern = regexp.MustCompile(`^[0-9]{1,13}(\.[0-9]{1,2})?$`)

func parseMoney(raw json.RawMessage) (string, error) {
	s := string(raw)
	if len(raw) > 0 && raw[0] == '"' {
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", err
		}
		s = strings.TrimSpace(s)
	}
	if !moneyPattern.MatchString(s) {
		return "", fmt.Errorf("want a non-negative amount with at most two decimals, such as \"150000.00\"")
	}
	whole, frac, _ := strings.Cut(s, ".")
	whole = strings.TrimLeft(whole, "0")
	if whole == "" {
		whole = "0"
	}
	return whole + "." + (frac + "00")[:2], nil
}

func isJSONNumber(raw json.RawMessage) bool {
	return len(raw) > 0 && (raw[0] == '-' || (raw[0] >= '0' && raw[0] <= '9'))
}

// short prints a duration without zero units ("24h", "1h30m", "90s").
func short(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}
