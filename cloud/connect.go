package cloud

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go/middleware"
)

// Retry defaults. EC2 throttles per account and region, and a throttled
// request is worth waiting for: a failed listing aborts the whole run.
const (
	defaultMaxAttempts = 8
	defaultMaxBackoff  = 30 * time.Second
	// maxConcurrentObservations bounds ObserveAll. Rate limits are per account
	// and region, so regions can be observed side by side.
	maxConcurrentObservations = 8
	roleSessionName           = "launchwarden"
)

// Account is one AWS account launchwarden manages.
type Account struct {
	// Name is the account's name in launchwarden.toml, for messages.
	Name string
	// ID is the 12-digit account ID. If empty, it is taken from RoleARN.
	ID string
	// RoleARN is the role to assume in the account; empty means using the
	// default credentials as they are.
	RoleARN string
	// Regions are the regions managed in the account.
	Regions []string
	// Where says where the account is configured, e.g.
	// "launchwarden.toml:12", for the message when VerifyAccounts fails.
	Where string
}

// ConnectOptions configure Connect.
type ConnectOptions struct {
	// Profile is the shared-config profile for the base credentials; empty
	// means the default credential chain.
	Profile string
	// EndpointURL, if set, replaces the AWS endpoints of EC2 and STS, e.g. for
	// the cloud/ec2sim emulator.
	EndpointURL string
	Accounts    []Account
	// HTTPClient, if set, carries every request.
	HTTPClient *http.Client
	// MaxAttempts and MaxBackoff tune the SDK's standard retryer; zero means 8
	// attempts and 30s.
	MaxAttempts int
	MaxBackoff  time.Duration
	// Pacer makes every EC2 request wait for its token in EC2's request
	// rate buckets (see Pacer); nil means a new Pacer for the clients made
	// by this call. A long-lived process (serve) keeps one for its life, so
	// that its runs share what is left in the buckets.
	Pacer *Pacer
	// Unpaced turns pacing off, e.g. to set up the emulator's fleet fast.
	Unpaced bool
	// OnCall, if set, is called after every attempt of every EC2 and STS
	// call, retries included, with the service ("EC2", "STS"), the action
	// ("DescribeInstances") and the attempt's error (nil on success; Code
	// gives its AWS error code). It must be safe for concurrent use.
	OnCall func(service, action string, err error)
	// APIOptions are added to the middleware stack of every operation of
	// every EC2 and STS client Connect makes (as aws.Config.APIOptions),
	// beside launchwarden's own, so that a caller can look at each call:
	// middleware added to the Initialize step sees each operation once, with
	// its input (e.g. to record what a run asked); middleware after the
	// Finalize step's "Retry" sees each attempt. They must be safe for
	// concurrent use and must not change the calls.
	APIOptions []func(*middleware.Stack) error
}

// Connect returns one Client per account and region. The base credentials
// come from the default chain (or Profile); for an account with a RoleARN,
// they are used to assume that role, and the temporary credentials are cached
// and refreshed before they expire. No request is made until a client is used.
func Connect(ctx context.Context, opts ConnectOptions) ([]*Client, error) {
	maxAttempts := cmp.Or(opts.MaxAttempts, defaultMaxAttempts)
	maxBackoff := cmp.Or(opts.MaxBackoff, defaultMaxBackoff)
	loadOpts := []func(*config.LoadOptions) error{
		config.WithRetryer(func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				// Throttling codes (RequestLimitExceeded included) and 5xx are
				// retryable by default; what EC2 needs is more patience.
				o.MaxAttempts = maxAttempts
				o.MaxBackoff = maxBackoff
				// The default retry token bucket fails requests outright once
				// about a hundred throttles have been retried, which during a
				// large run would abort the observation; backoff alone bounds
				// the pressure we put on EC2.
				o.RateLimiter = ratelimit.None
			})
		}),
	}
	if opts.Profile != "" {
		loadOpts = append(loadOpts, config.WithSharedConfigProfile(opts.Profile))
	}
	if opts.EndpointURL != "" {
		loadOpts = append(loadOpts, config.WithBaseEndpoint(opts.EndpointURL))
	}
	if opts.HTTPClient != nil {
		loadOpts = append(loadOpts, config.WithHTTPClient(opts.HTTPClient))
	}
	cfg, err := config.LoadDefaultConfig(ctx, loadOpts...)
	if err != nil {
		return nil, fmt.Errorf("loading AWS configuration: %w", err)
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = awshttp.NewBuildableClient()
	}
	cfg.HTTPClient = plainBodyClient{cfg.HTTPClient}
	if opts.OnCall != nil {
		cfg.APIOptions = append(cfg.APIOptions, callObserver(opts.OnCall))
	}
	cfg.APIOptions = append(cfg.APIOptions, opts.APIOptions...)

	pacer := opts.Pacer
	switch {
	case opts.Unpaced:
		pacer = nil
	case pacer == nil:
		pacer = NewPacer()
	}

	var clients []*Client
	for _, acct := range opts.Accounts {
		if len(acct.Regions) == 0 {
			return nil, fmt.Errorf("account %s: no regions", acct.Name)
		}
		id := acct.ID
		if id == "" {
			id = accountFromARN(acct.RoleARN)
		}
		if id == "" {
			return nil, fmt.Errorf("account %s: neither an account ID nor a role ARN to take it from", acct.Name)
		}
		inRegion := func(o *sts.Options) {
			if o.Region == "" {
				o.Region = acct.Regions[0]
			}
		}
		creds := cfg.Credentials
		if acct.RoleARN != "" {
			creds = aws.NewCredentialsCache(stscreds.NewAssumeRoleProvider(sts.NewFromConfig(cfg, inRegion), acct.RoleARN,
				func(o *stscreds.AssumeRoleOptions) { o.RoleSessionName = roleSessionName }))
		}
		// Asked with the account's own credentials: whose are they?
		identity := sts.NewFromConfig(cfg, inRegion, func(o *sts.Options) { o.Credentials = creds })
		for _, region := range acct.Regions {
			api := ec2.NewFromConfig(cfg, func(o *ec2.Options) {
				o.Region = region
				o.Credentials = creds
				if pacer != nil {
					// A copy: the options of other clients share cfg's slice.
					o.APIOptions = append(slices.Clip(o.APIOptions), pacing(pacer, id, region))
				}
			})
			c := NewClient(api, id, region)
			c.sts, c.name, c.where = identity, acct.Name, acct.Where
			clients = append(clients, c)
		}
	}
	return clients, nil
}

// accountFromARN returns the account ID in an ARN such as
// "arn:aws:iam::123456789012:role/launchwarden", or "".
func accountFromARN(arn string) string {
	parts := strings.Split(arn, ":")
	if len(parts) < 6 || parts[0] != "arn" {
		return ""
	}
	return parts[4]
}

// plainBodyClient works around a race between the SDK and net/http that drops
// good responses to large requests (e.g. StopInstances with 1000 IDs).
// The SDK closes the request body as soon as the response headers arrive, and
// its closed body's WriteTo returns io.EOF. net/http, having sent ContentLength
// bytes, copies the body once more to check that nothing is left; when the
// server answered quickly, that copy hits the closed body, net/http takes the
// io.EOF for a failed write and closes the connection under the response being
// read. The SDK then retries an operation that succeeded, which for
// non-idempotent calls such as CreateSecurityGroup turns into a spurious
// "already exists". Hiding WriteTo makes the check a plain Read, which on a
// closed body is a clean end of file.
type plainBodyClient struct{ next aws.HTTPClient }

func (c plainBodyClient) Do(req *http.Request) (*http.Response, error) {
	if req.Body != nil && req.Body != http.NoBody {
		req.Body = struct{ io.ReadCloser }{req.Body}
	}
	return c.next.Do(req)
}

// ObserveAll observes every client's account and region concurrently. It is
// all or nothing: if any observation fails, it returns all the errors joined
// and no snapshot, since acting on part of the fleet would misjudge quotas.
// Snapshots are in the order of clients.
func ObserveAll(ctx context.Context, clients []*Client) ([]*Snapshot, error) {
	return ObserveAllWith(ctx, clients, func(*Client) Lookups { return Lookups{} })
}

// ObserveAllWith is ObserveAll with each client's lookups.
func ObserveAllWith(ctx context.Context, clients []*Client, lookups func(*Client) Lookups) ([]*Snapshot, error) {
	snaps := make([]*Snapshot, len(clients))
	errs := make([]error, len(clients))
	sem := make(chan struct{}, maxConcurrentObservations)
	var wg sync.WaitGroup
	for i, c := range clients {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			snaps[i], errs[i] = c.ObserveWith(ctx, lookups(c))
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return snaps, nil
}
