package edge

import (
	"fmt"
	"slices"
	"strings"
)

// DefaultRouteOwners says which service may serve which paths of the
// platform's API (ROUTE_OWNERS). A service advertising a route outside its
// prefixes is refused; shared prefixes (/api/v1/patients/{}/…,
// /api/v1/admin/…) are split by longer prefixes, the longest one deciding.
const DefaultRouteOwners = "" +
	"/api/v1/users/=user," +
	"/api/v1/admin/users/=user," +
	"/api/v1/ehr/=ehr," +
	"/api/v1/appointments/=appointment," +
	"/api/v1/doctors/=appointment," +
	"/api/v1/patients/{}/appointments/=appointment," +
	"/api/v1/prescriptions/=pharmacy," +
	"/api/v1/pharmacy/=pharmacy," +
	"/api/v1/patients/{}/prescriptions/=pharmacy," +
	"/api/v1/admin/medications/=pharmacy," +
	"/api/v1/invoices/=billing," +
	"/api/v1/billing/=billing," +
	"/api/v1/insurance-provider/=billing," +
	"/api/v1/patients/{}/invoices/=billing," +
	"/api/v1/patients/{}/insurance-policies/=billing," +
	"/api/v1/admin/invoices/=billing," +
	"/api/v1/admin/claims/=billing," +
	"/api/v1/lab/=lab," +
	"/api/v1/patients/{}/lab-results/=lab," +
	"/api/v1/admin/lab-tests/=lab," +
	"/api/v1/notifications/=notification," +
	"/api/v1/admin/notification-templates/=notification," +
	"/api/v1/admin/notification-logs/=notification," +
	"/api/v1/admin/notification-types/=notification," +
	"/api/v1/admin/dashboard/=admin," +
	"/api/v1/admin/system-configurations/=admin," +
	"/api/v1/admin/audit-logs/=admin," +
	"/api/v1/admin/tasks/=admin"

// Owners is the operator's list of path prefixes and the services allowed
// to serve routes under each. The gateway takes no route from anyone else.
type Owners struct {
	entries  []ownerEntry
	services []string
}

type ownerEntry struct {
	prefix   string
	segs     []string // "{}" matches any one segment
	literal  int      // literal segments, to rank equally long prefixes
	services []string
}

// ParseOwners reads "prefix=service,prefix=service|other,...". A prefix is
// an absolute path ending in "/"; a segment written "{}" or "{name}" stands
// for any one segment. Entries may also be separated by whitespace.
func ParseOwners(spec string) (*Owners, error) {
	o := &Owners{}
	seen := map[string]bool{}
	for item := range strings.FieldsFuncSeq(spec, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\t' }) {
		prefix, svcs, ok := strings.Cut(item, "=")
		if !ok || svcs == "" {
			return nil, fmt.Errorf("ROUTE_OWNERS: %q is not prefix=service", item)
		}
		e, err := newOwnerEntry(prefix)
		if err != nil {
			return nil, err
		}
		if seen[e.prefix] {
			return nil, fmt.Errorf("ROUTE_OWNERS: %s listed twice (name several services as a|b instead)", e.prefix)
		}
		seen[e.prefix] = true
		for s := range strings.SplitSeq(svcs, "|") {
			if s = strings.TrimSpace(s); s == "" {
				return nil, fmt.Errorf("ROUTE_OWNERS: empty service name in %q", item)
			}
			e.services = append(e.services, s)
			if !slices.Contains(o.services, s) {
				o.services = append(o.services, s)
			}
		}
		o.entries = append(o.entries, e)
	}
	if len(o.entries) == 0 {
		return nil, fmt.Errorf("ROUTE_OWNERS: no entries: the gateway would route nothing")
	}
	slices.Sort(o.services)
	// Longest first, so the first entry that covers a path is its owner.
	slices.SortStableFunc(o.entries, func(a, b ownerEntry) int {
		if d := len(b.segs) - len(a.segs); d != 0 {
			return d
		}
		return b.literal - a.literal
	})
	return o, nil
}

func newOwnerEntry(prefix string) (ownerEntry, error) {
	if !strings.HasPrefix(prefix, "/") || !strings.HasSuffix(prefix, "/") || len(prefix) < 2 ||
		strings.Contains(prefix, "//") || strings.Contains(prefix, "*") {
		return ownerEntry{}, fmt.Errorf("ROUTE_OWNERS: prefix %q must be an absolute path ending in / (no * or empty segments)", prefix)
	}
	e := ownerEntry{}
	for seg := range strings.SplitSeq(strings.Trim(prefix, "/"), "/") {
		if strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "}") {
			seg = "{}"
		} else {
			e.literal++
		}
		e.segs = append(e.segs, seg)
	}
	e.prefix = "/" + strings.Join(e.segs, "/") + "/"
	return e, nil
}

// covers reports whether p (an advertised pattern or a request path) lies
// at or below the prefix. An advertised "{}" only falls under a "{}" of the
// prefix: a pattern that spans several owners' paths belongs to none.
func (e *ownerEntry) covers(p string) bool {
	p = strings.TrimPrefix(strings.TrimSuffix(p, "*"), "/")
	for _, s := range e.segs {
		seg, rest, _ := strings.Cut(p, "/")
		switch {
		case seg == "":
			return false
		case s != "{}" && seg != s:
			return false
		}
		p = rest
	}
	return true
}

// owner is the entry deciding who owns p: the longest prefix covering it.
func (o *Owners) owner(p string) *ownerEntry {
	for i := range o.entries {
		if o.entries[i].covers(p) {
			return &o.entries[i]
		}
	}
	return nil
}

// Allows reports whether service may advertise pattern.
func (o *Owners) Allows(service, pattern string) bool {
	e := o.owner(pattern)
	return e != nil && slices.Contains(e.services, service)
}

// OwnersOf names the services owning request path p (nil if none).
func (o *Owners) OwnersOf(p string) []string {
	if e := o.owner(p); e != nil {
		return e.services
	}
	return nil
}

// Services names every service that owns a prefix.
func (o *Owners) Services() []string { return o.services }
