package cloud

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"github.com/google/go-cmp/cmp"
)

// apiError builds an error the way the SDK returns it: the API error inside a
// response error inside an operation error, wrapped once more by our caller.
func apiError(status int, code string) error {
	return fmt.Errorf("stopping instances: %w", &smithy.OperationError{
		ServiceID:     "EC2",
		OperationName: "StopInstances",
		Err: &awshttp.ResponseError{
			ResponseError: &smithyhttp.ResponseError{
				Response: &smithyhttp.Response{Response: &http.Response{StatusCode: status}},
				Err:      &smithy.GenericAPIError{Code: code, Message: "test"},
			},
			RequestID: "req-1",
		},
	})
}

type timeoutError struct{}

func (timeoutError) Error() string   { return "i/o timeout" }
func (timeoutError) Timeout() bool   { return true }
func (timeoutError) Temporary() bool { return true }

// classes is what every classifier says about one error.
type classes struct {
	Code                                                 string
	NotFound, Throttled, Dependency, Exists, Protected   bool
	IncorrectState, DryRun, Auth, Retryable, PerInstance bool
}

func classify(err error) classes {
	return classes{
		Code:           Code(err),
		NotFound:       IsNotFound(err),
		Throttled:      IsThrottled(err),
		Dependency:     IsDependencyViolation(err),
		Exists:         IsAlreadyExists(err),
		Protected:      IsTerminationProtected(err),
		IncorrectState: IsIncorrectState(err),
		DryRun:         IsDryRun(err),
		Auth:           IsAuth(err),
		Retryable:      IsRetryable(err),
		PerInstance:    isPerInstance(err),
	}
}

func TestClassify(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want classes
	}{
		{"nil", nil, classes{}},
		{"plain error", errors.New("boom"), classes{}},
		{"context canceled", context.Canceled, classes{}},
		{"instance not found", apiError(400, "InvalidInstanceID.NotFound"),
			classes{Code: "InvalidInstanceID.NotFound", NotFound: true, PerInstance: true}},
		{"malformed instance id", apiError(400, "InvalidInstanceID.Malformed"),
			classes{Code: "InvalidInstanceID.Malformed", PerInstance: true}},
		{"template name not found", apiError(400, "InvalidLaunchTemplateName.NotFoundException"),
			classes{Code: "InvalidLaunchTemplateName.NotFoundException", NotFound: true}},
		{"template id not found", apiError(400, "InvalidLaunchTemplateId.NotFound"),
			classes{Code: "InvalidLaunchTemplateId.NotFound", NotFound: true}},
		{"template version not found", apiError(400, "InvalidLaunchTemplateId.VersionNotFound"),
			classes{Code: "InvalidLaunchTemplateId.VersionNotFound", NotFound: true}},
		{"group not found", apiError(400, "InvalidGroup.NotFound"),
			classes{Code: "InvalidGroup.NotFound", NotFound: true}},
		{"permission not found", apiError(400, "InvalidPermission.NotFound"),
			classes{Code: "InvalidPermission.NotFound", NotFound: true}},
		{"request limit", apiError(503, "RequestLimitExceeded"),
			classes{Code: "RequestLimitExceeded", Throttled: true, Retryable: true}},
		{"throttling", apiError(400, "Throttling"),
			classes{Code: "Throttling", Throttled: true, Retryable: true}},
		{"throttling exception", apiError(400, "ThrottlingException"),
			classes{Code: "ThrottlingException", Throttled: true, Retryable: true}},
		{"dependency violation", apiError(400, "DependencyViolation"),
			classes{Code: "DependencyViolation", Dependency: true}},
		{"template exists", apiError(400, "InvalidLaunchTemplateName.AlreadyExistsException"),
			classes{Code: "InvalidLaunchTemplateName.AlreadyExistsException", Exists: true}},
		{"group exists", apiError(400, "InvalidGroup.Duplicate"),
			classes{Code: "InvalidGroup.Duplicate", Exists: true}},
		{"rule exists", apiError(400, "InvalidPermission.Duplicate"),
			classes{Code: "InvalidPermission.Duplicate", Exists: true}},
		{"termination protection", apiError(400, "OperationNotPermitted"),
			classes{Code: "OperationNotPermitted", Protected: true, PerInstance: true}},
		{"incorrect state", apiError(400, "IncorrectInstanceState"),
			classes{Code: "IncorrectInstanceState", IncorrectState: true, PerInstance: true}},
		{"dry run", apiError(412, "DryRunOperation"),
			classes{Code: "DryRunOperation", DryRun: true}},
		{"auth failure", apiError(401, "AuthFailure"),
			classes{Code: "AuthFailure", Auth: true}},
		{"unauthorized", apiError(403, "UnauthorizedOperation"),
			classes{Code: "UnauthorizedOperation", Auth: true}},
		{"bad token", apiError(403, "InvalidClientTokenId"),
			classes{Code: "InvalidClientTokenId", Auth: true}},
		{"expired token", apiError(400, "ExpiredToken"),
			classes{Code: "ExpiredToken", Auth: true}},
		{"internal error", apiError(500, "InternalError"),
			classes{Code: "InternalError", Retryable: true}},
		{"unknown code on 503", apiError(503, "SomethingNew"),
			classes{Code: "SomethingNew", Retryable: true}},
		{"unknown code on 400", apiError(400, "SomethingNew"),
			classes{Code: "SomethingNew"}},
		{"network timeout", fmt.Errorf("dial: %w", timeoutError{}),
			classes{Retryable: true}},
		{"read-only refusal", fmt.Errorf("terminating: %w", ErrReadOnly), classes{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, classify(tt.err)); diff != "" {
				t.Errorf("classes (-want +got):\n%s", diff)
			}
		})
	}
}
