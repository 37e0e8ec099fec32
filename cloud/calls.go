package cloud

import (
	"context"

	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/smithy-go/middleware"
)

// callObserver reports every attempt of every API call to onCall. It sits in
// the Finalize step after the retryer, so a throttled request that the SDK
// retries is reported once per attempt, with its error code: that is what
// EC2's rate limits count.
func callObserver(onCall func(service, action string, err error)) func(*middleware.Stack) error {
	return func(stack *middleware.Stack) error {
		return stack.Finalize.Add(middleware.FinalizeMiddlewareFunc("launchwarden.OnCall",
			func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
				out, md, err := next.HandleFinalize(ctx, in)
				onCall(awsmiddleware.GetServiceID(ctx), awsmiddleware.GetOperationName(ctx), err)
				return out, md, err
			}), middleware.After)
	}
}
