// Reference implementations of features/data_converter/{binary_protobuf,json_protobuf}: echo
// workflows of a DataBlob (upstream's Go feature code).
package main

import (
	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/workflow"
)

func init() {
	echo := func(_ workflow.Context, b *commonpb.DataBlob) (*commonpb.DataBlob, error) { return b, nil }
	register("data_converter/binary_protobuf", &feature{
		workflows: []namedWorkflow{{"Workflow", echo}},
		client: func(o *client.Options) {
			o.DataConverter = converter.NewCompositeDataConverter(
				converter.NewNilPayloadConverter(), converter.NewProtoPayloadConverter())
		},
	})
	register("data_converter/json_protobuf", &feature{workflows: []namedWorkflow{{"Workflow", echo}}})
}
