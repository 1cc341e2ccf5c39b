package api

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3gen"

	"hospital/lib/problem"
)

// Info names the API in its document.
type Info struct {
	Title       string
	Version     string
	Description string
}

// AccessExtension is the operation member that says who may call it, for
// tools (the gateway's fuzz suite reads it).
const AccessExtension = "x-access"

// Document is the OpenAPI 3 description of routes: every operation with its
// parameters, request and response schemas, who may call it, and the
// problem+json body of every error.
func Document(info Info, routes []Route) (*openapi3.T, error) {
	doc := &openapi3.T{
		OpenAPI: "3.0.3",
		Info:    &openapi3.Info{Title: info.Title, Version: info.Version, Description: info.Description},
		Paths:   openapi3.NewPaths(),
		Components: &openapi3.Components{SecuritySchemes: openapi3.SecuritySchemes{
			"bearer": &openapi3.SecuritySchemeRef{Value: openapi3.NewJWTSecurityScheme()},
		}},
	}
	if doc.Info.Version == "" {
		doc.Info.Version = "1"
	}
	for _, r := range routes {
		op, err := operation(r)
		if err != nil {
			return nil, fmt.Errorf("openapi %s %s: %w", r.Method, r.Path, err)
		}
		path := pathVar.ReplaceAllString(r.Path, "{$1}")
		item := doc.Paths.Value(path)
		if item == nil {
			item = &openapi3.PathItem{}
			doc.Paths.Set(path, item)
		}
		item.SetOperation(r.Method, op)
	}
	return doc, nil
}

func operation(r Route) (*openapi3.Operation, error) {
	op := &openapi3.Operation{
		Summary:     r.Summary,
		Description: strings.TrimSpace(r.Description + "\n\nWho may call: " + r.Access.String() + "."),
		OperationID: operationID(r),
		Responses:   openapi3.NewResponses(),
		Extensions:  map[string]any{AccessExtension: r.Access.String()},
	}
	if r.Access.public {
		op.Security = &openapi3.SecurityRequirements{}
	} else {
		op.Security = &openapi3.SecurityRequirements{{"bearer": []string{}}}
	}
	for _, m := range pathVar.FindAllStringSubmatch(r.Path, -1) {
		s := openapi3.NewStringSchema()
		if m[2] == "[0-9]+" {
			s = openapi3.NewInt64Schema().WithMin(1)
		}
		op.AddParameter(openapi3.NewPathParameter(m[1]).WithSchema(s))
	}
	for _, q := range r.Query {
		p := openapi3.NewQueryParameter(q.Name).WithSchema(paramSchema(q)).WithDescription(q.Description)
		p.Required = q.Required
		op.AddParameter(p)
	}
	for _, h := range r.Headers {
		p := openapi3.NewHeaderParameter(h.Name).WithSchema(paramSchema(h)).WithDescription(h.Description)
		p.Required = h.Required
		op.AddParameter(p)
	}
	if r.Request != nil {
		s, err := requestSchema(r.Request)
		if err != nil {
			return nil, err
		}
		body := openapi3.NewRequestBody().WithJSONSchemaRef(s)
		body.Required = !r.OptionalBody
		op.RequestBody = &openapi3.RequestBodyRef{Value: body}
	}
	for _, status := range append([]int{r.status()}, r.OtherStatuses...) {
		ok := openapi3.NewResponse().WithDescription(statusText(status))
		if r.Response != nil {
			s, err := responseSchema(r.Response)
			if err != nil {
				return nil, err
			}
			ok.WithJSONSchemaRef(s)
		}
		op.AddResponse(status, ok)
	}
	// Every error is a problem; listing each status would only repeat this.
	op.Responses.Set("default", &openapi3.ResponseRef{Value: openapi3.NewResponse().
		WithDescription("An error, as RFC 9457 problem details.").
		WithContent(openapi3.Content{problem.ContentType: openapi3.NewMediaType().WithSchema(problemSchema)})})
	return op, nil
}

func operationID(r Route) string {
	p := pathVar.ReplaceAllString(r.Path, "by_$1")
	p = strings.NewReplacer("/api/v1/", "", "/", "_", "-", "_", ".", "_").Replace(p)
	return strings.ToLower(r.Method) + "_" + strings.Trim(p, "_")
}

func statusText(code int) string {
	if code == 204 {
		return "No content."
	}
	return "Success (" + strconv.Itoa(code) + ")."
}

func paramSchema(p Param) *openapi3.Schema {
	var s *openapi3.Schema
	switch p.Type {
	case "integer":
		s = openapi3.NewInt64Schema()
	case "boolean":
		s = openapi3.NewStringSchema().WithEnum("true", "false", "1", "0", "True", "False")
	case "number":
		s = openapi3.NewFloat64Schema()
	case "date":
		s = openapi3.NewStringSchema().WithFormat("date")
	case "date-time":
		s = openapi3.NewDateTimeSchema()
	default:
		s = openapi3.NewStringSchema()
	}
	if len(p.Enum) > 0 {
		vals := make([]any, len(p.Enum))
		for i, v := range p.Enum {
			vals[i] = v
		}
		s.Enum = vals
	}
	return s
}

// problemSchema is the body of every error answer.
var problemSchema = func() *openapi3.Schema {
	s := openapi3.NewObjectSchema().
		WithProperty("type", openapi3.NewStringSchema()).
		WithProperty("title", openapi3.NewStringSchema()).
		WithProperty("status", openapi3.NewIntegerSchema()).
		WithProperty("detail", openapi3.NewStringSchema()).
		WithProperty("instance", openapi3.NewStringSchema()).
		WithProperty("request_id", openapi3.NewStringSchema()).
		WithProperty("code", openapi3.NewStringSchema()).
		WithProperty("errors", openapi3.NewObjectSchema().WithAdditionalProperties(openapi3.NewArraySchema().WithItems(openapi3.NewStringSchema())))
	s.Required = []string{"type", "title", "status", "detail"}
	return s
}()

// Schemer lets a type describe its own JSON form (a decimal string, a date).
type Schemer interface {
	OpenAPISchema() *openapi3.Schema
}

var (
	schemerType   = reflect.TypeFor[Schemer]()
	timeType      = reflect.TypeFor[time.Time]()
	marshalerType = reflect.TypeFor[json.Marshaler]()
)

func requestSchema(v any) (*openapi3.SchemaRef, error) {
	return openapi3gen.NewSchemaRefForValue(v, nil, openapi3gen.SchemaCustomizer(customize(true)))
}

func responseSchema(v any) (*openapi3.SchemaRef, error) {
	return openapi3gen.NewSchemaRefForValue(v, nil, openapi3gen.SchemaCustomizer(customize(false)))
}

// customize turns Go types and tags into the schema a client sees. For a
// request, `validate` tags give required fields and bounds, and unknown
// fields are refused (the decoder refuses them); for a response, every field
// without omitempty is always present.
func customize(request bool) openapi3gen.SchemaCustomizerFn {
	return func(name string, t reflect.Type, tag reflect.StructTag, s *openapi3.Schema) error {
		if own, ok := ownSchema(t); ok {
			// The generator marked a pointer field nullable: keep that.
			nullable := s.Nullable
			*s = *own
			s.Nullable = s.Nullable || nullable
			return nil
		}
		if t.Kind() == reflect.Struct && !reflect.PointerTo(t).Implements(marshalerType) && !t.Implements(marshalerType) {
			s.Required = requiredFields(t, request)
			if request && s.Properties != nil {
				no := false
				s.AdditionalProperties = openapi3.AdditionalProperties{Has: &no}
			}
		}
		if request {
			applyValidateTag(tag.Get("validate"), t, s)
		}
		return nil
	}
}

func ownSchema(t reflect.Type) (*openapi3.Schema, bool) {
	if t == timeType {
		return openapi3.NewDateTimeSchema(), true
	}
	for _, tt := range []reflect.Type{t, reflect.PointerTo(t)} {
		if tt.Implements(schemerType) {
			v := reflect.New(t).Elem()
			if tt.Kind() == reflect.Pointer {
				v = reflect.New(t)
			}
			return v.Interface().(Schemer).OpenAPISchema(), true
		}
	}
	if t.Kind() == reflect.Struct && (t.Implements(marshalerType) || reflect.PointerTo(t).Implements(marshalerType)) {
		// A struct with its own JSON form that says nothing more: a string
		// (decimals, dates) is what the platform's types marshal to.
		return openapi3.NewStringSchema(), true
	}
	return nil, false
}

func requiredFields(t reflect.Type, request bool) []string {
	var req []string
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if f.Anonymous && name == "" {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				req = append(req, requiredFields(ft, request)...)
			}
			continue
		}
		if name == "" {
			continue
		}
		v := f.Tag.Get("validate")
		if request && (strings.HasPrefix(v, "required") && !strings.HasPrefix(v, "required_")) {
			req = append(req, name)
		}
		if !request && !strings.Contains(opts, "omitempty") {
			req = append(req, name)
		}
	}
	return req
}

// applyValidateTag copies the bounds of a go-playground validate tag.
func applyValidateTag(tag string, t reflect.Type, s *openapi3.Schema) {
	if tag == "" {
		return
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	for rule := range strings.SplitSeq(tag, ",") {
		if rule == "dive" {
			return // later rules apply to elements
		}
		k, v, _ := strings.Cut(rule, "=")
		n, err := strconv.ParseFloat(v, 64)
		switch {
		case k == "oneof" && t.Kind() == reflect.String:
			for o := range strings.FieldsSeq(v) {
				s.Enum = append(s.Enum, o)
			}
		case k == "email":
			s.Format = "email"
		case (k == "max" || k == "min") && err == nil && t.Kind() == reflect.String:
			if k == "max" {
				s.MaxLength = ptr(uint64(n))
			} else {
				s.MinLength = uint64(n)
			}
		case (k == "max" || k == "min") && err == nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Map):
			if k == "max" {
				if t.Kind() == reflect.Slice {
					s.MaxItems = ptr(uint64(n))
				} else {
					s.MaxProps = ptr(uint64(n))
				}
			} else if t.Kind() == reflect.Slice {
				s.MinItems = uint64(n)
			}
		case (k == "max" || k == "lte") && err == nil && numeric(t):
			s.Max = &n
		case (k == "min" || k == "gte") && err == nil && numeric(t):
			s.Min = &n
		case k == "gt" && err == nil && numeric(t):
			s.Min, s.ExclusiveMin = &n, openapi3.ExclusiveBound{Bool: ptr(true)}
		case k == "lt" && err == nil && numeric(t):
			s.Max, s.ExclusiveMax = &n, openapi3.ExclusiveBound{Bool: ptr(true)}
		}
	}
}

func numeric(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		return true
	}
	return false
}

func ptr[T any](v T) *T { return &v }
