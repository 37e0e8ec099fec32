package main

import (
	"errors"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"

	"github.com/launchwarden/launchwarden/lifecycle"
	"github.com/launchwarden/launchwarden/notify"
	"github.com/launchwarden/launchwarden/reconcile"
)

// scrape renders m's registry and parses it.
func scrape(t *testing.T, m *metrics) map[string]float64 {
	t.Helper()
	rec := httptest.NewRecorder()
	m.handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	return parseMetrics(t, rec.Body.String())
}

// family returns the series of one metric.
func family(all map[string]float64, name string) map[string]float64 {
	out := map[string]float64{}
	for series, v := range all {
		if series == name || strings.HasPrefix(series, name+"{") {
			out[series] = v
		}
	}
	return out
}

func TestMetricsFleetGaugesDropVanishedSeries(t *testing.T) {
	m := newMetrics()
	m.observePlan(&reconcile.RunPlan{
		Fleet:  map[string]map[string]int{"packit": {"running": 2, "stopped": 1}, "cockpit": {"running": 1}},
		Usage:  map[string]notify.Usage{"cockpit": {Project: "cockpit", Instances: 1, MaxInstances: 4, VCPUs: 2, MaxVCPUs: 16}},
		Frozen: []string{"cockpit"},
	})
	m.observePlan(&reconcile.RunPlan{
		Fleet: map[string]map[string]int{"packit": {"running": 1}},
		Usage: map[string]notify.Usage{"packit": {Project: "packit", Instances: 1, MaxInstances: 5, VCPUs: 2, MaxVCPUs: 32}},
	})

	got := scrape(t, m)
	want := map[string]float64{
		`launchwarden_instances{project="packit",state="running"}`:        1,
		`launchwarden_quota_usage{project="packit",resource="instances"}`: 1,
		`launchwarden_quota_usage{project="packit",resource="vcpus"}`:     2,
		`launchwarden_quota_limit{project="packit",resource="instances"}`: 5,
		`launchwarden_quota_limit{project="packit",resource="vcpus"}`:     32,
		`launchwarden_projects_frozen`:                                    0,
	}
	gotGauges := map[string]float64{}
	for _, name := range []string{"launchwarden_instances", "launchwarden_quota_usage", "launchwarden_quota_limit", "launchwarden_projects_frozen"} {
		for s, v := range family(got, name) {
			gotGauges[s] = v
		}
	}
	if diff := cmp.Diff(want, gotGauges); diff != "" {
		t.Errorf("gauges after the second plan (-want +got):\n%s", diff)
	}
}

func TestMetricsCountApply(t *testing.T) {
	plan := &reconcile.RunPlan{Regions: []*reconcile.RegionPlan{
		{
			Groups: []reconcile.GroupChange{
				{Op: reconcile.OpCreate, Project: "packit"},
				{Op: reconcile.OpAuthorize, Project: "cockpit"},
			},
			Templates: []reconcile.TemplateChange{
				{Op: reconcile.OpCreate, Project: "packit"},
				{Op: reconcile.OpUpdate, Project: "cockpit"},
				{Op: reconcile.OpRestoreDefault, Project: "cockpit"},
			},
			Instances: []reconcile.InstanceChange{
				{ID: "i-1", Project: "packit", Action: lifecycle.ActionStop},
				{ID: "i-2", Project: "packit", Action: lifecycle.ActionStop},
			},
		},
		{
			Templates: []reconcile.TemplateChange{{Op: reconcile.OpDelete, Project: "gone"}},
			Instances: []reconcile.InstanceChange{{ID: "i-3", Project: "gone", Action: lifecycle.ActionTerminate}},
		},
	}}
	rep := &reconcile.Report{
		// i-2's stop failed.
		Held:       2,
		Withheld:   3,
		Stopped:    []string{"i-1"},
		Terminated: []string{"i-3"},
		Deliveries: []notify.Result{
			{Digest: notify.Digest{Channel: "#packit", Notices: []notify.Notice{{Kind: notify.KindExpiring}, {Kind: notify.KindStopped}, {Kind: notify.KindExpiring}}}},
			{Digest: notify.Digest{Channel: "#cockpit", Notices: []notify.Notice{{Kind: notify.KindOverQuota}}}, Err: notify.Permanent(errors.New("channel_not_found"))},
			{Digest: notify.Digest{Channel: "#osbuild"}, Err: errors.New("503 Service Unavailable")},
			{Digest: notify.Digest{Channel: "#off"}, Err: notify.ErrNotSent}, // --notify none: not a failure
			{Digest: notify.Digest{Channel: "#lw-admins", Notices: []notify.Notice{{Kind: notify.KindTerminated}}}},
		},
	}
	plan.AdminChannel = "#lw-admins"
	m := newMetrics()
	m.observeApply(plan, rep)

	got := scrape(t, m)
	want := map[string]float64{
		`launchwarden_actions_total{kind="group_create",project="packit"}`:              1,
		`launchwarden_actions_total{kind="group_authorize",project="cockpit"}`:          1,
		`launchwarden_actions_total{kind="template_create",project="packit"}`:           1,
		`launchwarden_actions_total{kind="template_update",project="cockpit"}`:          1,
		`launchwarden_actions_total{kind="template_restore_default",project="cockpit"}`: 1,
		`launchwarden_actions_total{kind="template_delete",project="gone"}`:             1,
		`launchwarden_actions_total{kind="stop",project="packit"}`:                      1,
		`launchwarden_actions_total{kind="terminate",project="gone"}`:                   1,
		`launchwarden_notices_total{result="sent"}`:                                     2,
		`launchwarden_notices_total{result="failed"}`:                                   3,
		`launchwarden_digests_failed_total{channel_kind="team",reason="permanent"}`:     1,
		`launchwarden_digests_failed_total{channel_kind="team",reason="temporary"}`:     1,
		`launchwarden_digests_failed_total{channel_kind="admin",reason="permanent"}`:    0,
		`launchwarden_digests_failed_total{channel_kind="admin",reason="temporary"}`:    0,
		`launchwarden_actions_withheld_total{reason="undelivered"}`:                     3,
		`launchwarden_actions_withheld_total{reason="safety_cap"}`:                      2,
		`launchwarden_notices_items_total{kind="expiring"}`:                             2,
		`launchwarden_notices_items_total{kind="stopped"}`:                              1,
		`launchwarden_notices_items_total{kind="terminated"}`:                           1,
	}
	gotCounts := map[string]float64{}
	for _, name := range []string{"launchwarden_actions_total", "launchwarden_notices_total", "launchwarden_notices_items_total",
		"launchwarden_digests_failed_total", "launchwarden_actions_withheld_total"} {
		for s, v := range family(got, name) {
			gotCounts[s] = v
		}
	}
	if diff := cmp.Diff(want, gotCounts); diff != "" {
		t.Errorf("counters (-want +got):\n%s", diff)
	}
}

func TestMetricsAPICallCodes(t *testing.T) {
	m := newMetrics()
	throttled := &smithy.GenericAPIError{Code: "RequestLimitExceeded", Message: "slow down"}
	m.observeAPICall("EC2", "DescribeInstances", nil)
	m.observeAPICall("EC2", "DescribeInstances", nil)
	m.observeAPICall("EC2", "DescribeInstances", fmt.Errorf("operation error: %w", throttled))
	m.observeAPICall("EC2", "StopInstances", errors.New("connection refused"))

	want := map[string]float64{
		`launchwarden_aws_api_calls_total{action="DescribeInstances",code=""}`:                     2,
		`launchwarden_aws_api_calls_total{action="DescribeInstances",code="RequestLimitExceeded"}`: 1,
		`launchwarden_aws_api_calls_total{action="StopInstances",code="transport"}`:                1,
	}
	if diff := cmp.Diff(want, family(scrape(t, m), "launchwarden_aws_api_calls_total")); diff != "" {
		t.Errorf("API calls (-want +got):\n%s", diff)
	}
}

func TestMetricsRuns(t *testing.T) {
	m := newMetrics()
	end := time.Date(2026, 11, 25, 10, 15, 0, 0, time.UTC)
	m.observeRun(resultOK, 2*time.Second, end)
	m.observeRun(resultHeld, 3*time.Second, end.Add(15*time.Minute))

	got := scrape(t, m)
	want := map[string]float64{
		`launchwarden_runs_total{result="ok"}`:            1,
		`launchwarden_runs_total{result="held"}`:          1,
		`launchwarden_runs_total{result="failed"}`:        0,
		`launchwarden_runs_total{result="aborted"}`:       0,
		`launchwarden_runs_total{result="stale_config"}`:  0,
		`launchwarden_last_run_success_timestamp_seconds`: float64(end.Unix()),
		`launchwarden_run_duration_seconds_count`:         2,
		`launchwarden_run_duration_seconds_sum`:           5,
	}
	gotRuns := family(got, "launchwarden_runs_total")
	for _, s := range []string{"launchwarden_last_run_success_timestamp_seconds", "launchwarden_run_duration_seconds_count", "launchwarden_run_duration_seconds_sum"} {
		gotRuns[s] = got[s]
	}
	if diff := cmp.Diff(want, gotRuns); diff != "" {
		t.Errorf("run metrics (-want +got):\n%s", diff)
	}
}
