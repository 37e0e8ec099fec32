package cloud

import (
	"errors"
	"net"

	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// This file is the one place where AWS error codes are given a meaning.
// EC2 reports errors as codes in the response body; the SDK surfaces them as
// smithy.APIError, wrapped in operation and retry errors, so every check below
// unwraps with errors.As and works on errors wrapped with %w.

// ErrReadOnly is returned by every mutating method of a ReadOnly client.
var ErrReadOnly = errors.New("read-only client: mutating EC2 call refused")

var (
	notFoundCodes = codeSet(
		"InvalidInstanceID.NotFound",
		"InvalidLaunchTemplateName.NotFoundException",
		"InvalidLaunchTemplateId.NotFound",
		"InvalidLaunchTemplateId.VersionNotFound",
		"InvalidGroup.NotFound",
		"InvalidGroupId.NotFound",
		"InvalidSecurityGroupID.NotFound",
		"InvalidPermission.NotFound",
		"InvalidAMIID.NotFound",
		"InvalidVpcID.NotFound",
		"InvalidSubnetID.NotFound",
		// DescribeInstanceTypes with a type the region does not offer.
		"InvalidInstanceType",
	)
	throttleCodes = codeSet(
		"RequestLimitExceeded",
		"Throttling",
		"ThrottlingException",
		"EC2ThrottledException",
	)
	dependencyCodes = codeSet(
		"DependencyViolation",
		"InvalidGroup.InUse",
	)
	alreadyExistsCodes = codeSet(
		"InvalidLaunchTemplateName.AlreadyExistsException",
		"InvalidGroup.Duplicate",
		"InvalidPermission.Duplicate",
	)
	authCodes = codeSet(
		"AuthFailure",
		"UnauthorizedOperation",
		"InvalidClientTokenId",
		"ExpiredToken",
		"SignatureDoesNotMatch",
		"AccessDenied",
	)
	serverCodes = codeSet(
		"InternalError",
		"InternalFailure",
		"ServiceUnavailable",
		"Unavailable",
		"RequestTimeout",
		"RequestTimeoutException",
	)
	// perInstanceCodes are failures of a Stop or Terminate call that one bad
	// instance ID causes for the whole batch: EC2 acts on none of the IDs and
	// names only the first offender, so the batch must be retried one by one.
	perInstanceCodes = codeSet(
		"InvalidInstanceID.NotFound",
		"InvalidInstanceID.Malformed",
		"OperationNotPermitted",
		"IncorrectInstanceState",
		"UnsupportedOperation",
	)
)

func codeSet(codes ...string) map[string]bool {
	m := make(map[string]bool, len(codes))
	for _, c := range codes {
		m[c] = true
	}
	return m
}

// Code returns the AWS error code carried by err, or "" if err is not an AWS
// API error.
func Code(err error) string {
	if apiErr, ok := errors.AsType[smithy.APIError](err); ok {
		return apiErr.ErrorCode()
	}
	return ""
}

// IsNotFound reports whether err says the resource does not exist (any more).
func IsNotFound(err error) bool { return notFoundCodes[Code(err)] }

// IsThrottled reports whether EC2 refused the request for its rate limit.
func IsThrottled(err error) bool { return throttleCodes[Code(err)] }

// IsDependencyViolation reports whether the resource is still in use, e.g. a
// security group still attached to an instance.
func IsDependencyViolation(err error) bool { return dependencyCodes[Code(err)] }

// IsAlreadyExists reports whether the resource or rule being created exists already.
func IsAlreadyExists(err error) bool { return alreadyExistsCodes[Code(err)] }

// IsTerminationProtected reports whether EC2 refused because the instance has
// termination (or stop) protection.
func IsTerminationProtected(err error) bool { return Code(err) == "OperationNotPermitted" }

// IsIncorrectState reports whether the instance is in a state that does not
// allow the operation, e.g. stopping a terminated instance.
func IsIncorrectState(err error) bool { return Code(err) == "IncorrectInstanceState" }

// IsDryRun reports whether err is EC2's answer to a successful DryRun request.
func IsDryRun(err error) bool { return Code(err) == "DryRunOperation" }

// IsAuth reports whether the credentials are missing, expired or lack a permission.
func IsAuth(err error) bool { return authCodes[Code(err)] }

// IsRetryable reports whether trying again later may succeed: throttling,
// server-side faults (5xx) and timeouts.
func IsRetryable(err error) bool {
	if err == nil {
		return false
	}
	if IsThrottled(err) || serverCodes[Code(err)] {
		return true
	}
	if status, ok := errors.AsType[*smithyhttp.ResponseError](err); ok && status.HTTPStatusCode() >= 500 {
		return true
	}
	if netErr, ok := errors.AsType[net.Error](err); ok && netErr.Timeout() {
		return true
	}
	return false
}

// isPerInstance reports whether a failed Stop or Terminate batch should be
// retried one ID at a time.
func isPerInstance(err error) bool { return perInstanceCodes[Code(err)] }
