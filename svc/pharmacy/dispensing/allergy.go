package dispensing

import (
	"strings"
	"unicode"
)

// allergyMatches finds the recorded allergies each medication matches: an
// allergy names the medication's name or generic name as a whole word or
// words ("Penicillin" matches "Penicillin V 250mg"), or contains its generic
// name ("Paracetamol (acetaminophen)" matches Paracetamol). Drug classes
// ("sulfa drugs" against sulfamethoxazole) are not known here.
func allergyMatches(allergies []string, meds []Medication) []AllergyMatch {
	var out []AllergyMatch
	seen := map[[2]string]bool{}
	for _, m := range meds {
		name, generic := normalize(m.Name), normalize(m.GenericName)
		for _, raw := range allergies {
			a := normalize(raw)
			if a == "" {
				continue
			}
			if containsWord(name, a) || containsWord(generic, a) || (generic != "" && containsWord(a, generic)) {
				k := [2]string{raw, m.ID}
				if !seen[k] {
					seen[k] = true
					out = append(out, AllergyMatch{Allergy: raw, MedicationID: m.ID, MedicationName: m.Name})
				}
			}
		}
	}
	return out
}

// normalize lowers s and collapses its spaces.
func normalize(s string) string { return strings.Join(strings.Fields(strings.ToLower(s)), " ") }

// containsWord reports whether needle occurs in hay between word
// boundaries (anything but a letter or a digit, or an end).
func containsWord(hay, needle string) bool {
	if needle == "" {
		return false
	}
	for i := 0; ; {
		j := strings.Index(hay[i:], needle)
		if j < 0 {
			return false
		}
		start, end := i+j, i+j+len(needle)
		if boundaryBefore(hay, start) && boundaryAfter(hay, end) {
			return true
		}
		i = start + 1
		if i >= len(hay) {
			return false
		}
	}
}

func boundaryBefore(s string, i int) bool {
	if i == 0 {
		return true
	}
	r := []rune(s[:i])
	return !isWordRune(r[len(r)-1])
}

func boundaryAfter(s string, i int) bool {
	if i >= len(s) {
		return true
	}
	for _, r := range s[i:] {
		return !isWordRune(r)
	}
	return true
}

func isWordRune(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }
