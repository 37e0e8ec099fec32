package main

import (
	"cmp"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/launchwarden/launchwarden/cloud"
	"github.com/launchwarden/launchwarden/lifecycle"
	"github.com/launchwarden/launchwarden/notify"
	"github.com/launchwarden/launchwarden/reconcile"
)

// Results of a serve run, the values of launchwarden_runs_total{result}.
const (
	resultOK = "ok" // the run did everything it planned
	// resultFailed: a problem was found (an undelivered digest, an action
	// withheld for it, a frozen project) or some operations failed; the
	// next run retries. The same runs make `run` exit 1.
	resultFailed = "failed"
	// resultAborted: nothing was done (no valid config yet, or a failed
	// observation).
	resultAborted = "aborted"
	resultHeld    = "held" // the safety cap held stops or terminations back
	// resultStaleConfig: the admin file failed to load, so the run kept the
	// last good config's templates true and did nothing else.
	resultStaleConfig = "stale_config"
)

var runResults = []string{resultOK, resultFailed, resultAborted, resultHeld, resultStaleConfig}

// metrics are serve's Prometheus metrics, in a registry of their own.
type metrics struct {
	reg *prometheus.Registry

	runs        *prometheus.CounterVec
	runDuration prometheus.Histogram
	lastSuccess prometheus.Gauge
	apiCalls    *prometheus.CounterVec
	actions     *prometheus.CounterVec
	notices     *prometheus.CounterVec
	noticeItems *prometheus.CounterVec
	digestsFail *prometheus.CounterVec
	withheld    *prometheus.CounterVec
	instances   *prometheus.GaugeVec
	quotaUsage  *prometheus.GaugeVec
	quotaLimit  *prometheus.GaugeVec
	frozen      prometheus.Gauge
	configStale prometheus.Gauge
	clicks      *prometheus.CounterVec
}

// Outcomes of a click on an Extend button, the values of
// launchwarden_extend_clicks_total{outcome}.
const (
	clickExtended = "extended" // the expiry was moved
	clickRefused  = "refused"  // verified, checked, and refused with an answer saying why
	clickRejected = "rejected" // not verified as Slack's (signature, timestamp), replayed, or not understood
)

var clickOutcomes = []string{clickExtended, clickRefused, clickRejected}

func newMetrics() *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "launchwarden_runs_total",
			Help: "Runs by result: ok, failed (a digest undelivered, an action withheld, a project frozen or an operation failed), aborted (nothing done), held (safety cap), stale_config (admin file broken: templates only).",
		}, []string{"result"}),
		runDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "launchwarden_run_duration_seconds",
			Help:    "How long runs took, whatever their result.",
			Buckets: prometheus.ExponentialBuckets(0.5, 2, 12), // 0.5s … 17m
		}),
		lastSuccess: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "launchwarden_last_run_success_timestamp_seconds",
			Help: "Unix time at which the last run with result ok finished.",
		}),
		apiCalls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "launchwarden_aws_api_calls_total",
			Help: `AWS API call attempts (retries included) by action and error code ("" for success).`,
		}, []string{"action", "code"}),
		actions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "launchwarden_actions_total",
			Help: "Changes made, by kind and project: stops and terminations that succeeded; template and security group changes attempted (a failed one also shows in launchwarden_aws_api_calls_total).",
		}, []string{"kind", "project"}),
		notices: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "launchwarden_notices_total",
			Help: "Digests by delivery result: sent or failed.",
		}, []string{"result"}),
		noticeItems: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "launchwarden_notices_items_total",
			Help: "Notices in delivered digests, by kind.",
		}, []string{"kind"}),
		digestsFail: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "launchwarden_digests_failed_total",
			Help: "Digests not delivered after the sender's retries, by channel kind (team or admin) and reason (permanent: Slack refuses for good, e.g. channel_not_found; temporary: tried again next run).",
		}, []string{"channel_kind", "reason"}),
		withheld: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "launchwarden_actions_withheld_total",
			Help: "Stops and terminations due but not made, by reason: undelivered (the digest naming them did not get through) or safety_cap (over safety.max_destructive_per_run).",
		}, []string{"reason"}),
		instances: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "launchwarden_instances",
			Help: "Instances launchwarden owns, by project and state, as of the last observation.",
		}, []string{"project", "state"}),
		quotaUsage: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "launchwarden_quota_usage",
			Help: "A project's usage counted against its limits, by resource: instances or vcpus.",
		}, []string{"project", "resource"}),
		quotaLimit: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "launchwarden_quota_limit",
			Help: "A project's effective limit, by resource: instances or vcpus.",
		}, []string{"project", "resource"}),
		frozen: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "launchwarden_projects_frozen",
			Help: "Projects whose file fails validation, as of the last run: their teams are still warned, but nothing is stopped or terminated until the file is fixed.",
		}),
		configStale: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "launchwarden_config_stale",
			Help: "1 if the admin file failed to load on the last run (the last good config is in use), else 0.",
		}),
		clicks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "launchwarden_extend_clicks_total",
			Help: "Requests to /slack/interactions about Extend buttons, by outcome: extended; refused (checked against EC2 and the config, the clicker told why); rejected (signature, timestamp or replay check failed, or not understood).",
		}, []string{"outcome"}),
	}
	m.reg.MustRegister(m.runs, m.runDuration, m.lastSuccess, m.apiCalls, m.actions, m.notices, m.noticeItems, m.digestsFail, m.withheld,
		m.instances, m.quotaUsage, m.quotaLimit, m.frozen, m.configStale, m.clicks,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	// Every result is exported from the start, so that rate() and alerts
	// see the first increase.
	for _, r := range runResults {
		m.runs.WithLabelValues(r)
	}
	for _, kind := range []string{"team", "admin"} {
		for _, reason := range []string{"permanent", "temporary"} {
			m.digestsFail.WithLabelValues(kind, reason)
		}
	}
	for _, reason := range []string{"undelivered", "safety_cap"} {
		m.withheld.WithLabelValues(reason)
	}
	for _, o := range clickOutcomes {
		m.clicks.WithLabelValues(o)
	}
	return m
}

// handler serves the registry in the Prometheus exposition format.
func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// observeAPICall is cloud.ConnectOptions.OnCall.
func (m *metrics) observeAPICall(_, action string, err error) {
	code := ""
	if err != nil {
		// Errors without an AWS code are the transport's: connection
		// refused, timeouts, a cancelled context.
		code = cmp.Or(cloud.Code(err), "transport")
	}
	m.apiCalls.WithLabelValues(action, code).Inc()
}

// observeRun records a finished run.
func (m *metrics) observeRun(result string, took time.Duration, end time.Time) {
	m.runs.WithLabelValues(result).Inc()
	m.runDuration.Observe(took.Seconds())
	if result == resultOK {
		m.lastSuccess.Set(float64(end.UnixNano()) / 1e9)
	}
}

// observePlan sets the gauges that describe the fleet as observed. They are
// reset first, so that the series of a project or state that vanished drop.
func (m *metrics) observePlan(plan *reconcile.RunPlan) {
	m.instances.Reset()
	for project, states := range plan.Fleet {
		for state, n := range states {
			m.instances.WithLabelValues(project, state).Set(float64(n))
		}
	}
	m.quotaUsage.Reset()
	m.quotaLimit.Reset()
	for project, u := range plan.Usage {
		m.quotaUsage.WithLabelValues(project, "instances").Set(float64(u.Instances))
		m.quotaUsage.WithLabelValues(project, "vcpus").Set(float64(u.VCPUs))
		m.quotaLimit.WithLabelValues(project, "instances").Set(float64(u.MaxInstances))
		m.quotaLimit.WithLabelValues(project, "vcpus").Set(float64(u.MaxVCPUs))
	}
	m.frozen.Set(float64(len(plan.Frozen)))
}

// observeApply counts what an applied plan changed and the digests it sent.
func (m *metrics) observeApply(plan *reconcile.RunPlan, rep *reconcile.Report) {
	projectOf := map[string]string{}
	for _, rp := range plan.Regions {
		for _, g := range rp.Groups {
			m.actions.WithLabelValues(actionKind("group", g.Op), g.Project).Inc()
		}
		for _, t := range rp.Templates {
			m.actions.WithLabelValues(actionKind("template", t.Op), t.Project).Inc()
		}
		for _, ic := range rp.Instances {
			projectOf[ic.ID] = ic.Project
		}
	}
	for _, id := range rep.Stopped {
		m.actions.WithLabelValues(string(lifecycle.ActionStop), projectOf[id]).Inc()
	}
	for _, id := range rep.Terminated {
		m.actions.WithLabelValues(string(lifecycle.ActionTerminate), projectOf[id]).Inc()
	}
	m.withheld.WithLabelValues("undelivered").Add(float64(rep.Withheld))
	m.withheld.WithLabelValues("safety_cap").Add(float64(rep.Held))
	for _, d := range rep.Undelivered() {
		kind, reason := "team", "temporary"
		if d.Digest.Channel == plan.AdminChannel {
			kind = "admin"
		}
		if notify.IsPermanent(d.Err) {
			reason = "permanent"
		}
		m.digestsFail.WithLabelValues(kind, reason).Inc()
	}
	for _, d := range rep.Deliveries {
		if d.Err != nil {
			m.notices.WithLabelValues("failed").Inc()
			continue
		}
		m.notices.WithLabelValues("sent").Inc()
		for _, n := range d.Digest.Notices {
			m.noticeItems.WithLabelValues(string(n.Kind)).Inc()
		}
	}
}

// actionKind names a plan operation as a metric label: template_create,
// group_authorize, template_restore_default…
func actionKind(resource, op string) string {
	return resource + "_" + strings.ReplaceAll(op, "-", "_")
}
