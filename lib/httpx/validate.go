package httpx

import (
	"errors"
	"fmt"
	"reflect"
	"strings"

	"github.com/go-playground/validator/v10"

	"hospital/lib/apperr"
)

var validate = newValidator()

func newValidator() *validator.Validate {
	v := validator.New(validator.WithRequiredStructEnabled())
	v.RegisterTagNameFunc(func(f reflect.StructField) string {
		name := strings.SplitN(f.Tag.Get("json"), ",", 2)[0]
		if name == "-" {
			return ""
		}
		if name == "" {
			return f.Name
		}
		return name
	})
	return v
}

// Validate checks `validate:"..."` struct tags and turns failures into a 400
// problem with DRF-style per-field messages keyed by JSON field name.
func Validate(v any) error {
	err := validate.Struct(v)
	if err == nil {
		return nil
	}
	var verrs validator.ValidationErrors
	if !errors.As(err, &verrs) {
		var inv *validator.InvalidValidationError
		if errors.As(err, &inv) {
			return nil // not a struct: nothing to validate
		}
		return fmt.Errorf("validate: %w", err)
	}
	fields := map[string][]string{}
	for _, fe := range verrs {
		name := fe.Namespace()
		if i := strings.IndexByte(name, '.'); i >= 0 {
			name = name[i+1:]
		}
		fields[name] = append(fields[name], message(fe))
	}
	return apperr.Validation(fields)
}

func message(fe validator.FieldError) string {
	switch fe.Tag() {
	case "required", "required_without", "required_with":
		return "This field is required."
	case "email":
		return "Enter a valid email address."
	case "url", "http_url":
		return "Enter a valid URL."
	case "max":
		if fe.Kind() == reflect.String {
			return fmt.Sprintf("Ensure this field has no more than %s characters.", fe.Param())
		}
		if fe.Kind() == reflect.Slice {
			return fmt.Sprintf("Ensure this field has no more than %s elements.", fe.Param())
		}
		return fmt.Sprintf("Ensure this value is less than or equal to %s.", fe.Param())
	case "min":
		if fe.Kind() == reflect.String {
			return fmt.Sprintf("Ensure this field has at least %s characters.", fe.Param())
		}
		if fe.Kind() == reflect.Slice {
			return fmt.Sprintf("Ensure this field has at least %s elements.", fe.Param())
		}
		return fmt.Sprintf("Ensure this value is greater than or equal to %s.", fe.Param())
	case "gt", "gte", "lt", "lte":
		return fmt.Sprintf("Ensure this value is %s %s.", map[string]string{"gt": "greater than", "gte": "greater than or equal to", "lt": "less than", "lte": "less than or equal to"}[fe.Tag()], fe.Param())
	case "oneof":
		return fmt.Sprintf("Must be one of: %s.", strings.ReplaceAll(fe.Param(), " ", ", "))
	case "e164":
		return "Enter a valid phone number in international format, e.g. +84901234567."
	default:
		return fmt.Sprintf("Failed the %q check.", fe.Tag())
	}
}
