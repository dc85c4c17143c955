// Package wire holds what the feature harness (client side) and the reference Go worker must
// agree on: the upstream codec feature's payload codec and the workflow arguments both build.
package wire

import (
	"encoding/base64"

	commonpb "go.temporal.io/api/common/v1"
	"google.golang.org/protobuf/proto"
)

// Base64 is the upstream codec feature's codec: the whole payload, serialized, in base64
// under the encoding "my-encoding".
type Base64 struct{}

func (Base64) Encode(ps []*commonpb.Payload) ([]*commonpb.Payload, error) {
	out := make([]*commonpb.Payload, len(ps))
	for i, p := range ps {
		b, err := proto.Marshal(p)
		if err != nil {
			return nil, err
		}
		out[i] = &commonpb.Payload{
			Metadata: map[string][]byte{"encoding": []byte("my-encoding")},
			Data:     []byte(base64.StdEncoding.EncodeToString(b)),
		}
	}
	return out, nil
}

func (Base64) Decode(ps []*commonpb.Payload) ([]*commonpb.Payload, error) {
	out := make([]*commonpb.Payload, len(ps))
	for i, p := range ps {
		if string(p.GetMetadata()["encoding"]) != "my-encoding" {
			out[i] = p
			continue
		}
		b, err := base64.StdEncoding.DecodeString(string(p.GetData()))
		if err != nil {
			return nil, err
		}
		out[i] = &commonpb.Payload{}
		if err := proto.Unmarshal(b, out[i]); err != nil {
			return nil, err
		}
	}
	return out, nil
}
