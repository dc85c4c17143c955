// features/data_converter/{binary_protobuf,json_protobuf}: a DataBlob echoed by the worker keeps
// its protobuf encoding and message type, and the result payload is the argument's.
package main

import (
	"context"
	"fmt"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/api/temporalproto"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/proto"
)

func init() {
	register(
		&Feature{
			Name: "data_converter/binary_protobuf", Issue: 11, Source: "go",
			ClientOptions: func(o *client.Options) {
				// upstream: only the nil and binary protobuf converters
				o.DataConverter = converter.NewCompositeDataConverter(
					converter.NewNilPayloadConverter(), converter.NewProtoPayloadConverter())
			},
			Execute: func(ctx context.Context, r *Runner) (client.WorkflowRun, error) {
				return r.ExecuteWithArgs(ctx, &commonpb.DataBlob{Data: []byte{0xde, 0xad, 0xbe, 0xef}})
			},
			CheckResult: checkProtobufEcho("binary/protobuf"),
		},
		&Feature{
			Name: "data_converter/json_protobuf", Issue: 11, Source: "go",
			Execute: func(ctx context.Context, r *Runner) (client.WorkflowRun, error) {
				return r.ExecuteWithArgs(ctx, &commonpb.DataBlob{Data: []byte{0xde, 0xad, 0xbe, 0xef}})
			},
			CheckResult: checkProtobufEcho("json/protobuf"),
		},
	)
}

func checkProtobufEcho(encoding string) func(ctx context.Context, r *Runner, run client.WorkflowRun) error {
	return func(ctx context.Context, r *Runner, run client.WorkflowRun) error {
		want := &commonpb.DataBlob{Data: []byte{0xde, 0xad, 0xbe, 0xef}}
		got := &commonpb.DataBlob{}
		if err := run.Get(ctx, got); err != nil {
			return err
		}
		if !proto.Equal(want, got) {
			return fmt.Errorf("result: want %v, got %v", want, got)
		}
		payload, err := resultPayload(ctx, r, run)
		if err != nil {
			return err
		}
		if err := firstErr(expectEqual("result encoding", encoding, string(payload.GetMetadata()["encoding"])),
			expectEqual("result messageType", "temporal.api.common.v1.DataBlob",
				string(payload.GetMetadata()["messageType"]))); err != nil {
			return err
		}
		inHistory := &commonpb.DataBlob{}
		if encoding == "json/protobuf" {
			var opts temporalproto.CustomJSONUnmarshalOptions
			err = opts.Unmarshal(payload.GetData(), inHistory)
		} else {
			err = proto.Unmarshal(payload.GetData(), inHistory)
		}
		if err != nil {
			return fmt.Errorf("result payload data: %w", err)
		}
		if !proto.Equal(want, inHistory) {
			return fmt.Errorf("result in history: want %v, got %v", want, inHistory)
		}
		return sameAsArgument(ctx, r, run, payload)
	}
}
