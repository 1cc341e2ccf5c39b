package dispensing

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"regexp"
	"time"

	"github.com/google/uuid"
)

// idPattern is the form of the pharmacy's document ids: an ObjectId's 24
// hexadecimal digits (the spec's ids are ObjectIds).
var idPattern = regexp.MustCompile(`^[0-9a-f]{24}$`)

// IDPattern is idPattern for route templates.
const IDPattern = `[0-9a-f]{24}`

// validID reports whether id has the form of a document id.
func validID(id string) bool { return idPattern.MatchString(id) }

// newID is a new ObjectId-shaped id: four bytes of the time (so ids sort
// roughly by creation, as ObjectIds do) and eight random bytes.
func newID(now time.Time) string {
	var b [12]byte
	binary.BigEndian.PutUint32(b[:4], uint32(now.Unix()))
	_, _ = rand.Read(b[4:])
	return hex.EncodeToString(b[:])
}

// idFromKey is the id a request with an Idempotency-Key creates: the same
// request with the same key always names the same document, so repeating
// it finds the first one instead of making another.
func idFromKey(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))[:24]
}

// newItemID names a prescription item (the spec's UUID).
func newItemID() string { return uuid.NewString() }
