package notify

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"hospital/lib/apperr"
	"hospital/lib/notificationapi"
	"hospital/lib/userapi"
)

const (
	maxDataDepth              = 8
	maxChannelPreferences     = 3
	maxKeyLen                 = 200
	idempotencyScopeSeparator = "|"
	autoKeyPrefix             = "auto:"
	logIDLength               = 24
)

// HeaderIdempotencyKey names the header that makes a send safe to repeat.
const HeaderIdempotencyKey = "Idempotency-Key"

// checkSend refuses a malformed request, every problem at once, keyed by
// JSON field as the decoder's own checks are.
func checkSend(in SendInput, key string) error {
	errs := map[string][]string{}
	add := func(field, msg string) { errs[field] = append(errs[field], msg) }
	switch {
	case in.NotificationType == "":
		add("notification_type", "This field is required.")
	case !notificationTypePattern.MatchString(in.NotificationType):
		add("notification_type", fmt.Sprintf("Unknown notification type %q.", in.NotificationType))
	}
	if in.RecipientID <= 0 {
		add("recipient_id", "A positive user id is required.")
	}
	if in.Channel != "" && !slices.Contains(Channels, in.Channel) {
		add("channel", "Must be one of: EMAIL, SMS, PUSH.")
	}
	if len(in.ChannelPreferences) > maxChannelPreferences {
		add("channel_preferences", fmt.Sprintf("Ensure this field has no more than %d elements.", maxChannelPreferences))
	}
	for i, ch := range in.ChannelPreferences {
		if !slices.Contains(Channels, ch) {
			add("channel_preferences["+strconv.Itoa(i)+"]", "Must be one of: EMAIL, SMS, PUSH.")
		}
	}
	if in.Language != "" && !languagePattern.MatchString(in.Language) {
		add("language", `Use a language code such as "vi" or "en".`)
	}
	if o := in.RecipientContact; o != nil {
		if o.Language != "" && !languagePattern.MatchString(o.Language) {
			add("recipient_contact.language", `Use a language code such as "vi" or "en".`)
		}
		for field, v := range map[string]string{"email": o.Email, "phone_number": o.PhoneNumber, "push_token": o.PushToken, "name": o.Name} {
			if hasControl(v) {
				add("recipient_contact."+field, "Control characters are not allowed.")
			}
		}
	}
	if msg := checkData(in.Data); msg != "" {
		add("data", msg)
	}
	if len(key) > maxKeyLen {
		add(HeaderIdempotencyKey, fmt.Sprintf("Ensure this header has no more than %d characters.", maxKeyLen))
	} else if !printableASCII(key) {
		add(HeaderIdempotencyKey, "Use printable ASCII characters only.")
	}
	if len(errs) > 0 {
		return apperr.Validation(errs)
	}
	return nil
}

// checkData refuses what MongoDB cannot store as field names, NUL
// characters (PostgreSQL, under FerretDB, cannot store them) and
// unreasonable nesting. It returns the message for the data field.
func checkData(data map[string]any) string {
	var walk func(v any, path string, depth int) string
	walk = func(v any, path string, depth int) string {
		if depth > maxDataDepth {
			return fmt.Sprintf("Nested deeper than %d levels at %s.", maxDataDepth, path)
		}
		switch x := v.(type) {
		case string:
			if strings.ContainsRune(x, 0) {
				return fmt.Sprintf("The value at %s contains a NUL character.", path)
			}
		case map[string]any:
			for k, e := range x {
				if k == "" || strings.HasPrefix(k, "$") || strings.ContainsAny(k, ".\x00") {
					return fmt.Sprintf("Invalid key %q: keys may not be empty, start with $ or contain a dot.", k)
				}
				p := k
				if path != "" {
					p = path + "." + k
				}
				if msg := walk(e, p, depth+1); msg != "" {
					return msg
				}
			}
		case []any:
			for i, e := range x {
				if msg := walk(e, path+"["+strconv.Itoa(i)+"]", depth+1); msg != "" {
					return msg
				}
			}
		}
		return ""
	}
	return walk(map[string]any(data), "", 0)
}

func hasControl(s string) bool {
	return strings.ContainsFunc(s, unicode.IsControl)
}

func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// channelsOf is the request's channels: channel_preferences, then the
// singular channel, else the configured default; without repeats.
func (s *Service) channelsOf(in SendInput) []string {
	var out []string
	add := func(ch string) {
		if ch != "" && !slices.Contains(out, ch) {
			out = append(out, ch)
		}
	}
	for _, ch := range in.ChannelPreferences {
		add(ch)
	}
	add(in.Channel)
	if len(out) == 0 {
		for _, ch := range s.opts.DefaultChannels {
			add(ch)
		}
	}
	return out
}

// languages are the template languages to try, in order: the request's,
// the recipient's preference, the default, the fallback.
func (s *Service) languages(in SendInput, c userapi.Contact) []string {
	var out []string
	for _, l := range []string{in.Language, c.Language, s.opts.DefaultLanguage, s.opts.FallbackLanguage} {
		if l != "" && !slices.Contains(out, l) {
			out = append(out, l)
		}
	}
	return out
}

func pickTemplate(tpls []Template, channel string, langs []string) *Template {
	for _, lang := range langs {
		for i := range tpls {
			t := &tpls[i]
			if t.IsActive && t.Channel == channel && t.Language == lang {
				return t
			}
		}
	}
	return nil
}

// address is the recipient's address on channel ("" when they have none).
func address(c userapi.Contact, channel string) string {
	switch channel {
	case notificationapi.ChannelEmail:
		return c.Email
	case notificationapi.ChannelSMS:
		if c.PhoneNumber != nil {
			return *c.PhoneNumber
		}
	case notificationapi.ChannelPush:
		if c.PushToken != nil {
			return *c.PushToken
		}
	}
	return ""
}

func addressName(channel string) string {
	switch channel {
	case notificationapi.ChannelEmail:
		return "email address"
	case notificationapi.ChannelSMS:
		return "phone number"
	default:
		return "push token"
	}
}

func channelField(in SendInput) string {
	if len(in.ChannelPreferences) > 0 {
		return "channel_preferences"
	}
	return "channel"
}

func (l *Log) fail(msg string, now time.Time) {
	l.Status = StatusFailed
	l.ErrorMessage = &msg
	l.UpdatedAt = now
}

// requestHash fingerprints what a request asks for, so a key reused for a
// different request is caught. Maps marshal with sorted keys.
func requestHash(in SendInput) string {
	b, _ := json.Marshal(struct {
		T  string           `json:"t"`
		R  int64            `json:"r"`
		CP []string         `json:"cp"`
		C  string           `json:"c"`
		D  map[string]any   `json:"d"`
		RC *ContactOverride `json:"rc"`
		L  string           `json:"l"`
		U  bool             `json:"u"`
		S  bool             `json:"s"`
	}{in.NotificationType, in.RecipientID, in.ChannelPreferences, in.Channel, in.Data, in.RecipientContact, in.Language, in.Urgent, in.Sensitive})
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// logIDFor derives a log's id from the scoped idempotency key and channel:
// a repeated request computes the same ids, and the unique _id makes the
// store refuse a second copy even when twins race.
func logIDFor(scopedKey, channel string) string {
	sum := sha256.Sum256([]byte(scopedKey + idempotencyScopeSeparator + channel))
	return hex.EncodeToString(sum[:])[:logIDLength]
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// queuedAnswer is the answer to a request delivered in the background.
func queuedAnswer(logs []Log) SendResult {
	a := SendAnswer{}
	a.Status, a.LogIDs = AnswerQueued, make([]string, len(logs))
	for i, l := range logs {
		a.LogIDs[i] = l.ID
		if a.LogID == "" && l.Status != StatusFailed {
			a.LogID = l.ID
		}
	}
	if a.LogID == "" && len(logs) > 0 {
		a.LogID = logs[0].ID
	}
	return SendResult{Answer: a, Queued: true}
}

// syncAnswer reports what happened to a request delivered before the
// answer: SENT when every deliverable channel went out, QUEUED when one is
// left to retry in the background, FAILED when all failed for good.
func syncAnswer(logs []Log) SendResult {
	res := queuedAnswer(logs)
	var sent, pending int
	var errs []string
	for _, l := range logs {
		switch l.Status {
		case StatusSent, StatusDelivered:
			sent++
		case StatusPending:
			pending++
		}
		if l.ErrorMessage != nil && l.Status != StatusSent {
			errs = append(errs, l.Channel+": "+*l.ErrorMessage)
		}
	}
	res.Answer.ErrorMessage = strings.Join(errs, " ")
	switch {
	case pending > 0:
		res.Queued, res.Answer.Status = true, AnswerQueued
	case sent > 0:
		res.Queued, res.Answer.Status = false, AnswerSent
	default:
		res.Queued, res.Answer.Status = false, AnswerFailed
	}
	for _, l := range logs {
		if l.Status == StatusSent {
			res.Answer.LogID = l.ID
			break
		}
	}
	return res
}
