package main

import (
	"context"

	"go.temporal.io/sdk/activity"
)

func activityHeartbeat(ctx context.Context) { activity.RecordHeartbeat(ctx) }
