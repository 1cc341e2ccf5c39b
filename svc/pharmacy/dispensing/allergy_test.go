package dispensing

import "testing"

func TestAllergyMatching(t *testing.T) {
	para := Medication{ID: "p", Name: "Paracetamol 500mg", GenericName: "Paracetamol"}
	amox := Medication{ID: "a", Name: "Amoxicillin 500mg", GenericName: "Amoxicillin"}
	pen := Medication{ID: "n", Name: "Penicillin V 250mg", GenericName: "Phenoxymethylpenicillin"}
	cases := []struct {
		allergies []string
		meds      []Medication
		want      []string // medication ids matched, in order
	}{
		{[]string{"Peanuts", "Latex"}, []Medication{para, amox}, nil},
		{[]string{"paracetamol"}, []Medication{para, amox}, []string{"p"}},
		{[]string{"Paracetamol (acetaminophen)"}, []Medication{para}, []string{"p"}},
		{[]string{"  AMOXICILLIN  "}, []Medication{para, amox}, []string{"a"}},
		{[]string{"Penicillin"}, []Medication{pen, amox}, []string{"n"}}, // by name; classes are not known
		{[]string{"cillin"}, []Medication{amox, pen}, nil},               // not a whole word
		{[]string{"Amoxicillin", "amoxicillin"}, []Medication{amox}, []string{"a", "a"}},
		{[]string{""}, []Medication{amox}, nil},
	}
	for _, c := range cases {
		got := allergyMatches(c.allergies, c.meds)
		var ids []string
		for _, m := range got {
			ids = append(ids, m.MedicationID)
		}
		if len(ids) != len(c.want) {
			t.Fatalf("%v against %v: %v, want %v", c.allergies, c.meds, ids, c.want)
		}
		for i := range ids {
			if ids[i] != c.want[i] {
				t.Fatalf("%v: %v, want %v", c.allergies, ids, c.want)
			}
		}
	}
}
