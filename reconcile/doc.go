// Package reconcile makes one launchwarden run: it observes what launchwarden
// owns in every configured account and region, computes a plan from the
// config, the observation and the time, and applies it.
//
// What launchwarden owns, and what its state tags say, comes verified from
// cloud: an instance is ours when a managed template launched it (EC2's
// aws:ec2launchtemplate:id) or an admin adopted it (signed), and only state
// values whose signature verifies reach Plan. Instances that merely carry
// launchwarden labels are never touched; they are reported to admins.
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
//  2. Launch templates: create missing ones (closed from the start, in the
//     create call's own tags, when their project is at quota); for a
//     changed spec, create a new version and make it the default; restore
//     a default version changed by hand; then record the spec hash and
//     version in tags (and remove the frozen mark of projects valid again,
//     and set launchwarden:launch, which closes a template while its
//     project is at quota: see admission.go). Steps 1 and 2 go template by template, each right
//     after its own group, so that the buckets EC2 meters each action in
//     are drawn on in turn (see cloud.Pacer).
//  3. Instance tags that need no notice: launchwarden:expires-at from
//     [[extensions]] (signed), the launchwarden:project and :template labels
//     of owned instances that lack them or carry wrong ones, removal of
//     obsolete launchwarden:notice tags.
//  4. Team digests: one per Slack channel, holding new warnings (those of
//     frozen projects and of removed templates' orphans included) and the
//     stops and terminations this run is about to make.
//  5. The admin digest: orphans of removed projects, a line per removed
//     template, frozen projects with file:line, safety holds, every team
//     digest that could not be delivered (temporarily or for good), tags
//     launchwarden did not write (strays and forged state).
//  6. Notice tags: launchwarden:notice is written (signed; one value per
//     project and stage of the run, and per demand for orphans, disallowed
//     types and quotas) only once the digest naming it was
//     delivered. This is what later runs act on. Once the admin digest was
//     delivered: the forged state tags it reported are removed from our
//     instances, the forged markers it reported from our templates and
//     groups (unless this run rewrote them signed), and the strays and
//     frozen projects it reported are recorded (TagStrays, TagFrozen,
//     TagFrozenBare; signed markers, see cloud.IsMarker), so they are told
//     once.
//  7. Stop and terminate, batched, only for instances whose digest of this run
//     was delivered, and never more than the admin's per-run cap. The stops
//     and the terminations go side by side, each in order, since EC2 meters
//     each action's instances in a bucket of its own (see cloud.Pacer). A
//     termination refused by termination protection is recorded in
//     launchwarden:protected and left alone for a day. The termination a
//     stop's digest announced is recorded once the stop was made.
//  8. Delete templates of entries that left the config once no instance
//     they launched is left (the template is what makes those instances
//     ours), then their security groups (a group still in use fails with
//     DependencyViolation and is tried again next run).
//
// Every step is level-triggered: a run killed between two steps leaves state
// that the next run completes. A stage is announced once, since its notice
// tag (step 6) records the delivery; a run killed after Slack accepted a
// digest but before step 6 announces that stage again next run. That repeat
// is the price of the safe order: recording before delivering could let a
// later run act on a notice nobody received.
package reconcile
