// Package reconcile makes one launchwarden run: it observes what launchwarden
// owns in every configured account and region, computes a plan from the
// config, the observation and the time, and applies it.
//
// Plan is pure: no I/O, and time is an input. Its result, a *RunPlan, is a
// value that `launchwarden plan` prints, tests compare with golden files and
// from which the Slack digests are rendered.
//
// Apply carries a plan out in this order, in every region concurrently for
// the EC2 steps:
//
//  1. Security groups: create the missing ones (tagged launchwarden:managed),
//     authorize missing SSH rules, revoke extra rules.
//  2. Launch templates: create missing ones; for a changed spec, create a new
//     version and make it the default; restore a default version changed by
//     hand; then record the spec hash and version in tags (and the frozen
//     mark of frozen projects).
//  3. Instance tags that need no notice: launchwarden:expires-at from
//     [[extensions]], removal of obsolete launchwarden:notice tags.
//  4. Team digests: one per Slack channel, holding new warnings and the stops
//     and terminations this run is about to make.
//  5. The admin digest: orphans, frozen projects, safety holds, digests that
//     could not be delivered.
//  6. Notice tags: launchwarden:notice is written on an instance only once
//     the digest naming it was delivered. This is what later runs act on.
//  7. Stop and terminate, batched, only for instances whose digest of this run
//     was delivered, and never more than the admin's per-run cap. A
//     termination refused by termination protection is recorded in
//     launchwarden:protected and left alone for a day.
//  8. Delete templates of entries that left the config, then their security
//     groups (a group still in use fails with DependencyViolation and is
//     tried again next run).
//
// Every step is level-triggered: a run killed between two steps leaves state
// that the next run completes. A stage is announced once, since its notice
// tag (step 6) records the delivery; a run killed after Slack accepted a
// digest but before step 6 announces that stage again next run. That repeat
// is the price of the safe order: recording before delivering could let a
// later run act on a notice nobody received.
package reconcile
