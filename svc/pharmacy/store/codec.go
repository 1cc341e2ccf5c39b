package store

import (
	"bytes"
	"fmt"
	"reflect"

	"github.com/shopspring/decimal"
	"go.mongodb.org/mongo-driver/v2/bson"

	"hospital/svc/pharmacy/dispensing"
)

var moneyType = reflect.TypeFor[dispensing.Money]()

// Registry is the BSON registry of the pharmacy's database: the driver's,
// with money kept as its decimal string ("1000.00"), which every MongoDB
// server and FerretDB store and compare alike.
func Registry() *bson.Registry {
	r := bson.NewRegistry()
	r.RegisterTypeEncoder(moneyType, bson.ValueEncoderFunc(func(_ bson.EncodeContext, vw bson.ValueWriter, v reflect.Value) error {
		return vw.WriteString(v.Interface().(dispensing.Money).String())
	}))
	r.RegisterTypeDecoder(moneyType, bson.ValueDecoderFunc(func(_ bson.DecodeContext, vr bson.ValueReader, v reflect.Value) error {
		s, err := vr.ReadString()
		if err != nil {
			return fmt.Errorf("money: %w", err)
		}
		d, err := decimal.NewFromString(s)
		if err != nil {
			return fmt.Errorf("money %q: %w", s, err)
		}
		v.Set(reflect.ValueOf(dispensing.Money{Decimal: d}))
		return nil
	}))
	return r
}

var registry = Registry()

// document encodes v with Registry, for the libraries that encode with the
// driver's default registry (mongoqueue.Queue.Insert).
func document(v any) (bson.D, error) {
	var buf bytes.Buffer
	enc := bson.NewEncoder(bson.NewDocumentWriter(&buf))
	enc.SetRegistry(registry)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("encode %T: %w", v, err)
	}
	var d bson.D
	if err := bson.Unmarshal(buf.Bytes(), &d); err != nil {
		return nil, fmt.Errorf("encode %T: %w", v, err)
	}
	return d, nil
}
