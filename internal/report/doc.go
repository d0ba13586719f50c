// Package report renders experiment results: aligned tables, per-interval CSVs, SVG plots and
// a self-contained HTML page that shows them.
package report
