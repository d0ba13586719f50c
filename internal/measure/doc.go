// Package measure is the one measuring instrument of every backend: the per-interval record
// (what a control interval did, judged with hindsight against the SLO and the need) and the
// run summary computed from records (SLO-violating intervals, requests over the SLO, failed
// requests, cost in pod-hours, mean replicas, over- and under-provisioning against the need,
// mean latency), and the average of summaries over seeds. The simulator and the testbed fill
// the same Record and call the same Summarise, so their numbers mean the same thing.
package measure
